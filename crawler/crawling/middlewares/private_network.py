"""Downloader middleware that keeps crawls off private networks (an SSRF guard).

A monitored site is on the public internet. A page that links to ``http://10.0.0.5/admin`` or a
host name that resolves to ``127.0.0.1`` must not make the crawler reach into the network it runs
in. Every request's host is resolved and refused when any of its addresses is not globally
routable (private, loopback, link-local, shared, reserved, multicast); the peer address of every
response is checked again, which also catches a DNS answer that changed between the two looks.

Only ``http`` and ``https`` URLs are fetched at all: ``file:``, ``ftp:`` and every other scheme
are refused for every site. A site file opts out of the address check (not of the scheme check)
with ``allow_private_network = true`` (the demo and test sites, which run on
127.0.0.1, do).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.network import is_public_address, resolve
from crawler.stats import REFUSED_PRIVATE_NETWORK, REFUSED_SCHEME

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

    def _allowed(self) -> bool:
        return bool(getattr(self.crawler.spider, "allow_private_network", False))

    def _refuse(self, request: Request, why: str) -> PrivateNetworkRefused:
        self.stats.inc_value(REFUSED_PRIVATE_NETWORK)
        logger.warning(
            "Refused %s: %s. A site on a private network must set allow_private_network = true "
            "in its site file.",
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
        if self._allowed():
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await resolve(parts.hostname, port)
        except OSError:
            return None  # unresolvable: the download fails with Scrapy's own DNS error
        for address in addresses:
            if not is_public_address(address):
                raise self._refuse(request, f"{parts.hostname} resolves to {address}")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if self._allowed() or response.ip_address is None:
            return response
        if not is_public_address(response.ip_address):
            raise self._refuse(request, f"the response came from {response.ip_address}")
        return response
