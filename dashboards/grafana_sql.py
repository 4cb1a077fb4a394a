"""What Grafana does to a panel's SQL before PostgreSQL sees it, as pure functions.

Two steps, as in Grafana:
1. the browser replaces template variables (``$site``, ``${site}``, ``[[site]]``)
   and ``$__interval`` / ``$__interval_ms`` — the SQL data sources quote a value
   only for multi-value or include-all variables (``SqlDatasource.interpolateVariable``),
   and a custom "All" value is inserted as it is;
2. the PostgreSQL data source's backend replaces its macros
   (``pkg/tsdb/grafana-postgresql-datasource/macros.go``): ``$__timeFilter(c)`` →
   ``c BETWEEN '<from>' AND '<to>'`` (RFC 3339, UTC), ``$__timeGroup(c, '1h')`` →
   ``time_bucket('3600.000s',c)`` with the data source's TimescaleDB option, else
   ``floor(extract(epoch from c)/3600)*3600``, and the rest below. An unknown
   macro is an error, as in Grafana.

The tests and the benchmark run every panel's SQL through these functions and
then against the real database. The interval Grafana picks for ``$__interval``
depends on the panel's width in pixels; ``auto_interval`` follows Grafana's
rounding with an assumed width (``DEFAULT_MAX_DATA_POINTS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

DEFAULT_MAX_DATA_POINTS = 1000
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]")
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdwMy]))?(?:/([dwMy]))?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                 "M": 2592000, "y": 31536000}
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$")


class MacroError(ValueError):
    pass


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class VariableValue:
    """A template variable's current value and the flags that decide its quoting."""

    value: str | list[str]
    multi: bool = False
    include_all: bool = False


# ------------------------------------------------------------------ time ranges --

def relative_time(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """``now``, ``now-6h``, ``now/d``, ``now-1y/y``, rounded in the dashboard's zone."""
    match = _RELATIVE.match(text)
    if not match:
        raise ValueError(f"unsupported relative time {text!r}")
    amount, unit, rounding = match.groups()
    at = now.astimezone(zone)
    if amount:
        if unit in ("M", "y"):
            months = int(amount) * (12 if unit == "y" else 1)
            total = at.year * 12 + at.month - 1 - months
            at = at.replace(year=total // 12, month=total % 12 + 1)
        else:
            at -= timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
    if rounding == "d":
        at = at.replace(hour=0, minute=0, second=0, microsecond=0)
    elif rounding == "w":
        at = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    elif rounding == "M":
        at = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif rounding == "y":
        at = at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return at.astimezone(UTC)


def panel_range(dashboard_from: str, dashboard_to: str, now: datetime, zone: ZoneInfo,
                panel_time_from: str | None = None) -> TimeRange:
    """The range a panel queries: the dashboard's, or ``now-<timeFrom>`` to now."""
    if panel_time_from:
        return TimeRange(relative_time(f"now-{panel_time_from}", now, zone),
                         relative_time("now", now, zone))
    return TimeRange(relative_time(dashboard_from, now, zone),
                     relative_time(dashboard_to, now, zone))


# -------------------------------------------------------------------- intervals --

def parse_interval(text: str) -> timedelta:
    match = _INTERVAL.match(text.strip().strip("'"))
    if not match:
        raise MacroError(f"error parsing interval {text}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


# Grafana's rangeutil.roundInterval: (upper bound in ms, interval in ms).
_ROUNDING = [
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500),
    (1_500, 1_000), (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000),
    (25_000, 20_000), (45_000, 30_000), (90_000, 60_000), (210_000, 120_000),
    (450_000, 300_000), (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000),
    (2_700_000, 1_800_000), (5_400_000, 3_600_000), (9_000_000, 7_200_000),
    (16_200_000, 10_800_000), (27_000_000, 21_600_000), (43_200_000, 43_200_000),
    (604_800_000, 86_400_000), (1_814_400_000, 604_800_000), (3_628_800_000, 2_592_000_000),
]


def auto_interval(time_range: TimeRange, *, min_interval: str,
                  max_data_points: int = DEFAULT_MAX_DATA_POINTS) -> timedelta:
    raw_ms = time_range.seconds * 1000 / max_data_points
    rounded = next((ms for bound, ms in _ROUNDING if raw_ms < bound), 31_536_000_000)
    return max(timedelta(milliseconds=rounded), parse_interval(min_interval))


def format_interval(interval: timedelta) -> str:
    """The browser's ``secondsToHms``: the largest whole unit (``1y``, ``7d``, ``1h``)."""
    seconds = interval.total_seconds()
    for unit, size in (("y", 31_536_000), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms"


# --------------------------------------------------------- step 1: the browser --

def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def format_variable(variable: VariableValue) -> str:
    if isinstance(variable.value, list):
        return ",".join(quote_literal(v) for v in variable.value)
    if variable.multi or variable.include_all:
        return quote_literal(variable.value)
    return variable.value.replace("'", "''")


def interpolate_variables(sql: str, variables: dict[str, VariableValue],
                          interval: timedelta) -> str:
    builtins = {"__interval": format_interval(interval),
                "__interval_ms": str(int(interval.total_seconds() * 1000))}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return format_variable(variables[name])
        return match.group(0)  # not a variable: left alone, as Grafana does

    return _VARIABLE.sub(replace, sql)


# ------------------------------------------------ step 2: the data source backend --

def _rfc3339(at: datetime) -> str:
    text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    micros = at.astimezone(UTC).microsecond
    if micros:
        text += "." + f"{micros:06d}".rstrip("0")
    return text + "Z"


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form from 1e+06 on."""
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    point = len(digits) + exponent
    if -4 <= point - 1 < 6:
        return repr(value).removesuffix(".0")
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    power = point - 1
    return f"{'-' if sign else ''}{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"


def _time_group(args: list[str], timescaledb: bool) -> str:
    if len(args) < 2:
        raise MacroError("macro __timeGroup needs time column and interval and optional "
                         "fill value")
    seconds = parse_interval(args[1]).total_seconds()
    if timescaledb:
        return f"time_bucket('{seconds:.3f}s',{args[0]})"
    return f"floor(extract(epoch from {args[0]})/{go_float(seconds)})*{go_float(seconds)}"


def _evaluate(name: str, args: list[str], time_range: TimeRange, timescaledb: bool) -> str:
    start, end = _rfc3339(time_range.start), _rfc3339(time_range.end)
    column = args[0] if args and args[0] else None
    if name in ("__time", "__timeEpoch", "__timeFilter", "__unixEpochFilter",
                "__unixEpochNanoFilter") and column is None:
        raise MacroError(f"missing time column argument for macro {name}")
    epoch = (int(time_range.start.timestamp()), int(time_range.end.timestamp()))
    match name:
        case "__time":
            return f'{column} AS "time"'
        case "__timeEpoch":
            return f'extract(epoch from {column}) as "time"'
        case "__timeFilter":
            return f"{column} BETWEEN '{start}' AND '{end}'"
        case "__timeFrom":
            return f"'{start}'"
        case "__timeTo":
            return f"'{end}'"
        case "__timeGroup":
            return _time_group(args, timescaledb)
        case "__timeGroupAlias":
            return _time_group(args, timescaledb) + ' AS "time"'
        case "__unixEpochFilter":
            return f"{column} >= {epoch[0]} AND {column} <= {epoch[1]}"
        case "__unixEpochNanoFilter":
            return (f"{column} >= {epoch[0] * 10**9} AND {column} <= {epoch[1] * 10**9}")
        case "__unixEpochNanoFrom":
            return str(epoch[0] * 10**9)
        case "__unixEpochNanoTo":
            return str(epoch[1] * 10**9)
        case "__unixEpochGroup" | "__unixEpochGroupAlias":
            if len(args) < 2:
                raise MacroError(f"macro {name} needs time column and interval")
            seconds = go_float(parse_interval(args[1]).total_seconds())
            alias = ' AS "time"' if name.endswith("Alias") else ""
            return f"floor(({args[0]})/{seconds})*{seconds}{alias}"
    raise MacroError(f'unknown macro "{name}"')


def expand_macros(sql: str, time_range: TimeRange, *, timescaledb: bool,
                  interval: timedelta) -> str:
    sql = sql.replace("$__interval_ms", str(int(interval.total_seconds() * 1000)))
    sql = sql.replace("$__interval", format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(int(time_range.start.timestamp())))
    sql = sql.replace("$__unixEpochTo()", str(int(time_range.end.timestamp())))
    original = sql

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        # Before Grafana 5.3 `$__timeGroup(...),` meant the aliased form; it still does.
        if name == "__timeGroup":
            after = original.find(match.group(0)) + len(match.group(0))
            if original[after:after + 1] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in match.group(2).split(",")]
        return _evaluate(name, args, time_range, timescaledb)

    return _MACRO.sub(replace, sql)


def grafana_sql(sql: str, *, variables: dict[str, VariableValue], time_range: TimeRange,
                interval: timedelta, timescaledb: bool) -> str:
    """The SQL the PostgreSQL server receives for ``sql`` as written in the dashboard."""
    return expand_macros(interpolate_variables(sql, variables, interval), time_range,
                         timescaledb=timescaledb, interval=interval)
