"""Registry files read as a whole, each value with its place (file, line, field). Pure code.

YAML is composed to nodes first (PyYAML), so every record and every field keeps the line
it was written on; the scalars are then constructed one by one, so a value PyYAML cannot
build (a date like 2026-02-30, an unsafe tag) is a problem of that field, not a traceback.
CSV rows keep their line too. The shape is checked here — a mapping of the known lists,
each a list of records, each record a mapping of known fields with single values — and
every problem of the file is collected, so an operator sees them all at once. What the
values mean is checked by ``ingest.registry``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingest.gate_ratings import CSV_COLUMNS as GATE_RATING_FIELDS
from ingest.szy206_terminals import CSV_COLUMNS as TERMINAL_FIELDS

REGISTER_FIELDS = ("register_max", "register_display_max", "register_digits",
                   "register_resolution")
FIELDS: dict[str, tuple[str, ...]] = {
    "sites": ("site_id", "name", "kind", "source", "township", "irrigation_district", "lat",
              "lon", "rated_m3h", "timezone"),
    "meters": ("meter_id", "site_id", "device_id", "channel", "installed_at", "removed_at",
               *REGISTER_FIELDS, "multiplier", "initial_register", "final_register",
               "expected_interval_s"),
    "coefficients": ("site_id", "valid_from", "m3_per_kwh", "method", "note"),
    "terminals": TERMINAL_FIELDS,
    "gate_ratings": GATE_RATING_FIELDS,
}
KINDS = tuple(FIELDS)
LIST_FIELDS = {"levels", "points"}  # fields that may be a YAML list
_KIND_NAMES = {"sites": "站点", "meters": "计量设施", "coefficients": "折算系数",
               "terminals": "遥测终端", "gate_ratings": "闸门流量参数"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a registry file, where it is, in both languages."""

    where: str  # "path:line"
    en: str
    zh: str

    def render(self, lang: str = "zh") -> str:
        return f"{self.where}: {self.en if lang == 'en' else self.zh}"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a file: its values as read, and where each was written."""

    source: str
    kind: str
    index: int
    line: int
    values: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kind}[{self.index}]"

    def where(self, field_name: str | None = None) -> str:
        return f"{self.source}:{self.lines.get(field_name or '', self.line)}"


def read_records(path: Path) -> tuple[list[Record], list[Problem]]:
    """The file's records and every problem of its shape (empty when it has none)."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(f"{source}:1", f"not UTF-8 text (byte {exc.start})",
                            f"不是 UTF-8 编码的文本（第 {exc.start} 字节）")]
    except OSError as exc:
        return [], [Problem(f"{source}:1", f"cannot be read: {exc.strerror or exc}",
                            f"无法读取：{exc.strerror or exc}")]
    if path.suffix.lower() == ".csv":
        records, problems = _csv_records(source, text)
    else:
        records, problems = _yaml_records(source, text)
    if not records and not problems:
        problems.append(Problem(f"{source}:1", "the file holds no records (sites, meters, "
                                "coefficients, terminals, gate_ratings)",
                                "文件中没有任何记录（sites、meters、coefficients、terminals、"
                                "gate_ratings）"))
    return records, problems


# --- CSV --------------------------------------------------------------------------------------

def csv_kind(header: list[str]) -> str:
    return ("meters" if "meter_id" in header else
            "coefficients" if "m3_per_kwh" in header else
            "terminals" if "address" in header else
            "gate_ratings" if "valid_from" in header else "sites")


def _csv_records(source: str, text: str) -> tuple[list[Record], list[Problem]]:
    problems: list[Problem] = []
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as exc:
        return [], [Problem(f"{source}:1", f"CSV error: {exc}", f"CSV 格式错误：{exc}")]
    lines = _csv_row_lines(text)
    if not rows or not any(cell.strip() for cell in rows[0]):
        return [], [Problem(f"{source}:1", "empty file: a CSV registry file needs a header row "
                            "and records", "文件为空：CSV 台账文件需要表头行和数据行")]
    header = [cell.strip() for cell in rows[0]]
    kind = csv_kind(header)
    known = FIELDS[kind]
    for column in header:
        if column not in known:
            problems.append(Problem(
                f"{source}:1", f"column {column!r} is not a field of {kind} "
                f"(fields: {', '.join(known)})",
                f"列 {column!r} 不是{_KIND_NAMES[kind]}（{kind}）的字段"
                f"（可用字段：{', '.join(known)}）"))
    records: list[Record] = []
    for number, row in enumerate(rows[1:], start=1):
        line = lines[number] if number < len(lines) else number + 1
        if not any(cell.strip() for cell in row):
            continue
        index = len(records)
        if len(row) > len(header):
            problems.append(Problem(f"{source}:{line}",
                                    f"{kind}[{index}]: {len(row)} values for {len(header)} columns",
                                    f"{kind}[{index}]：有 {len(row)} 个值，但表头只有 "
                                    f"{len(header)} 列"))
        values = {name: value for name, value in zip(header, row, strict=False) if name in known}
        records.append(Record(source, kind, index, line, values))
    return records, problems


def _csv_row_lines(text: str) -> list[int]:
    """Line number (1-based) on which each CSV row starts (quoted newlines span lines)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    starts = []
    start = 1
    try:
        for _ in reader:
            starts.append(start)
            start = reader.line_num + 1
    except csv.Error:
        pass
    return starts


# --- YAML -------------------------------------------------------------------------------------

def _yaml_records(source: str, text: str) -> tuple[list[Record], list[Problem]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p).replace("\n", " ")
        return [], [Problem(f"{source}:{line}", f"YAML syntax error: {problem}",
                            f"YAML 语法错误：{problem}")]
    except yaml.YAMLError as exc:  # a character YAML does not allow (ReaderError)
        position = int(getattr(exc, "position", 0) or 0)
        line = text[:position].count("\n") + 1
        character = getattr(exc, "character", None)
        shown = f"U+{ord(character):04X}" if isinstance(character, str) else repr(character)
        return [], [Problem(f"{source}:{line}", f"not YAML: character {shown} is not allowed",
                            f"不是有效的 YAML：不允许使用字符 {shown}")]
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return [], [Problem(f"{source}:1", "empty file: nothing to load",
                            "文件为空：没有可导入的内容")]
    problems: list[Problem] = []
    if not isinstance(root, yaml.MappingNode):
        return [], [Problem(_at(source, root), "expected a mapping with the lists "
                            f"{', '.join(KINDS)}, got {_shape(root)}",
                            f"文件应为包含 {', '.join(KINDS)} 列表的映射，实际是{_shape_zh(root)}")]
    records: list[Record] = []
    seen: set[str] = set()
    for key, value in root.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else None
        if name not in FIELDS:
            problems.append(Problem(_at(source, key), f"unknown list {name or _shape(key)!r} "
                                    f"(known: {', '.join(KINDS)})",
                                    f"未知的列表 {name or _shape(key)!r}"
                                    f"（可用：{', '.join(KINDS)}）"))
            continue
        if name in seen:
            problems.append(Problem(_at(source, key), f"{name}: the list is given twice",
                                    f"{name}：该列表出现了两次"))
            continue
        seen.add(name)
        if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null"):
            continue  # `meters:` with nothing: an empty list
        if not isinstance(value, yaml.SequenceNode):
            problems.append(Problem(_at(source, value), f"{name}: expected a list of records, "
                                    f"got {_shape(value)}",
                                    f"{name}：应为记录列表（每项以 “- ” 开头），"
                                    f"实际是{_shape_zh(value)}"))
            continue
        for index, item in enumerate(value.value):
            record = _record(source, name, index, item, problems)
            if record is not None:
                records.append(record)
    return records, problems


def _record(source: str, kind: str, index: int, node: yaml.Node,
            problems: list[Problem]) -> Record | None:
    label = f"{kind}[{index}]"
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(_at(source, node), f"{label}: expected a record (field: value "
                                f"pairs), got {_shape(node)}",
                                f"{label}：应为一条记录（“字段: 值”），实际是{_shape_zh(node)}"))
        return None
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    fine = True
    for key, value in node.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
        where = _at(source, key)
        if name not in FIELDS[kind]:
            problems.append(Problem(where, f"{label}: unknown field {name or _shape(key)!r} "
                                    f"(fields: {', '.join(FIELDS[kind])})",
                                    f"{label}：未知字段 {name or _shape(key)!r}"
                                    f"（可用字段：{', '.join(FIELDS[kind])}）"))
            continue  # the record's other fields are still checked
        if name in values:
            problems.append(Problem(where, f"{label}.{name}: given twice",
                                    f"{label}.{name}：该字段出现了两次"))
            continue
        lines[name] = key.start_mark.line + 1
        built = _value(source, f"{label}.{name}", value, name in LIST_FIELDS, problems)
        if built is _BAD:  # a value that could not be read: the record is not checked further
            fine = False
            continue
        values[name] = built
    line = node.start_mark.line + 1
    return Record(source, kind, index, line, values, lines) if fine else None


_BAD = object()
_TEXT_SAFE = re.compile(r"^[^\x00]*$")


def _value(source: str, label: str, node: yaml.Node, may_be_list: bool,
           problems: list[Problem]) -> Any:
    """A field's value: a scalar, or (``levels``, ``points``) a list of scalars or pairs."""
    if isinstance(node, yaml.SequenceNode) and may_be_list:
        items = []
        for item in node.value:
            if isinstance(item, yaml.SequenceNode):
                pair = [_value(source, label, p, False, problems) for p in item.value]
                if any(p is _BAD for p in pair):
                    return _BAD
                items.append(pair)
            else:
                built = _value(source, label, item, False, problems)
                if built is _BAD:
                    return _BAD
                items.append(built)
        return items
    if not isinstance(node, yaml.ScalarNode):
        problems.append(Problem(_at(source, node), f"{label}: expected a single value, "
                                f"got {_shape(node)}",
                                f"{label}：应为单个值，实际是{_shape_zh(node)}"))
        return _BAD
    try:
        value = yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        problems.append(Problem(_at(source, node), f"{label}: {node.value!r} cannot be read "
                                f"({exc})", f"{label}：无法读取值 {node.value!r}（{exc}）"))
        return _BAD
    if isinstance(value, str) and not _TEXT_SAFE.match(value):
        problems.append(Problem(_at(source, node), f"{label}: text with a NUL character",
                                f"{label}：文本中含有 NUL 字符"))
        return _BAD
    return value


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def _shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the value {str(node.value)[:40]!r}"


def _shape_zh(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "一个映射"
    if isinstance(node, yaml.SequenceNode):
        return "一个列表"
    return f"值 {str(node.value)[:40]!r}"
