"""Batched register messages: the column path stores exactly what the scalar path stores."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ingest import batch as batch_module
from ingest.batch import IngestBatch, ReceivedMessage, build_batch, runs_as_readings
from ingest.reading_repository import write_batch
from ingest.register_tails import RegisterTails
from ingest.registry import Coefficient, Meter, Registry, Site
from store.database import create_scratch_database, drop_database

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = START + timedelta(days=60)
SITES = [Site("F1", "井1", "well", "groundwater", rated_m3h=60.0),
         Site("F2", "井2", "well", "groundwater"),
         Site("P1", "井3", "well", "groundwater", rated_m3h=40.0)]
METERS = [Meter("F1-M", "F1", "F1", "flow", START - timedelta(hours=1), register_max=100_000),
          Meter("F2-M", "F2", "F2", "flow", START - timedelta(hours=1), multiplier=10.0),
          Meter("P1-M", "P1", "P1", "power", START - timedelta(hours=1))]
COEFFICIENTS = [Coefficient("P1", START - timedelta(hours=1), 2.5, "pump_test"),
                Coefficient("P1", START + timedelta(hours=150), 2.8, "pump_test")]
REGISTRY = Registry.build(SITES, METERS, COEFFICIENTS)
COLUMNS = ("meter_id, ts, value, flow_m3h, ts_start, site_id, method, status, quality, "
           "register_delta, kwh, coefficient, volume_m3")


def messages(seed: int) -> list[list[ReceivedMessage]]:
    """Batches of 100-reading messages; now and then a spike, a reset, a late or repeated one."""
    rng = random.Random(seed)
    registers = {"F1": 99_000.0, "F2": 10.0, "P1": 0.0}
    clock = {"F1": 0, "F2": 0, "P1": 0}
    batches = []
    for _ in range(8):
        batch = []
        for device, channel, field in (("F1", "flow", "total_m3"), ("F2", "flow", "total_m3"),
                                       ("P1", "power", "total_kwh")):
            elements = []
            for _ in range(rng.choice([20, 100])):
                gap = rng.choice([60, 300, 600])
                clock[device] += gap
                step = rng.uniform(0, 0.9) * (14 if device == "P1" else 50) * gap / 3600
                if rng.random() < 0.003:
                    step = rng.choice([-50.0, 5_000.0])  # a reset or a spike
                registers[device] = max(0.0, registers[device] + step)
                if device == "F1":
                    registers[device] %= 100_000  # rolls over
                element: dict[str, float | int] = {"ts": int(START.timestamp()) + clock[device],
                                                   field: round(registers[device], 3)}
                if device == "F1" and rng.random() < 0.5:
                    element["flow_m3h"] = round(rng.uniform(0, 50), 2)
                elements.append(element)
            if rng.random() < 0.1:  # an element repeated from earlier in the stream
                elements.append(dict(elements[0]))
            batch.append(ReceivedMessage(f"wb/{device}/{channel}", json.dumps(elements).encode()))
        batches.append(batch)
    return batches


@pytest.fixture
def second_url(database_url: str, pg_admin_url: str) -> Iterator[str]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_extension "
                           "WHERE extname = 'timescaledb'").fetchone()
    timescale = bool(row and row[0])
    url = create_scratch_database(pg_admin_url, timescaledb=timescale)
    yield url
    drop_database(pg_admin_url, url)


def build(batch: list[ReceivedMessage]) -> IngestBatch:
    return build_batch(batch, REGISTRY, prefix="wb", default_zone=ZONE, now=NOW,
                       max_future=timedelta(minutes=10))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_columns_and_scalar_paths_store_the_same_rows(database_url: str, second_url: str,
                                                      seed: int) -> None:
    tails = RegisterTails()
    from_columns = 0
    with psycopg.connect(database_url, autocommit=True) as a, \
            psycopg.connect(second_url, autocommit=True) as b:
        for conn in (a, b):  # the registry's installation readings, as the registry writes them
            for meter in METERS:
                conn.execute("INSERT INTO register_readings (meter_id, ts, value, origin) "
                             "VALUES (%s, %s, 0, 'registry')", (meter.meter_id, meter.installed_at))
        for batch in messages(seed):
            result = write_batch(a, build(batch), REGISTRY, tails)
            tails.remember(result.tails)
            from_columns += result.readings_from_columns
            scalar = build(batch)
            scalar.registers, scalar.runs = runs_as_readings(scalar.runs), []
            write_batch(b, scalar, REGISTRY)
        got = a.execute(f"SELECT {COLUMNS} FROM register_readings ORDER BY 1, 2").fetchall()
        want = b.execute(f"SELECT {COLUMNS} FROM register_readings ORDER BY 1, 2").fetchall()
    assert len(got) == len(want) > 1000
    assert from_columns > len(got) / 4, "the column path wrote a good share"
    assert got == want


def as_iso(batches: list[list[ReceivedMessage]], seed: int) -> list[list[ReceivedMessage]]:
    """The same stream with ISO 8601 times, each message in one of the forms gateways send."""
    rng = random.Random(seed)
    forms = {"offset": lambda t: t.astimezone(ZONE).isoformat(),
             "utc": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "naive": lambda t: t.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S"),
             "fraction": lambda t: t.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M:%S,%f123+08:00")}
    out = []
    for batch in batches:
        converted = []
        for message in batch:
            form = forms[rng.choice(sorted(forms))]
            elements = json.loads(message.payload)
            for element in elements:
                element["ts"] = form(datetime.fromtimestamp(element["ts"], UTC))
            converted.append(ReceivedMessage(message.topic, json.dumps(elements).encode()))
        out.append(converted)
    return out


@pytest.mark.parametrize("seed", [4, 5])
def test_iso_times_store_the_rows_the_general_path_stores(
        database_url: str, second_url: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tails = RegisterTails()
    from_columns = 0
    with psycopg.connect(database_url, autocommit=True) as a, \
            psycopg.connect(second_url, autocommit=True) as b:
        for conn in (a, b):
            for meter in METERS:
                conn.execute("INSERT INTO register_readings (meter_id, ts, value, origin) "
                             "VALUES (%s, %s, 0, 'registry')", (meter.meter_id, meter.installed_at))
        for batch in as_iso(messages(seed), seed):
            result = write_batch(a, build(batch), REGISTRY, tails)
            tails.remember(result.tails)
            from_columns += result.readings_from_columns
            with monkeypatch.context() as patch:  # the general parser, element by element
                patch.setattr(batch_module, "register_columns", lambda *_args: None)
                general = build(batch)
            assert not general.runs
            write_batch(b, general, REGISTRY)
        rows = f"SELECT {COLUMNS} FROM register_readings ORDER BY 1, 2"
        letters = ("SELECT topic, payload, reason, detail, element FROM dead_letters "
                   "ORDER BY 1, 2, 3, 4, 5")
        got, want = a.execute(rows).fetchall(), b.execute(rows).fetchall()
        got_letters, want_letters = a.execute(letters).fetchall(), b.execute(letters).fetchall()
    assert len(got) == len(want) > 1000
    assert from_columns > len(got) / 4, "the column path wrote a good share"
    assert got == want
    assert got_letters == want_letters
