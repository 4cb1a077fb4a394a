"""From an MQTT publish to an alert row to notifications delivered, with real parts only:
the broker, a running ingestor, the monitor process, a local SMTP sink (aiosmtpd), a local
HTTP receiver (webhook, WeCom and DingTalk robots) and the broker again (per-user topic
and the well's command topic). The webhook receiver fails twice first: retried, never
doubled."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from budget import repository as budget_repo
from ingest.mqtt_source import MqttSource
from ingest.publisher import publish
from monitor.enforcement import EnforcementPolicy
from monitor.repository.outbox import add_subscription
from monitor.sender import SenderConfig
from monitor.service import MonitorService
from tests.integration.ingest_support import (
    running_ingestor,
    settings_for,
    unique_prefix,
    wait_for,
)
from tests.integration.monitor_support import (
    at,
    attach,
    flow,
    issue,
    meter,
    region,
    save,
    well,
)
from waterbudget.api import create_app
from waterbudget.embedded import free_port

pytestmark = pytest.mark.integration


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict[str, Any]]]  # path, idempotency key, body
    failures_left: dict[str, int]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        path = urlsplit(self.path).path
        if self.failures_left.get(path, 0) > 0:
            self.failures_left[path] -= 1
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"receiver down")
            return
        self.received.append((self.path, self.headers["Idempotency-Key"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        answer = {"errcode": 0, "errmsg": "ok"} if path != "/hook" else {"ok": True}
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("TestReceiver", (Receiver,), {"received": [],
                                                 "failures_left": {"/hook": 2}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def test_a_published_reading_that_crosses_a_level_reaches_everyone_once(
        database_url, mqtt_url, smtp_sink, http_receiver) -> None:
    smtp_port, mailbox = smtp_sink
    base, receiver = http_receiver
    prefix = unique_prefix()
    user_topic = f"user-{uuid.uuid4().hex[:6]}"
    settings = settings_for(database_url, mqtt_url, prefix,
                            smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                            monitor_enforcement=True, monitor_sweep_minutes=60,
                            monitor_notify_prefix=f"{prefix}/notify",
                            # the test's receiver is on loopback: allowed by the administrator
                            webhook_allow_networks="127.0.0.1/32")
    with psycopg.connect(database_url, autocommit=True) as conn:
        r = region(conn)
        save(conn, [well("W1", rated_m3h=500)], [meter("W1-F", "W1", "flow")])
        attach(conn, r.village, "site", "W1")
        issue(conn, r.village, 1000)
        contact = conn.execute("SELECT contact_id FROM budget_contacts WHERE node_id = %s",
                               (r.village,)).fetchall()[0][0]
        for channel, address in (("email", "cun@example.org"), ("webhook", f"{base}/hook"),
                                 ("wecom", f"{base}/wecom?key=abc"),
                                 ("dingtalk", f"{base}/ding?access_token=t#secret=SEC123"),
                                 ("mqtt", user_topic)):
            add_subscription(conn, contact_id=contact, channel=channel, address=address)
        admin = budget_repo.create_token(conn, name="区调度", role="administrator", node_id=None)
    listener = MqttSource(mqtt_url, client_id=f"wbtest-{uuid.uuid4().hex[:8]}",
                          topics=[f"{prefix}/notify/{user_topic}", f"{prefix}/W1/command"])
    listener.start()
    monitor = MonitorService(settings, sender_config=SenderConfig(
        base=timedelta(milliseconds=200), cap=timedelta(seconds=1)))
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,), daemon=True)
    heard: list[tuple[str, dict[str, Any]]] = []

    def hear() -> list[tuple[str, dict[str, Any]]]:
        heard.extend((m.topic, json.loads(m.payload)) for m in listener.take(100, 0.05))
        return heard

    try:
        with running_ingestor(settings):
            thread.start()
            publish(mqtt_url, [(f"{prefix}/W1/flow", json.dumps(flow(at(0), 0)).encode()),
                               (f"{prefix}/W1/flow", json.dumps(flow(at(9), 700)).encode())])
            publish(mqtt_url, [(f"{prefix}/W1/flow", json.dumps(flow(at(10), 850)).encode())])

            def alert_row() -> Any:
                with psycopg.connect(database_url) as c:
                    return c.execute("SELECT alert_id, severity, opened_at FROM monitor_alerts "
                                     "WHERE subject = %s AND kind = 'budget_level'",
                                     (f"node/{r.village}",)).fetchone()

            wait_for(lambda: alert_row() is not None, 60, "the alert row")
            alert_id, severity, opened_at = alert_row()
            assert (severity, opened_at) == ("notice", at(10))  # 85 %, at the data's time
            wait_for(lambda: mailbox.messages and len(receiver.received) >= 3
                     and any(t.endswith(user_topic) for t, _ in hear()), 60, "every channel")
            # now overrun: the well is shut off through its controller
            publish(mqtt_url, [(f"{prefix}/W1/flow", json.dumps(flow(at(11), 1001)).encode())])
            wait_for(lambda: any(t.endswith("/command") for t, _ in hear()), 60, "a shut-off")
            with TestClient(create_app(database_url, enforcement=EnforcementPolicy(
                    True, prefix))) as api:
                answer = api.post("/monitor/enforcement/overrides",
                                  headers={"Authorization": f"Bearer {admin}"},
                                  json={"node_id": r.village, "reason": "抗旱保苗"})
                assert answer.status_code == 201, answer.text
            wait_for(lambda: [p["action"] for t, p in hear() if t.endswith("/command")]
                     == ["shut_off", "resume"], 60, "the resume after the override")
            # level opened (notice), pace opened (85 % by 1 June runs out early), escalated
            wait_for(lambda: len(mailbox.messages) == 3 and len(receiver.received) == 9,
                     60, "the escalation on every channel")
            stop.wait(2.0)  # give a duplicate every chance to show up
    finally:
        stop.set()
        thread.join(30)
        listener.stop()

    assert len(mailbox.messages) == 3
    first_mail = mailbox.messages[0].decode()
    assert "Message-ID: <wb-" in first_mail
    keys = [key for _, key, _ in receiver.received]
    assert len(keys) == len(set(keys)) == 9  # 3 HTTP channels × 3 transitions, none twice
    hooks = [body for path, _, body in receiver.received if path == "/hook"]
    assert sorted((h["kind"], h["event"]) for h in hooks) == [
        ("budget_level", "escalated"), ("budget_level", "opened"), ("budget_pace", "opened")]
    level = next(h for h in hooks if h["kind"] == "budget_level" and h["event"] == "opened")
    assert level["alert_id"] == alert_id
    assert level["at"] == at(10).isoformat()
    wecom = [body for path, _, body in receiver.received if path.startswith("/wecom")]
    assert {w["msgtype"] for w in wecom} == {"markdown"}
    assert all("龙渠村" in w["markdown"]["content"] for w in wecom)
    ding = [(path, body) for path, _, body in receiver.received if path.startswith("/ding")]
    query = parse_qs(urlsplit(ding[0][0]).query)
    assert set(query) == {"access_token", "timestamp", "sign"}  # signed, secret not sent
    assert any(d[1]["markdown"]["title"].startswith("【提示】龙渠村") for d in ding)
    notified = [p for t, p in heard if t.endswith(user_topic)]
    assert sorted((p["kind"], p["event"]) for p in notified) == sorted(
        (h["kind"], h["event"]) for h in hooks)
    commands = [p for t, p in heard if t.endswith("/command")]
    assert [c["action"] for c in commands] == ["shut_off", "resume"]
    with psycopg.connect(database_url) as conn:
        attempts = conn.execute(
            "SELECT n.status, count(*) FILTER (WHERE d.ok), count(*) FILTER (WHERE NOT d.ok) "
            "FROM monitor_notifications n JOIN monitor_deliveries d USING (notification_id) "
            "WHERE n.channel = 'webhook' GROUP BY n.notification_id, n.status").fetchall()
        assert len(attempts) == 3
        assert all(status == "sent" and ok == 1 for status, ok, _ in attempts)
        assert sum(failed for _, _, failed in attempts) == 2  # the two 500s, retried
        logged = conn.execute("SELECT action, status, requested_by FROM "
                              "monitor_enforcement_commands ORDER BY command_id").fetchall()
        assert logged == [("shut_off", "sent", "rule"), ("resume", "sent", "区调度")]
