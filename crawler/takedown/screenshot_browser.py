"""The Chromium side of notice screenshots (and PDF exports): open a page with every medium
neutralised, blur what is left in every frame, photograph it. Runs only in the worker process
(``python -m crawler.takedown.screenshot_worker``), never in the web app or the CLI.

Fail closed, in three layers:

1. The network. A route on the whole browser context (every frame, same- or cross-origin,
   every popup) answers each image and media request (by resource type) with a grey picture,
   and fetches everything else itself: a response whose content type is image/*, video/* or
   audio/*, or whose first bytes are those of a picture or a video, becomes the grey picture
   too (media fetched by script and shown as a blob, an iframe's document that is a photo).
   Service workers are blocked, so nothing is answered from behind the route.
2. The page. In every frame, every img, picture, video, audio, canvas, svg, object, embed,
   iframe and element with a CSS image (background, border-image, mask, list-style,
   ``content: url()`` of the element or its ::before/::after) is blurred, in open shadow roots
   too; closed shadow roots are opened as they are made (an init script), so none hides media.
3. The verdict. A page whose document answers 4xx/5xx, a frame the blur could not run in, or a
   media response that reached the page without going through the stub: no screenshot (the
   target fails with the reason). Media that appears after the blur is blurred and the page
   photographed again, a few times, then it fails.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import zlib
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from crawler.browser.guard_proxy import guard_proxy
from crawler.browser.launch import chromium_args
from crawler.network import AddressRefused, PrivateOptIn, checked_addresses_blocking, default_port
from crawler.takedown.screenshots import Shot, ShotTarget

logger = logging.getLogger(__name__)

#: What Playwright's errors say (after the method's name) when the page, its context or the
#: whole browser died.
_GONE = ("Target page, context or browser has been closed", "Page crashed", "Target crashed")
VIEWPORT = {"width": 1280, "height": 900}
#: Strong enough that nothing of the picture can be made out.
BLUR = "blur(40px)"
LOCAL_SCHEMES = ("data", "blob", "about")
#: Milliseconds a page gets for its network to go quiet (scripts still building it) before the
#: blur is applied, and after each click.
SETTLE_MS = 3000
#: Screenshots retaken when the page showed new media meanwhile (a gallery still loading);
#: after that the page gets no screenshot rather than one with media unblurred.
ATTEMPTS = 3
#: Request types answered with the grey stub without asking the site.
MEDIA_RESOURCE_TYPES = frozenset({"image", "media"})
MEDIA_CONTENT_TYPES = ("image/", "video/", "audio/")
#: First bytes of pictures and videos (sniffed: a site may send them as text/plain).
MEDIA_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG",
    b"GIF8",
    b"BM",
    b"\x00\x00\x01\x00",  # ICO
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM
    b"OggS",
    b"ID3",
    b"fLaC",
    b"\x00\x00\x00\x0cjP",  # JPEG 2000
    b"\xff\x0a",  # JPEG XL
)
#: The header every stubbed answer carries: a media response without it slipped past the stub.
STUB_HEADER = "x-repostwatch-stub"


def _grey_png(size: int = 16, level: int = 128) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes([level]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


STUB_PNG = _grey_png()


def is_media(content_type: str, body: bytes) -> bool:
    """Whether a response is a picture, a video or a sound, by its type or its first bytes."""
    if content_type.split(";")[0].strip().lower().startswith(MEDIA_CONTENT_TYPES):
        return True
    head = body[:16]
    if head.startswith(MEDIA_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        return True
    return head[4:8] == b"ftyp"  # MP4, MOV, HEIF, AVIF


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


class _Watch:
    """What went through the route: media answered by the site itself (it slipped past)."""

    def __init__(self) -> None:
        self.slipped: list[str] = []

    def on_response(self, response) -> None:
        url = response.url
        if urlsplit(url).scheme in LOCAL_SCHEMES:
            return
        headers = response.headers
        media = response.request.resource_type in MEDIA_RESOURCE_TYPES or (
            headers.get("content-type", "").lower().startswith(MEDIA_CONTENT_TYPES)
        )
        if media and STUB_HEADER not in headers:
            self.slipped.append(url)


def _allowed(url: str, opt_in: PrivateOptIn, verdicts: dict[tuple[str, int], bool]) -> bool:
    """The crawl's network rule (crawler.network), once per host and port: no loopback or local
    names, no names that do not resolve, no private address but the site's own."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        port = parts.port or default_port(parts.scheme)
    except ValueError:
        return False
    key = (parts.hostname, port)
    if key not in verdicts:
        try:
            checked_addresses_blocking(parts.hostname, port, opt_in)
        except AddressRefused:
            verdicts[key] = False
        else:
            verdicts[key] = True
    return verdicts[key]


def _stub(route) -> None:
    route.fulfill(
        status=200,
        body=STUB_PNG,
        headers={"content-type": "image/png", STUB_HEADER: "1", "cache-control": "no-store"},
    )


def _router(target: ShotTarget, verdicts: dict[tuple[str, int], bool], error_type):
    def handle(route) -> None:
        request = route.request
        if not _allowed(request.url, target.opt_in, verdicts):
            route.abort("blockedbyclient")
            return
        if urlsplit(request.url).scheme in LOCAL_SCHEMES:
            route.continue_()
            return
        if request.resource_type in MEDIA_RESOURCE_TYPES:
            _stub(route)
            return
        try:
            # Redirects come back to the browser, whose next request is routed (and checked).
            response = route.fetch(max_redirects=0)
            body = response.body()
        except error_type:
            route.abort("failed")
            return
        if is_media(response.headers.get("content-type", ""), body):
            _stub(route)
        else:
            route.fulfill(response=response, body=body)

    return handle


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
    for the route (``route.fetch``), which take the browser's proxy too."""
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


def _one(browser, target: ShotTarget, timeout: float, error_type: type[Exception]) -> Shot:
    verdicts: dict[tuple[str, int], bool] = {}
    if not _allowed(target.page_url, target.opt_in, verdicts):
        return Shot(target.key, None, 0, "refused: not http(s), or a private network address")
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    watch = _Watch()
    try:
        context.add_init_script(_OPEN_SHADOW_ROOTS)
        context.route("**/*", _router(target, verdicts, error_type))
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
            if watch.slipped:
                raise _Refused(
                    f"refused: media reached the page without the grey stub ({watch.slipped[0]}); "
                    "no screenshot taken"
                )
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
