"""The registry of sites, meters and power-to-water coefficients, as plain data.

Loaded from YAML or CSV files (format in docs/registry.md) and from the
database; looked up by the ingestor: which meter a device's reading belongs
to at the reading's time (meters are replaced; a device keeps its id).
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ingest.consumption import RegisterSpec
from ingest.gate_discharge import GateVersion
from ingest.gate_ratings import GateRating, gate_rating_from
from ingest.szy206_terminals import Terminal, check_terminals, terminal_from

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
    initial_register: float = 0.0
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
    """A registry file or change that cannot be accepted; names the record at fault."""


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
        return Registry.build({**self.sites, **incoming.sites}.values(),
                              {**self.meters, **incoming.meters}.values(),
                              {**self.coefficient_records,
                               **incoming.coefficient_records}.values(),
                              terminals={**self.terminals, **incoming.terminals}.values(),
                              gate_ratings={**self.gate_ratings,
                                            **incoming.gate_ratings}.values())

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

def _time(value: Any, where: str, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise RegistryError(f"{where}: {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _opt_float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{where}: {value!r} is not a number") from None


def _required(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if value is None or str(value).strip() == "":
        raise RegistryError(f"{where}: {key} is required")
    return str(value).strip()


def site_from(record: Mapping[str, Any], where: str) -> Site:
    kind = _required(record, "kind", where)
    if kind not in SITE_KINDS:
        raise RegistryError(f"{where}: kind {kind!r} is not one of {SITE_KINDS}")
    timezone = str(record.get("timezone") or "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RegistryError(f"{where}: unknown time zone {timezone!r}") from None
    lat = _opt_float(record.get("lat"), f"{where}.lat")
    lon = _opt_float(record.get("lon"), f"{where}.lon")
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise RegistryError(f"{where}: lat/lon ({lat}, {lon}) is not a place on Earth")
    rated = _opt_float(record.get("rated_m3h"), f"{where}.rated_m3h")
    if rated is not None and rated <= 0:
        raise RegistryError(f"{where}: rated_m3h must be positive")
    return Site(_required(record, "site_id", where), _required(record, "name", where), kind,
                _required(record, "source", where), record.get("township") or None,
                record.get("irrigation_district") or None, lat, lon, rated, timezone)


def meter_from(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> Meter:
    channel = _required(record, "channel", where)
    if channel not in METER_CHANNELS:
        raise RegistryError(f"{where}: channel {channel!r} is not one of {METER_CHANNELS}")
    removed = record.get("removed_at")
    multiplier = _opt_float(record.get("multiplier"), f"{where}.multiplier")
    if multiplier is not None and multiplier <= 0:
        raise RegistryError(f"{where}: multiplier must be positive, got {multiplier}")
    interval = _opt_float(record.get("expected_interval_s"), f"{where}.expected_interval_s")
    if interval is not None and (interval <= 0 or interval != int(interval)):
        raise RegistryError(f"{where}: expected_interval_s must be a positive whole number")
    meter = Meter(
        _required(record, "meter_id", where), _required(record, "site_id", where),
        _required(record, "device_id", where), channel,
        _time(_required(record, "installed_at", where), f"{where}.installed_at", zone),
        _time(removed, f"{where}.removed_at", zone) if removed not in (None, "") else None,
        _opt_float(record.get("register_max"), f"{where}.register_max"),
        1.0 if multiplier is None else multiplier,
        _opt_float(record.get("initial_register"), f"{where}.initial_register") or 0.0,
        _opt_float(record.get("final_register"), f"{where}.final_register"),
        3600 if interval is None else int(interval),
    )
    if meter.removed_at is not None and meter.removed_at <= meter.installed_at:
        raise RegistryError(f"{where}: removed_at must be after installed_at")
    if meter.register_max is not None and meter.register_max <= 0:
        raise RegistryError(f"{where}: register_max must be positive")
    return meter


def coefficient_from(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> Coefficient:
    value = _opt_float(record.get("m3_per_kwh"), f"{where}.m3_per_kwh")
    if value is None or not 0 < value < 100:
        raise RegistryError(f"{where}: m3_per_kwh must be between 0 and 100")
    return Coefficient(_required(record, "site_id", where),
                       _time(_required(record, "valid_from", where), f"{where}.valid_from", zone),
                       value, _required(record, "method", where), record.get("note") or None)


def _gate_rating(record: Mapping[str, Any], where: str, zone: ZoneInfo) -> GateRating:
    valid_from = _time(_required(record, "valid_from", where), f"{where}.valid_from", zone)
    return gate_rating_from(record, where, valid_from)


def check_consistency(registry: Registry) -> None:
    """Every meter on a known site; no two meters on one device channel at once."""
    for meter in registry.meters.values():
        if meter.site_id not in registry.sites:
            raise RegistryError(f"meter {meter.meter_id}: unknown site {meter.site_id}")
    for (device, channel), installs in registry._by_device.items():
        for before, after in itertools.pairwise(installs):
            if before.removed_at is None or before.removed_at > after.installed_at:
                raise RegistryError(
                    f"device {device} {channel}: meter {before.meter_id} is still installed when "
                    f"{after.meter_id} is installed at {after.installed_at.isoformat()}")
    for site_id in registry.coefficients:
        if site_id not in registry.sites:
            raise RegistryError(f"coefficient for unknown site {site_id}")
    for site_id, _ in registry.gate_ratings:
        if site_id not in registry.sites:
            raise RegistryError(f"gate rating for unknown site {site_id}")
    check_terminals(registry.terminals.values(), set(registry._zones))


def load_registry_file(path: Path, zone: ZoneInfo) -> Registry:
    """YAML with sites/meters/coefficients lists, or one CSV per kind (see docs)."""
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        header = rows[0].keys() if rows else set()
        kind = ("meters" if "meter_id" in header else
                "coefficients" if "m3_per_kwh" in header else
                "terminals" if "address" in header else
                "gate_ratings" if "valid_from" in header else "sites")
        doc: dict[str, Any] = {kind: rows}
    else:
        loaded = yaml.safe_load(text) or {}
        if not isinstance(loaded, dict):
            raise RegistryError(f"{path}: expected a mapping with sites, meters, coefficients")
        doc = loaded
    sites = [site_from(r, f"sites[{i}]") for i, r in enumerate(doc.get("sites") or [])]
    zones = {s.site_id: ZoneInfo(s.timezone) for s in sites}  # naive times: the site's zone

    def zone_of(record: Mapping[str, Any]) -> ZoneInfo:
        return zones.get(str(record.get("site_id")), zone)

    meters = [meter_from(r, f"meters[{i}]", zone_of(r))
              for i, r in enumerate(doc.get("meters") or [])]
    coefs = [coefficient_from(r, f"coefficients[{i}]", zone_of(r))
             for i, r in enumerate(doc.get("coefficients") or [])]
    terminals = [terminal_from(r, f"terminals[{i}]")
                 for i, r in enumerate(doc.get("terminals") or [])]
    ratings = [_gate_rating(r, f"gate_ratings[{i}]", zone_of(r))
               for i, r in enumerate(doc.get("gate_ratings") or [])]
    return Registry.build(sites, meters, coefs, terminals=terminals, gate_ratings=ratings)
