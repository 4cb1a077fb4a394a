"""How the load splits over ingest processes: watch the running ones and print their shares.

    python tools/watch_ingest_split.py [--seconds 600] &
    python -m ingest.benchmark --processes 2 --rounds 1

Finds every running ``waterbudget ingest`` process that has a metrics port
(``WATERBUDGET_METRICS_PORT`` in its environment, as the benchmark starts them),
polls each one's ``waterbudget_ingest_messages_total`` (incremented after each
commit) twice a second, and when a group of processes ends prints the messages
each one committed and its share. Reads only /proc and the metrics endpoints:
the benchmark itself is not changed.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import urllib.request
from pathlib import Path

METRIC = "waterbudget_ingest_messages_total"


def ingest_processes() -> dict[int, int]:
    """pid -> metrics port of the running ``waterbudget.cli ingest`` processes."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"waterbudget.cli" not in cmdline or b"ingest" not in cmdline:
                continue
            env = dict(item.split(b"=", 1) for item in
                       (proc / "environ").read_bytes().split(b"\0") if b"=" in item)
            port = env.get(b"WATERBUDGET_METRICS_PORT", b"0")
            if port.isdigit() and int(port):
                found[int(proc.name)] = int(port)
    return found


def committed(port: int) -> float | None:
    with contextlib.suppress(OSError), urllib.request.urlopen(
            f"http://127.0.0.1:{port}/metrics", timeout=1) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(METRIC + " "):
                return float(line.split()[1])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    latest: dict[int, float] = {}
    while time.monotonic() < deadline:
        running = ingest_processes()
        for pid, port in running.items():
            value = committed(port)
            if value is not None:
                latest[pid] = value
        gone = [pid for pid in latest if pid not in running]
        if gone and not any(pid in running for pid in latest):
            total = sum(latest.values())
            shares = ", ".join(f"pid {pid}: {n:,.0f} messages ({n / total:.1%})"
                               for pid, n in sorted(latest.items()))
            print(f"{len(latest)} ingest processes, {total:,.0f} messages: {shares}", flush=True)
            latest = {}
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
