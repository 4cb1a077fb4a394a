"""HTTP channels (urllib): a plain webhook, WeCom and DingTalk group robots.

Every request is a JSON POST with an ``Idempotency-Key`` header. A 2xx answer
is delivered — for the robots only when the JSON answer's ``errcode`` is 0
(both answer HTTP 200 with an error code, e.g. for a rate limit). DingTalk
robots with signing (加签): give the address as ``<webhook URL>#secret=SEC…``;
the fragment is never sent, the signed ``timestamp`` and ``sign`` are added.

Where a request may go is ``destinations.AddressPolicy``'s business: the socket is
opened by ``destinations.connect`` (no loopback, private, link-local … address unless
allowed, checked after resolving the name, for every request). No proxy from the
environment, no redirects (a 3xx is a failed delivery). What the delivery log shows is
a short classified outcome — ``HTTP 500``, ``timeout``, ``connection refused``,
``refused: loopback address``, ``robot errcode 93000`` — never the receiver's answer
or a raw socket error, which an operator who chose the address would otherwise read
back (the full error goes to the server's log).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from monitor import messages
from monitor.channels import DeliveryError
from monitor.channels.destinations import AddressPolicy, RefusedAddressError, connect
from monitor.repository.outbox import Due

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
PUBLIC_ONLY = AddressPolicy()


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), URL-quoted."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def _guarded(kind: type[http.client.HTTPConnection],
             policy: AddressPolicy) -> Callable[..., http.client.HTTPConnection]:
    def make(host: str, **options: Any) -> http.client.HTTPConnection:
        conn = kind(host, **options)
        conn._create_connection = functools.partial(  # type: ignore[attr-defined]
            connect, policy=policy)
        return conn
    return make


class _Http(urllib.request.HTTPHandler):
    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        self.policy = policy

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPConnection, self.policy), req)


class _Https(urllib.request.HTTPSHandler):
    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        self.policy = policy

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_guarded(http.client.HTTPSConnection, self.policy), req,
                            context=self._context)  # type: ignore[attr-defined]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx becomes an HTTPError: a failed delivery


def _opener(policy: AddressPolicy) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _Http(policy),
                                       _Https(policy), _NoRedirect())


def _reason(exc: BaseException) -> str:
    """A short, fixed description of a failure: nothing the receiver wrote."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return _reason(exc.reason)
    if isinstance(exc, RefusedAddressError):
        return f"refused: {exc.reason}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError | http.client.RemoteDisconnected):
        return "connection closed by the receiver"
    if isinstance(exc, socket.gaierror):
        return "name not resolved"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    if isinstance(exc, http.client.HTTPException):
        return "not an HTTP answer"
    if isinstance(exc, ValueError | UnicodeError):
        return "invalid URL"
    return "network error"


def post_json(url: str, body: dict[str, Any], key: str,
              policy: AddressPolicy) -> tuple[int, str]:
    """POST the JSON; (status, answer text) for a 2xx, else ``DeliveryError`` with a
    classified reason."""
    where = url.split("?")[0].split("#")[0]
    try:
        request = urllib.request.Request(
            url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
        with _opener(policy).open(request, timeout=TIMEOUT_S) as response:
            return int(response.status), response.read(4096).decode(errors="replace")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = _reason(exc)
        log.info("POST %s failed: %s (%r)", where, reason, exc)
        raise DeliveryError(reason) from exc


class WebhookChannel:
    def __init__(self, policy: AddressPolicy = PUBLIC_ONLY) -> None:
        self.policy = policy

    def send(self, due: Due) -> str:
        body = messages.webhook_message(due.note, due.idempotency_key, due.title, due.body,
                                       due.language)
        status, _text = post_json(due.address, body, due.idempotency_key, self.policy)
        return f"HTTP {status}"


def _robot_answer(status: int, text: str) -> str:
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise DeliveryError(f"HTTP {status}, answer not JSON") from exc
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        shown = code if isinstance(code, int) and not isinstance(code, bool) else "missing"
        log.info("robot refused: %s", text[:300])
        raise DeliveryError(f"robot errcode {shown}")
    return f"HTTP {status} errcode 0"


class WeComChannel:
    def __init__(self, policy: AddressPolicy = PUBLIC_ONLY) -> None:
        self.policy = policy

    def send(self, due: Due) -> str:
        return _robot_answer(*post_json(due.address, messages.wecom_message(due.title, due.body),
                                        due.idempotency_key, self.policy))


class DingTalkChannel:
    def __init__(self, policy: AddressPolicy = PUBLIC_ONLY) -> None:
        self.policy = policy

    def send(self, due: Due) -> str:
        url, _, fragment = due.address.partition("#")
        if fragment.startswith("secret="):
            url = dingtalk_signed_url(url, fragment[len("secret="):], int(time.time() * 1000))
        return _robot_answer(*post_json(url, messages.dingtalk_message(due.title, due.body),
                                        due.idempotency_key, self.policy))
