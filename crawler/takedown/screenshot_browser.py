"""The Chromium side of notice screenshots (and PDF exports): open a page with every medium
neutralised, blur what is left in every frame, photograph it. Runs only in the worker process
(``python -m crawler.takedown.screenshot_worker``), never in the web app or the CLI.

Fail closed, in three layers:

1. The network. A route on the whole browser context (every frame, same- or cross-origin,
   every popup; :mod:`crawler.takedown.screenshot_route`) answers each image and media
   request (by resource type) with a grey picture, and fetches everything else itself
   (``route.fetch``, which Playwright's driver sends through the same guard proxy as
   Chromium: :func:`_launch`): a response whose content type is image/*, video/* or audio/*,
   or whose first bytes are those of a picture or a video, becomes the grey picture too
   (media fetched by script and shown as a blob, an iframe's document that is a photo). In an
   HTML response, closed declarative shadow roots (``<template shadowrootmode="closed">``) are
   rewritten to open (:mod:`crawler.takedown.shadow_roots`); a document whose encoding may not
   be ASCII-compatible (UTF-16, ISO-2022-JP) cannot be rewritten and is noted for the verdict.
   Service workers are blocked, so nothing is answered from behind the route. ``data:`` and
   ``blob:`` media never reach the route: layer 2 is theirs.
2. The page. In every frame, every img, picture, video, audio, canvas, svg, object, embed,
   iframe and element with a CSS image (background, border-image, mask, list-style,
   ``content: url()`` of the element or its ::before/::after), ``data:`` and ``blob:`` ones
   alike, is blurred, with transitions off (a CSS transition outranks ``!important`` and would
   fade the blur in slowly), in open shadow roots too; shadow roots a script makes closed are
   opened as they are made (an init script).
3. The verdict. A page whose document answers 4xx/5xx, a frame the blur could not run in, a
   media response that reached the page without going through the stub, a document that could
   not be rewritten, or a closed shadow root left in any frame (found with DevTools'
   ``DOM.getDocument``, which sees into them; a srcdoc frame or ``setHTMLUnsafe`` can still
   make one): no screenshot (the target fails with the reason). Media that appears after the
   blur is blurred and the page photographed again, a few times, then it fails.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence

from crawler.browser.guard_proxy import guard_proxy
from crawler.browser.launch import chromium_args
from crawler.network import PrivateOptIn
from crawler.takedown.screenshot_route import RouteWatch, allowed, router
from crawler.takedown.screenshots import Shot, ShotTarget
from crawler.takedown.shadow_roots import closed_shadow_roots

logger = logging.getLogger(__name__)

#: What Playwright's errors say (after the method's name) when the page, its context or the
#: whole browser died.
_GONE = ("Target page, context or browser has been closed", "Page crashed", "Target crashed")
VIEWPORT = {"width": 1280, "height": 900}
#: Strong enough that nothing of the picture can be made out.
BLUR = "blur(40px)"
#: Milliseconds a page gets for its network to go quiet (scripts still building it) before the
#: blur is applied, and after each click.
SETTLE_MS = 3000
#: Screenshots retaken when the page showed new media meanwhile (a gallery still loading);
#: after that the page gets no screenshot rather than one with media unblurred.
ATTEMPTS = 3
# Opens shadow roots made closed, so the blur below can walk into them.
_OPEN_SHADOW_ROOTS = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, Object.assign({}, init, {mode: 'open'}));
  };
})();
"""

# In one frame: blur every medium; returns [elements blurred, of which newly].
_BLUR_SCRIPT = """
(blur) => {
  const MEDIA = 'img, picture, video, audio, canvas, svg, image, object, embed, iframe, frame, '
              + 'input[type=image]';
  const IMAGE_PROPS = ['background-image', 'border-image-source', 'mask-image',
                       '-webkit-mask-image', 'list-style-image', 'content'];
  const hasImage = (style) => IMAGE_PROPS.some((p) => {
    const v = style.getPropertyValue(p);
    return v && v !== 'none' && v !== 'normal' && /url\\(|image-set\\(|image\\(|element\\(/.test(v);
  });
  let count = 0, fresh = 0;
  const mark = (el) => {
    count += 1;
    if (el.getAttribute('data-repostwatch-blurred') !== '1') fresh += 1;
    el.setAttribute('data-repostwatch-blurred', '1');
    // A transition outranks !important: it would fade the blur in over its duration.
    el.style.setProperty('transition', 'none', 'important');
    el.style.setProperty('filter', blur, 'important');
    // A mask is applied after the filter: its own picture would stay sharp.
    el.style.setProperty('mask-image', 'none', 'important');
    el.style.setProperty('-webkit-mask-image', 'none', 'important');
  };
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(MEDIA) || hasImage(getComputedStyle(el))
          || hasImage(getComputedStyle(el, '::before'))
          || hasImage(getComputedStyle(el, '::after'))
          || hasImage(getComputedStyle(el, '::marker'))) {
        mark(el);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return [count, fresh];
}
"""


def shoot(
    targets: Sequence[ShotTarget],
    *,
    chromium: str,
    timeout: float = 30.0,
    progress: Callable[[Shot], None] | None = None,
) -> list[Shot]:
    """One PNG per target, taken in the Chromium at ``chromium`` (see the module's docstring)."""
    from playwright.sync_api import sync_playwright

    shots: list[Shot] = []
    if not targets:
        return shots
    # One browser per network opt-in (a notice's pages share their site's): Chromium reaches
    # nothing but through a guard proxy with that opt-in, which checks every connection and
    # connects to the address it checked (no DNS rebinding, no *.localhost, no WebSocket or
    # form to another service on the machine; crawler/browser/guard_proxy.py).
    groups: dict[PrivateOptIn, list[ShotTarget]] = {}
    for target in targets:
        groups.setdefault(target.opt_in, []).append(target)
    with sync_playwright() as playwright:
        for opt_in, group in groups.items():
            with guard_proxy(opt_in) as proxy:
                _shoot_group(playwright, proxy, group, chromium, timeout, progress, shots)
    order = {target.key: n for n, target in enumerate(targets)}
    return sorted(shots, key=lambda shot: order.get(shot.key, 0))


def _shoot_group(playwright, proxy, targets, chromium, timeout, progress, shots) -> None:
    from playwright.sync_api import Error as PlaywrightError

    def launch():
        return _launch(playwright, chromium, PlaywrightError, proxy)

    browser = launch()
    try:
        for target in targets:
            shot = _one(browser, target, timeout, PlaywrightError)
            if shot.error is not None and any(sign in shot.error for sign in _GONE):
                # Chromium or its page died under us (a renderer crash, a killed process):
                # once more, in a new browser if the old one is gone.
                logger.warning("Chromium lost the page %s (%s); again", target.page_url, shot.error)
                if not browser.is_connected():
                    browser = launch()
                shot = _one(browser, target, timeout, PlaywrightError)
            shots.append(shot)
            if progress is not None:
                progress(shot)
    finally:
        with contextlib.suppress(PlaywrightError):
            browser.close()


def print_pdf(html: str, *, chromium: str) -> bytes:
    """Print HTML (a notice or a case report, screenshots inline) to PDF, offline: every
    request but data: and about: is refused."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _launch(playwright, chromium, PlaywrightError)
        try:
            page = browser.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(("data:", "about:"))
                    else route.abort("blockedbyclient")
                ),
            )
            page.set_content(html, wait_until="load")
            return page.pdf(format="A4", print_background=True)
        finally:
            browser.close()


def _launch(playwright, chromium: str, error_type: type[Exception], proxy=None):
    """Chromium with the sandbox rule of every launch; with ``proxy`` (a running guard proxy),
    everything it loads goes through that proxy: its own requests, and Playwright's fetches
    for the route (``route.fetch``). Those are made by Playwright's driver, not Chromium, and
    take the proxy only from the ``proxy`` launch option (not from Chromium's flags), tunnelled
    with CONNECT; ``<-loopback>`` matches no host in the driver's own bypass rule, so loopback
    is proxied there too (tests/takedown/test_screenshot_browser.py checks both)."""
    options: dict = {"args": chromium_args()}
    if proxy is not None:
        options["proxy"] = {"server": proxy.url, "bypass": "<-loopback>"}
        options["args"] += [  # the proxy's own flags, but the two Playwright sets from "proxy"
            arg
            for arg in proxy.chromium_args()
            if not arg.startswith(("--proxy-server=", "--proxy-bypass-list="))
        ]
    try:
        return playwright.chromium.launch(executable_path=chromium, headless=True, **options)
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


class _Refused(Exception):
    """The page cannot be photographed safely; the message says why."""


def _blur_every_frame(page, error_type: type[Exception]) -> tuple[int, int]:
    """Blur every medium in every frame; (elements blurred, of which newly). Raises _Refused
    for a frame the blur could not run in."""
    count = fresh = 0
    for frame in page.frames:
        try:
            found, new = frame.evaluate(_BLUR_SCRIPT, BLUR)
        except error_type as exc:
            raise _Refused(
                f"refused: the blur could not run in the frame {frame.url or '(unnamed)'} "
                f"({str(exc).splitlines()[0]}); no screenshot taken"
            ) from exc
        count += int(found)
        fresh += int(new)
    return count, fresh


def _closed_shadow_roots(page, error_type: type[Exception]) -> list[str]:
    """The documents, in every frame, that hold a closed shadow root. A page script cannot see
    into one (so neither can the blur); DevTools can: the page's session covers its frames in
    the same process, an out-of-process frame has a session of its own."""
    found: list[str] = []
    for target in [page, *(frame for frame in page.frames if frame != page.main_frame)]:
        try:
            session = page.context.new_cdp_session(target)
        except error_type as exc:
            if target is not page and ("separate CDP session" in str(exc) or target.is_detached()):
                continue  # in its parent's tree, or gone
            raise _Refused(
                f"refused: the page's shadow roots could not be checked "
                f"({str(exc).splitlines()[0]}); no screenshot taken"
            ) from exc
        try:
            tree = session.send("DOM.getDocument", {"depth": -1, "pierce": True})
        except error_type as exc:
            raise _Refused(
                f"refused: the page's shadow roots could not be checked "
                f"({str(exc).splitlines()[0]}); no screenshot taken"
            ) from exc
        finally:
            with contextlib.suppress(error_type):
                session.detach()
        found += [url for url in closed_shadow_roots(tree["root"]) if url not in found]
    return found


def _verdict(page, watch: RouteWatch, error_type: type[Exception]) -> None:
    """Raise _Refused for what the blur may have missed (the module's docstring, layer 3)."""
    if watch.slipped:
        raise _Refused(
            f"refused: media reached the page without the grey stub ({watch.slipped[0]}); "
            "no screenshot taken"
        )
    if watch.unreadable:
        raise _Refused(
            f"refused: the document {watch.unreadable[0]} is in an encoding whose closed shadow "
            "roots cannot be opened; no screenshot taken"
        )
    closed = _closed_shadow_roots(page, error_type)
    if closed:
        raise _Refused(
            f"refused: a closed shadow root in {closed[0] or 'the page'} may hide media from "
            "the blur; no screenshot taken"
        )


def _one(browser, target: ShotTarget, timeout: float, error_type: type[Exception]) -> Shot:
    verdicts: dict[tuple[str, int], bool] = {}
    if not allowed(target.page_url, target.opt_in, verdicts):
        return Shot(target.key, None, 0, "refused: not http(s), or a private network address")
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    watch = RouteWatch()
    try:
        context.add_init_script(_OPEN_SHADOW_ROOTS)
        context.route("**/*", router(target, verdicts, error_type, watch))
        context.on("response", watch.on_response)
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)
        response = page.goto(target.page_url, wait_until="load")
        if response is None:
            return Shot(target.key, None, 0, "the page gave no answer; no screenshot taken")
        if response.status >= 400:
            return Shot(
                target.key,
                None,
                0,
                f"HTTP {response.status}: the page is not there (or refused us); no screenshot "
                "taken, try again later or check the page",
            )
        _prepare(page, target, error_type)
        for _ in range(ATTEMPTS):
            _blur_every_frame(page, error_type)
            page.wait_for_timeout(300)  # let the blur paint
            png = page.screenshot(type="png")
            # Media shown after the blur was applied was not blurred: again.
            blurred, fresh = _blur_every_frame(page, error_type)
            _verdict(page, watch, error_type)
            if fresh == 0:
                return Shot(target.key, png, blurred)
        return Shot(target.key, None, 0, "the page kept showing new media; no screenshot taken")
    except _Refused as exc:
        return Shot(target.key, None, 0, str(exc))
    except error_type as exc:
        return Shot(target.key, None, 0, str(exc).splitlines()[0])
    finally:
        with contextlib.suppress(error_type):
            context.close()
