import asyncio
import ipaddress

import pytest

from crawler.crawling.middlewares.private_network import is_public_address, resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_addresses_are_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address):
    assert is_public_address(ipaddress.ip_address(address))


def test_host_names_are_resolved_before_the_check():
    addresses = asyncio.run(resolve("localhost", 80))
    assert addresses and not any(is_public_address(a) for a in addresses)
    assert asyncio.run(resolve("[::1]", 80)) == [ipaddress.ip_address("::1")]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "s3://bucket/key"])
@pytest.mark.parametrize("opted_in", [False, True])
def test_only_http_and_https_are_ever_fetched(url, opted_in):
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler

    from crawler.crawling.middlewares.private_network import (
        PrivateNetworkGuardMiddleware,
        PrivateNetworkRefused,
    )

    class LocalSpider(Spider):
        name = "local"
        allow_private_network = opted_in

    crawler = get_crawler(LocalSpider)
    crawler.spider = LocalSpider()
    guard = PrivateNetworkGuardMiddleware.from_crawler(crawler)
    with pytest.raises(PrivateNetworkRefused, match="only http and https"):
        asyncio.run(guard.process_request(Request(url)))
