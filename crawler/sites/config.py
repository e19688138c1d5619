"""SiteConfig: one validated site file, built from its tables."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from crawler.network import NO_OPT_IN, PrivateOptIn
from crawler.problems import N_, Invalid
from crawler.sites.schedule import ScheduleConfig
from crawler.sites.tables import (
    HOST,
    BrowserConfig,
    EmbedsConfig,
    FollowConfig,
    SearchConfig,
    Strict,
)
from crawler.sites.takedown import TakedownConfig

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: What stands for the number in a successor URL's host (successor_urls).
SUCCESSOR_NUMBER = "{n}"
#: How many numbers after the current one a "{n}" successor URL is tried with.
SUCCESSOR_TRIES = 5


def _current_number(pattern: str, start_urls: list[str]) -> int | None:
    """The number ``{n}`` stands for in the host of the first start URL the successor URL
    ``pattern`` matches (by host only), or None."""
    # The host around {n} (a marker that survives urlsplit's lowercasing of hosts).
    marked = (urlsplit(pattern.replace(SUCCESSOR_NUMBER, "N1N")).hostname or "").lower()
    before, _, after = marked.partition("n1n")
    matcher = re.compile(f"^{re.escape(before)}([0-9]{{1,9}}){re.escape(after)}$")
    for url in start_urls:
        found = matcher.match((urlsplit(url).hostname or "").lower())
        if found:
            return int(found.group(1))
    return None


class SiteConfig(Strict):
    """A validated site file. Build it with :func:`load_site`."""

    name: str
    start_urls: Annotated[list[str], Field(min_length=1)]
    allowed_domains: list[str] = Field(default_factory=list)
    allow_private_network: StrictBool = False
    #: With allow_private_network: other private "host:port"s the site's pages may use (a media
    #: server beside it); every other private address stays refused.
    private_hosts: list[Annotated[str, Field(pattern=r"^[^\s/:@]+:[0-9]{1,5}$")]] = Field(
        default_factory=list
    )
    #: "browser" renders the site's pages in Chromium (JavaScript sites); see [browser].
    render: Literal["html", "browser"] = "html"
    download_delay: Annotated[float, Field(ge=0, le=3600)] = 0.0
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    #: robots.txt is obeyed unless a site file says otherwise, and why (robots_reason).
    obey_robots: StrictBool = True
    robots_reason: str = ""
    #: The User-Agent this site is crawled with (default: the project's USER_AGENT).
    user_agent: str = ""
    #: Scrapy's AutoThrottle: slow down when the site slows down (on by default).
    autothrottle: StrictBool = True
    #: Retries of a request that failed (5xx, 408, 429, timeouts, dropped connections) ...
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    #: ... waiting this many seconds before the first, doubling each time
    #: (crawler/crawling/middlewares/retries.py),
    retry_backoff: Annotated[float, Field(ge=0, le=600)] = 1.0
    #: ... at most this long; a Retry-After asking for more gives the request up.
    retry_backoff_max: Annotated[float, Field(ge=0, le=3600)] = 60.0
    follow: FollowConfig = Field(default_factory=FollowConfig)
    #: The [browser] table; only with render = "browser" (see ``browser_options``).
    browser: BrowserConfig | None = None
    #: The [embeds] table: which <iframe> players on other hosts are followed (see
    #: ``embeds_options``).
    embeds: EmbedsConfig | None = None
    #: The [takedown] table: notice language, abuse contact, grouping (see ``takedown_options``).
    takedown: TakedownConfig | None = None
    #: The [search] table: how the site is searched for case keywords (search crawls).
    search: SearchConfig | None = None
    #: The [schedule] table: when `repostwatch scheduler` crawls the site (none: only by hand).
    schedule: ScheduleConfig | None = None
    #: Where the site goes when it is blocked: candidate URLs, each tried when every start URL
    #: dies in a crawl; "{n}" stands for the number in the start URL's host, and is tried with
    #: the next SUCCESSOR_TRIES numbers (https://site{n}.example/ after site12: site13...).
    successor_urls: list[str] = Field(default_factory=list)
    #: Where the file was loaded from (set by load_site, not a key in the file).
    source: str = Field(default="", exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise Invalid(
                N_(
                    "%(value)s is not a valid site name: use lowercase letters, digits, '-' and '_'"
                ),
                value=repr(value),
            )
        return value

    @field_validator("start_urls")
    @classmethod
    def _start_urls(cls, urls: list[str]) -> list[str]:
        bad = [
            (index, url)
            for index, url in enumerate(urls)
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname
        ]
        if len(bad) == 1:
            index, url = bad[0]
            raise Invalid(N_("%(url)s is not an absolute http(s) URL"), index=index, url=repr(url))
        if bad:
            urls_text = ", ".join(f"[{index}] {url!r}" for index, url in bad)
            raise Invalid(N_("these are not absolute http(s) URLs: %(urls)s"), urls=urls_text)
        return urls

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        for index, domain in enumerate(domains):
            if not HOST.match(domain):
                raise Invalid(
                    N_(
                        "%(host)s is not a host name (write 'example.com': no scheme, port, "
                        "path or wildcard; subdomains are included)"
                    ),
                    index=index,
                    host=repr(domain),
                )
        return [domain.lower() for domain in domains]

    @model_validator(mode="after")
    def _start_urls_on_site(self) -> SiteConfig:
        if self.allowed_domains:
            for index, url in enumerate(self.start_urls):
                host = (urlsplit(url).hostname or "").lower()
                if not any(host == d or host.endswith(f".{d}") for d in self.allowed_domains):
                    raise Invalid(
                        N_(
                            "host %(host)s is not in allowed_domains, so it would never be "
                            "crawled; add it to allowed_domains"
                        ),
                        key=f"start_urls[{index}]",
                        host=repr(host),
                    )
        return self

    @field_validator("successor_urls")
    @classmethod
    def _successor_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            plain = url.replace(SUCCESSOR_NUMBER, "1")
            parts = urlsplit(plain)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Invalid(
                    N_(
                        '%(url)s is not an absolute http(s) URL (write "https://site{n}.example/", '
                        "{n} standing for the number in the host)"
                    ),
                    index=index,
                    url=repr(url),
                )
            if "{" in plain or "}" in plain:
                raise Invalid(
                    N_(
                        "%(url)s: only {n} may stand in a successor URL (the number in the "
                        "start URL's host)"
                    ),
                    index=index,
                    url=repr(url),
                )
            if url.count(SUCCESSOR_NUMBER) > 1:
                raise Invalid(N_("%(url)s: {n} may appear once"), index=index, url=repr(url))
        return urls

    @model_validator(mode="after")
    def _successor_numbers_known(self) -> SiteConfig:
        for index, url in enumerate(self.successor_urls):
            if SUCCESSOR_NUMBER in url and _current_number(url, self.start_urls) is None:
                raise Invalid(
                    N_(
                        "%(url)s matches no start URL's host, so the number {n} stands for is "
                        "unknown; write it like the start URL with the number replaced by {n}"
                    ),
                    key=f"successor_urls[{index}]",
                    url=repr(url),
                )
        return self

    def successor_candidates(self, tries: int = SUCCESSOR_TRIES) -> list[str]:
        """The URLs to try when every start URL died: each successor URL, a ``{n}`` one with
        the ``tries`` numbers after the start URL's; never a URL on the site's own domains."""
        candidates: list[str] = []
        for url in self.successor_urls:
            if SUCCESSOR_NUMBER in url:
                number = _current_number(url, self.start_urls)
                assert number is not None  # validated
                steps = range(1, tries + 1)
                found = [url.replace(SUCCESSOR_NUMBER, str(number + step)) for step in steps]
            else:
                found = [url]
            for candidate in found:
                host = (urlsplit(candidate).hostname or "").lower()
                if candidate not in candidates and not any(
                    host == d or host.endswith(f".{d}") for d in self.domains
                ):
                    candidates.append(candidate)
        return candidates

    @model_validator(mode="after")
    def _search_on_site(self) -> SiteConfig:
        if self.search is not None:
            key = "url" if self.search.url is not None else "form_url"
            host = (urlsplit(self.search.page_url).hostname or "").lower()
            if not any(host == d or host.endswith(f".{d}") for d in self.domains):
                raise Invalid(
                    N_(
                        "host %(host)s is not one of the site's domains (%(domains)s), so it "
                        "would never be searched; add it to allowed_domains"
                    ),
                    key=f"search.{key}",
                    host=repr(host),
                    domains=", ".join(self.domains),
                )
        return self

    @model_validator(mode="after")
    def _search_schedule_needs_search(self) -> SiteConfig:
        schedule = self.schedule
        if schedule is not None and schedule.search_schedule is not None and self.search is None:
            key = "search_every" if schedule.search_every else "search_cron"
            raise Invalid(
                N_(
                    "search crawls need a [search] table saying how the site is searched; add "
                    "one (README: Search by case keywords) or remove the key"
                ),
                key=f"schedule.{key}",
            )
        return self

    @model_validator(mode="after")
    def _backoff_order(self) -> SiteConfig:
        if self.retry_backoff_max < self.retry_backoff:
            raise Invalid(
                N_(
                    "%(longest)s is shorter than retry_backoff (%(first)s); the longest wait "
                    "cannot be shorter than the first"
                ),
                key="retry_backoff_max",
                longest=self.retry_backoff_max,
                first=self.retry_backoff,
            )
        return self

    @model_validator(mode="after")
    def _robots_reason(self) -> SiteConfig:
        if not self.obey_robots and not self.robots_reason:
            raise Invalid(
                N_(
                    "required when obey_robots = false; say why this site's robots.txt is not "
                    "obeyed (it is reviewed like code)"
                ),
                key="robots_reason",
            )
        return self

    @model_validator(mode="after")
    def _browser_table_needs_browser(self) -> SiteConfig:
        if self.browser is not None and self.render != "browser":
            raise Invalid(
                N_(
                    'the [browser] table is only used with render = "browser"; set render or '
                    "remove the table"
                ),
                key="browser",
            )
        return self

    @property
    def browser_options(self) -> BrowserConfig:
        """The [browser] table, or its defaults when the file leaves it out."""
        return self.browser if self.browser is not None else BrowserConfig()

    @property
    def embeds_options(self) -> EmbedsConfig:
        """The [embeds] table, or its defaults (follow any host's iframes, 10 a page)."""
        return self.embeds if self.embeds is not None else EmbedsConfig()

    @property
    def takedown_options(self) -> TakedownConfig:
        """The [takedown] table, or its defaults (English, no contact, per site)."""
        return self.takedown if self.takedown is not None else TakedownConfig()

    @property
    def private_opt_in(self) -> PrivateOptIn:
        """The private addresses the crawl and the browser may reach for this site: none, or
        with ``allow_private_network = true`` the hosts and ports of its own start and search
        URLs and its ``private_hosts`` (never another service on the same network)."""
        if not self.allow_private_network:
            return NO_OPT_IN
        own = [*self.start_urls, *([self.search.page_url] if self.search is not None else [])]
        own += [f"http://{host}" for host in self.private_hosts]
        return PrivateOptIn.of_urls(own)

    @property
    def domains(self) -> list[str]:
        """allowed_domains, or the start URLs' hosts when the file leaves it out."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts: list[str] = []
        for url in self.start_urls:
            host = (urlsplit(url).hostname or "").lower()
            if host and host not in hosts:
                hosts.append(host)
        return hosts
