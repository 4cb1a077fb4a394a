"""E-mail channel: the only module that speaks SMTP (smtplib).

``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers it and
``starttls`` is set) or ``smtps://…`` (TLS from the start). The idempotency key
becomes the Message-ID, so a receiver (or a mail archive) can drop a copy sent
twice after a crash between sending and recording.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from monitor.channels import DeliveryError
from monitor.repository.outbox import Due

TIMEOUT_S = 10.0


class EmailChannel:
    def __init__(self, url: str, sender: str, *, starttls: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP URL must be smtp://host[:port] or smtps://…, got {url!r}")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.starttls = starttls

    def message(self, due: Due) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = due.address
        message["Subject"] = due.title
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{due.idempotency_key}@waterbudget>"
        message["X-Waterbudget-Alert"] = str(due.note.alert_id)
        message.set_content(due.body, charset="utf-8")
        return message

    def send(self, due: Due) -> str:
        try:
            client: smtplib.SMTP = (smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_S)
                                    if self.tls else
                                    smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S))
            with client:
                if self.starttls and not self.tls:
                    client.starttls()
                if self.user:
                    client.login(self.user, self.password or "")
                refused = client.send_message(self.message(due))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise DeliveryError(f"recipients refused: {refused}")
        return f"accepted by {self.host}:{self.port}"
