"""Site files: one TOML file per monitored site, loaded and validated into a SiteConfig.

Errors name the file, the key and what is wrong, e.g.
``settings/sites/foo.toml: follow.allow[1]: not a valid regular expression (...)``.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import zipfile
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import cssselect
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

SITE_FILE_SUFFIX = ".toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class SiteConfigError(ValueError):
    """A site file that cannot be used. ``str()`` lists every problem, one per line."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {problem}" for problem in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_patterns(patterns: list[str]) -> list[str]:
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"[{index}] {pattern!r} is not a valid regular expression: {exc}"
            ) from None
    return patterns


class FollowConfig(_Strict):
    """Which links a crawl follows from the start pages."""

    enabled: StrictBool = True
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    max_depth: Annotated[int, Field(ge=0, le=100)] = 5
    max_pages: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    # Trap limits (spiders/traps.py): each refused link is counted under its reason.
    max_url_length: Annotated[int, Field(ge=64, le=65_536)] = 2000
    max_repeated_segments: Annotated[int, Field(ge=1, le=100)] = 3
    max_query_variants: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    max_calendar_pages: Annotated[int, Field(ge=0, le=1_000_000)] = 30

    _patterns = field_validator("allow", "deny")(_check_patterns)


#: Playwright's resource types a site file may block in the browser. "document" is the page
#: itself; "image" and "media" are how the browser shows the crawl the media it loads.
BLOCKABLE_RESOURCES = (
    "stylesheet",
    "font",
    "script",
    "texttrack",
    "xhr",
    "fetch",
    "eventsource",
    "websocket",
    "manifest",
    "other",
)
#: Analytics and advertising hosts the browser never contacts unless a site file says otherwise
#: (subdomains included). They slow pages down and tell third parties what the crawl looks at.
DEFAULT_BLOCK_HOSTS = (
    "google-analytics.com",
    "googletagmanager.com",
    "googlesyndication.com",
    "googleadservices.com",
    "doubleclick.net",
    "adservice.google.com",
    "connect.facebook.net",
    "analytics.twitter.com",
    "scorecardresearch.com",
    "quantserve.com",
    "hotjar.com",
    "clarity.ms",
    "mc.yandex.ru",
    "mc.yandex.com",
    "adnxs.com",
    "criteo.com",
    "criteo.net",
    "taboola.com",
    "outbrain.com",
    "popads.net",
    "propellerads.com",
    "exoclick.com",
    "juicyads.com",
    "trafficjunky.net",
    "trafficstars.com",
    "adsterra.com",
    "wcs.naver.net",
    "analytics.naver.com",
)


def _check_selector(selector: str) -> str:
    if not selector:
        raise ValueError("must be a CSS selector, not empty")
    try:
        cssselect.parse(selector)
    except cssselect.SelectorError as exc:
        raise ValueError(f"{selector!r} is not a valid CSS selector ({exc})") from None
    return selector


class BrowserConfig(_Strict):
    """How a ``render = "browser"`` site's pages are rendered (the ``[browser]`` table)."""

    #: CSS selector of what must be on the page before it is read (e.g. the gallery's images).
    wait_for: str | None = None
    #: Seconds to wait for ``wait_for``; on timeout the page is read as it is (and logged).
    wait_timeout: Annotated[float, Field(ge=0.1, le=120)] = 10.0
    #: At most this many scrolls to the bottom, for pages that load more as you scroll.
    scroll: Annotated[int, Field(ge=0, le=200)] = 0
    #: Seconds to wait after each scroll for more to load.
    scroll_pause: Annotated[float, Field(ge=0.05, le=30)] = 0.5
    #: Buttons clicked, in order, when present: age gates, consent banners.
    click: list[str] = Field(default_factory=list)
    #: Resource types the browser does not load (see BLOCKABLE_RESOURCES).
    block: list[str] = Field(default_factory=lambda: ["font"])
    #: Hosts (and their subdomains) the browser never contacts.
    block_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCK_HOSTS))
    #: Let the browser download the images and videos it asks for. Off: their URLs are recorded
    #: and the requests stopped, so each media is fetched once, by the crawler (and its cache).
    load_media: StrictBool = False

    @field_validator("wait_for")
    @classmethod
    def _wait_for(cls, value: str | None) -> str | None:
        return None if value is None else _check_selector(value)

    @field_validator("click", mode="before")
    @classmethod
    def _click(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value  # one selector or a list

    @field_validator("click")
    @classmethod
    def _click_selectors(cls, selectors: list[str]) -> list[str]:
        for index, selector in enumerate(selectors):
            try:
                _check_selector(selector)
            except ValueError as exc:
                raise ValueError(f"[{index}] {exc}") from None
        return selectors

    @field_validator("block")
    @classmethod
    def _block(cls, types: list[str]) -> list[str]:
        for index, kind in enumerate(types):
            if kind in ("image", "media"):
                raise ValueError(
                    f"[{index}] {kind!r} cannot be blocked: the crawl finds media through the "
                    "images and videos the browser loads"
                )
            if kind == "document":
                raise ValueError(f"[{index}] 'document' cannot be blocked: it is the page itself")
            if kind not in BLOCKABLE_RESOURCES:
                raise ValueError(
                    f"[{index}] {kind!r} is not a resource type; use one of "
                    + ", ".join(BLOCKABLE_RESOURCES)
                )
        return types

    @field_validator("block_hosts")
    @classmethod
    def _block_hosts(cls, hosts: list[str]) -> list[str]:
        for index, host in enumerate(hosts):
            if not _HOST.match(host):
                raise ValueError(
                    f"[{index}] {host!r} is not a host name (write 'ads.example': no scheme, "
                    "port, path or wildcard; subdomains are included)"
                )
        return [host.lower() for host in hosts]


#: Where ``{query}`` goes in a search URL template.
QUERY_PLACEHOLDER = "{query}"


def _absolute_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    return url


class SearchConfig(_Strict):
    """How a site is searched for case keywords (the ``[search]`` table): a URL template with
    ``{query}``, or a form on a page. Used by search crawls (``repostwatch crawl SITE --search``).
    """

    #: GET URL template, e.g. "https://board.example/search?q={query}".
    url: str | None = None
    #: Or: the page holding the search form, the form (CSS selector) and the query field's name.
    form_url: str | None = None
    form_selector: str | None = None
    field: str | None = None
    #: How the keyword is encoded before percent-encoding: UTF-8 for url, the form page's own
    #: encoding for a form; legacy sites may need "euc-kr", "cp949", "shift_jis", ...
    encoding: str | None = None
    #: The link to the next result page, and how many result pages are read per keyword.
    next_page: str = 'a[rel~="next"]'
    max_result_pages: Annotated[int, Field(ge=1, le=100)] = 5
    #: Where the result links are (CSS selector; default: the whole result page).
    result_links: str | None = None
    #: Links away from a result page that are followed (0: only the result pages' own media).
    follow_depth: Annotated[int, Field(ge=0, le=5)] = 1

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _absolute_url(value.replace(QUERY_PLACEHOLDER, "x"))
        if value.count(QUERY_PLACEHOLDER) != 1:
            raise ValueError(
                f"{value!r} must contain {QUERY_PLACEHOLDER} exactly once, where the keyword "
                'goes, e.g. "https://board.example/search?q={query}"'
            )
        if "{" in value.replace(QUERY_PLACEHOLDER, "") or "}" in value.replace(
            QUERY_PLACEHOLDER, ""
        ):
            raise ValueError(f"{value!r}: only {QUERY_PLACEHOLDER} may appear in braces")
        if "#" in value:
            raise ValueError(f"{value!r}: a search URL has no #fragment")
        return value

    @field_validator("form_url")
    @classmethod
    def _form_url(cls, value: str | None) -> str | None:
        return None if value is None else _absolute_url(value)

    @field_validator("form_selector", "next_page", "result_links")
    @classmethod
    def _selectors(cls, value: str | None) -> str | None:
        return None if value is None else _check_selector(value)

    @field_validator("field")
    @classmethod
    def _field(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError('must be the name of the form\'s query input, e.g. "q"')
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"{value!r} is not a known text encoding (e.g. utf-8, euc-kr, cp949, shift_jis, "
                "gb18030, big5)"
            ) from None

    @model_validator(mode="after")
    def _one_way(self) -> SearchConfig:
        if self.url is None and self.form_url is None:
            raise ValueError(
                "give url (a GET template with {query}) or form_url and field (a form to submit)"
            )
        if self.url is not None and self.form_url is not None:
            raise ValueError("give url or form_url, not both")
        if self.form_url is not None and self.field is None:
            raise ValueError(
                'form_url needs field: the name of the form\'s query input, e.g. field = "q"'
            )
        if self.url is not None and (self.field is not None or self.form_selector is not None):
            raise ValueError("field and form_selector are only used with form_url, not url")
        return self

    @property
    def page_url(self) -> str:
        """The URL searches start from (the template or the form page), for host checks."""
        return (self.url or "").replace(QUERY_PLACEHOLDER, "x") or self.form_url or ""


#: Languages a takedown notice can be written in (crawler/takedown/templates/<language>.j2).
NOTICE_LANGUAGES = ("ko", "en", "ja", "zh")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")


class TakedownConfig(_Strict):
    """Where and how takedown notices for this site go (the ``[takedown]`` table)."""

    #: The language of the notice text (a template per language).
    language: Literal["ko", "en", "ja", "zh"] = "en"
    #: The site's abuse contact (an e-mail address); without it notices can only be exported.
    abuse_contact: str | None = None
    #: One notice per site, or one per host of the flagged pages (sites spread over domains).
    group_by: Literal["site", "host"] = "site"

    @field_validator("abuse_contact")
    @classmethod
    def _abuse_contact(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (write abuse@site.example)")
        return value


_EVERY = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class ScheduleConfig(_Strict):
    """When ``repostwatch scheduler`` crawls the site (the ``[schedule]`` table): ``every`` (an
    interval such as "6h", "30m", "1d", "1h30m") or ``cron`` (five fields, e.g. "0 */6 * * *"),
    read in ``timezone``. The timing rules are APScheduler's (crawler/scheduling/timing.py).

    ``search_every`` / ``search_cron`` schedule search crawls (the site's ``[search]`` run for
    every active case keyword) the same way; a table may hold only those."""

    # timezone first: the cron validators read it.
    timezone: str = "UTC"
    every: str | None = None
    cron: str | None = None
    search_every: str | None = None
    search_cron: str | None = None
    enabled: StrictBool = True

    @field_validator("every", "search_every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _EVERY.match(value)
        if not value or match is None:
            raise ValueError(
                f"{value!r} is not an interval: write a number with d, h, m or s, e.g. "
                '"6h", "30m", "1d" or "1h30m"'
            )
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        if days * 86400 + hours * 3600 + minutes * 60 + seconds < 60:
            raise ValueError(f"{value!r} is shorter than the shortest interval, 1 minute")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'{value!r} is not a time zone: use an IANA name such as "UTC" or "Asia/Seoul"'
            ) from None
        return value

    @field_validator("cron", "search_cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone=info.data.get("timezone") or "UTC")
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a cron expression ({exc}); write five fields: minute hour "
                'day month weekday, e.g. "0 */6 * * *"'
            ) from None
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> ScheduleConfig:
        searches = self.search_every is not None or self.search_cron is not None
        if (self.every is not None and self.cron is not None) or not (self.crawls or searches):
            raise ValueError(
                'give every (an interval, e.g. "6h") or cron (e.g. "0 */6 * * *"), not both '
                "and not neither (or only search_every / search_cron: search crawls only)"
            )
        if self.search_every is not None and self.search_cron is not None:
            raise ValueError(
                'give search_every (e.g. "1d") or search_cron (e.g. "0 3 * * *"), not both'
            )
        return self

    @property
    def crawls(self) -> bool:
        """Whether the table schedules ordinary crawls (``every`` or ``cron``)."""
        return self.every is not None or self.cron is not None

    @property
    def search_schedule(self) -> ScheduleConfig | None:
        """The search crawls' schedule as a schedule of its own (same zone, same ``enabled``),
        or None when the table schedules no search crawls."""
        if self.search_every is None and self.search_cron is None:
            return None
        return ScheduleConfig(
            timezone=self.timezone,
            every=self.search_every,
            cron=self.search_cron,
            enabled=self.enabled,
        )

    @property
    def interval_seconds(self) -> int | None:
        """``every`` in seconds (None for a cron schedule)."""
        if self.every is None:
            return None
        days, hours, minutes, seconds = (int(p or 0) for p in _EVERY.match(self.every).groups())
        return days * 86400 + hours * 3600 + minutes * 60 + seconds

    @property
    def rule(self) -> str:
        """The rule as one line, e.g. "every 6h" or "cron 0 */6 * * * (Asia/Seoul)" ("search
        only" for a table that schedules search crawls only)."""
        if not self.crawls:
            return "search only"
        rule = f"every {self.every}" if self.every is not None else f"cron {self.cron}"
        return rule if self.timezone == "UTC" else f"{rule} ({self.timezone})"


class SiteConfig(_Strict):
    """A validated site file. Build it with :func:`load_site`."""

    name: str
    start_urls: Annotated[list[str], Field(min_length=1)]
    allowed_domains: list[str] = Field(default_factory=list)
    allow_private_network: StrictBool = False
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
    #: ... waiting this many seconds before the first, doubling each time (crawler/retries.py),
    retry_backoff: Annotated[float, Field(ge=0, le=600)] = 1.0
    #: ... at most this long; a Retry-After asking for more gives the request up.
    retry_backoff_max: Annotated[float, Field(ge=0, le=3600)] = 60.0
    follow: FollowConfig = Field(default_factory=FollowConfig)
    #: The [browser] table; only with render = "browser" (see ``browser_options``).
    browser: BrowserConfig | None = None
    #: The [takedown] table: notice language, abuse contact, grouping (see ``takedown_options``).
    takedown: TakedownConfig | None = None
    #: The [search] table: how the site is searched for case keywords (search crawls).
    search: SearchConfig | None = None
    #: The [schedule] table: when `repostwatch scheduler` crawls the site (none: only by hand).
    schedule: ScheduleConfig | None = None
    #: Where the file was loaded from (set by load_site, not a key in the file).
    source: str = Field(default="", exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid site name: use lowercase letters, digits, '-' and '_'"
            )
        return value

    @field_validator("start_urls")
    @classmethod
    def _start_urls(cls, urls: list[str]) -> list[str]:
        bad = [
            f"[{index}] {url!r}"
            for index, url in enumerate(urls)
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname
        ]
        if len(bad) == 1:
            raise ValueError(f"{bad[0]} is not an absolute http(s) URL")
        if bad:
            raise ValueError(f"these are not absolute http(s) URLs: {', '.join(bad)}")
        return urls

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        for index, domain in enumerate(domains):
            if not _HOST.match(domain):
                raise ValueError(
                    f"[{index}] {domain!r} is not a host name (write 'example.com': no scheme, "
                    "port, path or wildcard; subdomains are included)"
                )
        return [domain.lower() for domain in domains]

    @model_validator(mode="after")
    def _start_urls_on_site(self) -> SiteConfig:
        if self.allowed_domains:
            for index, url in enumerate(self.start_urls):
                host = (urlsplit(url).hostname or "").lower()
                if not any(host == d or host.endswith(f".{d}") for d in self.allowed_domains):
                    raise ValueError(
                        f"start_urls[{index}]: host {host!r} is not in allowed_domains, so it "
                        "would never be crawled; add it to allowed_domains"
                    )
        return self

    @model_validator(mode="after")
    def _search_on_site(self) -> SiteConfig:
        if self.search is not None:
            key = "url" if self.search.url is not None else "form_url"
            host = (urlsplit(self.search.page_url).hostname or "").lower()
            if not any(host == d or host.endswith(f".{d}") for d in self.domains):
                raise ValueError(
                    f"search.{key}: host {host!r} is not one of the site's domains "
                    f"({', '.join(self.domains)}), so it would never be searched; add it to "
                    "allowed_domains"
                )
        return self

    @model_validator(mode="after")
    def _search_schedule_needs_search(self) -> SiteConfig:
        schedule = self.schedule
        if schedule is not None and schedule.search_schedule is not None and self.search is None:
            key = "search_every" if schedule.search_every else "search_cron"
            raise ValueError(
                f"schedule.{key}: search crawls need a [search] table saying how the site is "
                "searched; add one (README: Search by case keywords) or remove the key"
            )
        return self

    @model_validator(mode="after")
    def _backoff_order(self) -> SiteConfig:
        if self.retry_backoff_max < self.retry_backoff:
            raise ValueError(
                f"retry_backoff_max: {self.retry_backoff_max} is shorter than retry_backoff "
                f"({self.retry_backoff}); the longest wait cannot be shorter than the first"
            )
        return self

    @model_validator(mode="after")
    def _robots_reason(self) -> SiteConfig:
        if not self.obey_robots and not self.robots_reason:
            raise ValueError(
                "robots_reason: required when obey_robots = false; say why this site's "
                "robots.txt is not obeyed (it is reviewed like code)"
            )
        return self

    @model_validator(mode="after")
    def _browser_table_needs_browser(self) -> SiteConfig:
        if self.browser is not None and self.render != "browser":
            raise ValueError(
                'browser: the [browser] table is only used with render = "browser"; set render '
                "or remove the table"
            )
        return self

    @property
    def browser_options(self) -> BrowserConfig:
        """The [browser] table, or its defaults when the file leaves it out."""
        return self.browser if self.browser is not None else BrowserConfig()

    @property
    def takedown_options(self) -> TakedownConfig:
        """The [takedown] table, or its defaults (English, no contact, per site)."""
        return self.takedown if self.takedown is not None else TakedownConfig()

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


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _problem(error: dict) -> str:
    loc = _location(tuple(error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; the README lists every key)"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "model_type":
        message = f"must be a table, e.g. [{loc}]"
    elif kind == "bool_type":
        message = "must be true or false (without quotes)"
    elif kind == "literal_error" and loc == "render":
        message = 'must be "html" or "browser" (pages rendered in Chromium, for JavaScript sites)'
    if loc == "(file)" and message.startswith(
        (
            "start_urls[",
            "browser: ",
            "robots_reason:",
            "search.",
            "retry_backoff_max:",
            "schedule.search_",
        )
    ):
        return message
    if message.startswith("["):  # a list validator naming the item: start_urls[1] ...
        index, _, rest = message.partition("] ")
        return f"{loc}{index}]: {rest}"
    return f"{loc}: {message}"


def parse_site(text: str, source: Path | str = "<site>") -> SiteConfig:
    """Validate the TOML text of a site file; raises SiteConfigError naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(source, [f"not valid TOML: {exc}"]) from None
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(source, [_problem(error) for error in exc.errors()]) from None
    stem = Path(str(source)).stem
    if str(source).endswith(SITE_FILE_SUFFIX) and stem != config.name:
        raise SiteConfigError(
            source, [f"name: {config.name!r} differs from the file name; rename one to match"]
        )
    return config.model_copy(update={"source": str(source)})


def _in_archive(path: Path) -> zipfile.Path | None:
    """``path`` inside a zip archive, or None: the project deployed to scrapyd runs from an egg
    (a zip file), and the site files it ships are read from there (settings/sites/)."""
    for parent in path.parents:
        if parent.is_file():
            if not zipfile.is_zipfile(parent):
                return None
            inner = zipfile.Path(parent, path.relative_to(parent).as_posix())
            return inner if inner.exists() else zipfile.Path(parent, f"{inner.at}/")
    return None


def _exists(path: Path) -> bool:
    return path.exists() or ((inner := _in_archive(path)) is not None and inner.exists())


def load_site(path: Path | str) -> SiteConfig:
    path = Path(path)
    try:
        archived = None if path.exists() else _in_archive(path)
        text = (archived or path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteConfigError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(path, [f"cannot be read: {exc}"]) from None
    return parse_site(text, path)


def site_files(sites_dir: Path | str) -> list[Path]:
    """The site files of a directory, sorted by name."""
    directory = Path(sites_dir)
    if directory.is_dir():
        return sorted(directory.glob(f"*{SITE_FILE_SUFFIX}"))
    archived = _in_archive(directory)
    if archived is not None and archived.is_dir():
        names = (entry.name for entry in archived.iterdir() if entry.is_file())
        return sorted(directory / name for name in names if name.endswith(SITE_FILE_SUFFIX))
    raise SiteConfigError(
        sites_dir, ["no such directory; point REPOSTWATCH_SITES_DIR at your site files"]
    )


def resolve_site(name_or_path: str, sites_dir: Path | str) -> Path:
    """A site NAME (looked up in ``sites_dir``) or the PATH of a site file."""
    candidate = Path(name_or_path)
    if candidate.suffix == SITE_FILE_SUFFIX or candidate.parent != Path("."):
        return candidate
    path = Path(sites_dir) / f"{name_or_path}{SITE_FILE_SUFFIX}"
    if not _exists(path):
        names = ", ".join(p.stem for p in site_files(sites_dir)) or "none"
        raise SiteConfigError(
            path, [f"no site named {name_or_path!r} in {sites_dir} (known sites: {names})"]
        )
    return path


def find_site(name_or_path: str, sites_dir: Path | str) -> SiteConfig:
    return load_site(resolve_site(name_or_path, sites_dir))
