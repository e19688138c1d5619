"""Which network addresses a crawl may reach: one rule for Scrapy's downloader and the browser.

Pure standard library, so that both the downloader middleware (`crawler.middlewares`) and the
browser's request guard (`spiders.browser`) use the same answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def same_origin_referer(page_url: str, url: str) -> dict[str, str]:
    """The ``Referer`` header a request for ``url``, found on ``page_url``, may carry: the page,
    when both share scheme, host and port; else none (REFERRER_POLICY = "same-origin"), so a
    third-party CDN never learns which page, or which search for a victim's name, led to it.
    An empty ``page_url`` (a page reached through a site search) gives none either."""
    if not page_url:
        return {}
    try:
        origins = [(p.scheme, p.hostname, p.port) for p in (urlsplit(page_url), urlsplit(url))]
    except ValueError:  # a port that is not a number
        return {}
    return {"Referer": page_url} if origins[0] == origins[1] else {}
