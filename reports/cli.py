"""``waterbudget report …``: issue, refresh, list and export reports (thin: parse, call, answer)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from tqdm import tqdm

from reports import commands, repository
from reports.formats import FORMATS, file_name
from reports.labels import LANGUAGES
from reports.scheduled import first_refresh_period
from waterbudget.settings import Settings


def _bar(items: Iterable[int], total: int) -> Iterator[int]:
    """A progress bar on stderr for long runs (hidden for a single report)."""
    return iter(tqdm(items, total=total, unit="report", disable=total < 2, file=sys.stderr))


def _when(text: str | None, settings: Settings) -> datetime | None:
    if text is None:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=settings.zone)


def _summary(result: commands.BatchResult) -> int:
    for r in result.created:
        print(f"issued {r.kind} {r.period} node {r.node_id} revision {r.revision} "
              f"(report {r.report_id}, {r.changes} changes)")
    if result.unchanged:
        print(f"{len(result.unchanged)} report(s) unchanged: the stored revision stands")
    for node_id, reason in result.failed:
        print(f"failed: node {node_id}: {reason}", file=sys.stderr)
    return 1 if result.failed else 0


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    kind = "monthly" if args.action == "monthly" else "final_accounts"
    period = args.period if kind == "monthly" else str(args.year)
    result = commands.issue_reports(
        settings.database_url, kind=kind, period=period, built_at=datetime.now(UTC), by="cli",
        node_code=args.node, all_nodes=args.all or args.node is None,
        as_of=_when(getattr(args, "as_of", None), settings), progress=_bar,
        close_year=kind == "final_accounts")  # a person issues them: the year closes
    return _summary(result)


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    result = commands.refresh_reports(settings.database_url, built_at=now, by="cli",
                                      first_period=first_refresh_period(now, args.months),
                                      progress=_bar)
    return _summary(result)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        node_ids = None
        if args.node:
            node = repository.hierarchy(conn).by_code(args.node)
            if node is None:
                raise SystemExit(f"no budget node with code {args.node!r}")
            node_ids = [node.node_id]
        rows = repository.list_reports(conn, node_ids=node_ids, kind=None, period=args.period)
    for r in rows:
        print(f"{r.report_id:>6}  {r.kind:<15} {r.period:<8} node {r.node_id:<6} "
              f"rev {r.revision:<3} as of {r.as_of.isoformat()}  built {r.built_at:%Y-%m-%d %H:%M}"
              f" by {r.built_by} ({r.changes} changes)")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        stored = repository.report(conn, report_id=args.id)
    if stored is None or stored.document is None:
        raise SystemExit(f"no stored report {args.id}")
    out = Path(args.output or file_name(stored.document, args.format))
    out.write_bytes(FORMATS[args.format].render(stored.document, args.lang))
    print(f"written {out}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="execution reports and final accounts (docs/reports.md)")
    actions = report.add_subparsers(dest="action", required=True)
    monthly = actions.add_parser("monthly", help="issue the monthly execution report")
    monthly.add_argument("--period", required=True, help="the month, e.g. 2024-06")
    monthly.add_argument("--as-of", help="a moment inside the month (default: its end)")
    final = actions.add_parser("final", help="issue the year-end final accounts (决算)")
    final.add_argument("--year", type=int, required=True, help="the budget year, e.g. 2024")
    for p in (monthly, final):
        p.add_argument("--node", help="budget node code (default: every node, district to unit)")
        p.add_argument("--all", action="store_true", help="the node and every node below it")
        p.set_defaults(handler=cmd_issue)
    refresh = actions.add_parser("refresh", help="revise recent reports where data changed")
    refresh.add_argument("--months", type=int, default=3,
                         help="how many recent months to look at")
    refresh.set_defaults(handler=cmd_refresh)
    listing = actions.add_parser("list", help="stored reports and revisions")
    listing.add_argument("--node", help="only this budget node (code)")
    listing.add_argument("--period", help="only this period, e.g. 2024-06 or 2024")
    listing.set_defaults(handler=cmd_list)
    export = actions.add_parser("export", help="write a stored report to a file")
    export.add_argument("id", type=int, help="report id (see `waterbudget report list`)")
    export.add_argument("--format", choices=sorted(FORMATS), default="xlsx", help="file format")
    export.add_argument("--lang", choices=LANGUAGES, default="zh", help="language of the report")
    export.add_argument("-o", "--output",
                        help="file to write (default: named after node, kind and period)")
    export.set_defaults(handler=cmd_export)
