"""The tables of a site file that say how to crawl it: [follow], [browser], [search].

Each is a strict pydantic model: an unknown key or a bad value is an error that names the key.
"""

from __future__ import annotations

import codecs
import re
from typing import Annotated
from urllib.parse import urlsplit

import cssselect
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from crawler.problems import N_, Invalid

#: Host names (without a port), as allowed_domains and [browser] block_hosts take them.
HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_patterns(patterns: list[str]) -> list[str]:
    for index, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise Invalid(
                N_("%(pattern)s is not a valid regular expression: %(error)s"),
                index=index,
                pattern=repr(pattern),
                error=str(exc),
            ) from None
    return patterns


class FollowConfig(Strict):
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
        raise Invalid(N_("must be a CSS selector, not empty"))
    try:
        cssselect.parse(selector)
    except cssselect.SelectorError as exc:
        raise Invalid(
            N_("%(selector)s is not a valid CSS selector (%(error)s)"),
            selector=repr(selector),
            error=str(exc),
        ) from None
    return selector


class BrowserConfig(Strict):
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
    #: Start a video player that loads nothing by itself within ``player_wait`` seconds:
    #: click these buttons (when visible), then play() every <video>, muted.
    play: list[str] = Field(default_factory=lambda: list(DEFAULT_PLAY_BUTTONS))
    #: Seconds a page's player has to request its video by itself, and again after it was
    #: started; 0 never starts a player.
    player_wait: Annotated[float, Field(ge=0, le=60)] = 2.0
    #: A picture viewer (lightbox, slider) is walked: the first visible element of
    #: ``viewer_open`` is clicked, then the viewer's next button of ``viewer_next`` (or the right
    #: arrow key) is pressed until an item repeats, nothing new loads, or ``viewer_steps``.
    viewer_open: list[str] = Field(default_factory=lambda: list(DEFAULT_VIEWER_OPEN))
    viewer_next: list[str] = Field(default_factory=lambda: list(DEFAULT_VIEWER_NEXT))
    #: At most this many presses of "next" per page; 0 never opens a viewer.
    viewer_steps: Annotated[int, Field(ge=0, le=500)] = 30
    #: Seconds to wait after each step for the viewer's next item to load.
    viewer_pause: Annotated[float, Field(ge=0.05, le=10)] = 0.4

    @field_validator("wait_for")
    @classmethod
    def _wait_for(cls, value: str | None) -> str | None:
        return None if value is None else _check_selector(value)

    @field_validator("click", "play", "viewer_open", "viewer_next", mode="before")
    @classmethod
    def _click(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value  # one selector or a list

    @field_validator("click", "play", "viewer_open", "viewer_next")
    @classmethod
    def _click_selectors(cls, selectors: list[str]) -> list[str]:
        for index, selector in enumerate(selectors):
            try:
                _check_selector(selector)
            except Invalid as exc:
                problem = exc.problem
                raise Invalid(problem.template, index=index, **problem.params) from None
        return selectors

    @field_validator("block")
    @classmethod
    def _block(cls, types: list[str]) -> list[str]:
        for index, kind in enumerate(types):
            if kind in ("image", "media"):
                raise Invalid(
                    N_(
                        "%(kind)s cannot be blocked: the crawl finds media through the images "
                        "and videos the browser loads"
                    ),
                    index=index,
                    kind=repr(kind),
                )
            if kind == "document":
                raise Invalid(
                    N_("'document' cannot be blocked: it is the page itself"), index=index
                )
            if kind not in BLOCKABLE_RESOURCES:
                raise Invalid(
                    N_("%(kind)s is not a resource type; use one of %(kinds)s"),
                    index=index,
                    kind=repr(kind),
                    kinds=", ".join(BLOCKABLE_RESOURCES),
                )
        return types

    @field_validator("block_hosts")
    @classmethod
    def _block_hosts(cls, hosts: list[str]) -> list[str]:
        for index, host in enumerate(hosts):
            if not HOST.match(host):
                raise Invalid(
                    N_(
                        "%(host)s is not a host name (write 'ads.example': no scheme, port, "
                        "path or wildcard; subdomains are included)"
                    ),
                    index=index,
                    host=repr(host),
                )
        return [host.lower() for host in hosts]


#: Default ``[browser] play``: the play buttons of common players (video.js, Plyr, JW Player,
#: Flowplayer, MediaElement.js, Clappr), clicked when a player loads nothing by itself.
DEFAULT_PLAY_BUTTONS = (
    ".vjs-big-play-button",
    ".plyr__control--overlaid",
    ".jw-display-icon-display",
    ".fp-play",
    ".mejs__overlay-play",
    ".play-wrapper",
    "button[aria-label='Play']",
    "[data-plyr='play']",
)

#: Default ``[browser] viewer_open``: what opens the picture viewer of common gallery and
#: lightbox libraries (fancybox, lightbox2 and WordPress lightbox plugins, PhotoSwipe,
#: lightGallery, GLightbox, Magnific Popup, Colorbox, Galleria's thumbnails, blueimp Gallery).
DEFAULT_VIEWER_OPEN = (
    "[data-fancybox]",
    "a[data-lightbox]",
    "a[rel^='lightbox']",
    "a[data-rel^='lightbox']",
    "a[data-pswp-width]",
    ".pswp-gallery a",
    "[data-lg-size]",
    ".lightgallery a",
    "a.glightbox",
    "a.mfp-image",
    "a.colorbox",
    ".galleria-thumbnails .galleria-image",
    "[data-gallery]",
)
#: Default ``[browser] viewer_next``: the "next" buttons of those viewers and of sliders
#: (Swiper, Slick, Splide, Glide); when none is visible, the right arrow key is pressed.
DEFAULT_VIEWER_NEXT = (
    ".fancybox-button--arrow_right",
    "[data-fancybox-next]",
    ".f-button.is-next",
    ".lb-next",
    ".pswp__button--arrow--next",
    ".lg-next",
    ".gnext",
    ".mfp-arrow-right",
    "#cboxNext",
    ".galleria-image-nav-right",
    ".blueimp-gallery .next",
    ".swiper-button-next",
    ".slick-next",
    ".splide__arrow--next",
    ".glide__arrow--right",
)


class EmbedsConfig(Strict):
    """Which ``<iframe>`` embeds of a page are followed (the ``[embeds]`` table): players on
    other hosts, one level deep (an embed's own iframes are not followed), each through the
    crawl's downloader (robots.txt, the private-network guard, politeness)."""

    #: Follow a page's iframes (off: embedded players are not looked at).
    follow: StrictBool = True
    #: Only iframes on these hosts (and their subdomains); empty: any host not denied.
    allow: list[str] = Field(default_factory=list)
    #: Iframes on these hosts (and their subdomains) are never followed.
    deny: list[str] = Field(default_factory=list)
    #: At most this many embeds per page (the rest are counted as capped).
    max_per_page: Annotated[int, Field(ge=1, le=100)] = 10

    @field_validator("allow", "deny")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for index, host in enumerate(hosts):
            if not HOST.match(host):
                raise Invalid(
                    N_(
                        "%(host)s is not a host name (write 'player.example': no scheme, port, "
                        "path or wildcard; subdomains are included)"
                    ),
                    index=index,
                    host=repr(host),
                )
        return [host.lower() for host in hosts]

    @model_validator(mode="after")
    def _allowed_not_denied(self) -> EmbedsConfig:
        both = sorted(set(self.allow) & set(self.deny))
        if both:
            raise Invalid(
                N_(
                    "%(hosts)s is in both allow and deny; a host is either followed or not: "
                    "remove it from one list"
                ),
                hosts=", ".join(repr(h) for h in both),
            )
        return self

    def admits(self, host: str) -> bool:
        """Whether an iframe on ``host`` is followed by ``allow`` and ``deny``."""
        host = host.lower()

        def within(hosts: list[str]) -> bool:
            return any(host == h or host.endswith(f".{h}") for h in hosts)

        return not within(self.deny) and (not self.allow or within(self.allow))


#: Where ``{query}`` goes in a search URL template.
QUERY_PLACEHOLDER = "{query}"


def _absolute_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(N_("%(url)s is not an absolute http(s) URL"), url=repr(url))
    return url


class SearchConfig(Strict):
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
            raise Invalid(
                N_(
                    "%(url)s must contain {query} exactly once, where the keyword goes, e.g. "
                    '"https://board.example/search?q={query}"'
                ),
                url=repr(value),
            )
        if "{" in value.replace(QUERY_PLACEHOLDER, "") or "}" in value.replace(
            QUERY_PLACEHOLDER, ""
        ):
            raise Invalid(N_("%(url)s: only {query} may appear in braces"), url=repr(value))
        if "#" in value:
            raise Invalid(N_("%(url)s: a search URL has no #fragment"), url=repr(value))
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
            raise Invalid(N_('must be the name of the form\'s query input, e.g. "q"'))
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise Invalid(
                N_(
                    "%(encoding)s is not a known text encoding (e.g. utf-8, euc-kr, cp949, "
                    "shift_jis, gb18030, big5)"
                ),
                encoding=repr(value),
            ) from None

    @model_validator(mode="after")
    def _one_way(self) -> SearchConfig:
        if self.url is None and self.form_url is None:
            raise Invalid(
                N_(
                    "give url (a GET template with {query}) or form_url and field (a form to "
                    "submit)"
                )
            )
        if self.url is not None and self.form_url is not None:
            raise Invalid(N_("give url or form_url, not both"))
        if self.form_url is not None and self.field is None:
            raise Invalid(
                N_('form_url needs field: the name of the form\'s query input, e.g. field = "q"')
            )
        if self.url is not None and (self.field is not None or self.form_selector is not None):
            raise Invalid(N_("field and form_selector are only used with form_url, not url"))
        return self

    @property
    def page_url(self) -> str:
        """The URL searches start from (the template or the form page), for host checks."""
        return (self.url or "").replace(QUERY_PLACEHOLDER, "x") or self.form_url or ""
