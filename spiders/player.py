"""Video players on rendered pages: what a player asks the network for, and starting one that
asks for nothing by itself.

:mod:`spiders.browser`'s request guard hands every request of a page to
:func:`player_request`, which records it in the page's
:class:`~crawler.extraction.player.PlayerTraffic` (manifests, segments, video files,
storyboards) and says whether it is stopped; manifests' texts are read as they arrive
(:func:`read_manifest`) to know which segments they cover. :func:`start_player` (run by
``prepare_page``) gives a player ``player_wait`` seconds to ask for its video, then clicks the
site file's ``play`` buttons and play()s every ``<video>``, muted. An iframe of another origin
is kept from loading inline (:func:`other_origin_frame`): the spider follows it as an embed
(:mod:`spiders.embeds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crawler.extraction.player import (
    MANIFEST,
    MAX_MANIFEST_CHARS,
    PLAYER_RESOURCE_TYPES,
    SEGMENT,
    STORYBOARD,
    VIDEO,
    PlayerTraffic,
    classify,
)
from crawler.network import origin
from crawler.stats import BROWSER_MEDIA_NOT_LOADED, name

logger = logging.getLogger(__name__)

#: Resource types of the browser's requests for media: recorded, and stopped unless load_media.
MEDIA_RESOURCE_TYPES = ("image", "media")


def is_media_request(url: str, resource_type: str, options: dict[str, Any]) -> bool:
    """Whether the browser's request is for an image or video the crawler fetches instead."""
    return (
        resource_type in MEDIA_RESOURCE_TYPES
        and not options.get("load_media", False)
        and urlsplit(url).scheme in ("http", "https")
    )


@dataclass
class Capture:
    """What init_page records for one page and prepare_page waits on."""

    traffic: PlayerTraffic
    pending: set[asyncio.Task] = field(default_factory=set)
    #: The images (and other media responses) the page asked for, in order.
    media: list[str] = field(default_factory=list)


#: The capture of each open page (prepare_page is handed the page, not the request).
CAPTURES: weakref.WeakKeyDictionary[Any, Capture] = weakref.WeakKeyDictionary()


def player_request(
    url: str, resource_type: str, options: dict[str, Any], traffic: PlayerTraffic, found: list
) -> str | None:
    """Record a media or player request; the stat it is stopped under, or None to let it on."""
    if resource_type not in PLAYER_RESOURCE_TYPES and resource_type != "image":
        return None
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    kind = classify(url, resource_type) if resource_type != "image" else None
    if kind == MANIFEST:
        traffic.add(MANIFEST, url)
        return None  # the player needs it to ask for its segments; its text is read
    if kind == STORYBOARD:
        traffic.add(STORYBOARD, url)
        return None
    if kind in (SEGMENT, VIDEO):
        traffic.add(kind, url)
        return None if options.get("load_media", False) else name(BROWSER_MEDIA_NOT_LOADED)
    if is_media_request(url, resource_type, options):
        found.append(url)  # an image: the crawler downloads it, once
        return name(BROWSER_MEDIA_NOT_LOADED)
    return None


def other_origin_frame(page: Any, browser_request: Any) -> bool:
    """Whether the request loads an iframe's document from another origin than the page's."""
    if browser_request.resource_type != "document":
        return False
    try:
        frame = browser_request.frame
    except Exception:  # a request of a service worker or one the page no longer knows
        return False
    if frame is None or frame.parent_frame is None:
        return False  # the page itself
    main = page.main_frame.url
    return urlsplit(main).scheme in ("http", "https") and origin(browser_request.url) != (
        origin(main)
    )


async def read_manifest(response: Any, traffic: PlayerTraffic) -> None:
    """Read a manifest's text (what it covers); a sniffed body that is none is left alone."""
    from playwright.async_api import Error as PlaywrightError

    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_MANIFEST_CHARS:
        traffic.add(MANIFEST, response.url)
        return
    try:
        body = await response.body()
    except PlaywrightError:
        return  # the page closed, or the body is gone (a redirect)
    content_type = response.headers.get("content-type")
    if classify(response.url, response.request.resource_type, content_type, body[:4096]) != (
        MANIFEST
    ):
        return
    traffic.read_manifest(response.url, body[:MAX_MANIFEST_CHARS].decode("utf-8", "replace"))


# --- video players ----------------------------------------------------------------------------
#: Counts a frame's <video> elements and the visible play buttons of ``selectors``.
_PLAYER_PRESENT = """(selectors) => {
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  let buttons = 0;
  for (const s of selectors) {
    try { buttons += [...document.querySelectorAll(s)].filter(visible).length; } catch (e) {}
  }
  return document.querySelectorAll('video').length + buttons;
}"""
#: Plays every <video> of a frame, muted (browsers let a muted video play without a gesture).
_PLAY_VIDEOS = """() => {
  let n = 0;
  for (const v of document.querySelectorAll('video')) {
    v.muted = true; v.playsInline = true;
    try { const p = v.play(); if (p && p.catch) p.catch(() => {}); n += 1; } catch (e) {}
  }
  return n;
}"""


async def start_player(page: Any, options: dict[str, Any]) -> str | None:
    """Give the page's video player ``player_wait`` seconds to ask for its video; if it asks
    for nothing, click the first visible play button of ``play`` and play() every <video>
    (muted), in every frame, and wait as long again. The player's state (:class:`PageReport`).
    """
    from playwright.async_api import Error as PlaywrightError

    capture = CAPTURES.get(page)
    wait = float(options.get("player_wait", 0))
    if capture is None or wait <= 0:
        return None
    if capture.traffic.seen:
        return "by_itself"
    selectors = list(options.get("play", ()))
    present = 0
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError):
            present += await frame.evaluate(_PLAYER_PRESENT, selectors)
    if not present:
        return None  # no player on the page
    if await _player_asks(page, capture, wait):
        return "by_itself"
    address = page.url
    for frame in page.frames:
        for selector in selectors:
            target = frame.locator(selector).first
            try:
                if await target.count() and await target.is_visible():
                    await target.click(timeout=wait * 1000)
                    break
            except PlaywrightError as exc:
                logger.debug("Could not click play %r on %s: %s", selector, page.url, exc)
        if page.url != address:  # a "play button" that was a link: the page is another now
            logger.warning(
                "Clicking play on %s went to %s; check the site file's browser.play",
                address,
                page.url,
            )
            return "silent"
        with contextlib.suppress(PlaywrightError):
            await frame.evaluate(_PLAY_VIDEOS)
    return "started" if await _player_asks(page, capture, wait) else "silent"


async def _player_asks(page: Any, capture: Capture, seconds: float) -> bool:
    """Whether the player asks for a manifest, a segment or a video within ``seconds``."""
    from playwright.async_api import Error as PlaywrightError

    deadline = asyncio.get_running_loop().time() + seconds
    while not capture.traffic.seen:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return False
        try:
            await page.wait_for_timeout(min(100.0, left * 1000))
        except PlaywrightError:
            return capture.traffic.seen  # the page closed
    return True
