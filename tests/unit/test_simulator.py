"""The simulated traffic is realistic, self-consistent and matches its registry."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise

import pytest
import yaml

from ingest.contract import (
    DEFAULT_MAX_FUTURE,
    Channel,
    RegisterReading,
    parse_message,
    parse_topic,
    register_columns,
)
from ingest.simulator import (
    SHANGHAI,
    UNKNOWN_DEVICE,
    Meter,
    Registry,
    SimConfig,
    SimMessage,
    bench_messages,
    bench_registry,
    bench_start,
    build_registry,
    registry_to_yaml,
    simulate,
    simulate_messages,
)

SUMMER = SimConfig(n_sites=12, seed=7, start=datetime(2026, 6, 1, tzinfo=SHANGHAI),
                   duration=timedelta(days=7), garbage_rate=0.02)
STEP_H = SUMMER.step / timedelta(hours=1)


@cache
def traffic(config: SimConfig = SUMMER) -> tuple[SimMessage, ...]:
    return tuple(simulate_messages(config))


def valid(messages: tuple[SimMessage, ...]) -> list[SimMessage]:
    return [m for m in messages if not m.kind.startswith("garbage:")]


def register_series(config: SimConfig = SUMMER) -> dict[tuple[str, Channel], list[RegisterReading]]:
    """Every register reading of the valid traffic, by (device, channel), by time, deduplicated."""
    now = config.start + config.duration + timedelta(days=1)
    series: dict[tuple[str, Channel], dict[datetime, RegisterReading]] = defaultdict(dict)
    for message in valid(traffic(config)):
        topic = parse_topic(message.topic, config.prefix)
        parsed = parse_message(topic, message.payload, tz=SHANGHAI, now=now)
        assert not parsed.rejections, (message, parsed.rejections)
        for reading in parsed.readings:
            if isinstance(reading, RegisterReading):
                series[(reading.device_id, reading.channel)][reading.ts] = reading
    return {key: [by_ts[ts] for ts in sorted(by_ts)] for key, by_ts in series.items()}


def meter_at(registry: Registry, device: str, channel: str, at: datetime) -> Meter:
    (meter,) = [m for m in registry.meters if m.device_id == device and m.channel == channel
                and m.installed_at <= at and (m.removed_at is None or at < m.removed_at)]
    return meter


def test_same_seed_same_traffic_other_seed_other_traffic():
    assert list(simulate(SUMMER)) == [(m.topic, m.payload) for m in traffic()]
    assert build_registry(SUMMER) == build_registry(SUMMER)
    other = list(simulate(replace(SUMMER, seed=8)))
    assert other != [(m.topic, m.payload) for m in traffic()]


def test_registers_only_fall_at_rollover_or_replacement():
    registry = build_registry(SUMMER)
    rollovers = replacements = 0
    for (device, channel), readings in register_series().items():
        for before, after in pairwise(readings):
            if after.value >= before.value:
                continue
            old = meter_at(registry, device, channel, before.ts)
            new = meter_at(registry, device, channel, after.ts)
            if old != new:
                replacements += 1
                assert after.value == new.initial_register
                assert before.value == old.final_register
                continue
            assert old.register_max is not None
            wrapped = after.value + old.register_max - before.value
            assert 0 < wrapped < 3000 * STEP_H, (device, before, after)
            rollovers += 1
    assert replacements == 1
    assert rollovers >= 3


def test_pumps_never_exceed_their_rated_capacity():
    registry = build_registry(SUMMER)
    rated = {s.site_id: s.rated_m3h for s in registry.sites}
    pumped = 0.0
    for (device, channel), readings in register_series().items():
        for before, after in pairwise(readings):
            meter = meter_at(registry, device, channel, after.ts)
            assert meter.register_max is not None
            delta = (after.value - before.value) % meter.register_max
            if meter != meter_at(registry, device, channel, before.ts):
                delta = after.value - meter.initial_register
            volume = delta
            if channel is Channel.POWER:
                (coefficient, *_) = sorted((c for c in registry.coefficients
                                            if c.site_id == device and c.valid_from <= after.ts),
                                           key=lambda c: c.valid_from, reverse=True)
                volume = delta * coefficient.m3_per_kwh
            hours = (after.ts - before.ts) / timedelta(hours=1)
            assert volume <= rated[device] * hours * 1.001 + 0.02, (device, before, after)
            pumped += volume
            if after.flow_m3h is not None:
                assert after.flow_m3h <= rated[device]
    assert pumped > 10_000


def test_no_pumping_in_winter_and_mostly_by_day_in_summer():
    winter = replace(SUMMER, start=datetime(2026, 1, 10, tzinfo=SHANGHAI), garbage_rate=0.0)
    registry = build_registry(winter)
    for (device, channel), readings in register_series(winter).items():
        for before, after in pairwise(readings):
            meter = meter_at(registry, device, channel, after.ts)
            if meter == meter_at(registry, device, channel, before.ts):
                assert after.value == before.value
    day = night = 0.0
    for (device, _), readings in register_series().items():
        if device.startswith("W"):
            for before, after in pairwise(readings):
                if after.value > before.value:
                    hour = before.ts.astimezone(SHANGHAI).hour
                    if 6 <= hour < 20:
                        day += 1
                    else:
                        night += 1
    assert day / 14 > 1.5 * night / 10 > 0  # pumping steps per hour: 06-20 vs 20-06


def test_garbage_is_a_small_fraction_and_always_rejected():
    registry = build_registry(SUMMER)
    devices = {m.device_id for m in registry.meters}
    now = SUMMER.start + SUMMER.duration + timedelta(days=1)
    garbage = [m for m in traffic() if m.kind.startswith("garbage:")]
    readings = [m for m in traffic() if m.kind == "reading"]
    assert 0.01 < len(garbage) / len(readings) < 0.03
    assert {m.kind.removeprefix("garbage:") for m in garbage} == {
        "invalid_json", "missing_field", "wrong_type", "future_time", "unknown_device"}
    for message in garbage:
        topic = parse_topic(message.topic, SUMMER.prefix)
        if message.kind == "garbage:unknown_device":
            assert topic.device_id == UNKNOWN_DEVICE not in devices
        else:
            parsed = parse_message(topic, message.payload, tz=SHANGHAI, now=now)
            assert parsed.rejections
            assert not parsed.readings
    assert not [m for m in traffic(replace(SUMMER, garbage_rate=0.0))
                if m.kind.startswith("garbage:")]


def test_duplicates_repeat_earlier_messages_and_batches_arrive_late():
    seen: set[tuple[str, bytes]] = set()
    kinds = Counter(m.kind for m in traffic())
    assert kinds["duplicate"] > 0
    assert kinds["card"] > 0
    late_readings = 0
    for message in traffic():
        if message.kind == "duplicate":
            assert (message.topic, message.payload) in seen
        seen.add((message.topic, message.payload))
        if message.kind == "batch":
            elements = json.loads(message.payload)
            assert isinstance(elements, list)
            sent = int(message.sim_time.timestamp())
            late_readings += sum(1 for e in elements
                                 if isinstance(e.get("ts"), int) and e["ts"] < sent)
    assert late_readings > 20


def test_registry_lists_exactly_the_devices_that_publish():
    registry = build_registry(SUMMER)
    published = {tuple(m.topic.split("/")[-2:]) for m in valid(traffic())}
    metered = {(m.device_id, m.channel) for m in registry.meters}
    assert metered == {p for p in published if p[1] != "status"}
    sites = {s.site_id for s in registry.sites}
    assert {m.site_id for m in registry.meters} == sites
    power_sites = {m.site_id for m in registry.meters if m.channel == "power"}
    assert {c.site_id for c in registry.coefficients} == power_sites
    assert all(0.8 <= c.m3_per_kwh <= 3.0 for c in registry.coefficients)
    assert {s.kind for s in registry.sites} == {"well", "canal_gate"}
    for site in registry.sites:
        assert abs(site.lat - 38.93) < 0.3
        assert abs(site.lon - 100.45) < 0.3
        low, high = (30, 120) if site.kind == "well" else (500, 3000)
        assert low <= site.rated_m3h <= high


def test_registry_yaml_has_the_loader_format():
    doc = yaml.safe_load(registry_to_yaml(build_registry(SUMMER)))
    assert list(doc) == ["sites", "meters", "coefficients"]
    assert list(doc["sites"][0]) == ["site_id", "name", "kind", "source", "township", "lat", "lon",
                                     "rated_m3h", "timezone"]
    assert list(doc["meters"][0]) == ["meter_id", "site_id", "device_id", "channel",
                                      "installed_at", "removed_at", "register_max", "multiplier",
                                      "initial_register", "final_register", "expected_interval_s"]
    assert list(doc["coefficients"][0]) == ["site_id", "valid_from", "m3_per_kwh", "method"]
    removed = [m for m in doc["meters"] if m["removed_at"] is not None]
    assert len(removed) == 1
    assert removed[0]["removed_at"].endswith("+08:00")
    (successor,) = [m for m in doc["meters"] if m["device_id"] == removed[0]["device_id"]
                    and m["installed_at"] == removed[0]["removed_at"]]
    assert successor["initial_register"] < 10


@pytest.mark.parametrize("timestamps", ["epoch", "iso"])
@pytest.mark.parametrize("batch", [1, 100])
def test_benchmark_messages_are_valid_and_strictly_increasing(batch, timestamps):
    start = bench_start(n_devices=7, n_messages=50, batch=batch)
    messages = bench_messages(n_devices=7, n_messages=50, batch=batch, start=start,
                              timestamps=timestamps)
    assert len(messages) == 50
    devices = {m.device_id for m in bench_registry(n_devices=7, start=start).meters}
    last: dict[str, RegisterReading] = {}
    for topic_text, payload in messages:
        topic = parse_topic(topic_text, "waterbudget/v1")
        assert topic.device_id in devices
        parsed = parse_message(topic, payload, tz=SHANGHAI, now=datetime.now(SHANGHAI))
        assert not parsed.rejections
        assert len(parsed.readings) == batch
        for reading in parsed.readings:
            assert isinstance(reading, RegisterReading)
            previous = last.get(reading.device_id)
            if previous is not None:
                assert reading.ts > previous.ts
                assert 0 <= reading.value - previous.value <= 100 * (60 / 3600)
            last[reading.device_id] = reading


@pytest.mark.parametrize("batch", [1, 100])
def test_benchmark_iso_messages_are_the_epoch_messages_as_text(batch):
    """The ISO variant differs in the form of its times only, and takes the fast path."""
    start = bench_start(n_devices=7, n_messages=20, batch=batch)
    now = datetime.now(SHANGHAI)
    epoch = bench_messages(n_devices=7, n_messages=20, batch=batch, start=start)
    iso = bench_messages(n_devices=7, n_messages=20, batch=batch, start=start, timestamps="iso")
    for (topic_text, epoch_payload), (iso_topic, iso_payload) in zip(epoch, iso, strict=True):
        assert iso_topic == topic_text
        assert b'+08:00"' in iso_payload
        topic = parse_topic(topic_text, "waterbudget/v1")
        from_iso = register_columns(topic, iso_payload, now, DEFAULT_MAX_FUTURE, SHANGHAI)
        assert from_iso is not None
        assert from_iso == register_columns(topic, epoch_payload, now, DEFAULT_MAX_FUTURE,
                                            SHANGHAI)


def test_the_registry_wraps_registers_where_the_simulated_meters_do():
    """register_max is the value at which a register returns to 0 (docs/registry.md): the
    rules' use over a rollover is what the pump drew. The simulator wrapped at
    register_max + 1, so every rollover lost one register unit (issue 15)."""
    from ingest.consumption import Point, RegisterSpec, derive_intervals
    from ingest.simulator import _duty, _plan, _SiteWalk

    registry = build_registry(SUMMER)
    series = register_series()
    checked = 0
    for plan in _plan(SUMMER):
        if plan.metering != "flow" or plan.replaced_at_step is not None:
            continue
        walk = _SiteWalk(plan, SUMMER)
        drawn = sum(walk.advance(i, _duty(plan.site.kind, SUMMER.at(i - 1))).volume_m3
                    for i in range(1, SUMMER.n_steps + 1))
        (meter,) = [m for m in registry.meters if m.site_id == plan.site.site_id
                    and m.channel == "flow"]
        readings = series[(meter.device_id, Channel.FLOW)]
        points = [Point(meter.installed_at, meter.initial_register),
                  *(Point(r.ts, r.value) for r in readings)]
        intervals = derive_intervals(points, RegisterSpec(meter.register_max))
        wrapped = sum(1 for iv in intervals if iv.quality == "rollover")
        if not wrapped:
            continue
        assert all(iv.counted for iv in intervals)
        assert sum(iv.delta for iv in intervals) == pytest.approx(drawn, abs=0.02)
        checked += 1
    assert checked >= 1
