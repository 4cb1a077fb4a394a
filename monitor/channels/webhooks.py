"""HTTP channels (urllib): a plain webhook, WeCom and DingTalk group robots.

Every request is a JSON POST with an ``Idempotency-Key`` header. A 2xx answer
is delivered — for the robots only when the JSON answer's ``errcode`` is 0
(both answer HTTP 200 with an error code, e.g. for a rate limit). DingTalk
robots with signing (加签): give the address as ``<webhook URL>#secret=SEC…``;
the fragment is never sent, the signed ``timestamp`` and ``sign`` are added.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote_plus

from monitor import messages
from monitor.channels import DeliveryError
from monitor.repository.outbox import Due

TIMEOUT_S = 10.0


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), URL-quoted."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def post_json(url: str, body: dict[str, Any], key: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return int(response.status), response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {url.split('?')[0]}: "
                            f"{exc.read(500).decode(errors='replace')}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"{url.split('?')[0]}: {exc}") from exc


class WebhookChannel:
    def send(self, due: Due) -> str:
        body = messages.webhook_message(due.note, due.idempotency_key, due.title, due.body)
        status, text = post_json(due.address, body, due.idempotency_key)
        return f"HTTP {status} {text[:200]}"


def _robot_answer(status: int, text: str) -> str:
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise DeliveryError(f"HTTP {status}, not JSON: {text[:200]}") from exc
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        raise DeliveryError(f"robot refused: {text[:300]}")
    return f"HTTP {status} {text[:200]}"


class WeComChannel:
    def send(self, due: Due) -> str:
        return _robot_answer(*post_json(due.address, messages.wecom_message(due.title, due.body),
                                        due.idempotency_key))


class DingTalkChannel:
    def send(self, due: Due) -> str:
        url, _, fragment = due.address.partition("#")
        if fragment.startswith("secret="):
            url = dingtalk_signed_url(url, fragment[len("secret="):], int(time.time() * 1000))
        return _robot_answer(*post_json(url, messages.dingtalk_message(due.title, due.body),
                                        due.idempotency_key))
