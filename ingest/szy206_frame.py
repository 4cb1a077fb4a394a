"""SZY206-2016 link layer: frame check, frame building and a TCP stream splitter.

Pure code: bytes in, frames or rejections out; no sockets.

Frame (SZY206-2016 §5, frame format)::

    68H | L | 68H | C | A (5 bytes) | AFN | data ... | CS | 16H

L counts the user-data area, C through the last data byte, so a frame is
``L + 5`` bytes long and at most 260. CS is a CRC-8 over the same user-data
area (not over ``68 L 68``) with generator x⁸+x⁷+x⁶+x⁵+x²+1 (0xE5 without the
x⁸ term), initial value 0, most significant bit first, no final XOR. That
choice is verified against the two reference frames in
``shared/reference/szy206-frames.md``; 0xE1 or a CRC over the whole frame do
not match them.

Control byte C (§5, control field): D7 DIR (1 = uplink, terminal → centre),
D6 DIV (1 = one of several split frames, a DIVS counter byte follows C),
D5–D4 FCB (frame count), D3–D0 function/parameter code.

Errors are :class:`ingest.contract.PayloadError` (reason code + detail), the
same shape as JSON rejections, so the caller dead-letters them with the raw
bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import crcmod

from ingest.contract import PayloadError, Rejection

START = 0x68
END = 0x16
HEADER = 3  # 68 L 68
MIN_USER_DATA = 7  # C + A(5) + AFN
MAX_FRAME = 255 + 5
MAX_GARBAGE = 512  # garbage is reported in pieces of at most this many bytes

DIR_UPLINK = 0x80
DIV_SPLIT = 0x40
FCB_MASK = 0x30
CODE_MASK = 0x0F

CRC_POLY = 0xE5

# crcmod's C extension: a quarter of the time of a table loop in Python, per frame.
# Its polynomial is written with the x⁸ term (0x1E5); not reflected, no final XOR.
_crc8 = crcmod.mkCrcFun(0x100 | CRC_POLY, initCrc=0, rev=False, xorOut=0)


def crc8(data: bytes | bytearray | memoryview) -> int:
    """CRC-8 of SZY206-2016 (poly 0xE5, init 0, MSB first, no final XOR)."""
    return int(_crc8(data))


class Frame(NamedTuple):  # a named tuple: one per frame on the hot path
    """A frame whose start, length, end and check bytes are right."""

    control: int
    address: bytes  # 5 bytes, as transmitted
    afn: int
    data: bytes  # after AFN, before CS
    raw: bytes

    @property
    def uplink(self) -> bool:
        return bool(self.control & DIR_UPLINK)

    @property
    def code(self) -> int:
        """Function / parameter code, D3–D0 of the control byte."""
        return self.control & CODE_MASK


def parse_frame(raw: bytes) -> Frame:
    """One complete frame -> Frame, or PayloadError (bad_start, bad_length, bad_end,
    bad_check, unsupported)."""
    size = len(raw)
    if size < HEADER + MIN_USER_DATA + 2 or raw[0] != START or raw[2] != START:
        raise PayloadError("bad_start", f"not a 68 L 68 frame: {raw[:3].hex(' ')}")
    length = raw[1]
    if length < MIN_USER_DATA or size != length + 5:
        raise PayloadError("bad_length", f"L={length} but the frame has {size} bytes")
    if raw[-1] != END:
        raise PayloadError("bad_end", f"end byte {raw[-1]:02X}, expected 16")
    return _checked_frame(raw)


def _checked_frame(raw: bytes) -> Frame:
    """The check byte and control byte of a frame whose start, length and end are right."""
    user = raw[HEADER:-2]
    expected = _crc8(user)
    if raw[-2] != expected:
        raise PayloadError("bad_check", f"CS {raw[-2]:02X}, computed {expected:02X}")
    control = raw[3]
    if control & DIV_SPLIT:
        # Split (multi-frame) transfers carry a DIVS byte after C; terminals use
        # them for bulk history, which this decoder does not reassemble.
        raise PayloadError("unsupported", "split frame (DIV=1) is not supported")
    return Frame(control, raw[4:9], raw[9], raw[10:-2], raw)


def build_frame(control: int, address: bytes, afn: int, data: bytes = b"") -> bytes:
    """Assemble a frame with its length and check byte."""
    if len(address) != 5:
        raise ValueError("address must be 5 bytes")
    user = bytes((control,)) + address + bytes((afn,)) + data
    if len(user) > 255:
        raise ValueError("user data longer than 255 bytes")
    return bytes((START, len(user), START)) + user + bytes((crc8(user), END))


AFN_LINK_CHECK = 0x02
AFN_QUERY_REPLY = 0xB0
AFN_SELF_REPORT = 0xC0


def ack_for(frame: Frame) -> bytes | None:
    """The downlink confirmation the terminal waits for, or None when it expects none.

    The standard leaves the exact reply bytes loosely specified; we choose:

    * control byte = the uplink control byte with DIR cleared (same FCB and
      code), as deployed centre software does;
    * link check (AFN 02H): echo the link function byte (F0H log-in, F1H
      log-out, F2H keep-alive);
    * self-report (AFN C0H): AFN C0H with one data byte 00H.

    Query replies (B0H) are themselves answers and get no confirmation. An ack
    depends only on the frame being intact (check byte right), never on its
    values: a terminal whose values we reject must still stop retransmitting.
    """
    if not frame.uplink:
        return None
    if frame.afn == AFN_LINK_CHECK and frame.data:
        return _ack(frame.control, frame.address, AFN_LINK_CHECK, frame.data[:1])
    if frame.afn == AFN_SELF_REPORT:
        return _ack(frame.control, frame.address, AFN_SELF_REPORT, b"\x00")
    return None


@lru_cache(maxsize=65_536)
def _ack(uplink_control: int, address: bytes, afn: int, data: bytes) -> bytes:
    """Acks repeat per terminal: cached."""
    return build_frame(uplink_control & ~DIR_UPLINK & 0xFF, address, afn, data)


Item = Frame | tuple[Rejection, bytes]  # test with isinstance(item, Frame): a Frame is a tuple


def _later_frame(buf: bytearray, pos: int, size: int) -> int:
    """Start of the first complete, check-byte-valid frame in buf[pos:size], or -1.

    Lets a false ``68 L 68`` start with a large L give way to a real frame
    already received, instead of holding it until L bytes have arrived.
    """
    while (pos := buf.find(START, pos, size)) >= 0:
        length = buf[pos + 1] if pos + 1 < size else 0
        end = pos + length + 5
        if (length >= MIN_USER_DATA and end <= size and buf[pos + 2] == START
                and buf[end - 1] == END and buf[end - 2] == crc8(buf[pos + HEADER : end - 2])):
            return pos
        pos += 1
    return -1


class StreamSplitter:
    """Cut a TCP byte stream into frames.

    Handles frames split across reads and several frames in one read. Bytes
    that are not part of a frame are reported as ``garbage``; a frame whose
    header and end byte are right but whose check byte is wrong is reported
    whole as ``bad_check`` and skipped. When a ``68 L 68`` candidate does not
    end in 16H at ``L + 5`` it was not a frame start: the splitter moves on by
    one byte and resynchronises on the next 68H; a candidate still waiting for
    its L bytes gives way to a complete, check-byte-valid frame received after
    it. At most ``MAX_FRAME`` bytes wait for more input, so the buffer is
    bounded whatever the peer sends.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._garbage = bytearray()

    def feed(self, chunk: bytes) -> list[Item]:
        self._buf += chunk
        out: list[Item] = []
        buf = self._buf
        pos = 0
        size = len(buf)
        while True:
            start = buf.find(START, pos)
            if start < 0:
                self._junk(out, buf[pos:size])
                pos = size
                break
            if start > pos:
                self._junk(out, buf[pos:start])
                pos = start
            if size - pos < HEADER:
                break
            length = buf[pos + 1]
            if buf[pos + 2] != START or length < MIN_USER_DATA:
                self._junk(out, buf[pos : pos + 1])
                pos += 1
                continue
            end = pos + length + 5
            if end > size:
                later = _later_frame(buf, pos + 1, size)
                if later < 0:
                    break  # wait for the rest of this candidate
                self._junk(out, buf[pos:later])  # a whole frame follows: not a start
                pos = later
                continue
            if buf[end - 1] != END:
                self._junk(out, buf[pos : pos + 1])
                pos += 1
                continue
            raw = bytes(buf[pos:end])
            if self._garbage:
                self._flush(out)
            try:
                out.append(_checked_frame(raw))  # start, length and end checked above
            except PayloadError as exc:
                out.append((Rejection(exc.reason, exc.detail), raw))
            pos = end
        del buf[:pos]
        self._flush_if_full(out)
        return out

    def close(self) -> list[tuple[Rejection, bytes]]:
        """End of stream: whatever is left is a truncated frame or garbage."""
        out: list[Item] = []
        self._flush(out)
        if self._buf:
            rest = bytes(self._buf)
            self._buf.clear()
            out.append((Rejection("truncated", f"{len(rest)} bytes left at end of stream"), rest))
        return [item for item in out if not isinstance(item, Frame)]

    def _junk(self, out: list[Item], data: Iterable[int]) -> None:
        self._garbage += bytes(data)
        self._flush_if_full(out)

    def _flush_if_full(self, out: list[Item]) -> None:
        while len(self._garbage) >= MAX_GARBAGE:
            piece = bytes(self._garbage[:MAX_GARBAGE])
            del self._garbage[:MAX_GARBAGE]
            out.append((Rejection("garbage", f"{len(piece)} bytes outside any frame"), piece))

    def _flush(self, out: list[Item]) -> None:
        if self._garbage:
            piece = bytes(self._garbage)
            self._garbage.clear()
            out.append((Rejection("garbage", f"{len(piece)} bytes outside any frame"), piece))
