"""Property-based fuzzing of the SZY206-2016 stream splitter, decoder and batch rows
(issue 11). Pure code.

Properties, for arbitrary byte streams and for valid frames mutated byte by byte
(with L and CS recomputed, so the mutations reach the decoder, not just the check
byte):

* no exception but ``PayloadError`` ever leaves the decoder, and none at all leaves
  the splitter or ``add_szy206_payload``;
* the splitter accounts for every byte: frames, garbage, bad frames and the
  truncated tail, in order, are exactly the input (nothing lost, nothing doubled);
* every frame becomes rows or a dead letter with a reason and its raw bytes;
* a stream of valid frames cut at arbitrary read boundaries splits and decodes
  exactly as when it arrives in one read.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.batch import IngestBatch
from ingest.contract import PayloadError
from ingest.registry import Meter, Registry, Site
from ingest.szy206_decode import SITE_TZ, Decoded, decode
from ingest.szy206_frame import (
    MAX_FRAME,
    Frame,
    Item,
    StreamSplitter,
    ack_for,
    build_frame,
    parse_frame,
)
from ingest.szy206_readings import add_szy206_payload
from ingest.szy206_terminals import Terminal

FRAME1 = bytes.fromhex("681A68B35303810D00C00059000000826110000001106000004508090A3516")
FRAME2 = bytes.fromhex("681568B34406070001C0AAAAAAAAAA004040000000000101E516")
WELL = bytes.fromhex("5303810D00")  # 530381-00013
GATE = bytes.fromhex("6401040700")  # 640104-00007
NOW = datetime(2024, 6, 9, 9, 0, tzinfo=SITE_TZ)
TP = bytes.fromhex("0000" "0000" "00300809" "00")  # alarm, state, day 09 08:30:00
REASONS = {"garbage", "truncated", "bad_check", "bad_start", "bad_length", "bad_end",
           "unsupported", "bad_direction", "bad_address", "invalid_value", "non_bcd",
           "unknown_code", "unsupported_code", "unmapped_level", "unknown_device",
           "no_meter_installed", "absurd_value", "bad_time", "wrong_gateway"}

# valid uplink frames of every kind the decoder reads: the seeds of the mutations
SEEDS = [
    FRAME1,
    FRAME2,
    build_frame(0xB3, WELL, 0xC0, bytes.fromhex("0012000000") + bytes.fromhex("0000100000")
                + TP),  # flow and volume
    build_frame(0xB3, WELL, 0xC0, bytes(10) + bytes.fromhex("0000100000") * 2 + TP),  # 2 pts
    build_frame(0xB2, GATE, 0xC0, bytes.fromhex("00221000") + bytes.fromhex("00051000") + TP),
    build_frame(0xB5, GATE, 0xC0, bytes.fromhex("350000") + TP),  # gate position
    build_frame(0xB6, WELL, 0xB0, bytes.fromhex("452301") + TP),  # energy, a query reply
    build_frame(0xBD, WELL, 0xC0, TP),  # alarm / state only
    build_frame(0xBE, GATE, 0xC0, bytes([0b0001_1010]) + bytes.fromhex("00221000")
                + bytes.fromhex("0012000000") + bytes.fromhex("0000100000")
                + bytes.fromhex("350000") + TP),  # comprehensive: level, flow, gate
    build_frame(0xB2, WELL, 0x02, b"\xf0"),  # link check: log-in
    build_frame(0xB2, GATE, 0x02, b"\xf2" + bytes.fromhex("0030080900")),  # keep-alive + Tp
]


def registry() -> Registry:
    installed = datetime(2020, 1, 1, tzinfo=SITE_TZ)
    sites = [Site("W1", "一号井", "well", "groundwater"),
             Site("G1", "一号闸", "canal_gate", "local_surface")]
    meters = [Meter("W1-F", "W1", "W1", "flow", installed),
              Meter("W1-P", "W1", "W1", "power", installed),
              Meter("W1-F2", "W1", "W1:2", "flow", installed),
              Meter("G1-gate", "G1", "G1", "gate", installed)]
    terminals = [Terminal("530381-00013", "W1", "m3/h", gateway="GW1"),
                 Terminal("440607-00256", "W1"),
                 Terminal("640104-00007", "G1", levels=("upstream", "ignore"), gateway="GW1")]
    return Registry.build(sites, meters, [], terminals=terminals)


REGISTRY = registry()


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A seed frame whose control byte, address, AFN or data bytes were changed,
    inserted or deleted; L and CS recomputed unless ``raw_damage`` hits the frame."""
    seed = draw(st.sampled_from(SEEDS))
    user = bytearray(seed[3:-2])  # C, A, AFN, data
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(("replace", "insert", "delete", "aa", "nibble", "truncate",
                                   "extend")))
        at = draw(st.integers(0, len(user) - 1))
        if op == "truncate":  # the data area cut anywhere (C, A and AFN stay)
            del user[max(7, at):]
        elif op == "extend":
            user += draw(st.binary(max_size=255 - len(user)))
        elif op == "replace":
            user[at] = draw(st.integers(0, 255))
        elif op == "insert" and len(user) < 255:
            user.insert(at, draw(st.integers(0, 255)))
        elif op == "delete" and len(user) > 7:
            del user[at]
        elif op == "aa":
            user[at] = 0xAA
        elif op == "nibble":
            user[at] = (user[at] & 0x0F) | draw(st.sampled_from((0xA0, 0xF0, 0x80)))
    frame = build_frame(user[0], bytes(user[1:6]), user[6], bytes(user[7:]))
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:  # sometimes the link layer too
        raw = bytearray(frame)
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        frame = bytes(raw)
    return frame


# bytes that matter to the splitter (68H, 16H, small and large L) are drawn more often
STREAM_BYTES = st.one_of(st.sampled_from((0x68, 0x16, 0x07, 0x08, 0xFF, 0xAA, 0x00)),
                         st.integers(0, 255))
streams = st.lists(st.one_of(st.lists(STREAM_BYTES, max_size=40).map(bytes), mutated_frames(),
                             st.sampled_from(SEEDS)), max_size=12).map(b"".join)


def split(stream: bytes, cuts: list[int]) -> list[Item]:
    """Feed ``stream`` in reads cut at ``cuts``, then end it."""
    splitter = StreamSplitter()
    items: list[Item] = []
    start = 0
    for cut in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
        items += splitter.feed(stream[start:cut])
        start = cut
    items += splitter.close()
    assert not splitter._buf
    assert not splitter._garbage
    return items


def raw_of(item: Item) -> bytes:
    return item.raw if isinstance(item, Frame) else item[1]


def decoded_or_reason(frame: Frame, received_at: datetime,
                      max_future: timedelta) -> Decoded | str:
    try:
        return decode(frame, received_at=received_at, max_future=max_future)
    except PayloadError as exc:
        reason, detail = exc.reason, exc.detail
    assert reason in REASONS
    assert detail
    return reason


# SZY206_FUZZ_EXAMPLES=20000 for a longer hunt than the suite's
FUZZ = settings(max_examples=int(os.environ.get("SZY206_FUZZ_EXAMPLES", "400")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(stream=st.one_of(st.binary(max_size=3 * MAX_FRAME), streams),
       cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_the_splitter_accounts_for_every_byte_of_any_stream(stream: bytes,
                                                             cuts: list[int]) -> None:
    items = split(stream, cuts)
    assert b"".join(raw_of(item) for item in items) == stream  # nothing lost or doubled
    for item in items:
        if isinstance(item, Frame):
            assert len(item.raw) <= MAX_FRAME
            ack_for(item)  # never raises
        else:
            rejection, raw = item
            assert rejection.reason in REASONS
            assert rejection.detail
            assert raw


@FUZZ
@given(stream=streams, received_at=st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 31),
                                                 timezones=st.just(UTC)),
       max_future=st.timedeltas(timedelta(0), timedelta(days=2)))
def test_every_frame_decodes_or_is_rejected_with_a_reason(stream: bytes, received_at: datetime,
                                                         max_future: timedelta) -> None:
    for item in split(stream, []):
        if isinstance(item, Frame):
            decoded_or_reason(item, received_at, max_future)  # only PayloadError escapes


@FUZZ
@given(frames=st.lists(st.one_of(mutated_frames(), st.sampled_from(SEEDS)), min_size=1,
                       max_size=6),
       junk=st.binary(max_size=20),
       gateway=st.sampled_from((None, "GW1", "GW2")),
       received_at=st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 31),
                                timezones=st.just(UTC)))
def test_every_frame_of_a_payload_becomes_rows_or_a_dead_letter(
        frames: list[bytes], junk: bytes, gateway: str | None, received_at: datetime) -> None:
    payload = junk + b"".join(frames)
    batch = IngestBatch()
    add_szy206_payload(batch, "wb/v1/GW1/szy206", payload, REGISTRY, gateway=gateway,
                       now=received_at, max_future=timedelta(minutes=10))
    for letter in batch.dead_letters:
        assert letter.reason in REASONS, letter
        assert letter.detail, letter
        assert letter.payload in payload
    rows = len(batch.registers) + len(batch.statuses) + len(batch.gates)
    items = split(payload, [])
    if all(not isinstance(item, Frame) for item in items):
        assert rows == 0
        assert len(batch.dead_letters) == 1  # the whole payload, one reason
        return
    lettered = {letter.payload for letter in batch.dead_letters}
    for item in items:
        if not isinstance(item, Frame):
            assert item[1] in lettered
            continue
        one = IngestBatch()
        add_szy206_payload(one, "wb/v1/GW1/szy206", item.raw, REGISTRY, gateway=gateway,
                           now=received_at, max_future=timedelta(minutes=10))
        assert one.registers or one.statuses or one.gates or one.dead_letters
        assert all(letter.payload == item.raw for letter in one.dead_letters)
        if isinstance(decoded_or_reason(item, received_at, timedelta(minutes=10)), str):
            assert not one.registers  # never a reading
            assert not one.statuses
            assert not one.gates


@FUZZ
@given(frames=st.lists(st.sampled_from(SEEDS), min_size=1, max_size=8),
       junk=st.lists(st.binary(max_size=12).filter(lambda b: 0x68 not in b), min_size=8,
                     max_size=8),
       cuts=st.lists(st.integers(0, 4000), min_size=1, max_size=12))
def test_valid_frames_split_anywhere_decode_as_whole(frames: list[bytes], junk: list[bytes],
                                                     cuts: list[int]) -> None:
    stream = b"".join(j + f for j, f in zip(junk, frames, strict=False))
    whole, pieces = split(stream, []), split(stream, cuts)
    assert [raw_of(i) for i in pieces] == [raw_of(i) for i in whole]
    assert [i for i in pieces if isinstance(i, Frame)] == [parse_frame(f) for f in frames]
    for a, b in zip(pieces, whole, strict=True):
        if isinstance(a, Frame):
            assert isinstance(b, Frame)
            assert decoded_or_reason(a, NOW, timedelta(minutes=10)) == decoded_or_reason(
                b, NOW, timedelta(minutes=10))

