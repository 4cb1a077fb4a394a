"""Notification channels: one adapter module per external system.

``mail`` (smtplib), ``webhooks`` (webhook, WeCom and DingTalk group robots, over
urllib), ``mqtt`` (paho). Each exposes ``send(due) -> str`` answering what
the receiver said, or raising ``DeliveryError``; the sender records both.
"""

from __future__ import annotations

from typing import Protocol

from monitor.repository.outbox import Due


class DeliveryError(RuntimeError):
    """The receiver did not take the message (the reason is recorded and retried)."""


class Channel(Protocol):
    def send(self, due: Due) -> str: ...
