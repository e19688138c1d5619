"""crawler.network: the one rule for what a crawl may reach."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from crawler.network import (
    AddressRefused,
    PrivateOptIn,
    checked_addresses,
    host_name_problem,
    is_public_address,
)

#: IPv6 forms that carry an IPv4 address are judged by the address they carry.
CLASSIFICATION = [
    # IPv4-mapped
    ("::ffff:127.0.0.1", False),
    ("::ffff:8.8.8.8", True),
    # IPv4-compatible (::a.b.c.d)
    ("::127.0.0.1", False),
    ("::10.0.0.1", False),
    ("::169.254.169.254", False),
    ("::8.8.8.8", True),
    # NAT64, well-known prefix: the last 32 bits
    ("64:ff9b::7f00:1", False),  # 127.0.0.1
    ("64:ff9b::a9fe:a9fe", False),  # 169.254.169.254, the cloud metadata service
    ("64:ff9b::c0a8:101", False),  # 192.168.1.1
    ("64:ff9b::808:808", True),  # 8.8.8.8
    # NAT64, local-use prefix: a network's own translator
    ("64:ff9b:1::7f00:1", False),
    ("64:ff9b:1::808:808", False),
    # 6to4: bits 16-48
    ("2002:7f00:1::1", False),  # 127.0.0.1
    ("2002:a00:1::1", False),  # 10.0.0.1
    ("2002:808:808::1", True),  # 8.8.8.8
    # Teredo: server and (obfuscated) client
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
    # site-local (deprecated) and the rest
    ("fec0::1", False),
    ("feff::1", False),
    ("fe80::1", False),
    ("fc00::1", False),
    ("::1", False),
    ("::", False),
    ("ff02::1", False),
    ("2606:4700:4700::1111", True),
]


@pytest.mark.parametrize(("address", "public"), CLASSIFICATION)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_carry(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "x.localhost", "a.b.localhost", "nas.local", "intranet"]
)
def test_loopback_local_and_single_label_names_are_refused_before_resolution(host):
    assert host_name_problem(host)
    with pytest.raises(AddressRefused) as refused:
        # Even opted in for exactly this host and port: the name itself is refused.
        asyncio.run(checked_addresses(host, 80, PrivateOptIn(everywhere=True)))
    assert refused.value.kind == "host_name"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "example.com", "a.b.example"])
def test_ip_literals_and_full_names_have_no_name_problem(host):
    assert host_name_problem(host) is None


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(AddressRefused) as refused:
        asyncio.run(checked_addresses("nothing-here.invalid", 80))
    assert refused.value.kind == "unresolvable"


def test_private_addresses_pass_only_for_the_hosts_and_ports_opted_in():
    opt_in = PrivateOptIn.of_urls(["http://127.0.0.1:8080/board/", "https://10.0.0.5/"])
    loopback = [ipaddress.ip_address("127.0.0.1")]
    assert asyncio.run(checked_addresses("127.0.0.1", 8080, opt_in)) == loopback
    assert asyncio.run(checked_addresses("10.0.0.5", 443, opt_in))
    for host, port in [("127.0.0.1", 6800), ("10.0.0.5", 80), ("127.0.0.2", 8080)]:
        with pytest.raises(AddressRefused, match="resolves to") as refused:
            asyncio.run(checked_addresses(host, port, opt_in))
        assert refused.value.kind == "private_network"
    with pytest.raises(AddressRefused):
        asyncio.run(checked_addresses("127.0.0.1", 8080))  # no opt-in
    assert asyncio.run(checked_addresses("127.0.0.1", 6800, PrivateOptIn(everywhere=True)))
