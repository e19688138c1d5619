"""Picture viewers on rendered pages: a bounded walk through a lightbox or slider.

Gallery pages often show thumbnails only; the full-size pictures (and videos) load one at a
time, when a visitor opens the viewer and presses "next", from URLs no markup or script of the
page names (an API answers each step). :func:`walk_viewer` (run by ``prepare_page``) does what
the visitor does: it clicks the first visible element of the site file's ``viewer_open``, then
presses the first visible ``viewer_next`` button (or the right arrow key) until

* an item repeats: the step loaded no media the walk had not seen (viewers go round to the
  first item at the end), twice in a row, so a viewer that shows a caption-only slide or
  preloads one ahead is not cut short;
* ``viewer_steps`` presses;
* or the page navigated away (a script sent it elsewhere: the walk goes back). A link's own
  navigation is prevented (a plain ``<a href=full.jpg>`` whose viewer script did not load
  opens nothing and the walk ends with "nothing new").

The media each step loads are recorded by the page's request guard like any other (and stopped
unless ``load_media``): the crawler downloads them. The walk's report says how many steps were
taken, how many new media they loaded, and why it stopped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from spiders.player import CAPTURES

logger = logging.getLogger(__name__)

#: Steps in a row that load nothing new before the walk takes the viewer to have gone round.
PATIENCE = 2

#: Clicks the first shown element of ``selectors`` (in their order) by script; its index into
#: them, or -1. "Shown" is what has a box on the page (not display:none, not hidden): thumbnails
#: may be 0x0 while their images, stopped by the request guard, never load, and a script's
#: click() reaches the viewer's listener all the same. A link's default action (going to its
#: href) is prevented after the page's own handlers ran: an opener whose viewer script did not
#: load stays on the page instead of loading the full-size file in the browser.
_CLICK_FIRST = """(selectors) => {
  const shown = (e) => e.checkVisibility
    ? e.checkVisibility({visibilityProperty: true})
    : !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  for (let i = 0; i < selectors.length; i++) {
    let found = [];
    try { found = [...document.querySelectorAll(selectors[i])]; } catch (e) { continue; }
    const target = found.find(shown);
    if (!target) continue;
    // A link's own navigation is kept from happening (the viewer's handlers run first).
    const stay = (event) => event.preventDefault();
    window.addEventListener('click', stay);
    try { target.click(); } finally { window.removeEventListener('click', stay); }
    return i;
  }
  return -1;
}"""


async def walk_viewer(page: Any, options: dict[str, Any]) -> dict[str, Any] | None:
    """Open the page's picture viewer and step through it; the walk's report
    (``{"steps", "media", "stopped"}``), or None when the page has no viewer to walk."""
    from playwright.async_api import Error as PlaywrightError

    steps_allowed = int(options.get("viewer_steps", 0))
    capture = CAPTURES.get(page)
    if steps_allowed <= 0 or capture is None:
        return None
    openers, nexts = list(options.get("viewer_open", ())), list(options.get("viewer_next", ()))
    pause_ms = float(options.get("viewer_pause", 0.4)) * 1000
    address = page.url

    def seen() -> set[str]:
        traffic = capture.traffic
        return {*capture.media, *traffic.videos, *traffic.segments, *traffic.streams()}

    before = seen()
    report: dict[str, Any] = {"steps": 0, "media": 0, "stopped": "limit"}
    try:
        walked = await _walk(page, openers, nexts, steps_allowed, pause_ms, seen, report)
    except PlaywrightError as exc:
        logger.warning("Stopped walking the picture viewer of %s: %s", address, _line(exc))
        report["stopped"], walked = "error", True
    if not walked:
        return None
    if page.url != address:
        logger.info(
            "The picture viewer walk of %s went to %s; check the site file's browser.viewer_open",
            address,
            page.url,
        )
        report["stopped"] = "navigated"
        with contextlib.suppress(PlaywrightError):
            await page.go_back()
    else:
        with contextlib.suppress(PlaywrightError):
            await page.keyboard.press("Escape")  # close it: a video player may be under it
    report["media"] = len(seen() - before)
    return report


async def _walk(
    page: Any,
    openers: list[str],
    nexts: list[str],
    steps_allowed: int,
    pause_ms: float,
    seen: Callable[[], set[str]],
    report: dict[str, Any],
) -> bool:
    """Open the viewer and press "next" until it stops (``report`` says why); False when the
    page has neither a viewer to open nor a slider to step through."""
    address = page.url
    if await page.evaluate(_CLICK_FIRST, openers) >= 0:
        await page.wait_for_timeout(pause_ms)
        if page.url != address:
            return True
    elif await page.evaluate(_CLICK_FIRST, nexts) >= 0:
        report["steps"] += 1  # a slider: no opener, its first "next" was the first step
        await page.wait_for_timeout(pause_ms)
        if page.url != address:
            return True
    else:
        return False  # neither a viewer to open nor a slider to step through
    known, idle = seen(), 0
    while report["steps"] < steps_allowed:
        if await page.evaluate(_CLICK_FIRST, nexts) < 0:
            await page.keyboard.press("ArrowRight")
        report["steps"] += 1
        now = await _settled(page, pause_ms, seen, known)
        if page.url != address:
            return True
        idle = 0 if now - known else idle + 1
        known = now
        if idle >= PATIENCE:
            report["stopped"] = "repeated"
            break
    return True


async def _settled(
    page: Any, pause_ms: float, seen: Callable[[], set[str]], known: set[str]
) -> set[str]:
    """What the page has loaded after a step: ``pause_ms``, and up to twice as long again while
    nothing new has come (a slow API or a loaded machine is not taken for a repeat)."""
    await page.wait_for_timeout(pause_ms)
    waited = 0.0
    while not seen() - known and waited < 2 * pause_ms:
        await page.wait_for_timeout(100)
        waited += 100
    return seen()


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
