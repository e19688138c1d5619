"""Which of a site file's own URLs point into a private network (checked by `sites check`).

The crawl refuses every request to a private, loopback or otherwise non-public address unless
the site file says ``allow_private_network = true`` (crawler/crawling/middlewares/
private_network.py). A site file whose start URLs are private would only crawl nothing, so
`repostwatch sites check` names them before the first crawl does.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from crawler.network import IPAddress, is_public_address
from crawler.sites.config import SiteConfig
from crawler.sites.tables import QUERY_PLACEHOLDER

#: Names every resolver sends to this machine, whatever DNS says (RFC 6761).
LOOPBACK_NAMES = ("localhost", ".localhost")


def site_urls(config: SiteConfig) -> list[tuple[str, str]]:
    """The URLs a crawl of ``config`` starts from, each with the key that holds it."""
    urls = [(f"start_urls[{n}]", url) for n, url in enumerate(config.start_urls)]
    if config.search is not None:
        if config.search.url is not None:
            urls.append(("search.url", config.search.url.replace(QUERY_PLACEHOLDER, "q")))
        if config.search.form_url is not None:
            urls.append(("search.form_url", config.search.form_url))
    return urls


def private_urls(config: SiteConfig) -> list[str]:
    """One problem per URL of ``config`` on a private network, unless the site opted in with
    ``allow_private_network``; names that do not resolve here are not judged."""
    if config.allow_private_network:
        return []
    problems = []
    for key, url in site_urls(config):
        address = private_address(urlsplit(url).hostname or "")
        if address is not None:
            problems.append(
                f"{config.source}: {key}: {url} is on a private network ({address}); crawls "
                "refuse it unless the site file sets allow_private_network = true"
            )
    return problems


def private_address(host: str) -> str | None:
    """The first non-public address ``host`` resolves to, or None."""
    host = host.strip("[]").lower().rstrip(".")
    if host == LOOPBACK_NAMES[0] or host.endswith(LOOPBACK_NAMES[1]):
        return host
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None  # unresolvable here: the crawl says so if it is there too
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not is_public_address(address):
            return str(address)
    return None
