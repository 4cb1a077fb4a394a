"""tools/mosquitto_acl.py: person blocks, and no name that could be two kinds of account.

The broker side (what each account may publish and read with the ACL written
here) is tested against a real mosquitto in
tests/integration/test_mosquitto_configs.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.mosquitto_acl import (
    AccountError,
    acl_text,
    main,
    name_problem,
    read_names,
    read_passwd_users,
    services,
)

TEMPLATE = (Path(__file__).resolve().parents[2] / "deploy/mosquitto/acl").read_text()


def test_the_template_names_the_three_services():
    assert services(TEMPLATE) == ["ingest", "monitor", "healthcheck"]


def test_each_person_gets_a_block_that_keeps_them_out_of_device_topics():
    text = acl_text(TEMPLATE, ["zhang", "li"], ["W001"])
    assert text.startswith(TEMPLATE.rstrip("\n"))
    assert text.endswith("\nuser zhang\ntopic deny waterbudget/v1/#\n"
                         "topic read waterbudget/notify/zhang\n"
                         "\nuser li\ntopic deny waterbudget/v1/#\n"
                         "topic read waterbudget/notify/li\n")


def test_devices_get_no_block_of_their_own():
    assert acl_text(TEMPLATE, [], ["W001", "W002"]) == TEMPLATE.rstrip("\n") + "\n"


@pytest.mark.parametrize(("people", "devices", "message"), [
    (["W001"], ["W001"], "'W001' is listed as person and device"),
    ([], ["ingest"], "'ingest' is listed as service and device"),
    (["monitor"], [], "'monitor' is listed as service and person"),
    (["zhang", "zhang"], [], "'zhang' is listed as person and person"),
])
def test_a_name_of_two_kinds_of_account_is_refused(people, devices, message):
    with pytest.raises(AccountError, match=message):
        acl_text(TEMPLATE, people, devices)


@pytest.mark.parametrize(("name", "problem"), [
    ("", "empty name"),
    ("W/001", "contains '/'"),
    ("W+", "contains '+'"),
    ("W#", "contains '#'"),
    ("a:b", "contains ':'"),
    ("a b", "contains ' '"),
    ("a\x00b", "contains '\\x00'"),
    ("a\u200bb", "contains '\\u200b'"),
    ("$SYS", "starts with '$'"),
])
def test_names_mosquitto_or_the_topic_tree_cannot_carry_are_refused(name, problem):
    assert problem in (name_problem(name) or "")
    with pytest.raises(AccountError, match="person"):
        acl_text(TEMPLATE, [name], [])
    if name != "a:b":
        with pytest.raises(AccountError, match="device"):
            acl_text(TEMPLATE, [], [name])


def test_a_device_id_with_a_colon_is_a_registry_name_that_never_logs_in():
    assert name_problem("W001:2", account=False) is None  # a SZY206 flow point
    assert acl_text(TEMPLATE, [], ["W001", "W001:2"]) == TEMPLATE.rstrip("\n") + "\n"


@pytest.mark.parametrize("name", ["W001", "620123-0001", "井01", "gw.lq-03_a"])
def test_ordinary_names_pass(name):
    assert name_problem(name) is None


def test_every_problem_is_listed_at_once():
    with pytest.raises(AccountError) as error:
        acl_text(TEMPLATE, ["ingest", "a/b"], ["a/b"])
    assert len(str(error.value).splitlines()) == 4  # 2 bad names (person, device), 2 clashes


def test_an_account_of_the_password_file_that_is_nothing_known_is_refused():
    passwd = read_passwd_users("ingest:$7$x\nmonitor:$7$y\nW001:$7$z\nstranger:$7$w\n")
    assert passwd == ["ingest", "monitor", "W001", "stranger"]
    with pytest.raises(AccountError, match="'stranger' in the password file"):
        acl_text(TEMPLATE, [], ["W001"], passwd)
    assert "user stranger" in acl_text(TEMPLATE, ["stranger"], ["W001"], passwd)


def test_name_lists_skip_comments_and_blank_lines():
    assert read_names(["# devices", "W001", "", "  W002 \r\n", "#W003"]) == ["W001", "W002"]


def test_the_command_line_writes_nothing_when_refused(tmp_path, capsys):
    (tmp_path / "devices").write_text("W001\nzhang\n")
    (tmp_path / "people").write_text("zhang\n")
    out = tmp_path / "acl"
    assert main(["--devices", str(tmp_path / "devices"), "--people", str(tmp_path / "people"),
                 "--output", str(out)]) == 1
    assert not out.exists()
    assert "'zhang' is listed as person and device" in capsys.readouterr().err
    (tmp_path / "devices").write_text("W001\n")
    assert main(["--devices", str(tmp_path / "devices"), "--people", str(tmp_path / "people"),
                 "--output", str(out)]) == 0
    assert out.read_text().endswith("topic read waterbudget/notify/zhang\n")
