"""Batches of reports for the command line and the scheduler: one transaction per report.

``issue_reports`` issues one kind and period for a node, or for every node that
gets a report (district down to unit); ``refresh_reports`` re-issues the stored
reports of recent periods, so data backfilled after issue gives a revision.
A report that fails is reported with its reason and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from reports import repository as repo
from reports import service
from reports.monthly import ReportError

log = logging.getLogger(__name__)
Progress = Callable[[Iterable[int], int], Iterator[int]]
"""Wraps the nodes to report on (a progress bar on the command line); total given."""


def _plain(items: Iterable[int], total: int) -> Iterator[int]:
    return iter(items)


@dataclass(slots=True)
class BatchResult:
    created: list[repo.StoredReport] = field(default_factory=list)
    unchanged: list[repo.StoredReport] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # node, reason


def issue_reports(database_url: str, *, kind: str, period: str, built_at: datetime, by: str,
                  node_code: str | None = None, all_nodes: bool = False,
                  as_of: datetime | None = None, progress: Progress = _plain,
                  close_year: bool = False) -> BatchResult:
    """Issue ``kind`` for ``period``; ``close_year``: a person issuing the final accounts of
    a district closes its budget year, as through the API (``service.issue``)."""
    span = service.period_of(kind, period)
    with psycopg.connect(database_url) as conn:
        shared = service.year_data(conn, year=span.year)
    h = shared.hierarchy
    if node_code is not None:
        node = h.by_code(node_code)
        if node is None:
            raise ReportError(f"no budget node with code {node_code!r}")
        nodes = service.reported_nodes(h, root_id=node.node_id) if all_nodes else [node.node_id]
    else:
        nodes = service.reported_nodes(h)
    return _run(database_url, [(n, kind, period, as_of) for n in nodes], built_at, by,
                shared, progress, close_year=close_year)


def refresh_reports(database_url: str, *, first_period: str, built_at: datetime, by: str,
                    progress: Progress = _plain) -> BatchResult:
    """Re-issue the latest revision of every report of ``first_period`` or later at its own
    as_of: a revision where the data changed since, nothing where it did not."""
    with psycopg.connect(database_url) as conn:
        stored = repo.latest_revisions_since(conn, first_period=first_period)
    jobs = [(r.node_id, r.kind, r.period, r.as_of) for r in stored]
    return _run(database_url, jobs, built_at, by, None, progress)


def _run(database_url: str, jobs: Sequence[tuple[int, str, str, datetime | None]],
         built_at: datetime, by: str, shared: service.YearData | None,
         progress: Progress, *, close_year: bool = False) -> BatchResult:
    result = BatchResult()
    for index in progress(range(len(jobs)), len(jobs)):
        node_id, kind, period, as_of = jobs[index]
        try:
            with psycopg.connect(database_url) as conn:
                issued = service.issue(conn, kind=kind, node_id=node_id, period=period,
                                       built_at=built_at, by=by, as_of=as_of, shared=shared,
                                       close_year=close_year)
        except (ReportError, psycopg.Error) as exc:
            log.warning("report %s %s of node %s failed: %s", kind, period, node_id, exc)
            result.failed.append((node_id, str(exc)))
            continue
        (result.created if issued.created else result.unchanged).append(issued.report)
    return result
