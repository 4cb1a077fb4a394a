"""Simulated meter traffic for the demo, the tests and the benchmarks.

Pure code: no network. ``simulate(config)`` yields ``(topic, payload)`` pairs in
publish order, following the MQTT contract of ``ingest.contract``;
``build_registry(config)`` returns the sites, meters and power-to-water
coefficients that produce that traffic, and ``registry_to_yaml`` writes them in
the registry file format.

What the traffic contains, for N sites in the Ganzhou district (Zhangye):

- wells with a flow meter, wells metered by electricity only (以电折水), wells with
  an IC-card controller and an electricity meter, and canal gates with a flow
  meter; one device per site, publishing on one channel per meter;
- pumping that follows the Hexi-corridor irrigation season (spring irrigation
  from April, summer peak, a winter round from November to mid-December, nothing
  from mid-December to March), daytime-heavy for wells; a pump never exceeds its
  rated capacity;
- registers that roll over (some meters have a small maximum and start close to
  it), one flow-meter replacement half-way through, and one coefficient
  recalibration two thirds of the way through;
- duplicates, late batches after a communication outage (JSON arrays, some in
  reverse order), and a small fraction of garbage.

Physics and message-level noise use separate random streams, so a site's
readings do not depend on which messages were duplicated or garbled. Garbage and
duplicates are extra messages: the valid readings alone give exact volumes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import yaml

DEFAULT_PREFIX = "waterbudget/v1"
TIMEZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TIMEZONE)
CENTRE = (38.93, 100.45)  # Ganzhou district, Zhangye
TOWNSHIPS = ("梁家墩镇", "上秦镇", "大满镇", "沙井镇", "乌江镇", "甘浚镇", "新墩镇", "党寨镇",
             "碱滩镇", "三闸镇", "小满镇", "明永镇", "长安镇", "龙渠乡", "安阳乡", "花寨乡",
             "靖安乡")
CANALS = ("盈科干渠", "大满干渠", "西总干渠", "甘浚干渠", "乌江干渠")
SURNAMES = "张王李赵刘陈杨黄周吴马孙朱胡郭何高罗"
GIVEN = ("建国", "志强", "玉兰", "秀英", "永福", "德明", "海军", "桂花", "长青", "学文")
# Site metering pattern, repeated: any 4 consecutive sites cover every kind.
PATTERN = ("flow_well", "power_well", "card_well", "gate", "flow_well", "power_well",
           "card_well", "flow_well")
MEAN_RUN_H = {"well": 6.0, "canal_gate": 36.0}
SMALL_REGISTER = 99_999
UNKNOWN_DEVICE = "X999"


# ---------------------------------------------------------------- registry --

@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    kind: str  # well | canal_gate
    source: str  # groundwater | surface
    township: str
    lat: float
    lon: float
    rated_m3h: float
    timezone: str = TIMEZONE


@dataclass(frozen=True, slots=True)
class Meter:
    meter_id: str
    site_id: str
    device_id: str
    channel: str  # flow | power | card
    installed_at: datetime
    removed_at: datetime | None = None
    register_max: int | None = None  # None for a card controller (no register)
    multiplier: float = 1
    initial_register: float = 0.0
    final_register: float | None = None
    expected_interval_s: int = 900


@dataclass(frozen=True, slots=True)
class Coefficient:
    site_id: str
    valid_from: datetime
    m3_per_kwh: float
    method: str = "pump_test"


@dataclass(frozen=True, slots=True)
class Registry:
    sites: tuple[Site, ...]
    meters: tuple[Meter, ...]
    coefficients: tuple[Coefficient, ...]


@dataclass(frozen=True, slots=True)
class SimConfig:
    n_sites: int
    seed: int
    start: datetime  # aware; the simulated network is commissioned at this time
    duration: timedelta
    step: timedelta = timedelta(minutes=15)
    prefix: str = DEFAULT_PREFIX
    duplicate_rate: float = 0.01  # per published message
    garbage_rate: float = 0.005  # extra garbage messages per published register reading
    outage_rate: float = 0.002  # per device and step

    def __post_init__(self) -> None:
        if self.n_sites < 1:
            raise ValueError("n_sites must be at least 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.step <= timedelta(0) or self.duration < timedelta(0):
            raise ValueError("step must be positive and duration not negative")

    @property
    def n_steps(self) -> int:
        return int(self.duration / self.step)

    def at(self, step_index: int) -> datetime:
        return self.start + step_index * self.step


class SimMessage(NamedTuple):
    topic: str
    payload: bytes
    kind: str  # reading | batch | card | status | duplicate | garbage:<reason>
    sim_time: datetime  # when the device sends it, in simulated time


# ------------------------------------------------------------------- plan --

@dataclass(slots=True)
class _SitePlan:
    site: Site
    metering: str  # flow | power | card
    register_max: int  # largest value the flow or power register shows (display maximum)
    initial_register: float
    efficiency: float  # share of rated capacity the pump delivers
    coefficients: list[Coefficient] = field(default_factory=list)
    cards: list[tuple[str, str, float]] = field(default_factory=list)  # card, holder, balance
    blocked_steps: frozenset[int] = frozenset()  # maintenance: pump kept off
    replaced_at_step: int | None = None  # the flow meter is replaced during this step
    new_initial_register: float = 0.0


def _plan(config: SimConfig) -> list[_SitePlan]:
    rng = random.Random(f"{config.seed}:plan")
    plans: list[_SitePlan] = []
    wells = gates = 0
    for index in range(config.n_sites):
        pattern = PATTERN[index % len(PATTERN)]
        township = TOWNSHIPS[rng.randrange(len(TOWNSHIPS))]
        lat = round(CENTRE[0] + rng.uniform(-0.15, 0.15), 5)
        lon = round(CENTRE[1] + rng.uniform(-0.2, 0.2), 5)
        if pattern == "gate":
            gates += 1
            canal = CANALS[rng.randrange(len(CANALS))]
            site = Site(f"G{gates:03d}", f"{canal}{township}{gates}号斗口闸", "canal_gate",
                        "surface", township, lat, lon, float(rng.randrange(500, 3001, 50)))
            metering = "flow"
            small = gates % 2 == 1
            register_max = 999_999 if small else 99_999_999
        else:
            wells += 1
            site = Site(f"W{wells:03d}", f"{township}{wells}号机井", "well", "groundwater",
                        township, lat, lon, float(rng.randrange(30, 121, 5)))
            metering = pattern.removesuffix("_well")
            small = wells % 2 == 1 and metering != "card"
            register_max = SMALL_REGISTER if small else 9_999_999
        # Small registers start a few hours of pumping below their maximum.
        headroom = site.rated_m3h * rng.uniform(2.0, 6.0)
        initial = register_max - headroom if small else rng.uniform(1_000, 400_000)
        plan = _SitePlan(site, metering, register_max, round(initial, 2), rng.uniform(0.8, 0.97))
        if metering in ("power", "card"):
            plan.coefficients.append(Coefficient(site.site_id, config.start,
                                                 round(rng.uniform(0.8, 3.0), 3)))
        if metering == "card":
            plan.cards = [(f"C{index:03d}{n:02d}", _holder(rng),
                           float(rng.randrange(800, 6000, 100)))
                          for n in range(rng.randrange(3, 7))]
        plans.append(plan)
    _plan_events(config, plans, rng)
    return plans


def _holder(rng: random.Random) -> str:
    return SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]


def _plan_events(config: SimConfig, plans: list[_SitePlan], rng: random.Random) -> None:
    """One meter replacement and one recalibration, each in a step with the pump off."""
    if config.n_steps < 4:
        return
    replace_step = config.n_steps // 2
    flow_wells = [p for p in plans if p.metering == "flow" and p.site.kind == "well"]
    if flow_wells:
        target = flow_wells[0]
        target.replaced_at_step = replace_step
        target.new_initial_register = round(rng.uniform(0.0, 5.0), 2)
        target.blocked_steps = target.blocked_steps | {replace_step}
    recal_step = 2 * config.n_steps // 3
    power_wells = [p for p in plans if p.metering == "power"]
    if power_wells:
        target = power_wells[0]
        old = target.coefficients[0].m3_per_kwh
        valid_from = config.at(recal_step - 1) + config.step / 2
        target.coefficients.append(Coefficient(target.site.site_id, valid_from,
                                               round(old * rng.uniform(0.85, 0.95), 3)))
        target.blocked_steps = target.blocked_steps | {recal_step}


# ---------------------------------------------------------------- physics --

def season_factor(local: datetime) -> float:
    """Share of time a pump runs, by date, for the Hexi corridor (0 = off-season)."""
    month, day = local.month, local.day
    if month <= 3 or (month == 12 and day > 10):
        return 0.0
    if month == 4:
        return 0.3 if day < 15 else 0.55  # soaking, then spring irrigation
    if month == 5:
        return 0.55
    if month in (6, 7, 8):
        return 0.7
    if month == 9:
        return 0.4
    if month == 10:
        return 0.15
    return 0.5  # November to 10 December: winter irrigation round (冬灌)


def diurnal_factor(kind: str, hour: int) -> float:
    if kind == "canal_gate":
        return 1.0  # canal delivery rounds run day and night
    if 6 <= hour < 20:
        return 1.0
    return 0.4 if 20 <= hour < 23 else 0.1


class StepOut(NamedTuple):
    volume_m3: float
    kwh: float
    flow_m3h: float
    session: dict[str, Any] | None  # a finished card session


class _SiteWalk:
    """The pump of one site, advanced one step at a time."""

    def __init__(self, plan: _SitePlan, config: SimConfig) -> None:
        self.plan = plan
        self.config = config
        self.rng = random.Random(f"{config.seed}:site:{plan.site.site_id}")
        self.on = False
        self.balances = {card: balance for card, _, balance in plan.cards}
        self.card: str | None = None
        self.session_start: datetime | None = None
        self.session_m3 = 0.0
        self.session_kwh = 0.0
        self.sessions = 0
        self.step_h = config.step / timedelta(hours=1)

    def coefficient(self, at: datetime) -> float:
        valid = [c for c in self.plan.coefficients if c.valid_from <= at]
        return valid[-1].m3_per_kwh if valid else 1.0

    def advance(self, index: int, duty: float) -> StepOut:
        """Pumping during step ``index``: from at(index - 1) to at(index)."""
        began, ended = self.config.at(index - 1), self.config.at(index)
        session: dict[str, Any] | None = None
        if self.on and (duty == 0.0 or index in self.plan.blocked_steps
                        or self.rng.random() < self.step_h / MEAN_RUN_H[self.plan.site.kind]):
            session = self._stop(began)
        elif not self.on and duty > 0.0 and index not in self.plan.blocked_steps:
            rate = duty / max(1e-9, 1.0 - duty) * self.step_h / MEAN_RUN_H[self.plan.site.kind]
            if self.rng.random() < rate:
                self._start(began)
        if not self.on:
            return StepOut(0.0, 0.0, 0.0, session)
        rated = self.plan.site.rated_m3h
        flow = min(rated, rated * self.plan.efficiency * self.rng.uniform(0.97, 1.03))
        volume = flow * self.step_h
        if self.card is not None and volume >= self.balances[self.card]:
            volume = self.balances[self.card]  # the controller cuts off at zero balance
            flow = volume / self.step_h
        kwh = volume / self.coefficient(ended)
        if self.card is not None:
            self.balances[self.card] -= volume
            self.session_m3 += volume
            self.session_kwh += kwh
            if self.balances[self.card] <= 1e-6:
                session = self._stop(ended)
        return StepOut(volume, kwh, round(flow, 2), session)

    def _start(self, at: datetime) -> None:
        if self.plan.metering == "card":
            funded = [card for card, balance in self.balances.items() if balance > 1.0]
            if not funded:
                return  # every card is exhausted: 以电控水, the well stays off
            self.card = funded[self.rng.randrange(len(funded))]
            self.session_start, self.session_m3, self.session_kwh = at, 0.0, 0.0
        self.on = True

    def _stop(self, at: datetime) -> dict[str, Any] | None:
        self.on = False
        card, self.card = self.card, None
        if card is None or self.session_start is None or self.session_m3 <= 0.0:
            return None
        self.sessions += 1
        holder = next(h for c, h, _ in self.plan.cards if c == card)
        return {"session_id": f"{self.plan.site.site_id}-{self.sessions:06d}", "card_id": card,
                "holder": holder, "start": _iso(self.session_start), "end": _iso(at),
                "volume_m3": round(self.session_m3, 2), "kwh": round(self.session_kwh, 2),
                "balance_m3": round(self.balances[card], 2)}


def _iso(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat()


def _wrap(value: float, register_max: int) -> float:
    shown = round(value % (register_max + 1), 2)
    return 0.0 if shown >= register_max + 1 else shown


def _duty(kind: str, at: datetime) -> float:
    """Target share of running time for a step that begins at ``at``."""
    local = at.astimezone(SHANGHAI)
    return season_factor(local) * diurnal_factor(kind, local.hour)


# --------------------------------------------------------------- registry --

def build_registry(config: SimConfig) -> Registry:
    """The sites, meters and coefficients whose traffic ``simulate(config)`` produces."""
    plans = _plan(config)
    interval = int(config.step.total_seconds())
    meters: list[Meter] = []
    for plan in plans:
        sid = plan.site.site_id
        channel = "flow" if plan.metering == "flow" else "power"
        meter = Meter(f"{sid}-{channel[0].upper()}1", sid, sid, channel, config.start,
                      # the registry's register_max is the value at which it returns to 0
                      register_max=plan.register_max + 1, initial_register=plan.initial_register,
                      expected_interval_s=interval)
        if plan.replaced_at_step is None:
            meters.append(meter)
        else:
            removed = config.at(plan.replaced_at_step - 1) + config.step / 2
            drawn = _volume_before(plan, config, plan.replaced_at_step)
            final = _wrap(plan.initial_register + drawn, plan.register_max)
            meters.append(replace(meter, removed_at=removed, final_register=final))
            meters.append(replace(meter, meter_id=f"{sid}-F2", installed_at=removed,
                                  initial_register=plan.new_initial_register))
        if plan.metering == "card":
            meters.append(Meter(f"{sid}-C1", sid, sid, "card", config.start,
                                expected_interval_s=interval))
    return Registry(tuple(p.site for p in plans), tuple(meters),
                    tuple(c for p in plans for c in p.coefficients))


def _volume_before(plan: _SitePlan, config: SimConfig, stop_index: int) -> float:
    walk = _SiteWalk(plan, config)
    return sum(walk.advance(i, _duty(plan.site.kind, config.at(i - 1))).volume_m3
               for i in range(1, stop_index))


def registry_to_yaml(registry: Registry) -> str:
    """The registry file format: lists ``sites``, ``meters`` and ``coefficients``."""

    def row(obj: Site | Meter | Coefficient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in fields(obj):
            value = getattr(obj, column.name)
            out[column.name] = _iso(value) if isinstance(value, datetime) else value
        return out

    doc = {"sites": [row(s) for s in registry.sites],
           "meters": [row(m) for m in registry.meters],
           "coefficients": [row(c) for c in registry.coefficients]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None,
                          width=1000)


def write_registry_yaml(registry: Registry, path: Path) -> None:
    path.write_text(registry_to_yaml(registry), encoding="utf-8")


# --------------------------------------------------------------- messages --

def _encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class _Device:
    """One site's terminal: registers, comms outages and buffering."""

    def __init__(self, plan: _SitePlan, config: SimConfig) -> None:
        self.plan = plan
        self.config = config
        self.base = f"{config.prefix}/{plan.site.site_id}"
        self.raw = plan.initial_register  # the flow or power register before wrapping
        self.outage_left = 0
        self.buffer: dict[str, list[dict[str, Any]]] = {}

    def _ts(self, at: datetime) -> int | str:
        # Wells' gateways send epoch seconds, canal gates ISO 8601 with offset.
        return _iso(at) if self.plan.site.kind == "canal_gate" else int(at.timestamp())

    def observe(self, index: int, step: StepOut) -> dict[str, list[dict[str, Any]]]:
        """Readings of step ``index`` by channel."""
        if index == self.plan.replaced_at_step:
            self.raw = self.plan.new_initial_register
        ts = self._ts(self.config.at(index))
        if self.plan.metering == "flow":
            self.raw += step.volume_m3
            total = _wrap(self.raw, self.plan.register_max)
            return {"flow": [{"ts": ts, "total_m3": total, "flow_m3h": step.flow_m3h}]}
        self.raw += step.kwh
        readings = {"power": [{"ts": ts, "total_kwh": _wrap(self.raw, self.plan.register_max)}]}
        if step.session is not None:
            readings["card"] = [step.session]
        return readings

    def emit(self, index: int, readings: dict[str, list[dict[str, Any]]],
             rng: random.Random) -> list[SimMessage]:
        at = self.config.at(index)
        out: list[SimMessage] = []
        if index == 0:
            out.append(self._status(at, online=True))
        if self.outage_left == 0 and rng.random() < self.config.outage_rate:
            self.outage_left = rng.randint(4, 24)
            out.append(self._status(at, online=False))  # what the broker's last will says
        if self.outage_left > 0:
            for channel, objs in readings.items():
                self.buffer.setdefault(channel, []).extend(objs)
            self.outage_left -= 1
            if self.outage_left == 0:
                out.extend(self.flush(at, rng))
            return out
        for channel, objs in readings.items():
            kind = "card" if channel == "card" else "reading"
            out.extend(SimMessage(f"{self.base}/{channel}", _encode(obj), kind, at) for obj in objs)
        return out

    def flush(self, at: datetime, rng: random.Random) -> list[SimMessage]:
        """Back online: status, then one late batch (a JSON array) per channel."""
        if not self.buffer:
            return []
        out = [self._status(at, online=True)]
        for channel, objs in self.buffer.items():
            if rng.random() < 0.2:
                objs.reverse()  # some gateways send the newest reading first
            out.append(SimMessage(f"{self.base}/{channel}", _encode(objs), "batch", at))
        self.buffer = {}
        self.outage_left = 0
        return out

    def _status(self, at: datetime, *, online: bool) -> SimMessage:
        obj: dict[str, Any] = {"ts": self._ts(at), "online": online}
        if online:
            obj["alarms"] = 0
        return SimMessage(f"{self.base}/status", _encode(obj), "status", at)


def _garbage(message: SimMessage, config: SimConfig, rng: random.Random) -> SimMessage:
    """A broken variant of a one-reading register message."""
    obj = json.loads(message.payload)
    value_field = "total_m3" if "total_m3" in obj else "total_kwh"
    reason = ("invalid_json", "missing_field", "wrong_type", "future_time",
              "unknown_device")[rng.randrange(5)]
    topic = message.topic
    if reason == "invalid_json":
        return message._replace(payload=message.payload[: len(message.payload) // 2],
                                kind=f"garbage:{reason}")
    if reason == "missing_field":
        del obj[value_field]
    elif reason == "wrong_type":
        obj[value_field] = str(obj[value_field])
    elif reason == "future_time":
        obj["ts"] = int((message.sim_time + timedelta(days=400)).timestamp())
    else:
        channel = topic.rsplit("/", 1)[1]
        topic = f"{config.prefix}/{UNKNOWN_DEVICE}/{channel}"
    return message._replace(topic=topic, payload=_encode(obj), kind=f"garbage:{reason}")


def simulate_messages(config: SimConfig) -> Iterator[SimMessage]:
    """The traffic of ``config``'s sites, in publish order, with a kind per message."""
    plans = _plan(config)
    walks = [_SiteWalk(plan, config) for plan in plans]
    devices = [_Device(plan, config) for plan in plans]
    noise = random.Random(f"{config.seed}:noise")
    resend: list[SimMessage] = []
    idle = StepOut(0.0, 0.0, 0.0, None)
    for index in range(config.n_steps + 1):
        duty = {kind: _duty(kind, config.at(index - 1)) for kind in MEAN_RUN_H}
        batch = [m._replace(sim_time=config.at(index)) for m in resend]
        resend = []
        for walk, device in zip(walks, devices, strict=True):
            step = walk.advance(index, duty[walk.plan.site.kind]) if index else idle
            batch.extend(device.emit(index, device.observe(index, step), noise))
        for message in batch:
            yield message
            if message.kind in ("reading", "card", "batch") and \
                    noise.random() < config.duplicate_rate:
                resend.append(message._replace(kind="duplicate"))
            if message.kind == "reading" and noise.random() < config.garbage_rate:
                yield _garbage(message, config, noise)
    end = config.at(config.n_steps)
    for device in devices:
        yield from device.flush(end, noise)
    for message in resend:
        yield message._replace(sim_time=end)


def simulate(config: SimConfig) -> Iterator[tuple[str, bytes]]:
    """``(topic, payload)`` pairs in publish order: what ``waterbudget simulate`` sends."""
    for message in simulate_messages(config):
        yield message.topic, message.payload


# -------------------------------------------------------------- benchmark --

BENCH_RATED_M3H = 100.0
BENCH_REGISTER_MAX = 99_999_999


def bench_start(*, n_devices: int, n_messages: int, batch: int, interval_s: int = 60,
                now: datetime | None = None) -> datetime:
    """A start time that keeps the newest benchmark reading an hour in the past."""
    per_device = -(-n_messages // n_devices) * batch
    newest = (now or datetime.now(UTC)) - timedelta(hours=1)
    return (newest - timedelta(seconds=per_device * interval_s)).replace(microsecond=0)


def bench_registry(*, n_devices: int, start: datetime, interval_s: int = 60) -> Registry:
    """Flow-metered wells ``B00001``… for the benchmark messages."""
    sites = tuple(Site(f"B{i:05d}", f"基准测试井{i}", "well", "groundwater", TOWNSHIPS[i % 17],
                       CENTRE[0], CENTRE[1], BENCH_RATED_M3H) for i in range(1, n_devices + 1))
    meters = tuple(Meter(f"{s.site_id}-F1", s.site_id, s.site_id, "flow", start,
                         register_max=BENCH_REGISTER_MAX, expected_interval_s=interval_s)
                   for s in sites)
    return Registry(sites, meters, ())


def bench_messages(*, n_devices: int, n_messages: int, batch: int, start: datetime,
                   interval_s: int = 60, prefix: str = DEFAULT_PREFIX,
                   seed: int = 0, timestamps: str = "epoch") -> list[tuple[str, bytes]]:
    """``n_messages`` flow messages of ``batch`` readings, round-robin over the devices.

    Pre-serialised, no garbage; each device's timestamps increase strictly (by
    ``interval_s``) and its register grows by at most the rated capacity.
    ``timestamps``: ``epoch`` seconds, or ``iso`` text in Beijing time with its
    offset (``"2026-05-01T11:00:00+08:00"``), as gateways send it.
    """
    rng = random.Random(seed)
    per_reading = BENCH_RATED_M3H * interval_s / 3600
    increments = [round(per_reading * rng.uniform(0.0, 0.95), 2) for _ in range(997)]
    topics = [f"{prefix}/B{i:05d}/flow" for i in range(1, n_devices + 1)]
    totals = [0.0] * n_devices
    counts = [0] * n_devices
    t0 = int(start.timestamp())
    beijing = timezone(timedelta(hours=8))
    out: list[tuple[str, bytes]] = []
    for m in range(n_messages):
        device = m % n_devices
        total, count = totals[device], counts[device]
        parts = []
        for _ in range(batch):
            epoch = t0 + count * interval_s
            ts = (str(epoch) if timestamps == "epoch" else
                  '"' + datetime.fromtimestamp(epoch, beijing).isoformat() + '"')
            parts.append(f'{{"ts":{ts},"total_m3":{total:.2f}}}')
            total += increments[(count + device) % 997]
            count += 1
        totals[device], counts[device] = total, count
        body = parts[0] if batch == 1 else "[" + ",".join(parts) + "]"
        out.append((topics[device], body.encode()))
    return out
