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


def _guard(spider_attrs: dict[str, object]):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from crawler.crawling.middlewares.private_network import PrivateNetworkGuardMiddleware

    spider_class = type("LocalSpider", (Spider,), {"name": "local", **spider_attrs})
    crawler = get_crawler(spider_class)
    crawler.spider = spider_class()
    crawler.stats.open_spider()
    return PrivateNetworkGuardMiddleware.from_crawler(crawler), crawler.stats


@pytest.mark.parametrize("opted_in", [False, True])
def test_a_response_from_an_unknown_peer_is_refused(opted_in):
    from scrapy import Request
    from scrapy.http import Response

    from crawler.crawling.middlewares.private_network import PrivateNetworkRefused

    guard, stats = _guard({"allow_private_network": opted_in})
    request = Request("http://93.184.215.14/page")
    with pytest.raises(PrivateNetworkRefused, match="peer address is unknown"):
        guard.process_response(request, Response(request.url, request=request))
    assert stats.get_value("repostwatch/refused/unknown_peer") == 1
    known = Response(request.url, request=request, ip_address=ipaddress.ip_address("8.8.8.8"))
    assert guard.process_response(request, known) is known


def test_a_rendered_page_is_accepted_only_behind_the_running_guard_proxy():
    from scrapy import Request
    from scrapy.http import Response

    from crawler.browser.guard_proxy import GuardProxy
    from crawler.crawling.middlewares.private_network import PrivateNetworkRefused

    request = Request("http://93.184.215.14/page", meta={"playwright": True})
    # Its peer is the proxy on 127.0.0.1, which checked and pinned the site's address.
    response = Response(request.url, request=request, ip_address=ipaddress.ip_address("127.0.0.1"))
    guard, stats = _guard({"guard_proxy": None})
    with pytest.raises(PrivateNetworkRefused, match="without the guard proxy"):
        guard.process_response(request, response)
    assert stats.get_value("repostwatch/refused/unknown_peer") == 1
    proxy = GuardProxy().start()
    try:
        guard, _ = _guard({"guard_proxy": proxy})
        assert guard.process_response(request, response) is response
    finally:
        proxy.stop()
    with pytest.raises(PrivateNetworkRefused):  # stopped: nothing checks the peer any more
        guard.process_response(request, response)


@pytest.mark.parametrize(
    ("url", "stat"),
    [
        ("http://x.localhost:8000/", "repostwatch/refused/host_name"),
        ("http://intranet/", "repostwatch/refused/host_name"),
        ("http://nothing-here.invalid/", "repostwatch/refused/unresolvable"),
    ],
)
def test_names_are_refused_even_for_a_site_on_a_private_network(url, stat):
    from scrapy import Request

    from crawler.crawling.middlewares.private_network import PrivateNetworkRefused

    guard, stats = _guard({"allow_private_network": True})
    with pytest.raises(PrivateNetworkRefused):
        asyncio.run(guard.process_request(Request(url)))
    assert stats.get_value(stat) == 1
