"""Where the HTTP channels may send: no request to this server's own neighbourhood.

A webhook, WeCom or DingTalk address is chosen by an operator. Left unchecked, an
operator could make the monitor POST to ``http://127.0.0.1:5432/`` (the database) or
any other host of the internal network, and read the answer back from the delivery
log. So an address is refused when it is — or its name resolves to — a loopback,
private, shared (CGNAT), link-local, multicast, unspecified, reserved or documentation
address, IPv4 or IPv6 (IPv4-mapped, 6to4 and Teredo forms judged by the IPv4 address
inside), unless the server's settings allow its network
(``WATERBUDGET_WEBHOOK_ALLOW_NETWORKS``, a comma-separated list of CIDRs, set by the
administrator who runs the service).

It is checked twice: when the subscription is made (``check_url``, the name resolved
then), and for every request at connection time (``connect``: the addresses the name
resolves to *now*, every one of them permitted, and the socket connected to one of
those very addresses — a name cannot resolve to a public address for the check and
to 127.0.0.1 for the connection).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddressError(ValueError):
    """The address is not one the monitor may send to; ``reason`` is short and fixed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def classify(ip: IPAddress) -> str | None:
    """Why the address is refused (``None``: a public unicast address)."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return classify(inner)
    if ip.is_loopback:
        return "loopback address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_reserved:
        return "reserved address"
    if ip.is_private:
        return "private address"
    if not ip.is_global:
        return "non-public address"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """``allowed``: networks an administrator lets the channels reach although they are
    not public (e.g. an internal alert gateway, or a test receiver on 127.0.0.1)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AddressPolicy:
        """``"10.1.2.0/24, 127.0.0.1"``; raises ``ValueError`` for a bad entry."""
        return cls(tuple(ipaddress.ip_network(part.strip(), strict=False)
                         for part in text.split(",") if part.strip()))

    def refusal(self, ip: IPAddress) -> str | None:
        plain = _embedded_ipv4(ip) or ip
        if any(plain.version == net.version and plain in net for net in self.allowed):
            return None
        return classify(ip)

    def check_ip(self, ip: IPAddress) -> None:
        reason = self.refusal(ip)
        if reason is not None:
            raise RefusedAddressError(reason)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[tuple[IPAddress, tuple[object, ...], int]]:
    """(address, sockaddr, family) of every address the name resolves to now."""
    found = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        found.append((ip, tuple(sockaddr), int(family)))
    return found


def check_url(url: str, policy: AddressPolicy, *, resolve_names: bool = True) -> None:
    """At subscription time: an http(s) URL whose host is (or resolves to) permitted
    addresses only. A name that does not resolve now passes; it is checked again at
    every send."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedAddressError("not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedAddressError("invalid port") from None
    literal = _literal(parts.hostname)
    if literal is not None:
        policy.check_ip(literal)
        return
    if not resolve_names:
        return
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError):
        return
    for ip, _sockaddr, _family in addresses:
        policy.check_ip(ip)


def connect(address: tuple[str, int], timeout: float | None, source_address: object,
            *, policy: AddressPolicy) -> socket.socket:
    """``socket.create_connection`` for the HTTP channels: resolve, refuse unless every
    address is permitted, connect to one of the checked addresses."""
    host, port = address
    addresses = resolve(host, port)
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    for ip, _sockaddr, _family in addresses:
        policy.check_ip(ip)
    last: OSError | None = None
    for _ip, sockaddr, family in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if isinstance(timeout, int | float):  # not socket's "global default" sentinel
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)  # type: ignore[arg-type]
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    assert last is not None
    raise last
