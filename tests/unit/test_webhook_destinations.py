"""Which addresses the HTTP channels refuse (pure: literal addresses, no DNS)."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.channels.destinations import AddressPolicy, RefusedAddressError, check_url, classify

REFUSED = {
    "127.0.0.1": "loopback address", "127.255.0.9": "loopback address",
    "10.1.2.3": "private address", "172.16.0.1": "private address",
    "192.168.1.1": "private address", "169.254.169.254": "link-local address",
    "100.64.0.1": "non-public address", "0.0.0.0": "unspecified address",
    "224.0.0.1": "multicast address", "239.1.1.1": "multicast address",
    "240.0.0.1": "reserved address", "255.255.255.255": "reserved address",
    "192.0.2.1": "private address", "198.18.0.1": "private address",
    "::1": "loopback address", "::": "unspecified address", "fe80::1": "link-local address",
    "fc00::1": "private address", "fd12:3456::1": "private address",
    "ff02::1": "multicast address", "::ffff:127.0.0.1": "loopback address",
    "::ffff:10.0.0.1": "private address", "2002:7f00:1::1": "loopback address",
    "2001:db8::1": "private address",
}


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    ip = ipaddress.ip_address(address)
    assert classify(ip) == reason
    with pytest.raises(RefusedAddressError):
        AddressPolicy().check_ip(ip)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_an_administrator_allows_networks_explicitly() -> None:
    policy = AddressPolicy.parse(" 127.0.0.1/32, 10.20.0.0/16 ")
    for allowed in ("127.0.0.1", "::ffff:127.0.0.1", "10.20.3.4"):
        policy.check_ip(ipaddress.ip_address(allowed))
    for refused in ("127.0.0.2", "10.21.0.1", "::1"):
        with pytest.raises(RefusedAddressError):
            policy.check_ip(ipaddress.ip_address(refused))
    with pytest.raises(ValueError, match="does not appear"):
        AddressPolicy.parse("not-a-network")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:5432/", "http://[::1]/x", "http://[::ffff:7f00:1]/", "https://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/", "ftp://8.8.8.8/", "file:///etc/passwd",
    "http:///nohost", "http://8.8.8.8:99999/", "gopher://127.0.0.1:6379/_",
])
def test_urls_refused_without_resolving(url: str) -> None:
    with pytest.raises(RefusedAddressError):
        check_url(url, AddressPolicy(), resolve_names=False)


def test_a_public_literal_url_passes() -> None:
    check_url("https://8.8.8.8/hook?key=1", AddressPolicy(), resolve_names=False)
