"""ISO 8601 times on the register fast path read exactly as the general parser reads them.

The reference is the general path itself: ``contract.parse_timestamp`` for one
time, ``parse_message`` with the fast path switched off for a whole payload
(its readings, and its dead letters with their reasons and details).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import batch as batch_module
from ingest import contract, iso_times
from ingest.batch import IngestBatch, ReceivedMessage, build_batch, runs_as_readings
from ingest.contract import (
    Channel,
    ParsedMessage,
    PayloadError,
    RegisterReading,
    Topic,
    parse_message,
)
from ingest.iso_times import VECTOR_MIN, iso_micros
from ingest.registry import Meter, Registry, Site

SHANGHAI = ZoneInfo("Asia/Shanghai")  # no DST since 1991
BERLIN = ZoneInfo("Europe/Berlin")  # DST: gaps and ambiguous hours for naive times
SANTIAGO = ZoneInfo("America/Santiago")  # DST, transitions at local midnight
ZONES = [SHANGHAI, BERLIN, SANTIAGO, ZoneInfo("UTC")]
NOW = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
FLOW = Topic("dev-1", Channel.FLOW)
US = timedelta(microseconds=1)


def reference(texts: list[str], tz: ZoneInfo) -> list[int] | None:
    """The general parser, value by value: µs since 1970 UTC, or None if it refuses one."""
    out = []
    for text in texts:
        try:
            ts = contract.parse_timestamp(text, "ts", tz)
        except PayloadError:
            return None
        out.append((ts - iso_times.EPOCH) // US)
    return out


# --- generated time text -----------------------------------------------------------------------

@st.composite
def layouts(draw: st.DrawFn, *, matrix: bool = False) -> dict[str, Any]:
    """What a device's times share: separator, fraction digits, offset form, blanks.

    Mostly the forms the byte matrix reads, sometimes others fromisoformat takes;
    with ``matrix`` only the former.
    """
    others = not matrix
    return {
        "sep": draw(st.sampled_from(["T", "T", "T", "T", " ", "t", *["x"] * others])),
        "point": draw(st.sampled_from([".", ".", ","])),
        "digits": draw(st.integers(0, 9)),
        "suffix": draw(st.sampled_from(["", "", "Z", "z", "+hh:mm", "+hh:mm", "-hh:mm",
                                        *["+hhmm", "+hh", "+hh:mm:ss"] * others])),
        "pad": draw(st.sampled_from(["", "", "", "", "", "", *[" ", "\t"] * others])),
        "wild": draw(st.integers(0, 3)) == 0,  # fields out of range, now and then
        # one offset for all (a device's clock), or each time its own
        "offset": draw(st.one_of(st.none(), st.tuples(st.integers(0, 14), st.integers(0, 59),
                                                      st.integers(0, 59)))),
    }


valid_fields = {"year": st.integers(1999, 2027), "month": st.integers(1, 12),
                "day": st.integers(1, 28), "hour": st.integers(0, 23),
                "minute": st.integers(0, 59), "offset_hours": st.integers(0, 14)}
wild_fields = {"year": st.one_of(st.integers(1999, 2027), st.sampled_from([0, 1, 2100, 9999])),
               "month": st.integers(0, 13), "day": st.integers(0, 32), "hour": st.integers(0, 24),
               "minute": st.integers(0, 60), "offset_hours": st.integers(0, 24)}


@st.composite
def iso_text(draw: st.DrawFn, layout: dict[str, Any]) -> str:
    """One time in ``layout`` (with ``wild`` fields: also Feb 30th, 24:00, +24:00, …)."""
    f = wild_fields if layout["wild"] else valid_fields
    day = draw(f["day"])
    if draw(st.integers(0, 15)) == 0:
        day = draw(st.integers(29, 31))  # month ends, leap days
    text = (f"{draw(f['year']):04d}-{draw(f['month']):02d}-{day:02d}{layout['sep']}"
            f"{draw(f['hour']):02d}:{draw(f['minute']):02d}:{draw(f['minute']):02d}")
    if layout["digits"]:
        fraction = draw(st.integers(0, 10 ** layout["digits"] - 1))
        text += f"{layout['point']}{fraction:0{layout['digits']}d}"
    hh, mm, ss = layout["offset"] or (draw(f["offset_hours"]), draw(f["minute"]),
                                      draw(f["minute"]))
    suffix = (layout["suffix"].replace("hh", f"{hh:02d}").replace("mm", f"{mm:02d}")
              .replace("ss", f"{ss:02d}"))
    pad: str = layout["pad"]
    return f"{pad}{text}{suffix}{pad}"


@st.composite
def dst_text(draw: st.DrawFn, layout: dict[str, Any]) -> str:
    """A naive time near a DST change of Berlin or Santiago: gaps and doubled hours."""
    day = draw(st.sampled_from([datetime(2025, 3, 30), datetime(2025, 10, 26),
                                datetime(2025, 4, 5), datetime(2025, 9, 6),
                                datetime(2024, 2, 29)]))
    moment = day + timedelta(minutes=draw(st.integers(-6 * 60, 30 * 60)))
    text = moment.strftime(f"%Y-%m-%d{layout['sep']}%H:%M:%S")
    if layout["digits"]:
        text += layout["point"] + "7" * layout["digits"]
    return text


def mutated(text: str, data: st.DataObject, *, surrogates: bool = True) -> str:
    """``text`` with one character replaced, inserted or removed: mostly not a time any more.

    ``surrogates``: also a lone surrogate (JSON can carry one, UTF-8 cannot).
    """
    at = data.draw(st.integers(0, len(text)))
    char = data.draw(st.one_of(st.characters(codec="utf-8"), st.sampled_from(
        list("0123456789-:T +Z.,\x00\u3000\u0660９") + ["\ud800"] * surrogates)))
    how = data.draw(st.sampled_from(["replace", "insert", "remove"]))
    if how == "insert":
        return text[:at] + char + text[at:]
    if how == "remove":
        return text[:at] + text[at + 1:]
    return text[:at] + char + text[at + 1:]


@st.composite
def columns(draw: st.DrawFn, *, matrix: bool = False) -> list[str]:
    """A column of times: one layout (the byte-matrix case) or several, some broken."""
    layout = draw(layouts(matrix=matrix))
    size = draw(st.one_of(st.integers(1, 4), st.integers(VECTOR_MIN, VECTOR_MIN + 24)))
    maker = dst_text(layout) if layout["suffix"] == "" and draw(st.booleans()) else iso_text(
        layout)
    texts = draw(st.lists(maker, min_size=size, max_size=size))
    if draw(st.integers(0, 3)) == 0:  # mostly one layout, but another's times may join it
        other = draw(layouts())
        texts += draw(st.lists(iso_text(other), max_size=3))
    return texts


@settings(max_examples=1000, deadline=None)
@given(texts=st.one_of(columns(), columns(matrix=True)), tz=st.sampled_from(ZONES),
       data=st.data())
def test_columns_read_as_the_general_parser_reads_each_time(
        texts: list[str], tz: ZoneInfo, data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        where = data.draw(st.integers(0, len(texts) - 1))
        texts = [*texts[:where], mutated(texts[where], data), *texts[where + 1:]]
    assert iso_micros(texts, tz) == reference(texts, tz)


@pytest.mark.parametrize(("text", "tz"), [
    ("2025-03-30T02:30:00", BERLIN),  # in the gap: read with the offset before it (fold=0)
    ("2025-10-26T02:30:00", BERLIN),  # an hour that happens twice: the first (fold=0)
    ("2025-04-05T23:30:00", SANTIAGO),
    ("2025-09-07T00:30:00", SANTIAGO),
    ("2024-02-29T12:00:00.123456789+08:00", SHANGHAI),
    ("2023-02-29T12:00:00+08:00", SHANGHAI),
    ("2100-02-29T12:00:00+08:00", SHANGHAI),
    ("2026-05-01T11:00:00+08:60", SHANGHAI),  # fromisoformat reads 9 h: so must we
    ("2026-05-01T11:00:00+23:60", SHANGHAI),
    ("2026-05-01T11:00:00-23:59", SHANGHAI),
    ("0000-01-01T00:00:00Z", SHANGHAI),
    ("0001-01-01T00:00:00", SHANGHAI),
    ("9999-12-31T23:59:59", SANTIAGO),
    ("9999-12-31T23:59:59-23:59", SANTIAGO),
    ("2026-05-01T11:00:00.", SHANGHAI),
    ("2026-05-01T11:00:00.1234567890", SHANGHAI),
    ("2026-05-01T11:00:00\u0000", SHANGHAI),
    ("２０２６-05-01T11:00:00", SHANGHAI),
    ("2026-05-01T11:00:0\u0660", SHANGHAI),
])
def test_edge_times_read_as_the_general_parser_reads_them(text: str, tz: ZoneInfo) -> None:
    for texts in ([text], [text] * VECTOR_MIN, ["2026-05-01T11:00:00"] * VECTOR_MIN + [text],
                  [text] + ["2026-05-01T11:00:00"] * VECTOR_MIN):
        assert iso_micros(texts, tz) == reference(texts, tz)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789-:T +Zz.,W")), max_size=35),
       tz=st.sampled_from(ZONES))
def test_any_short_text_reads_as_the_general_parser_reads_it(text: str, tz: ZoneInfo) -> None:
    for size in (1, VECTOR_MIN):
        assert iso_micros([text] * size, tz) == reference([text] * size, tz)


def test_the_usual_layouts_are_read_as_one_matrix() -> None:
    """Not only right but fast: these never fall back to reading value by value."""
    base = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
    stamps = [base + timedelta(minutes=m, microseconds=(m + 1) * 1001) for m in range(VECTOR_MIN)]
    forms = [
        [t.astimezone(SHANGHAI).isoformat(timespec="seconds") for t in stamps],
        [t.astimezone(SHANGHAI).isoformat() for t in stamps],
        [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps],
        [t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") for t in stamps],
        [t.strftime("%Y-%m-%dT%H:%M:%S.%f000-00:00") for t in stamps],
    ]
    for texts in forms:
        matrix = iso_times._column_micros(texts, SHANGHAI)
        assert matrix is not None, texts[0]
        assert matrix == reference(texts, SHANGHAI)


# --- whole payloads: the fast path's columns against the general path's readings -------------

def general(topic: Topic, payload: bytes, tz: ZoneInfo) -> ParsedMessage:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(contract, "_fast_registers", lambda *_args: None)
        return parse_message(topic, payload, tz=tz, now=NOW)


def fast_columns(payload: bytes, tz: ZoneInfo = SHANGHAI) -> contract.RegisterColumns | None:
    return contract.register_columns(FLOW, payload, NOW, contract.DEFAULT_MAX_FUTURE, tz)


def as_columns(parsed: ParsedMessage) -> list[tuple[int, float, float | None]]:
    registers = [r for r in parsed.readings if isinstance(r, RegisterReading)]
    return [((r.ts - iso_times.EPOCH) // US, r.value, r.flow_m3h) for r in registers]


recent = st.datetimes(min_value=datetime(1999, 12, 31), max_value=datetime(2026, 5, 1, 13, 0),
                      timezones=st.just(UTC))


@st.composite
def recent_text(draw: st.DrawFn, layout: dict[str, Any]) -> str:
    """Times around the accepted range (2000 .. now + 10 min), in ``layout``."""
    moment = draw(recent)
    if layout["suffix"] == "":
        local = moment.astimezone(SHANGHAI)
        suffix = ""
    else:
        if layout["offset"]:  # the device's offset
            hh, mm, _ = layout["offset"]
            offset = timedelta(hours=hh, minutes=mm) * (-1 if "-" in layout["suffix"] else 1)
        else:
            offset = timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))
        local = moment.astimezone(timezone(offset))
        suffix = "Z" if layout["suffix"] in ("Z", "z") else local.strftime("%z")
        if layout["suffix"] in ("+hh:mm", "-hh:mm"):
            suffix = suffix[:3] + ":" + suffix[3:]
    text = local.strftime(f"%Y-%m-%d{layout['sep']}%H:%M:%S")
    if layout["digits"]:
        text += layout["point"] + f"{local.microsecond:06d}{'123'}"[:layout["digits"]]
    pad: str = layout["pad"]
    return f"{pad}{text}{suffix}"


@settings(max_examples=300, deadline=None)
@given(layout=st.one_of(layouts(), layouts(matrix=True)), data=st.data(),
       size=st.sampled_from([1, 3, VECTOR_MIN, 30]))
def test_register_payloads_with_iso_times_agree_with_the_general_path(
        layout: dict[str, Any], data: st.DataObject, size: int) -> None:
    """The fast path takes a payload exactly when the general path rejects nothing in it,
    and then holds the general path's readings."""
    texts = data.draw(st.lists(recent_text(layout), min_size=size, max_size=size))
    if data.draw(st.booleans()):
        where = data.draw(st.integers(0, size - 1))
        # a lone surrogate in a rejected element is issue 11's crash (1), not a time question
        texts[where] = mutated(texts[where], data, surrogates=False)
    elements: list[dict[str, Any]] = [{"ts": t, "total_m3": float(i)}
                                      for i, t in enumerate(texts)]
    if data.draw(st.booleans()):  # an epoch number among the texts
        elements.append({"ts": int(NOW.timestamp()) - 60, "total_m3": 99.0})
    doc: Any = elements if size > 1 or data.draw(st.booleans()) else elements[0]
    payload = json.dumps(doc).encode()
    expected = general(FLOW, payload, SHANGHAI)
    columns = fast_columns(payload)
    assert (columns is None) == bool(expected.rejections)
    if columns is not None:
        assert list(zip(columns.micros, columns.values, columns.flows, strict=True)) == \
            as_columns(expected)
        assert columns.is_array == isinstance(doc, list)


@pytest.mark.parametrize("ts", [
    "2026-05-01T11:00:00+08:00", "2026-05-01T03:00:00Z", "2026-05-01 11:00:00",
    "2026-05-01T11:00:00.250+08:00", " 2026-05-01T11:00:00+08:00 ", "2026-W18-5T11:00:00"])
def test_valid_iso_payloads_take_the_fast_path(ts: str) -> None:
    one = json.dumps({"ts": ts, "total_m3": 1.5}).encode()
    many = json.dumps([{"ts": ts, "total_m3": float(i)} for i in range(VECTOR_MIN)]).encode()
    for payload in (one, many):
        columns = fast_columns(payload)
        assert columns is not None
        assert list(zip(columns.micros, columns.values, columns.flows, strict=True)) == \
            as_columns(general(FLOW, payload, SHANGHAI))
        fraction = 250_000 if ".250" in ts else 0
        assert columns.micros[0] == (datetime(2026, 5, 1, 3, 0, 0, fraction, tzinfo=UTC)
                                     - iso_times.EPOCH) // US


@pytest.mark.parametrize(("ts", "reason"), [
    ("2026-05-01T12:11:00+08:00", "future_time"),
    ("1999-12-31T23:59:59.999999Z", "bad_time"),
    ("2026-02-29T11:00:00+08:00", "bad_time"),
    ("2026-05-01T24:00:00+08:00", "bad_time"),
    ("2026-05-01T11:00:00+24:00", "bad_time"),
    ("2026-05-01T11:00:00.+08:00x", "bad_time"),
    ("yesterday", "bad_time"),
])
def test_bad_iso_times_are_dead_letters_with_the_general_reason(ts: str, reason: str) -> None:
    elements = [{"ts": "2026-05-01T11:00:00+08:00", "total_m3": float(i)}
                for i in range(VECTOR_MIN)]
    elements[5]["ts"] = ts
    message = ReceivedMessage("wb/D1/flow", json.dumps(elements).encode())
    registry = batch_registry()
    batch = build_batch([message], registry, prefix="wb", default_zone=SHANGHAI, now=NOW,
                        max_future=contract.DEFAULT_MAX_FUTURE)
    assert batch.dead_letters == general_batch([message], registry).dead_letters
    assert [(d.reason, d.element) for d in batch.dead_letters] == [(reason, 5)]
    assert len(batch.registers) == VECTOR_MIN - 1


# --- whole batches: the rows the fast path builds against the general path's ------------------

REPLACED = datetime(2025, 7, 1, tzinfo=UTC)


def batch_registry() -> Registry:
    """A Beijing well, a Berlin well (naive times with DST) and a meter replaced mid-stream."""
    installed = datetime(2020, 1, 1, tzinfo=UTC)
    sites = [Site("S1", "一号井", "well", "groundwater"),
             Site("S2", "二号井", "well", "groundwater", timezone="Europe/Berlin")]
    meters = [Meter("S1-F", "S1", "D1", "flow", installed),
              Meter("S2-F", "S2", "D2", "flow", installed, removed_at=REPLACED),
              Meter("S2-F2", "S2", "D2", "flow", REPLACED)]
    return Registry.build(sites, meters, [])


def general_batch(messages: list[ReceivedMessage], registry: Registry) -> IngestBatch:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "register_columns", lambda *_args: None)
        patch.setattr(contract, "_fast_registers", lambda *_args: None)
        return build_batch(messages, registry, prefix="wb", default_zone=SHANGHAI, now=NOW,
                           max_future=contract.DEFAULT_MAX_FUTURE)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), sizes=st.lists(st.sampled_from([1, 2, VECTOR_MIN, 24]), min_size=1,
                                      max_size=4))
def test_batches_of_iso_payloads_hold_the_general_paths_rows(
        data: st.DataObject, sizes: list[int]) -> None:
    registry = batch_registry()
    messages = []
    for size in sizes:
        layout = data.draw(st.one_of(layouts(), layouts(matrix=True)))
        texts = data.draw(st.lists(st.one_of(recent_text(layout), dst_text(layout)),
                                   min_size=size, max_size=size))
        if data.draw(st.integers(0, 3)) == 0:
            where = data.draw(st.integers(0, size - 1))
            texts[where] = mutated(texts[where], data, surrogates=False)
        device = data.draw(st.sampled_from(["D1", "D2"]))
        doc = [{"ts": t, "total_m3": float(i)} for i, t in enumerate(texts)]
        messages.append(ReceivedMessage(f"wb/{device}/flow", json.dumps(doc).encode()))
    fast = build_batch(messages, registry, prefix="wb", default_zone=SHANGHAI, now=NOW,
                       max_future=contract.DEFAULT_MAX_FUTURE)
    expected = general_batch(messages, registry)

    def rows(b: IngestBatch) -> list[tuple[str, int, float, float | None]]:
        # instants as µs: a time in a DST gap or fold never compares equal to another
        # zone's (PEP 495), though psycopg stores the same instant
        return sorted((r.meter.meter_id, (r.ts - iso_times.EPOCH) // US, r.value, r.flow_m3h)
                      for r in [*b.registers, *runs_as_readings(b.runs)])

    assert rows(fast) == rows(expected)
    assert fast.dead_letters == expected.dead_letters
