"""SIGTERM and SIGINT leave no process and no temporary directory behind.

Killed with SIGTERM (``timeout``, ``kill``, systemd) ``waterbudget demo`` used to leave
its embedded PostgreSQL running, and every run left its ``waterbudget-pg-*`` (113–130 MB),
``-mqtt-*`` and ``-demo-*`` directories behind; so did ``make test``'s embedded servers.
Each test here runs the real thing in a subprocess with its own ``TMPDIR``, waits until
the embedded servers run (and checks that it can see them), signals it, and then checks
that no process mentions that directory and that nothing of ours is left in it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from waterbudget.embedded import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
START_S = 180.0  # generous: initdb on a loaded machine
STOP_S = 60.0


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A short TMPDIR of the run's own (PostgreSQL's socket path must fit 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="wbx-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERBUDGET_")}
    env.update(TMPDIR=str(tmp), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def _processes_using(folder: Path) -> list[str]:
    """Processes whose command line or working directory lies in ``folder`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append(f"{proc.name}: {cmdline}")
    return found


def _ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("waterbudget-"))


def _wait_for(what: str, check: Callable[[], bool], seconds: float, log: Path,
              process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"{what} not within {seconds} s; output:\n{log.read_text()}")
        time.sleep(0.2)


def _stop_and_check(process: subprocess.Popen[bytes], signum: int, tmp: Path,
                    log: Path) -> None:
    # what the run has started is visible: the checks below can see a leftover
    assert any("postgres" in p for p in _processes_using(tmp)), _processes_using(tmp)
    assert any(name.startswith("waterbudget-pg-") for name in _ours(tmp)), _ours(tmp)
    process.send_signal(signum)
    try:
        process.wait(STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still running {STOP_S} s after the signal:\n{log.read_text()}"
                             ) from None
    leftovers: list[str] = []
    deadline = time.monotonic() + 10  # a server's last child may need a moment to exit
    while time.monotonic() < deadline:
        leftovers = _processes_using(tmp)
        if not leftovers:
            break
        time.sleep(0.2)
    assert leftovers == [], log.read_text()
    assert _ours(tmp) == [], log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_demo_leaves_nothing_behind(tmp_path: Path, tmp: Path, signum: int) -> None:
    work = tmp_path / "work"
    work.mkdir()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "waterbudget.cli", "demo", "--lang", "en", "--sites", "3",
             "--days", "3", "--seconds", "600", "--api-port", str(free_port())],
            cwd=work, env=_env(tmp), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for("the replay", lambda: "replaying" in log.read_text(), START_S, log,
                  process)
        _stop_and_check(process, signum, tmp, log)
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "stop signal received" in text
    assert "initdb" not in text  # the servers' logs went to files
    assert "pg_ctl" not in text
    assert process.returncode == 0, text


SESSION_TEST = '''
import time


def test_waits(pg_admin_url, broker):
    print("servers up", flush=True)
    time.sleep(600)
'''


def test_the_test_fixtures_embedded_servers_leave_nothing_behind_on_sigterm(
        tmp_path: Path, tmp: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    # the project's fixtures and hooks (pytest_configure) as they are
    (suite / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (suite / "test_wait.py").write_text(SESSION_TEST)
    log = tmp_path / "pytest.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider",
             "test_wait.py"],
            cwd=suite, env=_env(tmp), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for("the session fixtures", lambda: "servers up" in log.read_text(), START_S, log,
                  process)
        _stop_and_check(process, signal.SIGTERM, tmp, log)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0  # interrupted, as after Ctrl-C


def test_the_demo_stops_by_itself_and_says_where_to_look_next(tmp_path: Path,
                                                              tmp: Path) -> None:
    """Before issue 15 the demo ran until its replay ended (~5 minutes) whatever the README
    said, and printed nothing about where to look after."""
    work = tmp_path / "work"
    work.mkdir()
    seconds = 25
    completed = subprocess.run(
        [sys.executable, "-m", "waterbudget.cli", "demo", "--sites", "3", "--days", "2",
         "--seconds", str(seconds), "--api-port", str(free_port())],
        cwd=work, env=_env(tmp), capture_output=True, timeout=seconds + START_S + STOP_S)
    text = completed.stdout.decode() + completed.stderr.decode()
    assert completed.returncode == 0, text
    assert "接下来看哪里：" in text  # Chinese by default
    reports = list(work.glob("DEMO-monthly-*.html"))
    assert len(reports) == 1, text
    assert str(reports[0]) in text
    assert "水预算执行进度月报" in reports[0].read_text(encoding="utf-8")
    assert "/docs" in text
    assert "/my/login?code=" in text
    assert "Traceback" not in text
    assert _processes_using(tmp) == []
    assert _ours(tmp) == [], text
