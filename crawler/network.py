"""Which network addresses a crawl may reach: one rule for every caller.

The downloader middleware (`crawler.crawling.middlewares.private_network`), the browser's guard
proxy (`crawler.browser.guard_proxy`), the browser's request guard (`spiders.browser`) and the
re-check (`crawler.takedown.recheck`) all ask :func:`checked_addresses`, in this order:

1. The host name. ``localhost``, ``*.localhost``, ``*.local`` and single-label names (``intranet``)
   are refused before anything is resolved: Chromium resolves every ``*.localhost`` to loopback
   by itself, mDNS answers ``*.local`` from the local network, and a single label is completed by
   the resolver's search domains. An IP literal has no name to refuse.
2. The resolution. A name that does not resolve is refused (the browser could still reach it
   through its own resolver, or a later answer could differ).
3. Every address must be public (:func:`is_public_address`), unless the site opted in for this
   host and port (:class:`PrivateOptIn`). IPv6 forms that carry an IPv4 address (IPv4-mapped,
   IPv4-compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.

A caller then connects to one of the addresses it was given, never to the name again, so a DNS
answer cannot change between the check and the connection.

Pure standard library.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Why a host is refused: the ``refused/<kind>`` stat each is counted under.
HOST_NAME = "host_name"
UNRESOLVABLE = "unresolvable"
PRIVATE_NETWORK = "private_network"

#: NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: NAT64 local-use prefix (RFC 8215): a network's own translator, where the IPv4 address sits
#: depends on the prefix length that network chose; never public.
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
#: Deprecated site-local addresses (RFC 3879): private, whatever Python says.
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")
#: IPv4-compatible addresses (``::a.b.c.d``, deprecated by RFC 4291): the last 32 bits.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class AddressRefused(Exception):
    """A host the crawl must not reach; ``kind`` is one of HOST_NAME, UNRESOLVABLE,
    PRIVATE_NETWORK, ``str()`` says why; ``address``: the private address it resolved to."""

    def __init__(self, kind: str, why: str, address: IPAddress | None = None):
        super().__init__(why)
        self.kind = kind
        self.address = address


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (it reaches them), or [] for none."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # the relay server and the client
    return []


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL or address in _NAT64_LOCAL:
            return False
        carried = embedded_ipv4(address)
        if carried:
            return all(is_public_address(ipv4) for ipv4 in carried)
    return address.is_global and not address.is_multicast


def host_name_problem(host: str) -> str | None:
    """Why ``host`` (a URL's host) is refused before it is resolved, or None."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host:
        return "has no host name"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a loopback name"
    if host.endswith(".local"):
        return f"{host} is a local-network (mDNS) name"
    if "." not in host:
        return f"{host} is a single-label name (completed by the resolver's search domains)"
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def default_port(scheme: str) -> int:
    return 443 if scheme in ("https", "wss") else 80


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, lower-case host, port)`` of ``url``, the port filled in from the scheme; None
    for a port that is not a number."""
    parts = urlsplit(url)
    try:
        port = parts.port or default_port(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class PrivateOptIn:
    """The private targets a site file allows (``allow_private_network = true``).

    ``origins`` are (host, port) pairs whose addresses may be private: a site's own start and
    search URLs, so that its pages cannot send the browser to another service on the same
    network (another port of 127.0.0.1, a router). ``everywhere`` lets every private address
    through (the downloader's opt-in, which fetches pages and media with GET only).
    """

    origins: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    everywhere: bool = False

    @classmethod
    def of_urls(cls, urls: Iterable[str]) -> PrivateOptIn:
        """The opt-in for the hosts and ports of ``urls`` (a site's own)."""
        origins = set()
        for url in urls:
            parts = urlsplit(url)
            if parts.hostname:
                origins.add((parts.hostname.lower(), parts.port or default_port(parts.scheme)))
        return cls(origins=frozenset(origins))

    def allows(self, host: str, port: int) -> bool:
        return self.everywhere or (host.strip("[]").lower(), port) in self.origins


NO_OPT_IN = PrivateOptIn()


async def checked_addresses(
    host: str, port: int, opt_in: PrivateOptIn = NO_OPT_IN
) -> list[IPAddress]:
    """The addresses a crawl may connect to for ``host:port``; connect to these, not the name.

    Raises :class:`AddressRefused` for a refused name, a name that does not resolve, or an
    address that is not public (unless ``opt_in`` allows this host and port).
    """
    _check_name(host)
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(UNRESOLVABLE, f"{host} does not resolve ({exc})") from None
    return _judge(host, port, addresses, opt_in)


def checked_addresses_blocking(
    host: str, port: int, opt_in: PrivateOptIn = NO_OPT_IN
) -> list[IPAddress]:
    """:func:`checked_addresses` for code without an event loop (the re-check's urllib client)."""
    _check_name(host)
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(UNRESOLVABLE, f"{host} does not resolve ({exc})") from None
        addresses = list(
            dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos)
        )
    return _judge(host, port, addresses, opt_in)


def _check_name(host: str) -> None:
    problem = host_name_problem(host)
    if problem:
        raise AddressRefused(HOST_NAME, problem)


def _judge(
    host: str, port: int, addresses: list[IPAddress], opt_in: PrivateOptIn
) -> list[IPAddress]:
    if not addresses:
        raise AddressRefused(UNRESOLVABLE, f"{host} does not resolve")
    if not opt_in.allows(host, port):
        for address in addresses:
            if not is_public_address(address):
                raise AddressRefused(
                    PRIVATE_NETWORK, f"{host} resolves to {address}, a private address", address
                )
    return addresses


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
