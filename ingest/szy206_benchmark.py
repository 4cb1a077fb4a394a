"""SZY206 decode rate in one process: ``python -m ingest.szy206_benchmark``.

Feeds a TCP-like byte stream (1 KiB reads) of flow/volume self-reports
through the stream splitter, the ack builder and the decoder, and prints
frames decoded per second, the median of three runs. Target: ≥ 50,000/s.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from ingest.szy206_decode import decode
from ingest.szy206_frame import Frame, StreamSplitter, ack_for, build_frame

FRAMES = 40_000
READ_SIZE = 1024
RUNS = 3
RECEIVED_AT = datetime(2024, 6, 9, 1, 0, tzinfo=UTC)  # 09:00 Beijing time


def _bcd(value: int, size: int) -> bytes:
    digits = f"{value:0{size * 2}d}"
    return bytes.fromhex(digits)[::-1]


def sample_stream(count: int) -> bytes:
    frames = []
    for i in range(count):
        address = bytes.fromhex("640104") + (i % 5000 + 1).to_bytes(2, "little")
        minute = i % 60
        data = (_bcd(i % 100_000, 5) + _bcd(100_000 + i, 5) + b"\x00\x00\x00\x00"
                + bytes.fromhex(f"00{minute:02d}080900"))
        frames.append(build_frame(0xB3, address, 0xC0, data))
    return b"".join(frames)


def run(stream: bytes) -> tuple[int, float]:
    splitter = StreamSplitter()
    decoded = 0
    started = time.perf_counter()
    for offset in range(0, len(stream), READ_SIZE):
        for item in splitter.feed(stream[offset : offset + READ_SIZE]):
            if isinstance(item, Frame):
                ack_for(item)
                decode(item, received_at=RECEIVED_AT)
                decoded += 1
    return decoded, time.perf_counter() - started


def main() -> int:
    stream = sample_stream(FRAMES)
    rates = []
    for _ in range(RUNS):
        decoded, seconds = run(stream)
        if decoded != FRAMES:
            print(f"decoded {decoded} of {FRAMES} frames", file=sys.stderr)
            return 1
        rates.append(decoded / seconds)
    print(f"SZY206 frames decoded per second (median of {RUNS}, {FRAMES} frames, "
          f"split + ack + decode): {statistics.median(rates):,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
