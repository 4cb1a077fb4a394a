"""TCP listener for SZY206-2016 terminals: a message source for the ingestor.

Terminals connect and hold a long-lived connection, sending self-reports, link
checks and query replies. One I/O thread serves every connection (``selectors``,
non-blocking sockets); each connection has its own ``StreamSplitter``, so frames
split across TCP reads or several in one read are cut correctly. Every frame,
and every run of bytes that is not a frame, becomes one ``ReceivedMessage`` on
``{prefix}/tcp:{host}:{port}/szy206`` whose payload is those raw bytes; the
ingestor decodes it like a gateway's MQTT payload (``ingest.szy206_readings``).

Acknowledgement after commit: the confirmation frame a terminal waits for
(``szy206_frame.ack_for``) is sent only when the ingestor calls :meth:`ack` for
that frame's message, after the transaction holding its readings (or its dead
letter) committed. A connection that closed before then gets no confirmation;
the terminal resends on its next connection and the idempotent writes absorb
the repeat. Once ``max_unacked`` messages wait for a commit the listener stops
reading (TCP flow control holds the terminals back) until commits catch up, so
memory stays bounded while the database is away: at most ``max_unacked`` plus
what one read of each connection brought. Confirmations a terminal does not read
are bounded too: a connection whose unsent confirmations exceed
``max_outgoing_bytes`` is closed (its committed frames stay committed; the
terminal resends the unconfirmed ones, which the idempotent keys absorb).

Resource exhaustion: the listener takes at most ``max_connections`` terminals
(default: the descriptor limit, ``ulimit -n``, less ``DESCRIPTOR_RESERVE``), so
terminals alone never take the descriptors the database connection needs; more
wait in the kernel's listen backlog until one closes. An ``accept`` that fails for
want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is logged (at most
once per ``ACCEPT_LOG_EVERY_S``) and accepting pauses with a growing back-off while the
open connections are served as before; it resumes when the back-off ends or a
connection closes (a descriptor is free again). Waiting terminals stay in the
kernel's listen backlog. Errors of one incoming connection (ECONNABORTED, …) just
skip it.

A dead I/O thread ends the process: any exception escaping the I/O loop is logged,
recorded (:attr:`Szy206Listener.failure`), reported to ``on_failure`` and raised
by the next :meth:`take` as :class:`ListenerFailedError`, so the ingest loop
stops and ``waterbudget szy206-listen`` exits non-zero for its supervisor to
restart it, instead of staying up and serving no one.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import math
import queue
import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.batch import ReceivedMessage
from ingest.szy206_frame import Frame, Item, StreamSplitter, ack_for
from ingest.szy206_readings import SZY206_CHANNEL

log = logging.getLogger(__name__)

READ_SIZE = 65_536
IDLE_TIMEOUT_S = 3_600.0  # no byte for an hour: the connection is dropped
MAX_UNACKED = 20_000
SELECT_TIMEOUT_S = 1.0
MAX_OUTGOING_BYTES = 65_536  # unsent confirmations per connection (5,041 acks of 13 bytes)
# kernel send buffer per connection (Linux doubles it): confirmations are 13 bytes, so
# this holds ~2,500 of them; the default (autotuned up to net.ipv4.tcp_wmem, 4 MB) would
# hold ~200,000 for a terminal that never reads before the cap above is even reached
SEND_BUFFER_BYTES = 16_384
ACCEPT_BACKOFF_START_S = 0.05
ACCEPT_BACKOFF_MAX_S = 2.0
ACCEPT_LOG_EVERY_S = 10.0
# descriptors kept free for the database connection, the metrics endpoint, logging…:
# terminals alone must never exhaust them, or nothing could be committed or confirmed
DESCRIPTOR_RESERVE = 32
# accept() failed for want of resources: pause accepting (the backlog keeps the callers)
ACCEPT_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# accept() failed for that one incoming connection (gone or refused): try the next
ACCEPT_CONNECTION_ERRORS = frozenset(
    code for code in (getattr(errno, name, None) for name in (
        "ECONNABORTED", "ECONNRESET", "EPROTO", "EPERM", "ETIMEDOUT", "ENETDOWN",
        "ENETUNREACH", "EHOSTDOWN", "EHOSTUNREACH", "ENONET", "ENOPROTOOPT", "EOPNOTSUPP"))
    if code is not None)


def default_max_connections() -> int:
    """The soft descriptor limit (ulimit -n) less DESCRIPTOR_RESERVE, at least 1."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(1, soft - DESCRIPTOR_RESERVE)


class ListenerFailedError(RuntimeError):
    """The listener's I/O thread died: no terminal can be served by this process."""


@dataclass
class _Connection:
    sock: socket.socket
    topic: str
    splitter: StreamSplitter = field(default_factory=StreamSplitter)
    outgoing: bytearray = field(default_factory=bytearray)
    last_seen: float = field(default_factory=time.monotonic)
    events: int = 0  # what the selector watches for (0: not registered)


class Szy206Listener:
    def __init__(self, host: str, port: int, *, prefix: str, max_unacked: int = MAX_UNACKED,
                 idle_timeout_s: float = IDLE_TIMEOUT_S,
                 max_outgoing_bytes: int = MAX_OUTGOING_BYTES,
                 max_connections: int = 0,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._bind = (host, port)
        self._prefix = prefix.rstrip("/")
        self._max_unacked = max_unacked
        self._idle_timeout_s = idle_timeout_s
        self._max_outgoing_bytes = max_outgoing_bytes
        self._max_connections = max_connections or default_max_connections()
        self._on_failure = on_failure
        self.failure: BaseException | None = None  # what killed the I/O thread
        self._accepting = True
        self._accept_backoff_s = ACCEPT_BACKOFF_START_S
        self._accept_resume_at = 0.0
        self._accept_errors = 0  # since the last log line
        self._accept_logged_at = -ACCEPT_LOG_EVERY_S
        self._inbox: queue.SimpleQueue[ReceivedMessage] = queue.SimpleQueue()
        self._pending: dict[int, tuple[int, bytes | None]] = {}  # mid -> connection, ack frame
        self._lock = threading.Lock()
        self._replies: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
        self._connections: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._mids = itertools.count(1)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reading = True

    @property
    def address(self) -> tuple[str, int]:
        """Where terminals connect (the port the system chose, if 0 was asked for)."""
        assert self._server is not None, "not started"
        host, port = self._server.getsockname()[:2]
        return str(host), int(port)

    @property
    def connections(self) -> int:
        return len(self._connections)

    def start(self) -> None:
        server = socket.create_server(self._bind, reuse_port=False, backlog=1024)
        server.setblocking(False)
        self._server = server
        self._selector.register(server, selectors.EVENT_READ, 0)
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, -1)
        self._thread = threading.Thread(target=self._run, name="szy206-listener", daemon=True)
        self._thread.start()
        log.info("SZY206 listener on %s:%d", *self.address)

    # the ingestor's side (MessageSource)
    def take(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Up to max_messages, waiting at most wait_s for the first and for the rest.

        Raises ListenerFailedError once the I/O thread has died.
        """
        self._raise_if_failed()
        try:
            taken = [self._inbox.get(timeout=wait_s)]
        except queue.Empty:
            self._raise_if_failed()
            return []
        deadline = time.monotonic() + wait_s
        while len(taken) < max_messages:
            try:
                taken.append(self._inbox.get(timeout=max(0.0, min(deadline - time.monotonic(),
                                                                   0.005))))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    break
        return taken

    def ack(self, messages: Sequence[ReceivedMessage]) -> int:
        """Committed: send each frame's confirmation to its terminal, if still connected."""
        sent = 0
        with self._lock:
            entries = [self._pending.pop(m.mid, None) for m in messages]
        for entry in entries:
            if entry is not None and entry[1] is not None:
                self._replies.put((entry[0], entry[1]))
                sent += 1
        self._wake()
        return sent

    def _raise_if_failed(self) -> None:
        if self.failure is not None:
            raise ListenerFailedError("the SZY206 listener's I/O thread died") from self.failure

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
        for conn_id in list(self._connections):
            self._close(conn_id, flush=False)
        if self._server is not None:
            self._server.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # the I/O thread
    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # by design fatal: the supervisor restarts the process
            log.critical("the SZY206 listener's I/O thread died: no terminal can be served; "
                         "ending the process", exc_info=True)
            self.failure = exc
            if self._on_failure is not None:
                self._on_failure(exc)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._flow_control()
            timeout = SELECT_TIMEOUT_S
            if not self._accepting:
                left = self._accept_resume_at - time.monotonic()
                if left <= 0:
                    self._resume_accepting()
                else:
                    timeout = min(timeout, left)
            for key, events in self._selector.select(timeout):
                conn_id = int(key.data)
                if conn_id == 0:
                    self._accept()
                elif conn_id == -1:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                elif conn_id in self._connections:
                    try:
                        if events & selectors.EVENT_WRITE:
                            self._send(conn_id)
                        if events & selectors.EVENT_READ and conn_id in self._connections:
                            self._receive(conn_id)
                    except Exception:  # one connection's fault never stops the others
                        log.exception("closing connection %d after an error", conn_id)
                        if conn_id in self._connections:
                            self._close(conn_id, flush=True)
            self._deliver_replies()
            self._drop_idle()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            if len(self._connections) >= self._max_connections:
                self._accept_failed(f"{len(self._connections)} connections, the most this "
                                    f"process takes (descriptors: ulimit -n less "
                                    f"{DESCRIPTOR_RESERVE} for the database and the rest)")
                self._pause_accepting(until_a_close=True)
                return
            try:
                sock, peer = self._server.accept()
            except BlockingIOError:
                return
            except OSError as exc:
                self._accept_failed(exc)
                if exc.errno in ACCEPT_CONNECTION_ERRORS:
                    continue  # that caller is gone: the next one may be fine
                self._pause_accepting()  # out of descriptors or memory (or unknown): back off
                return
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            except OSError as exc:
                sock.close()
                self._accept_failed(exc)
                continue
            conn_id = next(self._ids)
            topic = f"{self._prefix}/tcp:{peer[0]}:{peer[1]}/{SZY206_CHANNEL}"
            self._connections[conn_id] = _Connection(sock, topic)
            try:
                self._update(conn_id)
            except OSError as exc:  # the selector is out of memory (epoll's ENOMEM, ENOSPC)
                del self._connections[conn_id]
                sock.close()
                self._accept_failed(exc)
                self._pause_accepting()
                return
            self._accept_backoff_s = ACCEPT_BACKOFF_START_S
            log.info("terminal connected from %s:%d", peer[0], peer[1])

    def _accept_failed(self, exc: OSError | str) -> None:
        """Log accept errors, at most once per ACCEPT_LOG_EVERY_S."""
        self._accept_errors += 1
        now = time.monotonic()
        if now - self._accept_logged_at >= ACCEPT_LOG_EVERY_S:
            log.warning("cannot accept a terminal connection: %s (%d times since the "
                        "last report); the %d open connections are served, new ones wait "
                        "in the backlog", exc, self._accept_errors, len(self._connections))
            self._accept_logged_at = now
            self._accept_errors = 0

    def _pause_accepting(self, *, until_a_close: bool = False) -> None:
        """Stop watching the server socket for a while (the back-off, or until a connection
        closes): it stays readable while callers wait in the backlog, so watching it now
        would spin."""
        assert self._server is not None
        if self._accepting:
            self._selector.unregister(self._server)
            self._accepting = False
        if until_a_close:
            self._accept_resume_at = math.inf
            return
        self._accept_resume_at = time.monotonic() + self._accept_backoff_s
        self._accept_backoff_s = min(self._accept_backoff_s * 2, ACCEPT_BACKOFF_MAX_S)

    def _resume_accepting(self) -> None:
        if not self._accepting and self._server is not None:
            self._selector.register(self._server, selectors.EVENT_READ, 0)
            self._accepting = True

    def _update(self, conn_id: int) -> None:
        """Watch the connection for reading (unless paused) and for writing (if it has output)."""
        conn = self._connections[conn_id]
        events = ((selectors.EVENT_READ if self._reading else 0)
                  | (selectors.EVENT_WRITE if conn.outgoing else 0))
        if events == conn.events:
            return
        if not conn.events:
            self._selector.register(conn.sock, events, conn_id)
        elif not events:
            self._selector.unregister(conn.sock)
        else:
            self._selector.modify(conn.sock, events, conn_id)
        conn.events = events

    def _flow_control(self) -> None:
        with self._lock:
            reading = len(self._pending) < self._max_unacked
        if reading != self._reading:
            self._reading = reading
            log.info("%s reading from terminals (%d messages wait for a commit)",
                     "resumed" if reading else "paused", len(self._pending))
            for conn_id in self._connections:
                self._update(conn_id)

    def _receive(self, conn_id: int) -> None:
        conn = self._connections[conn_id]
        try:
            data = conn.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            log.info("connection %s failed: %s", conn.topic, exc)
            self._close(conn_id, flush=True)
            return
        if not data:
            self._close(conn_id, flush=True)
            return
        conn.last_seen = time.monotonic()
        self._queue(conn_id, conn.topic, conn.splitter.feed(data))

    def _queue(self, conn_id: int, topic: str, items: Sequence[Item]) -> None:
        for item in items:
            mid = next(self._mids)
            if isinstance(item, Frame):
                raw, reply = item.raw, ack_for(item)
            else:
                raw, reply = item[1], None
            with self._lock:
                self._pending[mid] = (conn_id, reply)
            self._inbox.put(ReceivedMessage(topic, raw, mid, conn_id))

    def _deliver_replies(self) -> None:
        touched = set()
        while True:
            try:
                conn_id, reply = self._replies.get_nowait()
            except queue.Empty:
                break
            conn = self._connections.get(conn_id)
            if conn is not None:  # closed since: the terminal resends, idempotently
                conn.outgoing += reply
                touched.add(conn_id)
        for conn_id in touched:
            self._send(conn_id)

    def _send(self, conn_id: int) -> None:
        conn = self._connections[conn_id]
        try:
            sent = conn.sock.send(conn.outgoing) if conn.outgoing else 0
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            log.info("connection %s failed: %s", conn.topic, exc)
            self._close(conn_id, flush=True)
            return
        del conn.outgoing[:sent]
        if len(conn.outgoing) > self._max_outgoing_bytes:
            log.warning("closing %s: %d bytes of confirmations unread (limit %d); the terminal "
                        "resends what was not confirmed", conn.topic, len(conn.outgoing),
                        self._max_outgoing_bytes)
            self._close(conn_id, flush=True)
            return
        self._update(conn_id)

    def _drop_idle(self) -> None:
        now = time.monotonic()
        for conn_id, conn in list(self._connections.items()):
            if now - conn.last_seen > self._idle_timeout_s:
                log.info("closing %s: silent for %.0f s", conn.topic, now - conn.last_seen)
                self._close(conn_id, flush=True)

    def _close(self, conn_id: int, *, flush: bool) -> None:
        """Drop a connection; with ``flush``, what is left in its splitter is dead-lettered."""
        conn = self._connections.pop(conn_id)
        if conn.events:
            self._selector.unregister(conn.sock)
        conn.sock.close()
        self._resume_accepting()  # a descriptor is free again
        if flush:
            self._queue(conn_id, conn.topic, conn.splitter.close())
