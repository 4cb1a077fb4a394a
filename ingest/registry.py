"""The registry of sites, meters and power-to-water coefficients, as plain data.

Loaded from YAML or CSV files (format in docs/registry.md) and from the
database; looked up by the ingestor: which meter a device's reading belongs
to at the reading's time (meters are replaced; a device keeps its id).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.consumption import RegisterSpec
from ingest.gate_discharge import GateVersion
from ingest.gate_ratings import GateRating, GateRatingError, gate_rating_from
from ingest.registry_files import FIELDS, Problem, Record, read_records
from ingest.szy206_terminals import Terminal, TerminalError, check_terminals, terminal_from

SITE_KINDS = ("well", "canal_gate", "pump_station")
METER_CHANNELS = ("flow", "power", "card", "gate")


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    kind: str
    source: str
    township: str | None = None
    irrigation_district: str | None = None
    lat: float | None = None
    lon: float | None = None
    rated_m3h: float | None = None
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Meter:
    meter_id: str
    site_id: str
    device_id: str
    channel: str
    installed_at: datetime
    removed_at: datetime | None = None
    register_max: float | None = None
    multiplier: float = 1.0
    # register at installation; None: unknown, the first reading is the baseline (no interval
    # before it). The dataclass default 0.0 is for code; a file record without it is None.
    initial_register: float | None = 0.0
    final_register: float | None = None
    expected_interval_s: int = 3600

    def active_at(self, ts: datetime) -> bool:
        return self.installed_at <= ts and (self.removed_at is None or ts < self.removed_at)


@dataclass(frozen=True, slots=True)
class Coefficient:
    site_id: str
    valid_from: datetime
    m3_per_kwh: float
    method: str
    note: str | None = None


class RegistryError(ValueError):
    """A registry file or change that cannot be accepted; names the record at fault.

    ``str()`` is English; ``render("zh")`` Chinese. A file's error lists every problem of
    the file (``problems``), each with file and line.
    """

    def __init__(self, message: str = "", *, zh: str | None = None,
                 problems: Sequence[Problem] = ()) -> None:
        self.problems = list(problems)
        self.zh = zh
        super().__init__(message or "\n".join(p.render("en") for p in self.problems))

    def render(self, lang: str = "zh") -> str:
        if self.problems:
            return "\n".join(p.render(lang) for p in self.problems)
        return str(self) if lang == "en" or self.zh is None else self.zh


@dataclass
class Registry:
    sites: dict[str, Site] = field(default_factory=dict)
    meters: dict[str, Meter] = field(default_factory=dict)
    coefficients: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    coefficient_records: dict[tuple[str, datetime], Coefficient] = field(default_factory=dict)
    _by_device: dict[tuple[str, str], list[Meter]] = field(default_factory=dict)
    _zones: dict[str, str] = field(default_factory=dict)  # device -> site time zone
    _installed: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    terminals: dict[str, Terminal] = field(default_factory=dict)  # SZY206 address -> terminal
    gate_ratings: dict[tuple[str, datetime], GateRating] = field(default_factory=dict)
    _gate_versions: dict[str, list[GateVersion]] = field(default_factory=dict)
    # where a record loaded from a file was written ("path:line"), by "site W1", "meter M1"…
    origins: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, sites: Iterable[Site], meters: Iterable[Meter],
              coefficients: Iterable[Coefficient], *, terminals: Iterable[Terminal] = (),
              gate_ratings: Iterable[GateRating] = ()) -> Registry:
        registry = cls(sites={s.site_id: s for s in sites},
                       terminals={t.address: t for t in terminals})
        for meter in meters:
            registry.meters[meter.meter_id] = meter
            registry._by_device.setdefault((meter.device_id, meter.channel), []).append(meter)
            site = registry.sites.get(meter.site_id)
            registry._zones[meter.device_id] = site.timezone if site else "Asia/Shanghai"
        for key, installs in registry._by_device.items():
            installs.sort(key=lambda m: m.installed_at)
            registry._installed[key] = [m.installed_at for m in installs]
        for coef in sorted(coefficients, key=lambda c: c.valid_from):
            registry.coefficient_records[(coef.site_id, coef.valid_from)] = coef
            registry.coefficients.setdefault(coef.site_id, []).append(
                (coef.valid_from, coef.m3_per_kwh))
        for rating in sorted(gate_ratings, key=lambda r: r.valid_from):
            registry.gate_ratings[(rating.site_id, rating.valid_from)] = rating
            registry._gate_versions.setdefault(rating.site_id, []).append(rating.version())
        return registry

    def merged_with(self, incoming: Registry) -> Registry:
        """This registry with the incoming records added or replacing ones of the same key."""
        merged = Registry.build({**self.sites, **incoming.sites}.values(),
                              {**self.meters, **incoming.meters}.values(),
                              {**self.coefficient_records,
                               **incoming.coefficient_records}.values(),
                              terminals={**self.terminals, **incoming.terminals}.values(),
                              gate_ratings={**self.gate_ratings,
                                            **incoming.gate_ratings}.values())
        merged.origins = {**self.origins, **incoming.origins}
        return merged

    def meter_for(self, device_id: str, channel: str, ts: datetime) -> Meter | None:
        """The meter installed on the device's channel at ts."""
        key = (device_id, channel)
        installs = self._by_device.get(key)
        if not installs:
            return None
        if len(installs) == 1:  # most devices have had one meter on a channel
            return installs[0] if installs[0].active_at(ts) else None
        index = bisect.bisect_right(self._installed[key], ts) - 1
        if index >= 0 and installs[index].active_at(ts):
            return installs[index]
        return None

    def gate_versions(self, site_id: str) -> list[GateVersion]:
        """The site's gate ratings, sorted by valid_from."""
        return self._gate_versions.get(site_id, [])

    def knows_device(self, device_id: str) -> bool:
        return device_id in self._zones

    def zone_for(self, device_id: str, default: ZoneInfo) -> ZoneInfo:
        name = self._zones.get(device_id)
        return default if name is None or name == default.key else ZoneInfo(name)

    def register_spec(self, meter: Meter) -> RegisterSpec:
        """What the delta rules need: capacity in the register's own unit per hour."""
        site = self.sites[meter.site_id]
        rate = site.rated_m3h
        if rate is not None and meter.channel in ("power", "card"):
            # power registers and kWh-only card sessions are checked in kWh
            versions = self.coefficients.get(meter.site_id)
            # kWh/h the pump can draw: m³/h over the smallest coefficient on record
            rate = rate / min(c for _, c in versions) if versions else None
        return RegisterSpec(meter.register_max, meter.multiplier, rate)


# --- loading from files -------------------------------------------------------

def _fail(en: str, zh: str) -> RegistryError:
    return RegistryError(en, zh=zh)


def _time(value: Any, where: str, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _fail(f"{where}: {value!r} is not an ISO 8601 time",
                        f"{where}：{value!r} 不是 ISO 8601 时间（如 2026-04-01 08:00:00）"
                        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _opt_float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool | list | dict):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _fail(f"{where}: {value!r} is not a number",
                    f"{where}：{value!r} 不是数字") from None
    if not math.isfinite(number):
        raise _fail(f"{where}: {value!r} is not a finite number", f"{where}：{value!r} 不是有限数")
    return number


def _required(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if value is None or str(value).strip() == "":
        raise _fail(f"{where}: {key} is required", f"{where}：缺少必填字段 {key}")
    return str(value).strip()


def _optional_text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def site_from(record: Mapping[str, Any], where: str) -> Site:
    kind = _required(record, "kind", where)
    if kind not in SITE_KINDS:
        raise _fail(f"{where}: kind {kind!r} is not one of {SITE_KINDS}",
                    f"{where}：kind {kind!r} 不是 {' | '.join(SITE_KINDS)} 之一")
    timezone = _optional_text(record, "timezone") or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"{where}: unknown time zone {timezone!r}",
                    f"{where}：timezone {timezone!r} 不是已知时区") from None
    lat = _opt_float(record.get("lat"), f"{where}.lat")
    lon = _opt_float(record.get("lon"), f"{where}.lon")
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise _fail(f"{where}: lat/lon ({lat}, {lon}) is not a place on Earth",
                    f"{where}：lat/lon ({lat}, {lon}) 不是地球上的位置")
    rated = _opt_float(record.get("rated_m3h"), f"{where}.rated_m3h")
    if rated is not None and rated <= 0:
        raise _fail(f"{where}: rated_m3h must be positive", f"{where}：rated_m3h 必须大于 0")
    return Site(_required(record, "site_id", where), _required(record, "name", where), kind,
                _required(record, "source", where), _optional_text(record, "township"),
                _optional_text(record, "irrigation_district"), lat, lon, rated, timezone)


def _decimal(value: Any) -> Decimal:
    """The number as written (99999.9 -> Decimal('99999.9')), for exact register arithmetic."""
    if isinstance(value, str):
        return Decimal(value.strip())
    if isinstance(value, float) and not value.is_integer():
        return Decimal(repr(value))
    return Decimal(int(value))


def register_modulus(record: Mapping[str, Any], where: str) -> float | None:
    """The value at which the register returns to 0, from the record's register fields.

    As on the meter's plate: ``register_digits`` and ``register_resolution`` (6 digits of
    0.1: 99999.9 is the largest display, 100000 the modulus), or ``register_display_max``
    (the largest value the display shows; the resolution is the last written decimal unless
    given), or ``register_max`` itself (the modulus). None: the register never wraps.
    """
    given = {k: record.get(k) for k in ("register_max", "register_display_max",
                                        "register_digits", "register_resolution")
             if record.get(k) not in (None, "")}
    numbers = {k: _opt_float(v, f"{where}.{k}") for k, v in given.items()}
    ways = [k for k in ("register_max", "register_display_max", "register_digits")
            if k in given]
    if len(ways) > 1:
        raise _fail(f"{where}: give one of register_max, register_display_max, register_digits "
                    f"(got {', '.join(ways)})",
                    f"{where}：register_max、register_display_max、register_digits 只能填一个"
                    f"（填了 {', '.join(ways)}）")
    resolution = numbers.get("register_resolution")
    if resolution is not None and resolution <= 0:
        raise _fail(f"{where}: register_resolution must be positive",
                    f"{where}：register_resolution 必须大于 0")
    if not ways:
        if resolution is not None:
            raise _fail(f"{where}: register_resolution needs register_digits or "
                        f"register_display_max",
                        f"{where}：register_resolution 需与 register_digits 或 "
                        f"register_display_max 一起填写")
        return None
    if ways == ["register_max"]:
        if resolution is not None:
            raise _fail(f"{where}: register_resolution goes with register_digits or "
                        f"register_display_max, not register_max",
                        f"{where}：register_resolution 应与 register_digits 或 "
                        f"register_display_max 一起填写，而不是 register_max")
        modulus = numbers["register_max"]
        assert modulus is not None
        if modulus <= 0:
            raise _fail(f"{where}: register_max must be positive",
                        f"{where}：register_max 必须大于 0")
        return modulus
    digits = numbers.get("register_digits")
    if digits is not None and (digits != int(digits) or not 1 <= digits <= 15):
        raise _fail(f"{where}: register_digits must be a whole number from 1 to 15",
                    f"{where}：register_digits 必须是 1 到 15 的整数")
    try:
        step = _decimal(given["register_resolution"]) if resolution is not None else None
        if digits is not None:
            return float((step if step is not None else Decimal(1)) * 10 ** int(digits))
        display = _decimal(given["register_display_max"])
    except (InvalidOperation, ValueError, OverflowError):
        raise _fail(f"{where}: the register fields are not numbers",
                    f"{where}：计数器字段不是数字") from None
    if display <= 0:
        raise _fail(f"{where}: register_display_max must be positive",
                    f"{where}：register_display_max 必须大于 0")
    exponent = display.as_tuple().exponent
    unit = step if step is not None else Decimal(1).scaleb(min(0, int(exponent))
                                                           if isinstance(exponent, int) else 0)
    if display % unit != 0:
        raise _fail(f"{where}: register_display_max {display} is not a multiple of "
                    f"register_resolution {unit}",
                    f"{where}：register_display_max {display} 不是 register_resolution "
                    f"{unit} 的整数倍")
    return float(display + unit)


def meter_from(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> Meter:
    channel = _required(record, "channel", where)
    if channel not in METER_CHANNELS:
        raise _fail(f"{where}: channel {channel!r} is not one of {METER_CHANNELS}",
                    f"{where}：channel {channel!r} 不是 {' | '.join(METER_CHANNELS)} 之一")
    removed = record.get("removed_at")
    multiplier = _opt_float(record.get("multiplier"), f"{where}.multiplier")
    if multiplier is not None and multiplier <= 0:
        raise _fail(f"{where}: multiplier must be positive, got {multiplier}",
                    f"{where}：multiplier（倍率）必须大于 0，实际为 {multiplier}")
    interval = _opt_float(record.get("expected_interval_s"), f"{where}.expected_interval_s")
    if interval is not None and (interval <= 0 or interval != int(interval)
                                 or interval > 2**31 - 1):
        raise _fail(f"{where}: expected_interval_s must be a positive whole number",
                    f"{where}：expected_interval_s 必须是正整数（秒）")
    initial = _opt_float(record.get("initial_register"), f"{where}.initial_register")
    final = _opt_float(record.get("final_register"), f"{where}.final_register")
    for name, value in (("initial_register", initial), ("final_register", final)):
        if value is not None and value < 0:
            raise _fail(f"{where}: {name} must not be negative", f"{where}：{name} 不能为负数")
    meter = Meter(
        _required(record, "meter_id", where), _required(record, "site_id", where),
        _required(record, "device_id", where), channel,
        _time(_required(record, "installed_at", where), f"{where}.installed_at", zone),
        _time(removed, f"{where}.removed_at", zone) if removed not in (None, "") else None,
        register_modulus(record, where),
        1.0 if multiplier is None else multiplier,
        initial, final,
        3600 if interval is None else int(interval),
    )
    if meter.removed_at is not None and meter.removed_at <= meter.installed_at:
        raise _fail(f"{where}: removed_at must be after installed_at",
                    f"{where}：removed_at（拆除时间）必须晚于 installed_at（安装时间）")
    return meter


def coefficient_from(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> Coefficient:
    value = _opt_float(record.get("m3_per_kwh"), f"{where}.m3_per_kwh")
    if value is None or not 0 < value < 100:
        raise _fail(f"{where}: m3_per_kwh must be between 0 and 100",
                    f"{where}：m3_per_kwh（以电折水系数）必须在 0 到 100 之间")
    return Coefficient(_required(record, "site_id", where),
                       _time(_required(record, "valid_from", where), f"{where}.valid_from", zone),
                       value, _required(record, "method", where), _optional_text(record, "note"))


def _gate_rating(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> GateRating:
    valid_from = _time(_required(record, "valid_from", where), f"{where}.valid_from", zone)
    return gate_rating_from(record, where, valid_from)


def check_consistency(registry: Registry) -> None:
    """Every meter on a known site; no two meters on one device channel at once."""
    def at(key: str) -> str:
        origin = registry.origins.get(key)
        return f"{origin}: " if origin else ""

    for meter in registry.meters.values():
        if meter.site_id not in registry.sites:
            where = at(f"meter {meter.meter_id}")
            raise _fail(f"{where}meter {meter.meter_id}: unknown site {meter.site_id}",
                        f"{where}计量设施 {meter.meter_id}：站点 {meter.site_id} 不存在"
                        f"（先导入站点）")
    for (device, channel), installs in registry._by_device.items():
        for before, after in itertools.pairwise(installs):
            if before.removed_at is None or before.removed_at > after.installed_at:
                where = at(f"meter {after.meter_id}")
                raise _fail(
                    f"{where}device {device} {channel}: meter {before.meter_id} is still "
                    f"installed when {after.meter_id} is installed at "
                    f"{after.installed_at.isoformat()}",
                    f"{where}设备 {device} {channel}：{after.meter_id} 于 "
                    f"{after.installed_at.isoformat()} 安装时，{before.meter_id} 尚未拆除"
                    f"（需填 removed_at，不晚于新表的 installed_at）")
    for site_id, versions in registry.coefficients.items():
        if site_id not in registry.sites:
            where = at(f"coefficient {site_id} {versions[0][0].isoformat()}")
            raise _fail(f"{where}coefficient for unknown site {site_id}",
                        f"{where}折算系数的站点 {site_id} 不存在")
    for site_id, valid_from in registry.gate_ratings:
        if site_id not in registry.sites:
            where = at(f"gate rating {site_id} {valid_from.isoformat()}")
            raise _fail(f"{where}gate rating for unknown site {site_id}",
                        f"{where}闸门流量参数的站点 {site_id} 不存在")
    check_terminals(registry.terminals.values(), set(registry._zones))  # TerminalError


_WORD = re.compile(r"[a-z][a-z0-9_]*")


def _problem(record: Record, exc: Exception) -> Problem:
    """A record's error at the line of the first field it names (else the record's line)."""
    en = str(exc)
    named = next((w.group() for w in _WORD.finditer(en) if w.group() in record.lines), None)
    if isinstance(exc, RegistryError) and exc.zh is not None:
        zh = exc.zh
    elif isinstance(exc, TerminalError | GateRatingError):
        zh = f"记录无效：{en}"
    else:
        zh = f"{record.name}：记录无效（{en}）"
        en = f"{record.name}: invalid record ({en})"
    return Problem(record.where(named), en, zh)


def _key(record: Record) -> str | None:
    """The record's key in the registry (duplicates in one file are an error)."""
    def text(name: str) -> str:
        return str(record.values.get(name) or "").strip()

    if record.kind == "sites":
        return f"site {text('site_id')}"
    if record.kind == "meters":
        return f"meter {text('meter_id')}"
    if record.kind == "terminals":
        return f"terminal {text('address')}"
    return None


def load_registry_file(path: Path, zone: ZoneInfo) -> Registry:
    """YAML with sites/meters/coefficients lists, or one CSV per kind (see docs).

    The whole file is checked before anything is returned: RegistryError lists every
    problem of the file, each with file, line and field.
    """
    records, problems = read_records(path)
    zones = {}
    for record in records:
        if record.kind == "sites":
            name = str(record.values.get("timezone") or "Asia/Shanghai").strip()
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # site_from names it
                zones[str(record.values.get("site_id")).strip()] = ZoneInfo(name)

    def zone_of(record: Mapping[str, Any]) -> ZoneInfo:
        return zones.get(str(record.get("site_id")).strip(), zone)

    sites, meters, coefficients, terminals, ratings = [], [], [], [], []
    origins: dict[str, str] = {}
    for record in records:
        values, where = record.values, record.name
        try:
            if record.kind == "sites":
                sites.append(site_from(values, where))
            elif record.kind == "meters":
                meters.append(meter_from(values, where, zone_of(values)))
            elif record.kind == "coefficients":
                coefficient = coefficient_from(values, where, zone_of(values))
                coefficients.append(coefficient)
                origins[f"coefficient {coefficient.site_id} "
                        f"{coefficient.valid_from.isoformat()}"] = record.where()
            elif record.kind == "terminals":
                terminals.append(terminal_from(values, where))
            else:
                rating = _gate_rating(values, where, zone_of(values))
                ratings.append(rating)
                origins[f"gate rating {rating.site_id} "
                        f"{rating.valid_from.isoformat()}"] = record.where()
        except (ValueError, TypeError, ArithmeticError) as exc:
            problems.append(_problem(record, exc))
            continue
        key = _key(record)
        if key is not None:
            if key in origins:
                problems.append(Problem(record.where(), f"{where}: {key} is already given at "
                                        f"{origins[key]}",
                                        f"{where}：{key} 在 {origins[key]} 已出现过"))
            origins[key] = record.where()
    if problems:
        problems.sort(key=lambda p: int(p.where.rsplit(":", 1)[1]))
        raise RegistryError(problems=problems)
    registry = Registry.build(sites, meters, coefficients, terminals=terminals,
                              gate_ratings=ratings)
    registry.origins = origins
    return registry


__all__ = ["FIELDS", "Coefficient", "Meter", "Registry", "RegistryError", "Site",
           "check_consistency", "load_registry_file", "register_modulus"]
