"""Screenshots of flagged pages for notices, taken in Chromium with the flagged media blurred.

Playwright's sync API drives Debian's Chromium (never Playwright's own download). Before the
screenshot, CSS ``filter: blur(...)`` is put on every img, video, picture source and CSS
background whose URL is one of the flagged media URLs, so a notice shows where the material
is without showing it. When none of them is found on the page (a URL spelled differently, a
player the script cannot see into), every image, video and background is blurred instead: a
screenshot never shows the material. The browser is held to the crawler's network rule:
http(s) only, and no private, loopback or link-local address unless the site file allows it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.network import is_public_address
from crawler.sites import BrowserConfig

logger = logging.getLogger(__name__)

#: What Playwright's errors say (after the method's name) when the page, its context or the
#: whole browser died.
_GONE = ("Target page, context or browser has been closed", "Page crashed", "Target crashed")

#: Chromium's switches, as for crawls (settings PLAYWRIGHT_LAUNCH_OPTIONS).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
VIEWPORT = {"width": 1280, "height": 900}
#: Strong enough that nothing of the picture can be made out.
BLUR = "blur(40px)"
LOCAL_SCHEMES = ("data", "blob", "about")

#: Milliseconds a page gets for its network to go quiet (scripts still building it) before the
#: blur is applied, and after each click.
SETTLE_MS = 3000
#: Screenshots retaken when the page showed new matching media meanwhile (a gallery still
#: loading); after that the page gets no screenshot rather than one with the media unblurred.
ATTEMPTS = 3

# Returns [elements showing the media, of which newly blurred]; scrolls the first into view.
_BLUR_SCRIPT = """
([targets, blur]) => {
  const abs = (u) => { try { return new URL(u, document.baseURI).href.split('#')[0]; }
                       catch (e) { return null; } };
  const all = targets === null;  // blur every image, video and background
  const wanted = new Set(all ? [] : targets.map(abs));
  const hit = (u) => all || wanted.has(abs(u));
  const hits = [];
  let fresh = 0;
  const mark = (el) => {
    if (!el || hits.includes(el)) return;
    if (el.getAttribute('data-repostwatch-blurred') !== '1') fresh += 1;
    el.setAttribute('data-repostwatch-blurred', '1');
    el.style.setProperty('filter', blur, 'important');
    hits.push(el);
  };
  const attrs = ['src', 'data-src', 'data-original', 'data-lazy-src', 'poster', 'href',
                 'xlink:href', 'data'];
  for (const el of document.querySelectorAll(
      'img, video, source, image, object, embed, input[type=image]')) {
    const urls = [el.currentSrc, el.src].concat(attrs.map((a) => el.getAttribute(a)));
    for (const set of [el.getAttribute('srcset'), el.getAttribute('data-srcset')]) {
      if (set) for (const part of set.split(',')) urls.push(part.trim().split(/\\s+/)[0]);
    }
    if (urls.some((u) => u && hit(u))) {
      mark(el.tagName === 'SOURCE' ? el.parentElement : el);
    }
  }
  for (const el of document.querySelectorAll('*')) {
    const bg = getComputedStyle(el).backgroundImage;
    if (!bg || bg === 'none') continue;
    for (const m of bg.matchAll(/url\\(["']?(.*?)["']?\\)/g)) {
      if (hit(m[1])) { mark(el); break; }
    }
  }
  if (hits.length && fresh) hits[0].scrollIntoView({block: 'center'});
  return [hits.length, fresh];
}
"""


@dataclass(frozen=True)
class ShotTarget:
    key: int  # the caller's id for it (a notice item)
    page_url: str
    media_urls: tuple[str, ...]  # every flagged media URL to blur on the page
    allow_private_network: bool = False
    #: Browser sites (render = "browser"): their [browser] click and wait_for, so that an age
    #: gate is answered and the gallery is built before the screenshot.
    click: tuple[str, ...] = ()
    wait_for: str | None = None
    #: Seconds for wait_for; unless given, the site file's own default for [browser].
    wait_timeout: float = BrowserConfig.model_fields["wait_timeout"].default


@dataclass(frozen=True)
class Shot:
    key: int
    png: bytes | None
    blurred: int  # elements blurred on the page
    error: str | None = None


def _allowed(url: str, allow_private: bool, verdicts: dict[tuple[str, int], bool]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if allow_private:
        return True
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = (parts.hostname, port)
    if key not in verdicts:
        try:
            addresses = [ipaddress.ip_address(parts.hostname.strip("[]"))]
        except ValueError:
            try:
                infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
            except OSError:
                infos = []
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        verdicts[key] = bool(addresses) and all(is_public_address(a) for a in addresses)
    return verdicts[key]


def take_screenshots(
    targets: Sequence[ShotTarget],
    *,
    chromium: str,
    timeout: float = 30.0,
    progress: Callable[[Shot], None] | None = None,
) -> list[Shot]:
    """One PNG per target (the viewport, scrolled to the first blurred element), taken in the
    Chromium at ``chromium`` (REPOSTWATCH_CHROMIUM).

    A page that cannot be opened gives a Shot with ``error`` and no PNG; a page opened but with
    none of its media found is still photographed (``blurred == 0``): the notice shows it.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    if not targets:
        return shots
    with sync_playwright() as playwright:
        browser = _launch(playwright, chromium, PlaywrightError)
        try:
            for target in targets:
                shot = _one(browser, target, timeout, PlaywrightError)
                if shot.error is not None and any(sign in shot.error for sign in _GONE):
                    # Chromium or its page died under us (a renderer crash, a killed process):
                    # once more, in a new browser if the old one is gone.
                    logger.warning(
                        "Chromium lost the page %s (%s); trying it again",
                        target.page_url,
                        shot.error,
                    )
                    if not browser.is_connected():
                        browser = _launch(playwright, chromium, PlaywrightError)
                    shot = _one(browser, target, timeout, PlaywrightError)
                shots.append(shot)
                if progress is not None:
                    progress(shot)
        finally:
            with contextlib.suppress(PlaywrightError):
                browser.close()
    return shots


def _launch(playwright, chromium: str, error_type: type[Exception]):
    try:
        return playwright.chromium.launch(
            executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS)
        )
    except error_type as exc:
        raise RuntimeError(
            f"cannot start Chromium at {chromium} ({str(exc).splitlines()[0]}); install "
            "Debian's chromium or set REPOSTWATCH_CHROMIUM"
        ) from exc


def _settle(page, error_type: type[Exception]) -> None:
    # A page that never goes quiet is photographed as it is.
    with contextlib.suppress(error_type):
        page.wait_for_load_state("networkidle", timeout=SETTLE_MS)


def _prepare(page, target: ShotTarget, error_type: type[Exception]) -> None:
    """Let the page settle, answer its gates (click) and wait for its content (wait_for)."""
    _settle(page, error_type)
    for selector in target.click:
        try:
            page.locator(selector).first.click(timeout=2000)
        except error_type:
            continue  # not on this page
        page.wait_for_load_state("load")
        _settle(page, error_type)
    if target.wait_for:
        with contextlib.suppress(error_type):
            page.wait_for_selector(target.wait_for, timeout=target.wait_timeout * 1000)
        _settle(page, error_type)


def _one(browser, target: ShotTarget, timeout: float, error_type: type[Exception]) -> Shot:
    verdicts: dict[tuple[str, int], bool] = {}
    if not _allowed(target.page_url, target.allow_private_network, verdicts):
        return Shot(target.key, None, 0, "refused: not http(s), or a private network address")
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    try:
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)

        def guard(route) -> None:
            if _allowed(route.request.url, target.allow_private_network, verdicts):
                route.continue_()
            else:
                route.abort("blockedbyclient")

        page.route("**/*", guard)
        response = page.goto(target.page_url, wait_until="load")
        status = response.status if response is not None else None
        _prepare(page, target, error_type)
        targets: list[str] | None = list(target.media_urls)
        found = 0
        for _ in range(ATTEMPTS):
            found, _fresh = page.evaluate(_BLUR_SCRIPT, [targets, BLUR])
            if found == 0 and targets is not None:
                targets = None  # none of the media found: blur every image instead
                page.evaluate(_BLUR_SCRIPT, [None, BLUR])
            page.wait_for_timeout(300)  # let the blur paint
            png = page.screenshot(type="png")
            # Media the page showed after the blur was applied was not blurred: again.
            if page.evaluate(_BLUR_SCRIPT, [targets, BLUR])[1] == 0:
                error = f"HTTP {status}" if status is not None and status >= 400 else None
                return Shot(target.key, png, 0 if targets is None else int(found), error)
        return Shot(target.key, None, 0, "the page kept showing new media; no screenshot taken")
    except error_type as exc:
        return Shot(target.key, None, 0, str(exc).splitlines()[0])
    finally:
        context.close()
