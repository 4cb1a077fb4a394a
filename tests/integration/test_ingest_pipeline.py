"""MQTT -> TimescaleDB through the real broker and database: exact, idempotent, order-free."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from ingest.batch import ReceivedMessage, build_batch
from ingest.consumption import Point, derive_intervals
from ingest.publisher import publish
from ingest.registry import load_registry_file
from ingest.simulator import SimConfig, build_registry, simulate_messages, write_registry_yaml
from store.database import drop_database
from tests.conftest import create_database
from tests.integration.ingest_support import (
    ZONE,
    consumption_snapshot,
    load_sim_registry,
    rows,
    running_ingestor,
    scalar,
    settings_for,
    unique_prefix,
    wait_for,
)

pytestmark = pytest.mark.integration


def sim_config(prefix: str) -> SimConfig:
    start = datetime(2026, 7, 1, tzinfo=UTC)  # summer: pumps run, registers roll over
    return SimConfig(n_sites=8, seed=7, start=start, duration=timedelta(days=4), prefix=prefix,
                     duplicate_rate=0.03, garbage_rate=0.01, outage_rate=0.01)


def oracle(config: SimConfig, tmp_path) -> tuple[dict[str, float], set[tuple[str, str]]]:
    """Volumes per register meter and card-session keys, from the pure code alone.

    The pure derivation over every valid reading, ignoring arrival order.
    """
    path = tmp_path / "registry.yaml"
    write_registry_yaml(build_registry(config), path)
    registry = load_registry_file(path, ZONE)
    messages = [ReceivedMessage(m.topic, m.payload) for m in simulate_messages(config)]
    batch = build_batch(messages, registry, prefix=config.prefix, default_zone=ZONE,
                        now=datetime.now(UTC), max_future=timedelta(minutes=10))
    points: dict[str, dict[datetime, float]] = defaultdict(dict)
    for meter in registry.meters.values():  # registers at installation and removal
        if meter.initial_register is not None:  # None: the first reading is the baseline
            points[meter.meter_id][meter.installed_at] = meter.initial_register
        if meter.removed_at is not None and meter.final_register is not None:
            points[meter.meter_id][meter.removed_at] = meter.final_register
    for reading in batch.registers:
        points[reading.meter.meter_id][reading.ts] = reading.value
    volumes = {}
    for meter_id, series in points.items():
        meter = registry.meters[meter_id]
        ordered = [Point(ts, series[ts]) for ts in sorted(series)]
        intervals = derive_intervals(ordered, registry.register_spec(meter))
        total = sum(iv.delta for iv in intervals if iv.counted)
        if meter.channel == "power":
            coef = registry.coefficients[meter.site_id]
            total = sum(iv.delta * [c for vf, c in coef if vf <= iv.ts_end][-1]
                        for iv in intervals if iv.counted)
        volumes[meter_id] = total
    return volumes, {(s.meter.meter_id, s.session.session_id) for s in batch.sessions}


def test_simulated_stream_lands_exactly_once(database_url, mqtt_url, tmp_path) -> None:
    prefix = unique_prefix()
    config = sim_config(prefix)
    load_sim_registry(database_url, build_registry(config))
    messages = list(simulate_messages(config))
    garbage = Counter(m.kind.split(":", 1)[1] for m in messages if m.kind.startswith("garbage"))
    assert garbage, "the simulation must contain garbage for this test to mean anything"

    with running_ingestor(settings_for(database_url, mqtt_url, prefix)) as ingestor:
        sent = publish(mqtt_url, [(m.topic, m.payload) for m in messages]).sent
        wait_for(lambda: ingestor.stats.messages >= sent, what="all messages committed")
        first = consumption_snapshot(database_url)
        # replaying the whole stream changes nothing
        publish(mqtt_url, [(m.topic, m.payload) for m in messages])
        wait_for(lambda: ingestor.stats.messages >= 2 * sent, what="replay committed")

    assert consumption_snapshot(database_url) == first
    letters = Counter(dict(rows(database_url, "SELECT reason, count(*) FROM dead_letters "
                                              "GROUP BY 1")))
    assert letters == garbage, "every garbage message dead-lettered once, with its reason"
    got = dict(rows(database_url, "SELECT meter_id, sum(volume_m3) FROM consumption "
                                  "WHERE session_id = '' GROUP BY 1"))
    expected, sessions = oracle(config, tmp_path)
    assert got.keys() == {m for m, v in expected.items() if m in got}
    for meter_id, volume in expected.items():
        assert got.get(meter_id, 0.0) == pytest.approx(volume, abs=1e-6), meter_id
    assert sessions, "the simulation must contain card sessions"
    assert set(rows(database_url, "SELECT meter_id, session_id FROM card_sessions")) == sessions
    assert scalar(database_url, "SELECT count(*) FROM consumption WHERE method = 'card'") == \
        scalar(database_url, "SELECT count(*) FROM card_sessions")


def test_shuffled_arrival_gives_identical_consumption(database_url, pg_admin_url, mqtt_url,
                                                      timescaledb_available) -> None:
    in_order, shuffled = unique_prefix(), unique_prefix()
    other_url = create_database(pg_admin_url, timescaledb="timescaledb" in scalar(
        database_url, "SELECT string_agg(extname, ',') FROM pg_extension"))
    try:
        results = []
        for url, prefix, seed in ((database_url, in_order, None), (other_url, shuffled, 99)):
            config = sim_config(prefix)
            load_sim_registry(url, build_registry(config))
            stream = [(m.topic, m.payload) for m in simulate_messages(config)]
            if seed is not None:
                random.Random(seed).shuffle(stream)
            settings = settings_for(url, mqtt_url, prefix, ingest_batch_size=37)
            with running_ingestor(settings) as ingestor:
                sent = publish(mqtt_url, stream).sent
                done = ingestor.stats
                wait_for(lambda: done.messages >= sent, what="the stream")  # noqa: B023
            results.append(consumption_snapshot(url))
        assert results[0], "no consumption derived"
        assert results[0] == results[1]
    finally:
        drop_database(pg_admin_url, other_url)
