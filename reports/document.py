"""A report as plain data: a header and sections, independent of language and format.

Shaping (``monthly``, ``final_accounts``) turns figures into a ``Document``;
each renderer (``render_xlsx``, ``render_html``, ``render_csv``, ``render_pdf``)
turns a ``Document`` into one format, in one language (``labels``). Values stay
exact: volumes are ``Decimal`` m³ (shown in 万m³), rates are fractions (shown in
%). Titles and column names are message keys, translated when rendered; names
of places and people are data and are never translated.

A document is stored as JSON (``document_json`` / ``document_from_json``) with
every figure it shows, so an issued report renders the same forever and a
revision can say exactly which figure changed (``revisions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import TypeAdapter

from budget.accounting_tables import AccountingTable


class ValueKind(StrEnum):
    TEXT = "text"
    LABEL = "label"  # a message key, translated when rendered
    VOLUME = "volume"  # Decimal m³, shown in 万m³ with two decimals
    RATE = "rate"  # Decimal fraction, shown in % with one decimal
    POINTS = "points"  # difference of two rates, shown in percentage points
    COUNT = "count"
    MONEY = "money"  # yuan, two decimals
    TIME = "time"  # aware datetime, shown in China time


Value = str | Decimal | int | datetime | None


@dataclass(frozen=True, slots=True)
class Text:
    """A sentence: a message key and its parameters (already formatted strings)."""

    key: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str  # message key
    kind: ValueKind


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # stable within its table (node code, source …): revisions compare by it
    cells: tuple[Value, ...]
    style: Literal["line", "total", "child"] = "line"
    depth: int = 0  # indentation of the first cell (the hierarchy)


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    title: str  # message key
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[Text, ...] = ()
    revises: bool = True  # False: a snapshot at build time (alerts, charges), never a revision
    type: Literal["table"] = "table"


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str  # message key
    value: Value
    kind: ValueKind
    flag: Literal["", "ok", "warn", "bad"] = ""  # how the figure reads against its tolerance


@dataclass(frozen=True, slots=True)
class Figures:
    """Key figures, one per line: label and value."""

    key: str
    title: str
    items: tuple[Figure, ...]
    notes: tuple[Text, ...] = ()
    type: Literal["figures"] = "figures"


@dataclass(frozen=True, slots=True)
class Series:
    label: str  # message key
    values: tuple[Decimal | None, ...]
    style: Literal["bar", "line"] = "bar"


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart where it reads better than a table; its data is also a table for CSV/XLSX."""

    key: str
    title: str
    categories: tuple[str, ...]  # month numbers or node names (data, not translated)
    series: tuple[Series, ...]
    kind: ValueKind  # VOLUME or RATE: the unit of every series
    category_label: str = ""  # message key of the category axis
    type: Literal["chart"] = "chart"


@dataclass(frozen=True, slots=True)
class Appendix:
    """A 宁夏 appendix table (budget.accounting_tables), rendered with its merged headers."""

    key: str
    table: AccountingTable
    type: Literal["appendix"] = "appendix"


Section = Table | Figures | Chart | Appendix


@dataclass(frozen=True, slots=True)
class Revision:
    """What a revised report says about itself (revision 1 has no previous)."""

    number: int
    previous_built_at: datetime | None = None
    changes: tuple[Change, ...] = ()
    changes_total: int = 0  # all changes; ``changes`` may hold only the first ones


@dataclass(frozen=True, slots=True)
class Change:
    section: str  # message key of the section's title
    row: str  # what the row is about (node name, source label key …)
    column: str  # message key
    kind: ValueKind
    old: Value
    new: Value


@dataclass(frozen=True, slots=True)
class Document:
    kind: Literal["monthly", "final_accounts"]
    title: str  # message key
    node_code: str
    node_name: str
    node_level: str
    period: str  # 2024-06 or 2024
    as_of: datetime  # the data up to this moment
    built_at: datetime  # what was known then
    sections: tuple[Section, ...]
    revision: Revision = field(default_factory=lambda: Revision(1))

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


_ADAPTER: TypeAdapter[Document] = TypeAdapter(Document)


def document_json(document: Document) -> dict[str, Any]:
    """JSON-ready dict (Decimals as strings, times in ISO 8601)."""
    data: dict[str, Any] = _ADAPTER.dump_python(document, mode="json")
    return data


def document_from_json(data: dict[str, Any]) -> Document:
    """The stored document back, every value as the type its kind says."""
    loaded = _ADAPTER.validate_python(data)
    changes = tuple(
        replace(c, old=typed(c.old, c.kind), new=typed(c.new, c.kind))
        for c in loaded.revision.changes
    )
    return replace(
        loaded,
        sections=tuple(_typed_section(s) for s in loaded.sections),
        revision=replace(loaded.revision, changes=changes),
    )


def typed(value: Value, kind: ValueKind) -> Value:
    """JSON gives numbers and times back as strings; the kind says what they were."""
    if value is None or not isinstance(value, str):
        return value
    if kind in (ValueKind.VOLUME, ValueKind.RATE, ValueKind.POINTS, ValueKind.MONEY):
        return Decimal(value)
    if kind is ValueKind.TIME:
        return datetime.fromisoformat(value)
    if kind is ValueKind.COUNT:
        return int(value)
    return value


def _typed_section(section: Section) -> Section:
    if isinstance(section, Table):
        kinds = [c.kind for c in section.columns]
        rows = tuple(
            replace(r, cells=tuple(typed(v, k) for v, k in zip(r.cells, kinds, strict=True)))
            for r in section.rows
        )
        return replace(section, rows=rows)
    if isinstance(section, Figures):
        items = tuple(replace(i, value=typed(i.value, i.kind)) for i in section.items)
        return replace(section, items=items)
    if isinstance(section, Appendix):  # header volumes (买入指标 …) back to Decimal
        fields = tuple(
            replace(f, value=Decimal(f.value))
            if isinstance(f.value, str) and not f.label.endswith(("名称", "代码"))
            else f
            for f in section.table.fields
        )
        return replace(section, table=replace(section.table, fields=fields))
    return section
