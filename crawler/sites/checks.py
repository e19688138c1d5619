"""A manual check: pages a staff member found by hand, crawled once with their site's settings.

:func:`check_config` turns the site the URLs belong to (:func:`site_for_urls`: the site file
whose domains hold their host) into the configuration of a one-off crawl of exactly those pages:
the same rules (render, robots, delays, browser, embeds, private-network opt-in) with the URLs as
its start pages and no link followed. URLs of no configured site are checked with
:data:`MANUAL_SITE`'s default profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from crawler.sites.config import SiteConfig
from crawler.sites.loading import Sites, find_site
from crawler.sites.tables import FollowConfig

#: The site name runs of URLs that belong to no configured site are recorded under.
MANUAL_SITE = "manual"
#: The spider argument that makes a crawl a manual check (``-a check=URLS``, one URL a line):
#: how a check is handed to scrapyd, whose job arguments are strings.
CHECK_ARGUMENT = "check"


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _holds(domain: str, host: str) -> bool:
    domain = domain.lower()
    return host == domain or host.endswith(f".{domain}")


def site_for_urls(urls: Sequence[str], configs: Iterable[SiteConfig]) -> SiteConfig | None:
    """The one site whose domains hold the host of every URL, or None when no site holds them;
    a ValueError when the URLs belong to more than one site (check them separately)."""
    configs = list(configs)
    owners: dict[str, list[str]] = {}
    for url in urls:
        host = host_of(url)
        owner = next((c for c in configs if any(_holds(d, host) for d in c.domains)), None)
        owners.setdefault(owner.name if owner else "", []).append(url)
    if len(owners) > 1:
        groups = "; ".join(
            f"{name or 'no site'}: {', '.join(found)}" for name, found in sorted(owners.items())
        )
        raise ValueError(f"the URLs belong to different sites, check them separately ({groups})")
    (name,) = owners
    return next((c for c in configs if c.name == name), None)


def check_config(
    urls: Sequence[str], site: SiteConfig | None, *, allow_private_network: bool = False
) -> SiteConfig:
    """The configuration that crawls exactly ``urls`` once: ``site``'s rules (or the default
    profile when None) with the URLs as start pages and no link followed, no schedule and no
    search. A ValueError (pydantic's) for a URL that is not http(s)."""
    follow = FollowConfig(max_depth=0, max_pages=max(1, len(urls)))
    if site is None:
        return SiteConfig(
            name=MANUAL_SITE,
            start_urls=list(urls),
            allow_private_network=allow_private_network,
            follow=follow,
        )
    data = site.model_dump()
    data.update(start_urls=list(urls), follow=follow.model_dump(), schedule=None, search=None)
    if allow_private_network:
        data["allow_private_network"] = True
    return SiteConfig.model_validate({**data, "source": site.source})


def check_urls_argument(value: object) -> list[str]:
    """The URLs of the spider's ``check`` argument: one a line (blank lines ignored); a
    ValueError when it holds none."""
    urls = [line.strip() for line in str(value).splitlines() if line.strip()]
    if not urls:
        raise ValueError("check needs page URLs, one a line: -a check=https://site.example/post/1")
    return urls


def argument_config(site: str, value: object, sites: Sites) -> SiteConfig:
    """The configuration of a check handed over as spider arguments (``-a site=NAME -a
    check=URLS``): the rules of ``site`` in ``sites`` (the database, or the site files), or
    the default profile for :data:`MANUAL_SITE`."""
    base = None if site == MANUAL_SITE else find_site(site, sites)
    return check_config(check_urls_argument(value), base)
