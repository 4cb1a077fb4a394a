"""The monitor process: change log → roll-ups → alerts, the sweep, and the senders.

Three loops until ``stop`` is set, each with its own database connection:

* events: ``LISTEN waterbudget_monitor`` (the change-log triggers notify on
  commit) and drain the change log (``Consumer``) — a committed reading that
  crosses a level raises its alert within one step;
* delivery: ``LISTEN waterbudget_alerts`` and send due notifications (and
  enforcement commands when enabled), retrying with backoff;
* the sweep (APScheduler), every ``monitor_sweep_minutes``, first at start.

Several monitor processes may run: the roll-up lock serialises the event
steps, ``SKIP LOCKED`` leases keep senders apart, and the alert store keeps
one alert per key. A lost database connection is retried with backoff.

Stopping (SIGTERM): no new step or sweep starts, and the statements running on
the loops' and the sweep's connections are cancelled (``cancel_safe``, again every
``CANCEL_EVERY_S`` until the loops have ended, in case a cancel arrived between two
statements): a catch-up step over a large backlog, or one waiting on a lock, ends in
about a second instead of running to its end. A cancelled step rolls back; its
change rows stay pending for the next start (``Consumer``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.alerting import Applied
from monitor.channels import Channel
from monitor.channels.destinations import AddressPolicy
from monitor.channels.mail import EmailChannel
from monitor.channels.mqtt import MqttChannel, MqttPublisher
from monitor.channels.webhooks import DingTalkChannel, WebhookChannel, WeComChannel
from monitor.consumer import Consumer
from monitor.enforcement import EnforcementPolicy, Enforcer, send_commands
from monitor.sender import Sender, SenderConfig
from monitor.sweep import sweep
from waterbudget.settings import Settings

log = logging.getLogger(__name__)

WAIT_S = 1.0  # longest sleep between two looks at the change log and the outbox
RETRY_MAX_S = 30.0
CANCEL_EVERY_S = 0.5  # after stop: cancel the running statements this often…
STOP_GRACE_S = 20.0  # …for at most this long before giving up on the loops


class MonitorService:
    def __init__(self, settings: Settings, *, sender_config: SenderConfig | None = None) -> None:
        self.url = settings.database_url
        self.sweep_minutes = settings.monitor_sweep_minutes
        self.enforcer = Enforcer(EnforcementPolicy(settings.monitor_enforcement,
                                                   settings.topic_prefix))
        self.consumer = Consumer(on_event=self._on_event)
        self.publisher = (MqttPublisher(settings.mqtt_url,
                                        client_id=settings.monitor_mqtt_client_id,
                                        protocol=settings.mqtt_protocol)
                          if settings.mqtt_url else None)
        destinations = AddressPolicy.parse(settings.webhook_allow_networks)
        channels: dict[str, Channel] = {"webhook": WebhookChannel(destinations),
                                        "wecom": WeComChannel(destinations),
                                        "dingtalk": DingTalkChannel(destinations)}
        if settings.smtp_url:
            channels["email"] = EmailChannel(settings.smtp_url, settings.smtp_from,
                                             starttls=settings.smtp_starttls)
        if self.publisher is not None:
            channels["mqtt"] = MqttChannel(self.publisher, settings.monitor_notify_prefix)
        self.sender = Sender(channels, sender_config or SenderConfig())
        self.events: list[Applied] = []  # the latest transitions, for the demo's summary
        self.swept = threading.Event()
        self._connections: set[psycopg.Connection[Any]] = set()  # in use: cancelled on stop
        self._connections_lock = threading.Lock()
        self._sweeping = threading.Event()

    def _track(self, conn: psycopg.Connection[Any]) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def _untrack(self, conn: psycopg.Connection[Any]) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def cancel_running(self) -> None:
        """Cancel whatever statement each connection in use is running (none: nothing)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.cancel_safe(timeout=2.0)
            except Exception as exc:  # closed meanwhile, or the server unreachable
                log.debug("cancel failed: %s", exc)

    def _on_event(self, conn: psycopg.Connection[Any], applied: Applied) -> None:
        self.enforcer.on_event(conn, applied)
        self.events = [*self.events[-99:], applied]

    def _loop(self, stop: threading.Event, channel: str,
              work: Callable[[psycopg.Connection[Any]], object]) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as listener, \
                        psycopg.connect(self.url) as conn:
                    self._track(conn)
                    try:
                        listener.execute(f"LISTEN {channel}")
                        delay = 0.5
                        while not stop.is_set():
                            work(conn)
                            for _ in listener.notifies(timeout=WAIT_S, stop_after=1):
                                pass
                    finally:
                        self._untrack(conn)
            except psycopg.OperationalError as exc:
                if stop.is_set():
                    log.info("%s loop stopped (%s)", channel, type(exc).__name__)
                    break
                log.warning("database unavailable (%s); retrying in %.1f s", exc, delay)
                stop.wait(delay)
                delay = min(RETRY_MAX_S, delay * 2)

    def _deliver(self, conn: psycopg.Connection[Any]) -> None:
        self.sender.send_due(conn)
        if self.enforcer.policy.enabled and self.publisher is not None:
            send_commands(conn, self.publisher.publish)

    def sweep_once(self) -> None:
        if self.consumer.stopping():
            return
        started = time.monotonic()
        self._sweeping.set()
        try:
            with psycopg.connect(self.url) as conn:
                self._track(conn)
                try:
                    swept = sweep(conn, consumer=self.consumer, on_event=self._on_event)
                finally:
                    self._untrack(conn)
            log.info("sweep at data time %s: %s snapshots, %s events, %s charges in %.1f s",
                     swept.at, swept.snapshots, len(swept.events), swept.charges,
                     time.monotonic() - started)
        except psycopg.OperationalError as exc:
            if self.consumer.stopping():
                log.info("sweep stopped (%s)", type(exc).__name__)
            else:
                log.warning("sweep skipped, database unavailable: %s", exc)
        finally:
            self._sweeping.clear()
            self.swept.set()

    def run(self, stop: threading.Event) -> None:
        self.consumer.stop = stop
        scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
        scheduler.add_job(self.sweep_once, "interval", minutes=self.sweep_minutes,
                          id="monitor-sweep", max_instances=1, coalesce=True,
                          next_run_time=datetime.now(UTC))
        threads = [
            threading.Thread(target=self._loop, args=(stop, "waterbudget_monitor",
                                                      self.consumer.drain),
                             name="monitor-events", daemon=True),
            threading.Thread(target=self._loop, args=(stop, "waterbudget_alerts", self._deliver),
                             name="monitor-delivery", daemon=True),
        ]
        for thread in threads:
            thread.start()
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=False)  # no new sweep; a running one is cancelled below
            deadline = time.monotonic() + STOP_GRACE_S
            while ((any(t.is_alive() for t in threads) or self._sweeping.is_set())
                   and time.monotonic() < deadline):
                self.cancel_running()
                for thread in threads:
                    thread.join(CANCEL_EVERY_S / len(threads))
            if self.publisher is not None:
                self.publisher.stop()
