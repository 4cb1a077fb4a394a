"""``waterbudget``: the one console command. Thin: parse, call, answer."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import psycopg

from waterbudget.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace, Settings], int]
T = TypeVar("T")

# a long-running command still alive this long after SIGINT/SIGTERM dumps every thread's stack
STOP_TRACEBACK_S = 20.0


def _stop_on_signals() -> threading.Event:
    """An event that SIGINT and SIGTERM set; the first also arms the stack dump (stderr)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            faulthandler.dump_traceback_later(STOP_TRACEBACK_S, exit=False)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    return stop


def _until_signalled(work: Callable[[threading.Event], T]) -> T:
    """Run ``work(stop)`` in a worker thread until it returns; SIGINT/SIGTERM set ``stop``.

    Only the main thread takes the signals: the worker blocks them, and every thread it
    starts inherits that. A signal that interrupts ``queue.SimpleQueue.get(timeout=…)``
    just as the timeout runs out makes that call wait forever (CPython 3.11 recomputes a
    negative timeout, which means "no timeout"): the ingestor's main loop waits there, and
    one SIGTERM in ~40 left ``waterbudget ingest`` running until killed. The main thread
    here only waits in ``Thread.join(timeout)``, which handles an interrupted wait right.
    """
    stop = _stop_on_signals()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            outcome.append(work(stop))
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="work")
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
    if failure:
        raise failure[0]
    return outcome[0]


def _require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if not getattr(settings, n)]
    if missing:
        raise SystemExit("set " + ", ".join(f"WATERBUDGET_{n.upper()}" for n in missing)
                         + " (or run `waterbudget demo` for embedded services)")


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from store.database import wait_until_ready
    from store.migrate import migrate

    _require(settings, "database_url")
    wait_until_ready(settings.database_url)
    applied = migrate(settings.database_url, timescaledb=settings.timescaledb)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.service import run_ingest

    _require(settings, "database_url", "mqtt_url")
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
    ingestor = _until_signalled(lambda stop: run_ingest(settings, stop))
    print(f"stopped after {ingestor.stats.messages} messages, "
          f"{ingestor.stats.readings_new} new readings, {ingestor.stats.dead_letters} dead letters")
    return 0


def cmd_szy206_listen(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.service import run_szy206_listener

    _require(settings, "database_url")
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port)
    ingestor = _until_signalled(
        lambda stop: run_szy206_listener(settings, stop, host=args.host, port=args.port))
    print(f"stopped after {ingestor.stats.messages} frames, "
          f"{ingestor.stats.readings_new} new readings, {ingestor.stats.dead_letters} dead letters")
    return 0


def cmd_monitor(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.service import MonitorService

    _require(settings, "database_url")
    _until_signalled(MonitorService(settings).run)
    return 0


def cmd_monitor_status(args: argparse.Namespace, settings: Settings) -> int:
    """How far the monitor is behind the data; exit status 1 when behind (or a change row
    was given up), 0 when it keeps up."""
    from datetime import timedelta

    import psycopg

    from monitor.repository import status
    from monitor.status import problems, render

    _require(settings, "database_url")
    behind = timedelta(minutes=args.max_behind_minutes)
    with psycopg.connect(settings.database_url, connect_timeout=10) as conn:
        found = status.read(conn)
    print(render(found, lang=args.lang, behind=behind))
    return 1 if problems(found, behind=behind) else 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, timedelta

    from ingest.publisher import publish, publish_realtime
    from ingest.simulator import SimConfig, build_registry, simulate, simulate_messages
    from ingest.simulator import write_registry_yaml as write_yaml

    start = (datetime.fromisoformat(args.start) if args.start
             else datetime.now(UTC) - timedelta(days=args.days))
    config = SimConfig(n_sites=args.sites, seed=args.seed, start=start.astimezone(UTC),
                       duration=timedelta(days=args.days),
                       step=timedelta(minutes=args.step_minutes), prefix=settings.topic_prefix)
    if args.registry_out:
        write_yaml(build_registry(config), Path(args.registry_out))
        print(f"registry written to {args.registry_out}: load it with "
              f"`waterbudget registry load {args.registry_out}`")
    if args.registry_only:
        return 0
    _require(settings, "mqtt_url")
    if args.speedup:
        result = publish_realtime(settings.mqtt_url, simulate_messages(config),
                                  speedup=args.speedup)
    else:
        result = publish(settings.mqtt_url, simulate(config))
    print(f"published {result.sent} messages ({result.acked} acknowledged) "
          f"in {result.seconds:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from waterbudget.demo import DemoOptions, run_demo

    if not args.verbose:  # the demo says what happens; the services' INFO logs are noise here
        logging.getLogger().setLevel(logging.WARNING)
    lang = args.lang or getattr(settings, "language", None) or "zh"
    options = DemoOptions(sites=args.sites, days=args.days, seconds=args.seconds,
                          speedup=args.speedup, lang=lang if lang in ("zh", "en") else "zh",
                          api_port=args.api_port, report_dir=Path(args.report_dir))
    _until_signalled(lambda stop: run_demo(settings, stop, options))
    return 0


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    _require(settings, "database_url")
    return psycopg.connect(settings.database_url, autocommit=True)


def cmd_registry_load(args: argparse.Namespace, settings: Settings) -> int:
    """Every file checked whole before anything is stored; then saved one after the other."""
    from ingest.registry import RegistryError, load_registry_file
    from ingest.registry_repository import save_registry

    en = args.lang == "en"
    loaded, failed = [], []
    for name in args.files:
        try:
            loaded.append((name, load_registry_file(Path(name), settings.zone)))
        except RegistryError as exc:
            failed.append(exc.render(args.lang))
    if failed:
        print("\n".join(failed), file=sys.stderr)
        print("nothing stored: correct the lines above and load again" if en else
              "未导入任何内容：请更正以上各行后重新导入", file=sys.stderr)
        return 2
    with _connect(settings) as conn:
        for name, registry in loaded:
            try:
                summary = save_registry(conn, registry)
            except ValueError as exc:  # RegistryError, TerminalError: the merged registry
                text = exc.render(args.lang) if isinstance(exc, RegistryError) else str(exc)
                print(text if text.startswith(name) else f"{name}: {text}", file=sys.stderr)
                print(f"{name}: not stored" if en else f"{name}：未导入", file=sys.stderr)
                return 2
            if en:
                print(f"{name}: {summary.sites} sites, {summary.meters} meters, "
                      f"{summary.coefficients} coefficients"
                      + (f"; restated {', '.join(summary.restated_sites)}"
                         if summary.restated_sites else ""))
            else:
                print(f"{name}：站点 {summary.sites} 个，计量设施 {summary.meters} 个，"
                      f"折算系数 {summary.coefficients} 个"
                      + (f"；已重算 {'、'.join(summary.restated_sites)}"
                         if summary.restated_sites else ""))
            for base in summary.baselines:
                local = None if base.ts is None else base.ts.astimezone(settings.zone)
                when = "" if local is None else f"{local:%Y-%m-%d %H:%M}"
                first = ("" if base.ts is None else f" ({base.value} at {when})" if en else
                         f"（{when} 读数 {base.value}）")
                print(f"  meter {base.meter_id}: no initial_register: its first reading{first} is "
                      f"the baseline, no use is counted before it" if en else
                      f"  计量设施 {base.meter_id}：未填初始读数 initial_register，以首次读数"
                      f"{first}为基准，此前的用水量不计")
    return 0


def _time(text: str, settings: Settings) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=settings.zone)


def cmd_replace_meter(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from ingest.registry_repository import load_registry, replace_meter

    with _connect(settings) as conn:
        old = load_registry(conn).meters.get(args.old)
        if old is None:
            raise SystemExit(f"unknown meter {args.old}")
        new = replace(old, meter_id=args.new, installed_at=_time(args.at, settings),
                      removed_at=None, final_register=None,
                      initial_register=args.initial_register,
                      register_max=args.register_max or old.register_max,
                      multiplier=args.multiplier or old.multiplier)
        replace_meter(conn, old_meter_id=args.old, new=new, final_register=args.final_register)
    print(f"meter {args.old} replaced by {args.new} at {new.installed_at.isoformat()}")
    return 0


def cmd_add_coefficient(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.registry import Coefficient
    from ingest.registry_repository import add_coefficient

    with _connect(settings) as conn:
        add_coefficient(conn, Coefficient(args.site, _time(args.valid_from, settings),
                                          args.m3_per_kwh, args.method, args.note))
        row = conn.execute("SELECT intervals, volume_before, volume_after "
                           "FROM coefficient_restatements ORDER BY id DESC LIMIT 1").fetchone()
    if row:
        print(f"restated {row[0]} intervals of {args.site}: "
              f"{row[1]:.1f} m³ -> {row[2]:.1f} m³")
    return 0


def _printable(raw: bytes) -> str:
    """A payload as text, or as hex where it is binary (SZY206 frames)."""
    for cut in range(4):  # the prefix may end inside a UTF-8 character
        try:
            return raw[: len(raw) - cut].decode()[:120]
        except UnicodeDecodeError:
            continue
    return raw[:60].hex(" ").upper()


def cmd_deadletters(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        rows = conn.execute(
            "SELECT received_at, topic, reason, detail, substring(payload FROM 1 FOR 480) "
            "FROM dead_letters ORDER BY id DESC LIMIT %s", (args.limit,)).fetchall()
    for received, topic, reason, detail, raw in rows:
        payload = _printable(bytes(raw))
        print(f"{received:%Y-%m-%d %H:%M:%S} {reason:<22} {topic}\n    {detail}\n    {payload}")
    return 0


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from waterbudget.api import create_app

    _require(settings, "database_url")
    from monitor.channels.destinations import AddressPolicy
    from monitor.enforcement import EnforcementPolicy

    policy = EnforcementPolicy(settings.monitor_enforcement, settings.topic_prefix)
    destinations = AddressPolicy.parse(settings.webhook_allow_networks)
    uvicorn.run(create_app(settings.database_url, enforcement=policy,
                           destinations=destinations), host=args.host, port=args.port)
    return 0


def cmd_budget_token(args: argparse.Namespace, settings: Settings) -> int:
    from budget.commands import create_token

    _require(settings, "database_url")
    from water_user_page.qr import LinkError, personal_link, write_qr

    if args.qr is not None:  # checked before a token exists
        if args.role != "water_user" or args.base_url is None:
            print("--qr needs --role water_user and --base-url (the /my page's address)",
                  file=sys.stderr)
            return 2
        try:
            personal_link(args.base_url, "check")
        except LinkError as e:
            print(e, file=sys.stderr)
            return 2
    secret = create_token(settings.database_url, name=args.name, role=args.role,
                          node_code=args.node)
    print(f"token for {args.name} ({args.role}), shown once:\n{secret}")
    if args.role == "water_user":
        from water_user_page.commands import sign_in_code

        code = sign_in_code(settings.database_url, secret=secret)
        print(f"sign-in code for /my, shown once: {code}")
    if args.qr is not None:
        link = personal_link(args.base_url, secret)
        write_qr(args.qr, link)
        print(f"personal link: {link}\nQR code written to {args.qr}")
    return 0


def cmd_budget_import(args: argparse.Namespace, settings: Settings) -> int:
    from budget.commands import import_ganzhou
    from budget.ganzhou_files import DEMO_MANIFEST

    _require(settings, "database_url")
    manifest = Path(args.manifest) if args.manifest else DEMO_MANIFEST
    report = import_ganzhou(settings.database_url, manifest=manifest,
                            accept_discrepancies=args.accept_discrepancies)
    for line in report:
        print(f"does not add up: {line}")
    if report and not args.accept_discrepancies:
        print("nothing imported: check each item above, then rerun with --accept-discrepancies")
        return 1
    print(f"imported {manifest}")
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from waterbudget.scheduler import build_scheduler, run_job

    _require(settings, "database_url")
    if args.run:
        run_job(args.run, settings)
        return 0
    build_scheduler(settings).start()
    return 0


def cmd_dashboards_build(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.generate import PROVISIONING, stale_files, write_provisioning

    if args.check:
        stale = stale_files()
        for line in stale:
            print(f"stale: {line}")
        print("up to date" if not stale else "run `waterbudget dashboards build`")
        return 1 if stale else 0
    for path in write_provisioning():
        print(f"wrote {path.relative_to(PROVISIONING.parent.parent)}")
    return 0


def _datasource_timescaledb(settings: Settings, database_url: str) -> bool:
    """The data source's TimescaleDB option ($__timeGroup as time_bucket)."""
    if settings.timescaledb != "auto":
        return settings.timescaledb == "on"
    from store.database import timescaledb_enabled

    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            return timescaledb_enabled(conn)
    except psycopg.OperationalError:
        return True  # not reachable from here (e.g. a compose-internal host name)


def cmd_dashboards_push(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.catalog import rendered
    from dashboards.datasource import DatabaseConnection
    from dashboards.publisher import PushError, connect, push

    url = args.grafana_url or settings.grafana_url
    database_url = settings.grafana_database_url or settings.database_url
    if not url or not database_url:
        raise SystemExit("set WATERBUDGET_GRAFANA_URL (or --grafana-url) and "
                         "WATERBUDGET_GRAFANA_DATABASE_URL or WATERBUDGET_DATABASE_URL")
    try:
        api = connect(url, token=settings.grafana_token)
        result = push(api, connection=DatabaseConnection.from_url(database_url),
                      timescaledb=_datasource_timescaledb(settings, database_url),
                      dashboards=rendered())
    except PushError as exc:
        print(f"waterbudget dashboards push: {exc}", file=sys.stderr)
        return 2
    print(f"data source {result.datasource}, folder {result.folder}")
    for uid, version in result.dashboards:
        print(f"dashboard {uid}: version {version}")
    return 0


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default after its help, except where there is none to show (None,
    an off switch) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action)


def parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and every subcommand's parser below it, with its command line."""
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from parsers(child)


def build_parser() -> argparse.ArgumentParser:
    parser = _commands()
    for _, each in parsers(parser):
        each.formatter_class = HelpFormatter
    return parser


def _commands() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="waterbudget", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log everything (DEBUG) and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        handler=cmd_migrate)
    sub.add_parser("ingest", help="MQTT readings -> TimescaleDB, until SIGTERM").set_defaults(
        handler=cmd_ingest)
    listen = sub.add_parser("szy206-listen",
                            help="SZY206-2016 terminals over TCP -> TimescaleDB, until SIGTERM")
    listen.add_argument("--host", default="0.0.0.0", help="address to listen on")
    listen.add_argument("--port", type=int, default=9206, help="TCP port to listen on")
    listen.set_defaults(handler=cmd_szy206_listen)

    monitor = sub.add_parser("monitor",
                             help="roll-ups, alerts, sweep and notifications, until SIGTERM")
    monitor.set_defaults(handler=cmd_monitor)
    monitor_actions = monitor.add_subparsers(dest="action")
    status = monitor_actions.add_parser(
        "status", help="how far the monitor is behind the data (exit 1 when behind)")
    status.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the answer")
    status.add_argument("--max-behind-minutes", type=float, default=5.0,
                        help="behind when the oldest waiting change, or the roll-ups' lag "
                             "behind the data, exceeds this")
    status.set_defaults(handler=cmd_monitor_status)

    simulate = sub.add_parser("simulate", help="publish simulated device traffic")
    simulate.add_argument("--sites", type=int, default=20, help="simulated wells and gates")
    simulate.add_argument("--days", type=float, default=7, help="days of traffic")
    simulate.add_argument("--step-minutes", type=int, default=15,
                          help="minutes between a device's readings")
    simulate.add_argument("--seed", type=int, default=1,
                          help="random seed: the same seed, the same traffic")
    simulate.add_argument("--start", help="simulated start (ISO 8601) (default: --days ago)")
    simulate.add_argument("--speedup", type=float, default=0,
                          help="pace simulated time this many times faster than real "
                               "(0: as fast as the broker takes it)")
    simulate.add_argument("--registry-out", metavar="FILE",
                          help="write the simulated registry as YAML")
    simulate.add_argument("--registry-only", action="store_true",
                          help="only write --registry-out, publish nothing")
    simulate.set_defaults(handler=cmd_simulate)

    demo = sub.add_parser(
        "demo", help="everything at once, embedded where not configured; stops by itself")
    demo.add_argument("--sites", type=int, default=12, help="simulated wells and gates")
    demo.add_argument("--days", type=int, default=30, help="days of traffic to replay")
    demo.add_argument("--seconds", type=float, default=60.0,
                      help="run this long in all, set-up included (the replay is paced to end "
                           "earlier, so ingest and monitor catch up)")
    demo.add_argument("--speedup", type=float, default=None,
                      help="simulated time this many times faster than real "
                           "(default: --days replayed within 70 %% of the time left after set-up)")
    demo.add_argument("--lang", choices=["zh", "en"], default=None,
                      help="language of what it prints (default: zh)")
    demo.add_argument("--api-port", type=int, default=8000,
                      help="port of the API while the demo runs (a free one if taken)")
    demo.add_argument("--report-dir", default=".",
                      help="where the monthly report it issues is written (HTML)")
    demo.set_defaults(handler=cmd_demo)

    registry = sub.add_parser("registry", help="sites, meters, coefficients").add_subparsers(
        dest="action", required=True)
    load = registry.add_parser("load", help="load YAML/CSV registry files (docs/registry.md)")
    load.add_argument("files", nargs="+", help="registry files (.yaml, .yml or .csv)")
    load.add_argument("--lang", choices=["zh", "en"], default="zh",
                      help="language of messages")
    load.set_defaults(handler=cmd_registry_load)
    swap = registry.add_parser("replace-meter", help="record a meter replacement")
    swap.add_argument("--old", required=True, help="meter id of the meter taken out")
    swap.add_argument("--new", required=True, help="meter id of the meter put in")
    swap.add_argument("--at", required=True, help="time of the replacement (ISO 8601)")
    swap.add_argument("--final-register", type=float, required=True,
                      help="the old meter's last register reading")
    swap.add_argument("--initial-register", type=float, default=0.0,
                      help="the new meter's register when put in")
    swap.add_argument("--register-max", type=float,
                      help="the new meter's rollover value (default: the old meter's)")
    swap.add_argument("--multiplier", type=float,
                      help="the new meter's multiplier (default: the old meter's)")
    swap.set_defaults(handler=cmd_replace_meter)
    coef = registry.add_parser("add-coefficient", help="record a power-to-water coefficient")
    coef.add_argument("--site", required=True, help="site id")
    coef.add_argument("--valid-from", required=True,
                      help="from when it applies (ISO 8601; naive: WATERBUDGET_TIMEZONE)")
    coef.add_argument("--m3-per-kwh", type=float, required=True,
                      help="water per kWh (以电折水 coefficient)")
    coef.add_argument("--method", required=True, help="e.g. pump_test")
    coef.add_argument("--note", help="free text kept with it")
    coef.set_defaults(handler=cmd_add_coefficient)

    api = sub.add_parser("api", help="the HTTP API (OpenAPI at /docs)")
    api.add_argument("--host", default="127.0.0.1", help="address to listen on")
    api.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    api.set_defaults(handler=cmd_api)

    budget = sub.add_parser("budget", help="budgets: tokens, imports").add_subparsers(
        dest="action", required=True)
    token = budget.add_parser("token", help="create an API token (the first admin's too)")
    token.add_argument("--name", required=True, help="who the token is for")
    token.add_argument("--role", required=True,
                       choices=["administrator", "operator", "water_user"],
                       help="what the token may do")
    token.add_argument("--node", help="budget node code (operators and water users)")
    token.add_argument("--qr", type=Path, metavar="FILE.png",
                       help="water users: also write a PNG QR code of the personal /my link "
                            "to print for the farmer (needs --base-url)")
    token.add_argument("--base-url", metavar="URL",
                       help="the /my page's public address for --qr, e.g. "
                            "https://water.example.cn (default: none)")
    token.set_defaults(handler=cmd_budget_token)
    imp = budget.add_parser("import", help="import a Ganzhou-format budget (docs/budget-import.md)")
    imp.add_argument("manifest", nargs="?", help="default: the bundled Ganzhou 2024 plan")
    imp.add_argument("--accept-discrepancies", action="store_true",
                     help="store it although rows or totals do not add up (they are recorded)")
    imp.set_defaults(handler=cmd_budget_import)

    from reports.cli import add_parser as add_report_parser

    add_report_parser(sub)
    sched = sub.add_parser("scheduler", help="run the features' scheduled jobs (APScheduler)")
    sched.add_argument("--run", metavar="JOB", help="run one job now and exit")
    sched.set_defaults(handler=cmd_scheduler)
    boards = sub.add_parser("dashboards", help="Grafana dashboards (docs/dashboards.md)"
                            ).add_subparsers(dest="action", required=True)
    build = boards.add_parser("build", help="write the provisioning files and dashboard JSON")
    build.add_argument("--check", action="store_true",
                       help="only report files that differ from what the builders produce")
    build.set_defaults(handler=cmd_dashboards_build)
    publish = boards.add_parser("push", help="create or update data source, folder and "
                                "dashboards on a running Grafana")
    publish.add_argument("--grafana-url", help="default: WATERBUDGET_GRAFANA_URL")
    publish.set_defaults(handler=cmd_dashboards_push)

    letters = sub.add_parser("deadletters", help="the latest rejected input with reasons")
    letters.add_argument("--limit", type=int, default=20, help="how many to show")
    letters.set_defaults(handler=cmd_deadletters)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args, get_settings())
    except Exception as exc:  # the user gets the reason, not a traceback
        if args.verbose:
            raise
        from ingest.registry import RegistryError

        if isinstance(exc, RegistryError | psycopg.Error | ValueError | OSError):
            print(f"waterbudget {args.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
