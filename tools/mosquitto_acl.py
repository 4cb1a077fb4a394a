"""Write the broker's ACL file: deploy/mosquitto/acl plus one block per person.

Mosquitto applies its `pattern` lines to every account, and the device patterns
of deploy/mosquitto/acl let an account publish readings under its own name.
An account is therefore treated as a device unless it has a `user` block whose
`topic deny` keeps it out of the device topics. The services have theirs in the
template; this tool appends one for each person who receives alerts over MQTT
and refuses any name that could be taken for another kind of account:

* a name that is both a device and a person, or a device or person named like a
  service (ingest, monitor, healthcheck: the template's `user` lines);
* a name Mosquitto or the topic tree cannot carry: empty, with `/`, `+`, `#`,
  white space or control characters, or starting with `$`; for a person also
  `:` (the password file's separator; a device ID with `:` is a registry name
  that never logs in, such as a SZY206 flow point `<device_id>:<k>`);
* with --passwd: an account in the password file that is neither a service, a
  listed person nor a listed device (it would get a device's rights unnoticed).

Usage (from the repository root; one name per line, `#` comments allowed):

    python tools/mosquitto_acl.py --people people.txt --devices devices.txt \\
        --passwd deploy/mosquitto/passwd --output deploy/mosquitto/acl.generated

mosquitto.conf reads acl.generated (deploy/mosquitto/README.md, "ACL model").
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy/mosquitto/acl"
DEVICE_TOPICS = "waterbudget/v1"
NOTIFY_TOPICS = "waterbudget/notify"
FORBIDDEN = set("/+#:")


class AccountError(ValueError):
    """One or more account names cannot be given a safe ACL; the message lists them all."""


def name_problem(name: str, *, account: bool = True) -> str | None:
    """Why ``name`` cannot be an MQTT account (or, account=False, a topic level), or None.

    A device ID with ':' is a registry name only (the SZY206 flow points
    ``<device_id>:<k>`` of docs/registry.md): it cannot log in, as the password
    file separates user and hash with ':', so it is no account to guard.
    """
    if not name:
        return "empty name"
    if name.startswith("$"):
        return "starts with '$' (reserved for the broker's own topics)"
    forbidden = FORBIDDEN if account else FORBIDDEN - {":"}
    bad = sorted({c for c in name if c in forbidden or c.isspace()
                  or unicodedata.category(c).startswith("C")})
    if bad:
        return f"contains {', '.join(repr(c) for c in bad)}"
    return None


def services(template: str) -> list[str]:
    """The accounts the template gives a `user` block (ingest, monitor, healthcheck)."""
    return [line.split(None, 1)[1].strip() for line in template.splitlines()
            if line.startswith("user ") and line.split(None, 1)[1].strip()]


def person_block(name: str) -> str:
    return (f"user {name}\ntopic deny {DEVICE_TOPICS}/#\n"
            f"topic read {NOTIFY_TOPICS}/{name}\n")


def acl_text(template: str, people: Sequence[str], devices: Sequence[str],
             passwd_users: Sequence[str] | None = None) -> str:
    """The template with a block per person; AccountError listing every conflict."""
    problems: list[str] = []
    kinds: dict[str, list[str]] = {}
    for kind, names in (("service", services(template)), ("person", people),
                        ("device", devices)):
        for name in names:
            problem = name_problem(name, account=kind != "device")
            if problem:
                problems.append(f"{kind} {name!r}: {problem}")
            kinds.setdefault(name, []).append(kind)
    for name, found in kinds.items():
        if len(found) > 1:
            problems.append(f"{name!r} is listed as {' and '.join(found)}: one name, one account, "
                            "so a person or service would publish as that device (or the device "
                            "lose its rights)")
    for user in passwd_users or ():
        if user not in kinds:
            problems.append(f"account {user!r} in the password file is neither a service, a person "
                            "nor a registered device: it would get a device's rights")
    if problems:
        raise AccountError("\n".join(problems))
    blocks = "".join("\n" + person_block(name) for name in dict.fromkeys(people))
    return template.rstrip("\n") + "\n" + blocks


def read_names(lines: Iterable[str]) -> list[str]:
    """One name per line; blank lines and `#` comments skipped, surrounding blanks kept out."""
    names = []
    for line in lines:
        name = line.rstrip("\r\n").strip(" \t")
        if name and not name.startswith("#"):
            names.append(name)
    return names


def read_passwd_users(text: str) -> list[str]:
    """The usernames of a mosquitto password file (``user:hash`` lines)."""
    return [line.split(":", 1)[0] for line in text.splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--people", type=Path, help="one person account per line")
    parser.add_argument("--devices", type=Path, required=True,
                        help="the registry's device IDs, one per line")
    parser.add_argument("--passwd", type=Path, help="check every account of this password file")
    parser.add_argument("--output", type=Path, help="default: standard output")
    args = parser.parse_args(argv)
    people = read_names(args.people.read_text(encoding="utf-8").splitlines()) if args.people else []
    devices = read_names(args.devices.read_text(encoding="utf-8").splitlines())
    passwd = read_passwd_users(args.passwd.read_text(encoding="utf-8")) if args.passwd else None
    try:
        text = acl_text(args.template.read_text(encoding="utf-8"), people, devices, passwd)
    except AccountError as error:
        print(f"refused, nothing written:\n{error}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
