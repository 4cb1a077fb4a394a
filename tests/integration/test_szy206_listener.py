"""The SZY206 TCP listener as a message source, over real sockets (no database here:
the ingest loop around it is tested in test_field_ingest.py)."""

from __future__ import annotations

import contextlib
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


def acked_when_taken(source: Szy206Listener, payload: bytes, seconds: float = 30.0) -> int:
    """Take (and confirm) messages until the one with ``payload``; its confirmations sent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        taken = take_all(source, 0.2)
        found = [m for m in taken if m.payload == payload]
        source.ack([m for m in taken if m.payload != payload])
        if found:
            return source.ack(found)
    raise AssertionError(f"{payload.hex()} never arrived")


def test_a_terminal_that_never_reads_its_confirmations_is_cut_off(caplog) -> None:
    """Issue 11: the confirmations a client never reads had no cap. Over the cap (once
    the kernel's socket buffers are full) the connection is closed; a terminal that
    reads, under the same load, is not; the listener serves new connections after."""
    source = Szy206Listener("127.0.0.1", 0, prefix="wb/v1", max_outgoing_bytes=4_096)
    source.start()
    burst = b"".join(frame(k) for k in range(500))
    deaf = socket.socket()
    deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4_096)  # before connect
    deaf.settimeout(10)
    deaf.connect(source.address)
    reader = socket.create_connection(source.address)
    reader.setblocking(False)
    try:
        for _ in range(200):  # 100,000 frames each at most (3 MB): far beyond the buffers
            with contextlib.suppress(OSError):  # the deaf one may be closed already
                deaf.sendall(burst)
            reader.settimeout(60)  # never a hang: a stalled listener fails the test
            reader.sendall(burst)
            reader.setblocking(False)
            source.ack(take_all(source, 0.3))
            with contextlib.suppress(BlockingIOError):
                while reader.recv(65_536):
                    pass
            if source.connections < 2:
                break
        assert source.connections == 1, "the connection that never reads was not closed"
        assert "bytes of confirmations unread (limit 4096)" in caplog.text
        reader.settimeout(60)
        reader.sendall(frame(99_999))  # the terminal that reads is still served
        assert acked_when_taken(source, frame(99_999)) == 1
        with socket.create_connection(source.address) as newcomer:  # and new ones too
            newcomer.sendall(frame(88_888))
            assert acked_when_taken(source, frame(88_888)) == 1
            newcomer.settimeout(5)
            assert parse_frame(newcomer.recv(100)).afn == 0xC0
    finally:
        deaf.close()
        reader.close()
        source.stop()
