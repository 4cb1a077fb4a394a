"""What changed between two issues of one report: every figure, compared exactly.

Pure. Two documents are flattened to their figures, keyed by section, row key
and column (rows by their stable key — node code, source —, never by
position), and compared as stored: exact m³ and exact rates, so a backfilled
cubic metre shows even where the 万m³ rounding hides it. A figure that appears
or disappears is a change from or to blank.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reports.document import (
    Appendix,
    Change,
    Chart,
    Document,
    Figures,
    Revision,
    Table,
    Value,
    ValueKind,
)

LISTED_CHANGES = 200
"""Changes a revision lists one by one; the count says how many there are in all."""


@dataclass(frozen=True, slots=True)
class _Figure:
    section: str
    row: str
    column: str
    kind: ValueKind
    value: Value
    revises: bool = True


def figures(document: Document) -> dict[tuple[str, str, str], _Figure]:
    """Every figure of a document by (section, row key, column key), in document order."""
    out: dict[tuple[str, str, str], _Figure] = {}
    for s in document.sections:
        if isinstance(s, Table):
            for row in s.rows:
                name = str(row.cells[0]) if row.cells else row.key
                for value, column in zip(row.cells[1:], s.columns[1:], strict=True):
                    out[(s.key, row.key, column.key)] = _Figure(
                        s.title, name, column.label, column.kind, value, s.revises)
        elif isinstance(s, Figures):
            for item in s.items:
                out[(s.key, "", item.key)] = _Figure(s.title, "", item.label, item.kind, item.value)
        elif isinstance(s, Chart):
            for series in s.series:
                for category, value in zip(s.categories, series.values, strict=True):
                    out[(s.key, category, series.label)] = _Figure(
                        s.title, category, series.label, s.kind, value)
        elif isinstance(s, Appendix):
            for r in s.table.rows:
                for header, value in zip(s.table.columns, r.values, strict=True):
                    out[(s.key, f"{r.group}/{r.label}", header.key)] = _Figure(
                        s.table.title, r.label, " · ".join(header.header), ValueKind.VOLUME,
                        value if value is None else value * 10_000)
    return out


def changes(old: Document, new: Document, *, snapshots: bool = True) -> list[Change]:
    """The figures that differ, in the new document's order (then the ones it dropped);
    ``snapshots=False`` leaves out the tables that never revise a report (alerts, charges)."""
    before, after = figures(old), figures(new)
    if not snapshots:
        before = {k: f for k, f in before.items() if f.revises}
        after = {k: f for k, f in after.items() if f.revises}
    found = []
    if old.as_of != new.as_of:
        found.append(Change("label.as_of", "", "label.as_of", ValueKind.TIME, old.as_of,
                            new.as_of))
    for key, now in after.items():
        was = before.get(key)
        if was is None or was.value != now.value:
            found.append(Change(now.section, now.row, now.column, now.kind,
                                None if was is None else was.value, now.value))
    for key, was in before.items():
        if key not in after:
            found.append(Change(was.section, was.row, was.column, was.kind, was.value, None))
    return found


def revised(previous: Document, previous_number: int, new: Document) -> Document | None:
    """``new`` as the next revision of ``previous``, saying what changed; ``None`` when no
    figure that revises a report did (then no revision is issued). A revision lists the
    snapshot tables' changes too, since it carries their newer figures."""
    if not changes(previous, new, snapshots=False):
        return None
    found = changes(previous, new)
    revision = Revision(previous_number + 1, previous.built_at, tuple(found[:LISTED_CHANGES]),
                        len(found))
    return _with_revision(new, revision)


def first_issue(document: Document) -> Document:
    return _with_revision(document, Revision(1))


def _with_revision(document: Document, revision: Revision) -> Document:
    return replace(document, revision=revision)
