"""Downloader middleware that keeps crawls off private networks (an SSRF guard).

A monitored site is on the public internet. A page that links to ``http://10.0.0.5/admin`` or a
host name that resolves to ``127.0.0.1`` must not make the crawler reach into the network it runs
in. Every request's host goes through :func:`crawler.network.checked_addresses` (loopback and
local names, names that do not resolve and addresses that are not globally routable are
refused); the peer address of every response is checked again, which also catches a DNS answer
that changed between the two looks. A response whose peer address is unknown is refused too
(``refused/unknown_peer``): nothing says where it came from. Pages rendered in the browser
came through the guard proxy (:mod:`crawler.browser.guard_proxy`), which checked and pinned
the address it connected to; their peer is the proxy, and they are accepted only while the
crawl's proxy runs.

Only ``http`` and ``https`` URLs are fetched at all: ``file:``, ``ftp:`` and every other scheme
are refused for every site. A site file on a private network opts in with
``allow_private_network = true``: then its own hosts and ports (those of its start and search
URLs) and those it lists in ``private_hosts`` may be private, and nothing else (a page, a
redirect or a media URL of that site cannot send the crawl to another service on the same
network). The scheme and host name checks hold for every site.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.network import (
    NO_OPT_IN,
    AddressRefused,
    PrivateOptIn,
    checked_addresses,
    default_port,
    is_public_address,
    resolve,
)
from crawler.stats import REFUSED_PRIVATE_NETWORK, REFUSED_SCHEME, REFUSED_UNKNOWN_PEER, refused

__all__ = ["PrivateNetworkGuardMiddleware", "PrivateNetworkRefused", "is_public_address", "resolve"]

logger = logging.getLogger(__name__)


class PrivateNetworkRefused(IgnoreRequest):
    """A request or response whose address is not on the public internet."""


class PrivateNetworkGuardMiddleware:
    """Refuses requests to, and responses from, addresses that are not public."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateNetworkGuardMiddleware:
        return cls(crawler)

    def _opt_in(self) -> PrivateOptIn:
        """The site's private origins (its own host and port, its ``private_hosts``), or none."""
        spider = self.crawler.spider
        config = getattr(spider, "config", None)
        if config is not None:
            return config.private_opt_in
        # a spider without a site file (scrapy shell, a test spider): its own yes or no
        return (
            PrivateOptIn(everywhere=True)
            if getattr(spider, "allow_private_network", False)
            else NO_OPT_IN
        )

    def _refuse(self, request: Request, stat: str, why: str) -> PrivateNetworkRefused:
        self.stats.inc_value(stat)
        logger.warning(
            "Refused %s: %s. A site on a private network must set allow_private_network = true "
            "in its site file and be named by its IP address or a full domain name.",
            request.url,
            why,
        )
        return PrivateNetworkRefused(f"{request.url}: {why}")

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # file:, ftp:, s3:, data: ... reach the local disk or other services: never, for any
            # site, opted in or not.
            self.stats.inc_value(REFUSED_SCHEME)
            logger.warning("Refused %s: only http and https URLs are crawled", request.url)
            raise PrivateNetworkRefused(f"{request.url}: only http and https URLs are crawled")
        opt_in = self._opt_in()
        try:
            port = parts.port or default_port(parts.scheme)
        except ValueError:
            raise self._refuse(request, REFUSED_SCHEME, "the port is not a number") from None
        try:
            await checked_addresses(parts.hostname, port, opt_in)
        except AddressRefused as exc:
            raise self._refuse(request, refused(exc.kind), str(exc)) from None
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("playwright"):
            # Rendered by Chromium: its peer is the guard proxy, which checked the real one.
            proxy = getattr(self.crawler.spider, "guard_proxy", None)
            if proxy is None or not proxy.running:
                raise self._refuse(
                    request, REFUSED_UNKNOWN_PEER, "rendered by a browser without the guard proxy"
                )
            return response
        if response.ip_address is None:
            raise self._refuse(
                request, REFUSED_UNKNOWN_PEER, "the response's peer address is unknown"
            )
        if not is_public_address(response.ip_address):
            parts = urlsplit(response.url)
            port = parts.port or default_port(parts.scheme)
            if parts.hostname and self._opt_in().allows(parts.hostname, port):
                return response
            raise self._refuse(
                request, REFUSED_PRIVATE_NETWORK, f"the response came from {response.ip_address}"
            )
        return response
