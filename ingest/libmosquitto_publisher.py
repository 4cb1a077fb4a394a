"""The benchmark's device load, published through libmosquitto (C, via ctypes).

The ingest benchmark measures the ingestor on a 2-core machine that also runs
the broker, the database and the load generator. Devices publish from elsewhere
in production, so the load generator should take as little of the machine as
it can: the paho publisher (``ingest.publisher``) spends about 40 µs of CPU per
QoS-1 message, this one about 17 µs (measured here). libmosquitto is the
Mosquitto project's C client library (Debian's ``libmosquitto1``, installed
with ``mosquitto``). It is driven from the calling thread
(``mosquitto_loop``), as the paho session is: a libmosquitto network thread
would call back into Python for every PUBACK from another thread, which costs
more than it saves.

``LibmosquittoSession`` has the interface of the paho session, so
``publish_parallel(..., session=LibmosquittoSession)`` runs it in worker
processes. Used by ``ingest.benchmark``; the simulator and demo use paho.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import time
from collections.abc import Callable
from functools import cache

from ingest.publisher import ACK_TIMEOUT_S, CONNECT_TIMEOUT_S, PublishError, parse_broker_url

_ON_CONNECT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_ON_PUBLISH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_client_ids = itertools.count()
LOOP_EVERY = 50  # messages between two turns of the network loop


class LibmosquittoMissingError(PublishError):
    pass


@cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("mosquitto")
    if name is None:
        raise LibmosquittoMissingError("libmosquitto is not installed (Debian: libmosquitto1)")
    lib = ctypes.CDLL(name)
    handle = ctypes.c_void_p
    lib.mosquitto_new.restype = handle
    lib.mosquitto_new.argtypes = [ctypes.c_char_p, ctypes.c_bool, ctypes.c_void_p]
    lib.mosquitto_disconnect.argtypes = [handle]
    lib.mosquitto_destroy.argtypes = [handle]
    lib.mosquitto_loop.argtypes = [handle, ctypes.c_int, ctypes.c_int]
    lib.mosquitto_username_pw_set.argtypes = [handle, ctypes.c_char_p, ctypes.c_char_p]
    lib.mosquitto_max_inflight_messages_set.argtypes = [handle, ctypes.c_uint]
    lib.mosquitto_connect.argtypes = [handle, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.mosquitto_publish.argtypes = [handle, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
                                      ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_bool]
    lib.mosquitto_connect_callback_set.argtypes = [handle, _ON_CONNECT]
    lib.mosquitto_publish_callback_set.argtypes = [handle, _ON_PUBLISH]
    lib.mosquitto_strerror.restype = ctypes.c_char_p
    lib.mosquitto_strerror.argtypes = [ctypes.c_int]
    lib.mosquitto_lib_init()
    return lib


class LibmosquittoSession:
    """One MQTT 3.1.1 connection; ``send`` keeps at most ``max_inflight`` unacknowledged."""

    def __init__(self, url: str, *, qos: int, max_inflight: int) -> None:
        address = parse_broker_url(url)
        if address.tls:
            raise PublishError("the libmosquitto benchmark publisher speaks plain MQTT only")
        self._lib = lib = _library()
        self.qos = qos
        self.max_inflight = max_inflight
        self.sent = self.acked = 0
        self._connected = False
        self._mid = ctypes.c_int(0)
        client_id = f"wb-cpub-{os.getpid()}-{next(_client_ids)}".encode()
        self._handle = lib.mosquitto_new(client_id, True, None)
        if not self._handle:
            raise PublishError("libmosquitto could not create a client")
        self._callbacks = (_ON_CONNECT(self._on_connect), _ON_PUBLISH(self._on_publish))
        lib.mosquitto_connect_callback_set(self._handle, self._callbacks[0])
        lib.mosquitto_publish_callback_set(self._handle, self._callbacks[1])
        lib.mosquitto_max_inflight_messages_set(self._handle, max_inflight)
        if address.username:
            lib.mosquitto_username_pw_set(self._handle, address.username.encode(),
                                          address.password.encode() if address.password else None)
        self._check(lib.mosquitto_connect(self._handle, address.host.encode(), address.port, 60),
                    "connect")
        self._loop_until(lambda: self._connected, CONNECT_TIMEOUT_S, "CONNACK")

    def _on_connect(self, _mosq: int | None, _obj: int | None, code: int) -> None:
        self._connected = code == 0

    def _on_publish(self, _mosq: int | None, _obj: int | None, _mid: int) -> None:
        self.acked += 1

    def _check(self, code: int, what: str) -> None:
        if code:
            raise PublishError(f"libmosquitto {what} failed after {self.sent} sent, "
                               f"{self.acked} acked: {self._lib.mosquitto_strerror(code)!r}")

    def _loop_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise PublishError(f"timed out waiting for {what} "
                                   f"({self.sent} sent, {self.acked} acked)")
            self._check(self._lib.mosquitto_loop(self._handle, 100, 1), "loop")

    def send(self, topic: str, payload: bytes) -> None:
        if self.sent - self.acked >= self.max_inflight:
            self._loop_until(lambda: self.sent - self.acked < self.max_inflight,
                             ACK_TIMEOUT_S, "PUBACK")
        self._check(self._lib.mosquitto_publish(self._handle, ctypes.byref(self._mid),
                                                topic.encode(), len(payload), payload,
                                                self.qos, False), "publish")
        self.sent += 1
        if self.sent % LOOP_EVERY == 0:
            self._check(self._lib.mosquitto_loop(self._handle, 0, 1), "loop")

    def drain(self) -> None:
        if self.qos:
            self._loop_until(lambda: self.acked >= self.sent, ACK_TIMEOUT_S, "the last PUBACKs")
        else:
            self.acked = self.sent

    def close(self) -> None:
        self._lib.mosquitto_disconnect(self._handle)
        self._lib.mosquitto_loop(self._handle, 100, 1)
        self._lib.mosquitto_destroy(self._handle)
