"""The SZY206 TCP listener as a message source, over real sockets (no database here:
the ingest loop around it is tested in test_field_ingest.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from ingest.batch import ReceivedMessage
from ingest.szy206_frame import build_frame, parse_frame
from ingest.szy206_listener import Szy206Listener

pytestmark = pytest.mark.integration

TP = bytes.fromhex("0000" "0000" "00300809" "00")


def frame(volume: int) -> bytes:
    return build_frame(0xB3, bytes.fromhex("5303810D00"), 0xC0,
                       bytes(5) + bytes.fromhex(f"{volume:010d}")[::-1] + TP)


@pytest.fixture
def listener() -> Iterator[Szy206Listener]:
    source = Szy206Listener("127.0.0.1", 0, prefix="wb/v1", max_unacked=3)
    source.start()
    yield source
    source.stop()


def take_all(source: Szy206Listener, seconds: float = 1.0) -> list[ReceivedMessage]:
    taken: list[ReceivedMessage] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        taken += source.take(100, 0.05)
    return taken


def test_frames_wait_for_commit_and_reading_pauses_at_the_limit(listener) -> None:
    frames = [frame(1000 + k) for k in range(20)]
    with socket.create_connection(listener.address) as sock:
        sock.sendall(b"".join(frames[:10]))
        first = take_all(listener)
        assert [m.payload for m in first] == frames[:10]  # what one read brought
        assert first[0].topic.startswith("wb/v1/tcp:127.0.0.1:")
        assert first[0].topic.endswith("/szy206")
        sock.sendall(b"".join(frames[10:]))
        assert take_all(listener) == []  # 10 > 3 wait for a commit: reading paused
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # nothing committed, nothing confirmed
        assert listener.ack(first) == 10
        sock.settimeout(5)
        acks = b""
        while len(acks) < 10 * 13:
            acks += sock.recv(4096)
        replies = [parse_frame(acks[i : i + 13]) for i in range(0, len(acks), 13)]
        assert [(r.afn, r.data, r.uplink) for r in replies] == [(0xC0, b"\x00", False)] * 10
        rest: list[ReceivedMessage] = []
        while len(rest) < 10:  # reading resumed
            batch = take_all(listener, 0.5)
            assert batch, "reading did not resume after the commit"
            rest += batch
            listener.ack(batch)
        assert [m.payload for m in rest] == frames[10:]


def test_acks_for_a_closed_connection_are_dropped_and_tail_reported(listener) -> None:
    with socket.create_connection(listener.address) as sock:
        sock.sendall(frame(1) + frame(2)[:9])
        (message,) = take_all(listener, 0.5)
    tail = take_all(listener, 0.5)  # the closed connection's truncated frame
    assert [m.payload for m in tail] == [frame(2)[:9]]
    assert listener.ack([message, *tail]) == 1  # queued, then dropped: the socket is gone
    assert listener.connections == 0
