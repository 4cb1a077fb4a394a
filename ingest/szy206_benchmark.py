"""SZY206 decode rate in one process: ``python -m ingest.szy206_benchmark``.

Feeds a TCP-like byte stream (1 KiB reads) of flow/volume self-reports from
5,000 terminals, every frame with its own time label, through the stream
splitter, the ack builder and the decoder, and prints frames decoded per
second, the median of five runs, by the wall clock and by the process's CPU
time (the machine is shared: CPU time leaves out the time other processes took
the core). Every frame's decoded volume is checked. Target: ≥ 50,000/s.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from ingest.contract import RegisterReading
from ingest.szy206_decode import decode
from ingest.szy206_frame import Frame, StreamSplitter, ack_for, build_frame

FRAMES = 40_000
READ_SIZE = 1024
RUNS = 5
RECEIVED_AT = datetime(2024, 6, 9, 1, 0, tzinfo=UTC)  # 09:00 Beijing time: one batch's


def _bcd(value: int, size: int) -> bytes:
    digits = f"{value:0{size * 2}d}"
    return bytes.fromhex(digits)[::-1]


def sample_stream(count: int) -> bytes:
    frames = []
    for i in range(count):
        address = bytes.fromhex("640104") + (i % 5000 + 1).to_bytes(2, "little")
        second, minute, hour = i % 60, i // 60 % 60, i // 3600 % 9  # 00:00:00 .. 08:59:59
        data = (_bcd(i % 100_000, 5) + _bcd(100_000 + i, 5) + b"\x00\x00\x00\x00"
                + bytes.fromhex(f"{second:02d}{minute:02d}{hour:02d}0900"))
        frames.append(build_frame(0xB3, address, 0xC0, data))
    return b"".join(frames)


def run(stream: bytes) -> tuple[int, float, float]:
    """Frames decoded, wall seconds, CPU seconds; the volumes are checked."""
    splitter = StreamSplitter()
    decoded = 0
    volumes = 0.0
    started, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, len(stream), READ_SIZE):
        for item in splitter.feed(stream[offset : offset + READ_SIZE]):
            if isinstance(item, Frame):
                ack_for(item)
                reading = decode(item, received_at=RECEIVED_AT).readings[0]
                assert isinstance(reading, RegisterReading)
                volumes += reading.value
                decoded += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    expected = sum(100_000 + i for i in range(decoded))
    if volumes != expected:
        raise AssertionError(f"decoded volumes add up to {volumes}, expected {expected}")
    return decoded, wall, cpu


def main() -> int:
    stream = sample_stream(FRAMES)
    wall_rates, cpu_rates = [], []
    for _ in range(RUNS):
        decoded, wall, cpu = run(stream)
        if decoded != FRAMES:
            print(f"decoded {decoded} of {FRAMES} frames", file=sys.stderr)
            return 1
        wall_rates.append(decoded / wall)
        cpu_rates.append(decoded / cpu)
    print(f"SZY206 frames decoded per second (split + ack + decode, {FRAMES:,} frames, "
          f"median of {RUNS}): {statistics.median(wall_rates):,.0f} by the wall clock "
          f"(runs {min(wall_rates):,.0f}–{max(wall_rates):,.0f}), "
          f"{statistics.median(cpu_rates):,.0f} per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
