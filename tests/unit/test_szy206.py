"""SZY206-2016 frame layer, stream splitter and decoder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.contract import Channel, DeviceStatus, PayloadError, RegisterReading
from ingest.szy206_decode import (
    SITE_TZ,
    _flow,
    alarm_names,
    decode,
    device_id,
    label_time,
    on_battery,
)
from ingest.szy206_frame import (
    Frame,
    StreamSplitter,
    ack_for,
    build_frame,
    crc8,
    parse_frame,
)

# shared/reference/szy206-frames.md
FRAME1 = bytes.fromhex("681A68B35303810D00C00059000000826110000001106000004508090A3516")
FRAME2 = bytes.fromhex("681568B34406070001C0AAAAAAAAAA004040000000000101E516")
JUNE_9 = datetime(2024, 6, 9, 9, 0, tzinfo=SITE_TZ)
ADDRESS = bytes.fromhex("640104") + (7).to_bytes(2, "little")
WORDS_TP = bytes.fromhex("0000" "0000" "00300809" "00")  # day 09 08:30:00


def bcd(value: int, size: int) -> bytes:
    return bytes.fromhex(f"{value:0{size * 2}d}")[::-1]


def self_report(code: int, values: bytes, afn: int = 0xC0, tail: bytes = WORDS_TP) -> Frame:
    return parse_frame(build_frame(0xB0 | code, ADDRESS, afn, values + tail))


def reason_of(frame: Frame, **kwargs: object) -> str:
    with pytest.raises(PayloadError) as info:
        decode(frame, received_at=kwargs.pop("received_at", JUNE_9), **kwargs)  # type: ignore[arg-type]
    return info.value.reason


# --- frame layer -----------------------------------------------------------------

def test_reference_check_bytes_are_crc8_e5_over_user_data():
    assert crc8(FRAME1[3:-2]) == 0x35
    assert crc8(FRAME2[3:-2]) == 0xE5


def test_reference_frame_1_layout():
    frame = parse_frame(FRAME1)
    assert frame.uplink
    assert frame.code == 3
    assert frame.afn == 0xC0
    assert frame.address == bytes.fromhex("5303810D00")
    assert len(frame.data) == 19


@pytest.mark.parametrize(("raw", "reason"), [
    (FRAME1[:-2] + b"\x36\x16", "bad_check"),
    (FRAME1[:-1] + b"\x17", "bad_end"),
    (FRAME1[:1] + b"\x1b" + FRAME1[2:], "bad_length"),
    (b"\x69" + FRAME1[1:], "bad_start"),
    (FRAME1[:11] + b"\x58" + FRAME1[12:], "bad_check"),  # flow digit 59 -> 58
])
def test_corrupt_frames_are_rejected(raw, reason):
    with pytest.raises(PayloadError) as info:
        parse_frame(raw)
    assert info.value.reason == reason


def test_split_frame_is_unsupported_not_misread():
    with pytest.raises(PayloadError) as info:
        parse_frame(build_frame(0xF3, ADDRESS, 0xC0, b"\x01" + WORDS_TP))
    assert info.value.reason == "unsupported"


def test_self_report_ack_round_trip():
    ack = ack_for(parse_frame(FRAME1))
    assert ack is not None
    reply = parse_frame(ack)  # start, length, check and end bytes are right
    assert not reply.uplink
    assert reply.control == 0x33
    assert reply.address == bytes.fromhex("5303810D00")
    assert reply.afn == 0xC0
    assert reply.data == b"\x00"
    assert ack.hex() == "680868335303810d00c0003e16"


def test_link_check_ack_echoes_function_and_query_reply_gets_none():
    link = parse_frame(build_frame(0xB0, ADDRESS, 0x02, b"\xf2"))
    ack = ack_for(link)
    assert ack is not None
    assert parse_frame(ack).data == b"\xf2"
    assert parse_frame(ack).afn == 0x02
    assert ack_for(self_report(3, bcd(5900, 5) + bcd(1, 5), afn=0xB0)) is None


def test_invalid_value_frame_still_gets_its_ack():
    assert ack_for(parse_frame(FRAME2)) is not None


# --- decoding ----------------------------------------------------------------------

def test_reference_frame_1_decodes_to_a_flow_register_reading():
    decoded = decode(parse_frame(FRAME1), received_at=JUNE_9)
    flow, status = decoded.readings
    assert decoded.device_id == "530381-00013"
    assert isinstance(flow, RegisterReading)
    assert flow.channel is Channel.FLOW
    assert flow.value == 106182
    assert flow.flow_m3h == pytest.approx(5.9 * 3600)  # standard: m³/s
    assert flow.ts == datetime(2024, 6, 9, 8, 45, tzinfo=SITE_TZ)
    assert isinstance(status, DeviceStatus)
    assert status.alarms == 0x1001
    assert alarm_names(0x1001) == ("ac_power_failure", "remaining_water_low")
    assert decoded.state_word == 0x0060
    assert on_battery(0x0060)


def test_flow_unit_is_configurable_per_site():
    decoded = decode(parse_frame(FRAME1), received_at=JUNE_9, flow_m3h_per_unit=1.0)
    assert decoded.readings[0].flow_m3h == pytest.approx(5.9)  # type: ignore[union-attr]


def test_reference_frame_2_invalid_marker_is_never_a_reading():
    assert reason_of(parse_frame(FRAME2), received_at=datetime(2024, 6, 1, 0, 5, tzinfo=SITE_TZ)) \
        == "invalid_value"


def test_device_id_mapping():
    assert device_id(bytes.fromhex("4406070001")) == "440607-00256"
    with pytest.raises(PayloadError) as info:
        device_id(bytes.fromhex("4A06070001"))
    assert info.value.reason == "bad_address"


@pytest.mark.parametrize(("values", "reason"), [
    (bcd(5900, 5) + bytes.fromhex("82611000AA"), "invalid_value"),
    (bcd(5900, 5) + bytes.fromhex("826110A000"), "non_bcd"),
    (bcd(5900, 5) + bytes.fromhex("82611000F0"), "absurd_value"),  # negative volume
    (bcd(5900, 5) + bytes.fromhex("8261100020"), "non_bcd"),  # sign nibble 2
    (bytes.fromhex("00590000F0") + bcd(1, 5), "absurd_value"),  # negative flow
    (bcd(5900, 5) + bcd(1, 4), "bad_length"),
    (b"", "bad_length"),
])
def test_bad_values_are_rejected(values, reason):
    assert reason_of(self_report(3, values)) == reason


def test_invalid_flow_beside_valid_volume_keeps_the_volume():
    decoded = decode(self_report(3, b"\xaa" * 5 + bcd(106182, 5)), received_at=JUNE_9)
    reading = decoded.readings[0]
    assert isinstance(reading, RegisterReading)
    assert reading.value == 106182
    assert reading.flow_m3h is None


def test_two_flow_points_get_distinct_ids():
    decoded = decode(self_report(3, bcd(1000, 5) + bcd(10, 5) + bcd(2000, 5) + bcd(20, 5)),
                     received_at=JUNE_9)
    ids = [(r.device_id, r.value) for r in decoded.readings if isinstance(r, RegisterReading)]
    assert ids == [("640104-00007", 10), ("640104-00007:2", 20)]


def test_water_level_power_and_alarm_state_codes():
    level = decode(self_report(2, bytes.fromhex("45230100")), received_at=JUNE_9)
    assert [lv.level_m for lv in level.levels] == [pytest.approx(12.345)]
    negative = decode(self_report(2, bytes.fromhex("000500F0")), received_at=JUNE_9)
    assert negative.levels[0].level_m == pytest.approx(-0.5)
    power = decode(self_report(6, bcd(123456, 3)), received_at=JUNE_9)
    energy = power.readings[0]
    assert isinstance(energy, RegisterReading)
    assert energy.channel is Channel.POWER
    assert energy.value == 123456
    state = decode(self_report(13, b""), received_at=JUNE_9)
    assert [type(r) for r in state.readings] == [DeviceStatus]


def test_comprehensive_frame_reads_flagged_fields_in_bit_order():
    bitmap = 0b0010_0111  # rainfall (skipped), level, flow, power
    values = (bytes((bitmap,)) + bcd(12, 3) + bytes.fromhex("00100000") + bcd(5900, 5)
              + bcd(777, 5) + bcd(4321, 3))
    decoded = decode(self_report(14, values), received_at=JUNE_9)
    assert decoded.levels[0].level_m == pytest.approx(1.0)
    registers = {r.channel: r.value for r in decoded.readings if isinstance(r, RegisterReading)}
    assert registers == {Channel.FLOW: 777, Channel.POWER: 4321}
    assert reason_of(self_report(14, values + b"\x00")) == "bad_length"
    assert reason_of(self_report(14, b"\x80" + bcd(1, 4))) == "unsupported_code"


def test_unknown_and_unsupported_codes():
    assert reason_of(self_report(0, bcd(1, 5))) == "unknown_code"
    assert reason_of(self_report(1, bcd(1, 3))) == "unsupported_code"
    assert reason_of(self_report(3, bcd(1, 10), afn=0x81)) == "unknown_code"
    downlink = parse_frame(build_frame(0x33, ADDRESS, 0xC0, bcd(1, 10) + WORDS_TP))
    assert reason_of(downlink) == "bad_direction"


def test_link_check_login_and_logout():
    login = decode(parse_frame(build_frame(0xB0, ADDRESS, 0x02, b"\xf0")), received_at=JUNE_9)
    logout = decode(parse_frame(build_frame(0xB0, ADDRESS, 0x02, b"\xf1")), received_at=JUNE_9)
    assert login.readings == (DeviceStatus("640104-00007", JUNE_9, True, None),)
    assert logout.readings[0].online is False  # type: ignore[union-attr]
    assert reason_of(parse_frame(build_frame(0xB0, ADDRESS, 0x02, b"\xf5"))) == "unknown_code"


def test_query_reply_decodes_like_self_report():
    decoded = decode(self_report(3, bcd(5900, 5) + bcd(42, 5), afn=0xB0), received_at=JUNE_9)
    assert decoded.afn == 0xB0
    reading = decoded.readings[0]
    assert isinstance(reading, RegisterReading)
    assert reading.value == 42


# --- time label --------------------------------------------------------------------

def tp(day: int, hour: int, minute: int, second: int) -> bytes:
    return bytes.fromhex(f"{second:02d}{minute:02d}{hour:02d}{day:02d}00")


@pytest.mark.parametrize(("received", "label", "expected"), [
    # same month
    (datetime(2024, 6, 9, 9, 0), (9, 8, 45, 0), datetime(2024, 6, 9, 8, 45)),
    # just after midnight on the 1st: the label belongs to the previous month
    (datetime(2024, 3, 1, 0, 0, 30), (29, 23, 59, 50), datetime(2024, 2, 29, 23, 59, 50)),
    # ... and to the previous year on 1 January
    (datetime(2025, 1, 1, 0, 1), (31, 23, 58, 0), datetime(2024, 12, 31, 23, 58)),
    # terminal clock a few seconds ahead across the month end
    (datetime(2024, 3, 31, 23, 59, 58), (1, 0, 0, 5), datetime(2024, 4, 1, 0, 0, 5)),
    (datetime(2024, 12, 31, 23, 59, 58), (1, 0, 0, 5), datetime(2025, 1, 1, 0, 0, 5)),
])
def test_time_label_month_and_year_from_receive_time(received, label, expected):
    got = label_time(tp(*label), received_at=received.replace(tzinfo=SITE_TZ))
    assert got == expected.replace(tzinfo=SITE_TZ)


def test_time_label_uses_beijing_time_for_a_utc_receive_time():
    received = datetime(2024, 2, 29, 16, 0, 30, tzinfo=UTC)  # 1 March 00:00:30 in Beijing
    assert label_time(tp(29, 23, 59, 50), received_at=received) == datetime(
        2024, 2, 29, 23, 59, 50, tzinfo=SITE_TZ)


@pytest.mark.parametrize(("received", "label", "reason"), [
    (datetime(2023, 3, 1, 0, 0, 30), (31, 23, 59, 0), "bad_time"),  # February has no 31st
    (datetime(2024, 6, 9, 9, 0), (9, 24, 0, 0), "bad_time"),
    (datetime(2024, 6, 9, 9, 0), (0, 8, 0, 0), "bad_time"),
])
def test_impossible_time_labels(received, label, reason):
    with pytest.raises(PayloadError) as info:
        label_time(tp(*label), received_at=received.replace(tzinfo=SITE_TZ))
    assert info.value.reason == reason


def test_non_bcd_time_label():
    with pytest.raises(PayloadError) as info:
        label_time(bytes.fromhex("0A45080900"), received_at=JUNE_9)
    assert info.value.reason == "non_bcd"


def test_label_slightly_in_the_future_is_tolerated_beyond_that_previous_month():
    received = datetime(2024, 6, 9, 8, 40, tzinfo=SITE_TZ)
    assert label_time(tp(9, 8, 45, 0), received_at=received).month == 6
    late = label_time(tp(9, 8, 45, 0), received_at=received, max_future=timedelta(minutes=1))
    assert late.month == 5


# --- stream splitter ---------------------------------------------------------------

def frames_of(items):
    return [item.raw for item in items if isinstance(item, Frame)]


def rejections_of(items):
    return [(item[0].reason, item[1]) for item in items if not isinstance(item, Frame)]


def test_frames_split_across_reads_and_concatenated():
    stream = FRAME1 + FRAME2 + FRAME1
    splitter = StreamSplitter()
    items = []
    for byte in stream:
        items += splitter.feed(bytes((byte,)))
    assert frames_of(items) == [FRAME1, FRAME2, FRAME1]
    assert StreamSplitter().feed(stream) == [parse_frame(f) for f in (FRAME1, FRAME2, FRAME1)]


def test_resynchronises_after_garbage_and_false_starts():
    garbage = b"\x00\x16\xff\x68\x20\x68\x01"
    items = StreamSplitter().feed(garbage + FRAME1 + b"\x68\x68" + FRAME2)
    assert frames_of(items) == [FRAME1, FRAME2]
    assert rejections_of(items) == [("garbage", garbage), ("garbage", b"\x68\x68")]


def test_frame_with_bad_check_byte_is_reported_whole_and_the_next_survives():
    bad = FRAME1[:-2] + b"\x00\x16"
    items = StreamSplitter().feed(bad + FRAME2)
    assert rejections_of(items) == [("bad_check", bad)]
    assert frames_of(items) == [FRAME2]


def test_buffer_is_bounded_and_truncated_tail_reported_on_close():
    splitter = StreamSplitter()
    items = []
    for _ in range(200):
        items += splitter.feed(b"\x00" * 1000)
    assert sum(len(raw) for _, raw in rejections_of(items)) >= 199_000
    assert all(len(raw) <= 512 for _, raw in rejections_of(items))
    items = splitter.feed(FRAME1[:10])
    assert frames_of(items) == []
    tail = splitter.close()
    assert [r.reason for r, _ in tail] == ["garbage", "truncated"]
    assert tail[-1][1] == FRAME1[:10]


values = st.tuples(st.integers(0, 99_999_999), st.integers(0, 999_999_999),
                   st.integers(1, 65_535))


@given(st.lists(values, min_size=1, max_size=8), st.data())
def test_any_chunking_yields_the_same_frames(points, data):
    frames = [build_frame(0xB3, bytes.fromhex("640104") + terminal.to_bytes(2, "little"), 0xC0,
                          bcd(flow, 5) + bcd(volume, 5) + WORDS_TP)
              for flow, volume, terminal in points]
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    splitter = StreamSplitter()
    items = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        items += splitter.feed(stream[start:end])
    assert frames_of(items) == frames
    assert rejections_of(items) == []
    assert splitter.close() == []


@given(st.binary(min_size=10, max_size=10))
def test_the_common_flow_frame_reads_as_the_general_decoder_would(field):
    """decode() reads one-point flow frames on a shortcut; it must agree with _flow."""
    frame = self_report(3, field)
    expected: RegisterReading | str
    try:
        expected = _flow(field, "640104-00007", datetime(2024, 6, 9, 8, 30, tzinfo=SITE_TZ),
                         3600.0)
    except PayloadError as exc:
        expected = exc.reason
    if isinstance(expected, str):
        assert reason_of(frame) == expected
    else:
        assert decode(frame, received_at=JUNE_9).readings[0] == expected


@given(st.integers(0, 999_999_999), st.integers(0, 999_999_999))
def test_flow_and_volume_digits_round_trip(flow, volume):
    reading = decode(self_report(3, bcd(flow, 5) + bcd(volume, 5)), received_at=JUNE_9).readings[0]
    assert isinstance(reading, RegisterReading)
    assert reading.value == volume
    assert reading.flow_m3h == pytest.approx(flow / 1000 * 3600)


def test_gate_position_and_level_points():
    decoded = decode(self_report(5, bcd(35, 3)), received_at=JUNE_9)
    assert [(o.device_id, o.opening_m) for o in decoded.openings] == [("640104-00007", 0.35)]
    levels = decode(self_report(2, bytes.fromhex("45230100") + bytes.fromhex("00100100")),
                    received_at=JUNE_9).levels
    assert [lv.point for lv in levels] == [1, 2]
    assert [lv.level_m for lv in levels] == pytest.approx([12.345, 11.0])
    assert reason_of(self_report(5, bytes.fromhex("3500AA"))) == "invalid_value"
