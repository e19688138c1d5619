"""Which of a site file's own URLs point into a private network (checked by `sites check`).

The crawl refuses every request to a private, loopback or otherwise non-public address unless
the site file says ``allow_private_network = true`` (crawler/crawling/middlewares/
private_network.py). A site file whose start URLs are private would only crawl nothing, so
`repostwatch sites check` names them before the first crawl does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.network import (
    PRIVATE_NETWORK,
    UNRESOLVABLE,
    AddressRefused,
    checked_addresses_blocking,
    default_port,
)
from crawler.problems import N_, Problem
from crawler.sites.config import SiteConfig
from crawler.sites.tables import QUERY_PLACEHOLDER


def site_urls(config: SiteConfig) -> list[tuple[str, str]]:
    """The URLs a crawl of ``config`` starts from, each with the key that holds it."""
    urls = [(f"start_urls[{n}]", url) for n, url in enumerate(config.start_urls)]
    if config.search is not None:
        if config.search.url is not None:
            urls.append(("search.url", config.search.url.replace(QUERY_PLACEHOLDER, "q")))
        if config.search.form_url is not None:
            urls.append(("search.form_url", config.search.form_url))
    return urls


def private_urls(config: SiteConfig) -> list[Problem]:
    """One problem per URL of ``config`` that the crawl would refuse by the one network rule
    (crawler.network): a private address the site did not opt in to, or a loopback or local
    name (refused even with the opt-in). Names that do not resolve here are not judged."""
    problems = []
    for key, url in site_urls(config):
        parts = urlsplit(url)
        try:
            port = parts.port or default_port(parts.scheme)
            checked_addresses_blocking(parts.hostname or "", port, config.private_opt_in)
        except ValueError:
            continue  # not a port number: the site file's own validation says so
        except AddressRefused as exc:
            if exc.kind == UNRESOLVABLE:
                continue  # unresolvable here: the crawl says so if it is there too
            template = (
                N_(
                    "%(url)s is on a private network (%(address)s); crawls refuse it unless "
                    "the site file sets allow_private_network = true"
                )
                if exc.kind == PRIVATE_NETWORK
                else N_(
                    "%(url)s is on a private network (%(address)s); crawls refuse it (name it "
                    "by its IP address or a full domain name)"
                )
            )
            address = exc.address if exc.address is not None else exc
            params = {"url": url, "address": str(address)}
            problems.append(Problem(template, params, key=f"{config.source}: {key}"))
    return problems
