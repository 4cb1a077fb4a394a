"""``waterbudget demo``: database, broker, ingestor, monitor, API and a device simulator.

Uses the configured database and broker where set, embedded ones otherwise. It runs
``seconds`` in all (default 60): after set-up it replays ``days`` of simulated traffic
paced to end well before that, lets ingest and monitor catch up until the deadline,
stops by itself, issues the district's monthly report (written to the current directory
as HTML) and prints where to look next. SIGINT and SIGTERM stop it early: the embedded
servers stop and every temporary directory (``waterbudget-pg-*``, ``-mqtt-*``,
``-demo-*``) is deleted. What it prints is Chinese by default (``lang="en"``: English).
"""

from __future__ import annotations

import itertools
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import uvicorn

from ingest.publisher import PublishError, publish_realtime
from ingest.registry import load_registry_file
from ingest.registry_repository import save_registry
from ingest.service import run_ingest
from ingest.simulator import SimConfig, build_registry, simulate_messages, write_registry_yaml
from monitor.demo import print_alerts, seed_budgets
from monitor.service import MonitorService
from store.migrate import migrate
from waterbudget.embedded import Embedded, free_port, start_broker, start_postgres
from waterbudget.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 60.0
DEFAULT_DAYS = 30
# the replay takes 70 % of the time left after set-up: the rest lets ingest and monitor
# catch up
REPLAY_SHARE = 0.7
PROGRESS_EVERY_S = 10.0
STOPPING_S = 5.0  # at most this long for the demo's threads to stop (after the deadline
# or SIGINT/SIGTERM)
DEMO_NODE = "DEMO"  # the district seeded by monitor.demo.seed_budgets
FARMER_NODE = "DEMO-T1"  # its first township: the farmer's /my page shows it

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "pg": "嵌入式 PostgreSQL 已启动（日志：{log}）",
        "broker": "嵌入式 MQTT 代理已启动：{url}",
        "schema": "数据库结构：{what}",
        "schema_current": "已是最新",
        "registry": "登记册：{sites} 个站点，{meters} 块计量表",
        "budgets": "预算：{towns} 个乡镇，预算有意定得偏小，回放时会触发告警",
        "api": "演示运行期间：API 文档 {docs} ，农户页面 {my}",
        "replay": "回放 {sites} 个站点 {days} 天的数据（{speedup:g} 倍速），"
                  "约 {seconds:g} 秒后自动停止（Ctrl-C 可提前停止）",
        "progress": "{clock} 读数 {readings}，刷卡记录 {sessions}，未能入库的上报 {letters}，"
                    "未解除告警 {alerts}",
        "township": "  {town}  {method}  {intervals} 个时段  {m3} m³  隔离 {quarantined}",
        "published": "模拟器：已发送 {sent} 条消息",
        "report_failed": "报告未能出具：{reason}",
        "signalled": "收到停止信号，正在停止……",
        "stopped": "演示已结束（{seconds:.0f} 秒），嵌入式服务已停止，临时目录已删除。",
        "next": "接下来看哪里：",
        "next_report": "  本次出具的报告（{period} 月度执行报告，第 {revision} 版）：{path}",
        "next_api_live": "  API 文档：{docs} （仅在演示运行期间可用；长期使用请设置 "
                         "WATERBUDGET_DATABASE_URL 后运行 `waterbudget api`）",
        "next_api_kept": "  API 文档：运行 `waterbudget api` 后打开 {docs}",
        "next_my_live": "  农户页面（{town}）：{my} （仅在演示运行期间可用）",
        "next_my_kept": "  农户页面（{town}）：运行 `waterbudget api` 后打开 {my}",
        "next_more": "  全部命令：waterbudget --help；说明：README.md 与 docs/",
    },
    "en": {
        "pg": "embedded PostgreSQL started (log: {log})",
        "broker": "embedded MQTT broker started: {url}",
        "schema": "schema: {what}",
        "schema_current": "up to date",
        "registry": "registry: {sites} sites, {meters} meters",
        "budgets": "budgets: {towns} townships with small budgets, so the replay raises alerts",
        "api": "while the demo runs: API docs {docs} , farmer's page {my}",
        "replay": "replaying {sites} sites over {days} days at {speedup:g}× speed; stops by itself "
                  "in about {seconds:g} s (Ctrl-C stops it earlier)",
        "progress": "{clock} readings {readings}, card sessions {sessions}, rejected messages "
                    "{letters}, open alerts {alerts}",
        "township": "  {town}  {method}  {intervals} intervals  {m3} m³  quarantined {quarantined}",
        "published": "simulator: published {sent} messages",
        "report_failed": "no report issued: {reason}",
        "signalled": "stop signal received, stopping…",
        "stopped": "demo finished ({seconds:.0f} s); embedded services stopped, temporary "
                   "directories deleted.",
        "next": "where to look next:",
        "next_report": "  the report it issued ({period} monthly execution report, revision "
                       "{revision}): {path}",
        "next_api_live": "  API docs: {docs} (only while the demo runs; to keep it, set "
                         "WATERBUDGET_DATABASE_URL and run `waterbudget api`)",
        "next_api_kept": "  API docs: run `waterbudget api`, then open {docs}",
        "next_my_live": "  farmer's page ({town}): {my} (only while the demo runs)",
        "next_my_kept": "  farmer's page ({town}): run `waterbudget api`, then open {my}",
        "next_more": "  every command: waterbudget --help; guides: README.md and docs/",
    },
}

SUMMARY = """
SELECT s.township, c.method, count(*) AS intervals,
       round(sum(c.volume_m3)::numeric, 1) AS counted_m3,
       count(*) FILTER (WHERE c.status = 'quarantined') AS quarantined
FROM site_consumption c JOIN sites s USING (site_id)
GROUP BY 1, 2 ORDER BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    sites: int = 12
    days: int = DEFAULT_DAYS
    seconds: float = DEFAULT_SECONDS
    speedup: float | None = None  # None: ``days`` paced to end at REPLAY_SHARE of the time left
    lang: str = "zh"
    api_port: int = 8000
    report_dir: Path = Path(".")

    def pace(self, seconds_left: float) -> float:
        if self.speedup:
            return self.speedup
        return self.days * 86_400 / max(1.0, seconds_left * REPLAY_SHARE)


@dataclass(frozen=True, slots=True)
class NextSteps:
    docs: str
    my: str
    town: str
    kept: bool  # the database outlives the demo (configured, not embedded)
    report: Path | None = None
    period: str = ""
    revision: int = 0


def say(lang: str) -> Callable[..., None]:
    table = TEXT.get(lang, TEXT["zh"])

    def out(key: str, **values: object) -> None:
        print(table[key].format(**values), flush=True)

    return out


def run_demo(settings: Settings, stop: threading.Event, options: DemoOptions) -> None:
    """Run until ``options.seconds`` have passed or ``stop`` is set; always stop what it
    started and delete its temporary directories."""
    out = say(options.lang)
    began = time.monotonic()
    deadline = began + options.seconds
    services: list[Embedded] = []
    steps: NextSteps | None = None
    kept = bool(settings.database_url)  # a configured database outlives the demo
    try:
        with tempfile.TemporaryDirectory(prefix="waterbudget-demo-") as work:
            if not settings.database_url:
                services.append(start_postgres())
                settings = settings.model_copy(update={"database_url": services[-1].url})
                folder = services[-1].folder
                out("pg", log=(folder / "data" / "log") if folder else "-")
            if not settings.mqtt_url and not stop.is_set():
                services.append(start_broker())
                settings = settings.model_copy(update={"mqtt_url": services[-1].url,
                                                       "mqtt_protocol": services[-1].protocol})
                out("broker", url=settings.mqtt_url)
            if not stop.is_set():
                steps = _run(settings, stop, options, Path(work), kept=kept,
                             deadline=deadline)
    finally:
        if stop.is_set():
            out("signalled")
        for service in reversed(services):
            service.stop()
    if steps is None or stop.is_set():
        return
    out("stopped", seconds=time.monotonic() - began)
    out("next")
    if steps.report is not None:
        out("next_report", period=steps.period, revision=steps.revision, path=steps.report)
    out("next_api_kept" if steps.kept else "next_api_live", docs=steps.docs)
    out("next_my_kept" if steps.kept else "next_my_live", town=steps.town, my=steps.my)
    out("next_more")


def _run(settings: Settings, stop: threading.Event, options: DemoOptions, work: Path, *,
         kept: bool, deadline: float) -> NextSteps:
    out = say(options.lang)
    applied = migrate(settings.database_url, timescaledb=settings.timescaledb)
    out("schema", what=", ".join(applied) if applied else TEXT[options.lang]["schema_current"])
    start = (datetime.now(UTC) - timedelta(days=options.days)).replace(
        minute=0, second=0, microsecond=0)
    config = SimConfig(n_sites=options.sites, seed=2024, start=start,
                       duration=timedelta(days=options.days), prefix=settings.topic_prefix)
    registry_file = work / "registry.yaml"
    write_registry_yaml(build_registry(config), registry_file)
    loaded = load_registry_file(registry_file, settings.zone)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        summary = save_registry(conn, loaded)
    out("registry", sites=summary.sites, meters=summary.meters)
    towns = seed_budgets(settings.database_url, loaded, start=start)
    out("budgets", towns=towns)

    port = _port(options.api_port)
    steps = _farmer_steps(settings, port, kept=kept)
    already = set(threading.enumerate())
    api_server = _start_api(settings, port)
    out("api", docs=steps.docs, my=steps.my)

    working = threading.Event()  # set when the demo's own threads are to stop
    pace = options.pace(deadline - time.monotonic())
    threads = [
        threading.Thread(target=run_ingest, args=(settings, working), name="ingest"),
        threading.Thread(target=MonitorService(settings).run, args=(working,), name="monitor"),
        threading.Thread(target=_simulate, args=(settings.mqtt_url, config, pace,
                                                 working, out), name="simulator", daemon=True),
    ]
    for thread in threads:
        thread.start()
    out("replay", sites=options.sites, days=options.days, speedup=round(pace),
        seconds=round(max(0.0, deadline - time.monotonic())))
    try:
        while not stop.wait(max(0.0, min(PROGRESS_EVERY_S, deadline - time.monotonic()))):
            _progress(settings.database_url, out)
            if time.monotonic() >= deadline:
                break
    finally:
        working.set()
        api_server.should_exit = True
        # every thread the services started (the monitor's own ones too), not the simulator
        _join([t for t in threading.enumerate() if t not in already and t is not threads[2]])
    if stop.is_set():
        return steps
    _townships(settings.database_url, out)
    print_alerts(settings.database_url)
    return _issue_report(settings, options, steps, out)


def _join(threads: list[threading.Thread]) -> None:
    """Wait up to STOPPING_S for the demo's threads. One still at work then (the monitor
    catching up in a long step) fails only because the demo stops its servers beneath
    it: its log would be noise, so logging is switched off."""
    started = time.monotonic()
    while any(t.is_alive() for t in threads):
        if time.monotonic() - started > STOPPING_S:
            logging.disable(logging.CRITICAL)
            return
        for thread in threads:
            thread.join(0.2)


def _port(wanted: int) -> int:
    """``wanted`` where it is free on 127.0.0.1, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            return free_port()
    return wanted


def _farmer_steps(settings: Settings, port: int, *, kept: bool) -> NextSteps:
    from budget.commands import create_token

    base = f"http://127.0.0.1:{port}"
    secret = create_token(settings.database_url, name="演示农户", role="water_user",
                          node_code=FARMER_NODE)
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT name FROM budget_nodes WHERE code = %s",
                           (FARMER_NODE,)).fetchone()
    return NextSteps(docs=f"{base}/docs", my=f"{base}/my/login?code={secret}",
                     town=str(row[0]) if row else FARMER_NODE, kept=kept)


def _start_api(settings: Settings, port: int) -> uvicorn.Server:
    from waterbudget.api import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings.database_url), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return server


def _simulate(url: str, config: SimConfig, speedup: float, stop: threading.Event,
              out: Callable[..., None]) -> None:
    messages = itertools.takewhile(lambda _: not stop.is_set(), simulate_messages(config))
    try:
        result = publish_realtime(url, messages, speedup=speedup)
        out("published", sent=result.sent)
    except PublishError:
        if not stop.is_set():
            raise


def _issue_report(settings: Settings, options: DemoOptions, steps: NextSteps,
                  out: Callable[..., None]) -> NextSteps:
    from dataclasses import replace

    from reports import commands, repository
    from reports.formats import FORMATS, file_name

    now = datetime.now(UTC)
    period = f"{now.astimezone(settings.zone):%Y-%m}"
    result = commands.issue_reports(settings.database_url, kind="monthly", period=period,
                                    built_at=now, by="demo", node_code=DEMO_NODE, as_of=now)
    reports = result.created or result.unchanged
    if not reports:
        out("report_failed", reason="; ".join(reason for _, reason in result.failed) or "-")
        return steps
    issued = reports[0]
    with psycopg.connect(settings.database_url) as conn:
        stored = repository.report(conn, report_id=issued.report_id)
    if stored is None or stored.document is None:
        out("report_failed", reason=f"report {issued.report_id}")
        return steps
    path = (options.report_dir / file_name(stored.document, "html")).resolve()
    path.write_bytes(FORMATS["html"].render(stored.document, options.lang))
    return replace(steps, report=path, period=period, revision=issued.revision)


def _progress(url: str, out: Callable[..., None]) -> None:
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM register_readings), "
            "(SELECT count(*) FROM card_sessions), (SELECT count(*) FROM dead_letters), "
            "(SELECT count(*) FROM monitor_alerts WHERE status <> 'resolved')").fetchone()
    readings, sessions, letters, alerts = counts or (0, 0, 0, 0)
    out("progress", clock=f"{datetime.now():%H:%M:%S}", readings=readings, sessions=sessions,
        letters=letters, alerts=alerts)


def _townships(url: str, out: Callable[..., None]) -> None:
    with psycopg.connect(url) as conn:
        rows = conn.execute(SUMMARY).fetchall()
    for town, method, intervals, m3, quarantined in rows:
        out("township", town=town, method=method, intervals=intervals, m3=m3,
            quarantined=quarantined)
