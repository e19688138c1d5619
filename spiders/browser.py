"""Pages of ``render = "browser"`` sites: rendered in Chromium through scrapy-playwright.

A page request carries ``playwright=True`` in its meta, so scrapy-playwright's download handler
opens it in a browser page; every other request of the crawl (robots.txt, the pipeline's media
downloads) has no such meta and goes through Scrapy's own HTTP client. The browser itself is only
started by the first page request.

For each page:

* :func:`init_page` (before navigation) routes every request the browser makes through
  :func:`refusal`: only http(s), never a blocked resource type or host, never a host that
  :func:`crawler.network.checked_addresses` refuses (a private address unless it is the site's
  own host and port and the site opts in). Behind it, the guard proxy the crawl starts
  (:mod:`crawler.browser.guard_proxy`) applies the same rule to every connection Chromium makes,
  including those no route sees (WebSocket, beacons, names Chromium would resolve by itself).
  It records the URL of every image and video request the page makes and stops it there (the
  crawler downloads the media once, through its media cache: a re-crawl of an unchanged page
  costs one conditional request per media, not a full download by Chromium too), unless the
  site file has ``load_media = true``; and it records every other response that is an image or
  a video (a script's ``fetch`` of one).
  Requests of the page's video player (:mod:`crawler.extraction.player`: HLS/DASH manifests,
  their segments, video files, WebVTT storyboards; an MSE player's ``<video>`` plays a
  ``blob:``, so only the network names them) are recorded in a
  :class:`~crawler.extraction.player.PlayerTraffic`: manifests load (the player needs them, and
  their text says which segments they cover), segments and video files are recorded and
  stopped like other media unless ``load_media``. An iframe on another origin is kept from
  loading inline (``browser/embeds_deferred``): the spider follows it as an embed through the
  downloader, where robots.txt and the site file's ``[embeds]`` rules apply.
* :func:`prepare_page` (after load) clicks age gates and consent buttons, waits for the site
  file's ``wait_for`` selector, scrolls to load more, walks a picture viewer
  (:func:`spiders.viewer.walk_viewer`: opens a lightbox or slider and presses "next" until an
  item repeats), starts a video player that asked for
  nothing by itself (:func:`spiders.player.start_player`), then lets the network settle. Its
  report is the page method's ``result``.
* The page is closed by scrapy-playwright when its content has been read, and also when
  anything failed: the page object is never handed to the spider (no ``playwright_include_page``).

Everything in a request's meta is plain data or a module-level function, so requests can still be
serialized by a disk or Redis scheduler queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawler.extraction.player import (
    MANIFEST,
    PLAYER_RESOURCE_TYPES,
    SNIFFED_CONTENT_TYPES,
    PlayerTraffic,
    classify,
)
from crawler.network import AddressRefused, PrivateOptIn, checked_addresses, default_port
from crawler.sites import BrowserConfig
from crawler.stats import (
    BROWSER_BLOCKED_HOST,
    BROWSER_EMBEDS_DEFERRED,
    REFUSED_SCHEME,
    browser_blocked,
    name,
)
from crawler.stats import refused as refused_stat
from spiders.player import (
    CAPTURES,
    Capture,
    other_origin_frame,
    player_request,
    read_manifest,
    start_player,
)
from spiders.viewer import walk_viewer

logger = logging.getLogger(__name__)

#: The browser context every page of a crawl shares (its cookies keep an age gate answered).
CONTEXT = "repostwatch"
#: Context options: service workers could fetch behind the request guard's back.
CONTEXT_OPTIONS = {"service_workers": "block"}
#: Request meta keys of this module.
OPTIONS_KEY = "repostwatch_browser"
NETWORK_MEDIA_KEY = "repostwatch_browser_media"
REFUSED_KEY = "repostwatch_browser_refused"
PLAYER_KEY = "repostwatch_browser_player"
#: Schemes that stay inside the browser (no network) and pass the guard.
LOCAL_SCHEMES = ("data", "blob", "about")
#: Content types of the responses that count as media found on the page.
MEDIA_CONTENT_TYPES = ("image/", "video/")

#: ``await check(host, port)``: None when the browser may connect, else the refusal's
#: ``refused/<kind>`` stat name (crawler.network's kinds: ``refused/private_network`` ...).
AddressCheck = Callable[[str, int], Awaitable[str | None]]


def page_meta(
    options: BrowserConfig,
    *,
    private_origins: Iterable[tuple[str, int]] = (),
    settle_seconds: float,
) -> dict[str, Any]:
    """The request meta that renders a page in the browser with the site file's options;
    ``private_origins`` are the (host, port) pairs that may be private (the site's own, when it
    opts in: ``SiteConfig.private_opt_in``)."""
    from scrapy_playwright.page import PageMethod

    plain = {
        "wait_for": options.wait_for,
        "wait_timeout": options.wait_timeout,
        "scroll": options.scroll,
        "scroll_pause": options.scroll_pause,
        "click": list(options.click),
        "block": list(options.block),
        "block_hosts": list(options.block_hosts),
        "load_media": options.load_media,
        "play": list(options.play),
        "player_wait": options.player_wait,
        "viewer_open": list(options.viewer_open),
        "viewer_next": list(options.viewer_next),
        "viewer_steps": options.viewer_steps,
        "viewer_pause": options.viewer_pause,
        "private_origins": [[host, port] for host, port in private_origins],
        "settle_seconds": settle_seconds,
    }
    return {
        "playwright": True,
        "playwright_context": CONTEXT,
        "playwright_context_kwargs": dict(CONTEXT_OPTIONS),
        "playwright_page_init_callback": init_page,
        "playwright_page_methods": [PageMethod(prepare_page, plain)],
        OPTIONS_KEY: plain,
    }


@dataclass
class PageReport:
    """What the browser did and saw on one page (read by the spider from the response meta)."""

    network_media: list[str] = field(default_factory=list)
    #: What the page's video player asked the network for.
    player: PlayerTraffic = field(default_factory=PlayerTraffic)
    #: "by_itself" (the player asked for its video unprompted), "started" (after a click or
    #: play()), "silent" (a player or <video> that asked for nothing), None (no player).
    player_state: str | None = None
    refused: dict[str, int] = field(default_factory=dict)
    clicked: list[str] = field(default_factory=list)
    wait_for: str | None = None  # "found", "timeout" or None (no wait_for)
    scrolls: int = 0
    #: The picture viewer walk (spiders.viewer): {"steps", "media", "stopped"}, or None.
    viewer: dict[str, Any] | None = None
    guarded: bool = False  # init_page ran: the request guard was in place


def page_report(meta: dict[str, Any]) -> PageReport:
    methods = meta.get("playwright_page_methods") or ()
    prepared = next((m.result for m in methods if getattr(m, "method", None) is prepare_page), None)
    prepared = prepared if isinstance(prepared, dict) else {}
    return PageReport(
        network_media=list(meta.get(NETWORK_MEDIA_KEY) or ()),
        player=PlayerTraffic.from_plain(meta.get(PLAYER_KEY)),
        player_state=prepared.get("player"),
        refused=dict(meta.get(REFUSED_KEY) or {}),
        clicked=list(prepared.get("clicked", ())),
        wait_for=prepared.get("wait_for"),
        scrolls=int(prepared.get("scrolls", 0)),
        viewer=prepared.get("viewer"),
        guarded=NETWORK_MEDIA_KEY in meta,
    )


# --- before navigation: the request guard and the media recorder -----------------------------
async def init_page(page: Any, request: Any) -> None:
    """scrapy-playwright's page init callback: guard the page's requests, record its media."""
    options = request.meta[OPTIONS_KEY]
    capture = Capture(PlayerTraffic())
    found = capture.media
    refused: Counter[str] = Counter()
    request.meta[NETWORK_MEDIA_KEY] = found
    request.meta[REFUSED_KEY] = refused
    request.meta[PLAYER_KEY] = capture.traffic.to_plain()  # plain data: a live view
    CAPTURES[page] = capture
    opt_in = PrivateOptIn(origins=frozenset((h, p) for h, p in options["private_origins"]))
    verdicts: dict[tuple[str, int], str | None] = {}  # (host, port) -> refusal, for this page

    def record(response: Any) -> None:
        if not 200 <= response.status < 300:
            return
        content_type = (response.headers.get("content-type") or "").lower()
        resource_type = response.request.resource_type
        kind = classify(response.url, resource_type, content_type)
        sniff = (
            kind is None
            and resource_type in PLAYER_RESOURCE_TYPES
            and content_type.split(";", 1)[0].strip() in SNIFFED_CONTENT_TYPES
        )
        if kind == MANIFEST or sniff:
            task = asyncio.ensure_future(read_manifest(response, capture.traffic))
            capture.pending.add(task)
            task.add_done_callback(capture.pending.discard)
        elif kind is not None:
            capture.traffic.add(kind, response.url)
        elif content_type.startswith(MEDIA_CONTENT_TYPES):
            found.append(response.url)

    async def check(host: str, port: int) -> str | None:
        if (host, port) not in verdicts:
            try:
                await checked_addresses(host, port, opt_in)
                verdicts[(host, port)] = None
            except AddressRefused as exc:
                verdicts[(host, port)] = name(refused_stat(exc.kind))
        return verdicts[(host, port)]

    async def guard(route: Any, browser_request: Any) -> None:
        from playwright.async_api import Error as PlaywrightError

        url, resource_type = browser_request.url, browser_request.resource_type
        reason = await refusal(url, resource_type, options, check)
        if reason is None and other_origin_frame(page, browser_request):
            reason = name(BROWSER_EMBEDS_DEFERRED)  # followed as an embed, if at all
        if reason is None:
            reason = player_request(url, resource_type, options, capture.traffic, found)
        try:
            if reason is None:
                await route.fallback()  # on to scrapy-playwright's own route (headers)
                return
            refused[reason] += 1
            logger.debug("Browser request refused (%s): %s", reason, browser_request.url)
            await route.abort("blockedbyclient")
        except PlaywrightError as exc:
            if not str(exc).rstrip().endswith("has been closed"):
                raise
            # The page closed while this request was on its way: nothing left to guard.

    page.on("response", record)
    # Routes registered later are asked first: this one runs before scrapy-playwright's.
    await page.route("**", guard)


async def refusal(
    url: str, resource_type: str, options: dict[str, Any], check: AddressCheck
) -> str | None:
    """Why the browser must not make this request, or None to let it through: the name of the
    stat it is counted under (:func:`crawler.stats.name`: ``refused/scheme``, ...)."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return name(REFUSED_SCHEME)
    if resource_type in options["block"]:
        return name(browser_blocked(resource_type))
    host = parts.hostname.lower()
    if any(host == h or host.endswith(f".{h}") for h in options["block_hosts"]):
        return name(BROWSER_BLOCKED_HOST)
    try:
        port = parts.port or default_port(parts.scheme)
    except ValueError:
        return name(REFUSED_SCHEME)  # not a port: no URL the browser could load
    return await check(host, port)


# --- after load: gates, waits, scrolling ------------------------------------------------------
async def prepare_page(page: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Click what must be clicked, wait for what must be there, scroll for more; report it."""
    from playwright.async_api import Error as PlaywrightError

    timeout_ms = options["wait_timeout"] * 1000
    settle_ms = options["settle_seconds"] * 1000
    wait_for, click = options["wait_for"], options["click"]
    report: dict[str, Any] = {"clicked": [], "wait_for": None, "scrolls": 0}
    # A gate may be drawn by a script too: wait for it or the content, whichever comes first.
    if wait_for and click and not await _appears(page, ", ".join([wait_for, *click]), timeout_ms):
        report["wait_for"] = "timeout"
    for selector in click:
        target = page.locator(selector).first
        try:
            if not await target.count() or not await target.is_visible():
                continue  # no gate on this page (or no longer: the context remembers)
            await target.click(timeout=timeout_ms)
        except PlaywrightError as exc:
            logger.warning("Could not click %r on %s: %s", selector, page.url, _first_line(exc))
            continue
        report["clicked"].append(selector)
        await _settle(page, settle_ms)  # the click may load or reload the page
    if wait_for and report["wait_for"] is None:
        found = await _appears(page, wait_for, timeout_ms)
        report["wait_for"] = "found" if found else "timeout"
    try:
        for _ in range(options["scroll"]):
            height = await page.evaluate(_SCROLL_TO_BOTTOM)
            report["scrolls"] += 1
            await page.wait_for_timeout(options["scroll_pause"] * 1000)
            if await page.evaluate(_HEIGHT) <= height:
                await _settle(page, settle_ms)  # a slow "load more" gets one more chance
                if await page.evaluate(_HEIGHT) <= height:
                    break
    except PlaywrightError as exc:  # e.g. the page navigated away while scrolling
        logger.warning("Stopped scrolling %s: %s", page.url, _first_line(exc))
    report["viewer"] = await walk_viewer(page, options)
    report["player"] = await start_player(page, options)
    await _settle(page, settle_ms)
    capture = CAPTURES.get(page)
    if capture is not None and capture.pending:  # manifests still being read
        await asyncio.wait(set(capture.pending), timeout=max(settle_ms / 1000, 1.0))
    return report


async def _appears(page: Any, selector: str, timeout_ms: float) -> bool:
    from playwright.async_api import Error as PlaywrightError

    try:
        await page.wait_for_selector(selector, state="attached", timeout=timeout_ms)
    except PlaywrightError:
        return False
    return True


_HEIGHT = "() => document.documentElement.scrollHeight"
_SCROLL_TO_BOTTOM = (
    "() => { const h = document.documentElement.scrollHeight; window.scrollTo(0, h); return h; }"
)


async def _settle(page: Any, timeout_ms: float) -> None:
    """Wait until the page has had no network traffic for 500 ms, or ``timeout_ms``."""
    from playwright.async_api import Error as PlaywrightError

    if timeout_ms <= 0:
        return
    # Pages that never go quiet (polling, ads) are read as they are after the timeout.
    with contextlib.suppress(PlaywrightError):
        await page.wait_for_load_state("networkidle", timeout=timeout_ms)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


def chromium_problem(launch_options: dict[str, Any]) -> str | None:
    """Why the configured Chromium cannot be launched, or None."""
    path = launch_options.get("executable_path")
    if not path:
        return None  # Playwright's own browser build, if one is installed
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return (
            f'render = "browser" needs Chromium, and {path} is not an executable file: run '
            "`make services` (installs Debian's chromium) or set REPOSTWATCH_CHROMIUM to a "
            "Chromium binary"
        )
    return None
