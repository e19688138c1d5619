"""The route of the screenshot's browser: layer 1 of :mod:`crawler.takedown.screenshot_browser`.

Every request of every frame of the browser context comes here. A request the crawl's network
rule refuses is aborted; an image or media request is answered with a grey picture without
asking the site; everything else is fetched here (``route.fetch``: Playwright's driver makes the
request, through the browser's guard proxy) and looked at: media by type or first bytes becomes
the grey picture, and an HTML response has its closed declarative shadow roots opened
(:mod:`crawler.takedown.shadow_roots`). :class:`RouteWatch` notes what the verdict must refuse.
"""

from __future__ import annotations

import struct
import zlib
from urllib.parse import urlsplit

from crawler.network import AddressRefused, PrivateOptIn, checked_addresses_blocking, default_port
from crawler.takedown.screenshots import ShotTarget
from crawler.takedown.shadow_roots import UnreadableEncoding, open_declarative_shadow_roots

LOCAL_SCHEMES = ("data", "blob", "about")
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
#: Content types of a document Chromium may parse as HTML (none: it sniffs), whose declarative
#: shadow roots are opened.
UNTYPED = ("", "unknown/unknown", "application/unknown", "*/*")


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


class RouteWatch:
    """What went through the route: media answered by the site itself (it slipped past), and
    documents whose closed shadow roots could not be opened (URL and why)."""

    def __init__(self) -> None:
        self.slipped: list[str] = []
        self.unreadable: list[str] = []

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


def allowed(url: str, opt_in: PrivateOptIn, verdicts: dict[tuple[str, int], bool]) -> bool:
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


def _is_html(request, content_type: str) -> bool:
    essence = content_type.split(";")[0].strip().lower()
    return essence == "text/html" or (request.resource_type == "document" and essence in UNTYPED)


def router(target: ShotTarget, verdicts: dict[tuple[str, int], bool], error_type, watch):
    def handle(route) -> None:
        request = route.request
        if not allowed(request.url, target.opt_in, verdicts):
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
        content_type = response.headers.get("content-type", "")
        if is_media(content_type, body):
            _stub(route)
            return
        if not _is_html(request, content_type):
            route.fulfill(response=response, body=body)
            return
        try:
            opened = open_declarative_shadow_roots(body, content_type)
        except UnreadableEncoding as exc:
            if request.resource_type == "document":
                watch.unreadable.append(f"{request.url} ({exc})")
            opened = body
        if opened == body:
            route.fulfill(response=response, body=body)
        else:  # the length changed
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            route.fulfill(response=response, body=opened, headers=headers)

    return handle
