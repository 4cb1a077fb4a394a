"""Server-side requests (issue 11): an operator could subscribe a webhook to
``http://127.0.0.1:5432/`` and read the database's answer back from the delivery log.

Refused at subscription (literal addresses and names that resolve to them) and again at
every send after resolving the name; allowed only where the administrator's settings
allow the network — then delivered to a real local HTTP receiver. The log shows a
classified reason, never what the receiver said.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from budget import repository as budget_repo
from monitor.channels import DeliveryError
from monitor.channels.destinations import AddressPolicy
from monitor.channels.webhooks import DingTalkChannel, WebhookChannel, WeComChannel
from monitor.messages import AlertNote
from monitor.repository.outbox import Due, add_subscription
from monitor.sender import Sender
from tests.integration.monitor_support import (
    at,
    attach,
    drain,
    flow,
    issue,
    meter,
    region,
    save,
    send,
    well,
)
from waterbudget.api import create_app

pytestmark = pytest.mark.integration
LOOPBACK = AddressPolicy.parse("127.0.0.1/32")
NOTE = AlertNote(5, 9, "opened", "budget_level", "warning", "open", "node/3", "龙渠村", "2025",
                 "warning", datetime(2025, 6, 1, 2, tzinfo=UTC), "rule")


class Receiver(BaseHTTPRequestHandler):
    received: list[str]
    status = 200
    answer = b'{"errcode": 0, "errmsg": "ok"}'

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[int, type[Receiver]]]:
    handler = type("R", (Receiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def banner_server() -> Iterator[int]:
    """Not HTTP: answers every connection with a banner holding a secret, like a
    database or SSH server would."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2 SECRET-BANNER host=db-internal\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def due(address: str, channel: str = "webhook") -> Due:
    return Due(1, "wb-9-1", channel, address, "标题", "正文", 1, NOTE)


def test_a_name_resolving_to_loopback_is_refused_at_send_time(receiver) -> None:
    port, handler = receiver
    for channel in (WebhookChannel(), WeComChannel(), DingTalkChannel()):
        with pytest.raises(DeliveryError) as refused:
            channel.send(due(f"http://localhost:{port}/hook"))
        assert str(refused.value) == "refused: loopback address"
    with pytest.raises(DeliveryError, match=r"^refused: loopback address$"):
        WebhookChannel().send(due(f"http://127.0.0.1:{port}/hook"))
    assert handler.received == []  # not one request reached the receiver


def test_allowed_by_the_administrator_it_is_delivered(receiver) -> None:
    port, handler = receiver
    assert WebhookChannel(LOOPBACK).send(due(f"http://localhost:{port}/hook")) == "HTTP 200"
    assert WeComChannel(LOOPBACK).send(due(f"http://127.0.0.1:{port}/wecom?key=k")) == (
        "HTTP 200 errcode 0")
    assert handler.received == ["/hook", "/wecom?key=k"]


def test_failures_show_a_classified_reason_not_the_receivers_words(receiver,
                                                                   banner_server) -> None:
    port, handler = receiver
    handler.status = 500
    handler.answer = b"stack trace with SECRET-BODY password=hunter2"
    with pytest.raises(DeliveryError) as failed:
        WebhookChannel(LOOPBACK).send(due(f"http://127.0.0.1:{port}/hook"))
    assert str(failed.value) == "HTTP 500"
    handler.status = 200
    handler.answer = b'{"errcode": 93000, "errmsg": "SECRET-BODY invalid webhook url"}'
    with pytest.raises(DeliveryError) as robot:
        WeComChannel(LOOPBACK).send(due(f"http://127.0.0.1:{port}/wecom"))
    assert str(robot.value) == "robot errcode 93000"
    with pytest.raises(DeliveryError) as banner:
        WebhookChannel(LOOPBACK).send(due(f"http://127.0.0.1:{banner_server}/"))
    assert "SECRET" not in str(banner.value)
    assert str(banner.value) in ("not an HTTP answer", "connection closed by the receiver")
    closed = socket.create_server(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    with pytest.raises(DeliveryError, match=r"^connection refused$"):
        WebhookChannel(LOOPBACK).send(due(f"http://127.0.0.1:{free}/"))


@pytest.fixture
def world(database_url: str) -> tuple[str, dict[str, Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        r = region(conn)
        save(conn, [well("W1", rated_m3h=500)], [meter("W1-F", "W1", "flow")])
        attach(conn, r.h1, "site", "W1")
        for node, volume in ((r.district, 100_000), (r.village, 10_000), (r.h1, 1_000)):
            issue(conn, node, volume)
        (contact,) = conn.execute("SELECT contact_id FROM budget_contacts WHERE node_id = %s",
                                  (r.village,)).fetchone() or (None,)
        tokens = {
            "admin": budget_repo.create_token(conn, name="admin", role="administrator",
                                              node_id=None),
            "village": budget_repo.create_token(conn, name="村干部", role="operator",
                                                node_id=r.village),
        }
    return database_url, {"contact": contact, "r": r,
                         **{k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}


def test_subscriptions_to_internal_addresses_are_refused(world, receiver) -> None:
    url, ids = world
    port, _handler = receiver
    refused = ["http://127.0.0.1:5432/", "http://localhost:5432/", "http://[::1]:5432/",
               "http://[::ffff:127.0.0.1]:5432/", "http://169.254.169.254/latest/",
               "http://10.0.0.5/hook", "http://0.0.0.0:8080/", "http://2130706433/",
               "gopher://127.0.0.1:6379/", f"http://127.0.0.1:{port}/ding#secret=S"]
    with TestClient(create_app(url)) as api:
        for channel in ("webhook", "wecom", "dingtalk"):
            for address in refused:
                for who in ("village", "admin"):
                    answer = api.post("/monitor/subscriptions", headers=ids[who], json={
                        "contact_id": ids["contact"], "channel": channel, "address": address})
                    assert answer.status_code == 422, (channel, address, who, answer.text)
        assert "地址被拒绝" in answer.json()["detail"]
    with TestClient(create_app(url, destinations=LOOPBACK)) as api:
        answer = api.post("/monitor/subscriptions", headers=ids["village"], json={
            "contact_id": ids["contact"], "channel": "webhook",
            "address": f"http://127.0.0.1:{port}/hook"})
        assert answer.status_code == 201, answer.text


def test_the_delivery_log_shows_the_refusal_and_nothing_of_the_target(world) -> None:
    """A subscription stored before this check (or by an old version) to the database's
    own port: the sender refuses it and the operator reads only the reason."""
    url, ids = world
    r = ids["r"]
    with psycopg.connect(url, autocommit=True) as conn:
        add_subscription(conn, contact_id=ids["contact"], channel="webhook",
                         address="http://localhost:5432/", include_descendants=True)
        send(conn, "W1", "flow", flow(at(0), 0), flow(at(10), 1100))
        drain(conn)
        assert Sender({"webhook": WebhookChannel()}).send_due(conn) >= 1
    with TestClient(create_app(url)) as api:
        log = api.get("/monitor/notifications", headers=ids["village"]).json()
    hooks = [n for n in log if n["channel"] == "webhook"]
    assert hooks
    assert {n["last_error"] for n in hooks} == {"refused: loopback address"}
    assert {d["detail"] for n in hooks for d in n["deliveries"]} == {"refused: loopback address"}
    assert r.h1
