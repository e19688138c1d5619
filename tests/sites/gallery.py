"""A repost-style gallery served on 127.0.0.1 for the end-to-end tests.

Three listing pages with pagination and a post page, in the markup real galleries use: plain
``<img src>``, ``srcset``, lazy ``data-*`` attributes, links to full-size files, ``<video>``,
``og:image``. Some photos are transformed copies of the references the tests register, the rest
are unrelated and must never be flagged.
"""

from __future__ import annotations

import hashlib
from functools import cache

from PIL import Image, ImageOps

from crawler.demo import samples
from crawler.demo.localsite import Route, html, redirect
from tests.support import videos

CASE = "case-e2e"
REFERENCES = ("astronaut", "coffee", "chelsea", "rocket")
UNRELATED = ("camera", "coins", "moon", "hubble", "motorcycle", "ihc")

#: A stand-in video: real MP4 box magic, then filler. Matched by its exact SHA-256.
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
VIDEO_SHA256 = hashlib.sha256(VIDEO).hexdigest()

#: A reference video of the case (registered by the tests), and a repost of it: re-encoded at
#: half size, 10 instead of 15 frames a second, in another container and codec (VP8/VP9).
REFERENCE_VIDEO_PHOTOS = ("retina", "rocket")
UNRELATED_VIDEO_PHOTOS = ("camera", "coins")


@cache
def reference_video() -> bytes:
    return videos.slideshow(REFERENCE_VIDEO_PHOTOS, "mp4")


@cache
def edited_copies() -> dict[str, bytes]:
    """Reposts edited the way repost sites edit: mirrored, turned, padded, cropped."""
    astronaut, chelsea, coffee = (samples.load_photo(n) for n in ("astronaut", "chelsea", "coffee"))
    width, height = coffee.size
    padded = ImageOps.expand(chelsea, border=chelsea.width // 5, fill=(0, 0, 0))
    cropped = coffee.crop((width // 20, height // 20, width - width // 20, height - height // 20))
    return {
        "/img/e/mirror.jpg": samples.encode(ImageOps.mirror(astronaut), "JPEG", quality=80),
        "/img/e/turned.jpg": samples.encode(
            chelsea.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=80
        ),
        "/img/e/padded.jpg": samples.encode(padded, "JPEG", quality=80),
        "/img/e/cropped.jpg": samples.encode(cropped, "JPEG", quality=80),
        "/v/repost.webm": videos.transcoded(reference_video(), "webm", scale=0.5, fps=10),
        "/v/other.mp4": videos.slideshow(UNRELATED_VIDEO_PHOTOS, "mp4"),
    }


#: media path -> the reference photo it is a copy of (None: unrelated or not media).
MEDIA: dict[str, str | None] = {
    "/img/2024/05/a-small.jpg": None,  # small srcset candidate: the large one is taken instead
    "/img/2024/05/a-large.jpg": "astronaut",
    "/img/uploads/x1.jpg": "coffee",
    "/r/lazy": "chelsea",  # redirects to /img/uploads/lazy-orig.jpg
    "/full/rocket-full.png": "rocket",
    "/thumbs/rocket-t.jpg": "rocket",
    "/v/clip.mp4": "video",
    "/img/p/camera.jpg": None,
    "/img/p/coins.jpg": None,
    "/img/p/moon.jpg": None,
    "/img/p/hubble.jpg": None,
    "/img/p/moto.jpg": None,
    "/img/p/ihc.jpg": None,
    "/img/not-an-image.jpg": None,
}


def _page(title: str, body: str, head: str = "") -> Route:
    return html(
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
    )


def routes() -> dict[str, Route]:
    jpeg = samples.reencoded_jpeg
    jpeg_type, png_type = "image/jpeg", "image/png"
    nav = (
        '<nav><a href="/page/1">1</a> <a href="/page/2">2</a> <a href="/page/3">3</a> '
        '<a href="/page/4">4</a></nav>'
    )
    return {
        "/": _page(
            "Board",
            nav + '<a href="/post/99">hot post</a>',
            head='<meta property="og:image" content="/img/p/moon.jpg">',
        ),
        "/page/1": _page(
            "Page 1",
            '<img src="/img/2024/05/a-small.jpg" '
            'srcset="/img/2024/05/a-small.jpg 300w, /img/2024/05/a-large.jpg 1024w">'
            '<img src="/img/p/camera.jpg">' + nav,
        ),
        "/page/2": _page(
            "Page 2",
            '<img data-src="/img/uploads/x1.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<img data-original="/r/lazy">'
            '<img data-lazy-src="/img/p/coins.jpg">' + nav,
        ),
        "/page/3": _page(
            "Page 3",
            '<a href="/full/rocket-full.png"><img src="/thumbs/rocket-t.jpg"></a>'
            '<img src="/img/p/hubble.jpg"><img src="/img/not-an-image.jpg">' + nav,
        ),
        "/page/4": _page(
            "Page 4",
            '<img src="/img/e/mirror.jpg"><img src="/img/e/turned.jpg">'
            '<img data-src="/img/e/padded.jpg"><a href="/img/e/cropped.jpg">full size</a>'
            '<video src="/v/repost.webm"></video><video><source src="/v/other.mp4"></video>' + nav,
        ),
        "/post/99": _page(
            "Hot post",
            '<video poster="/img/p/ihc.jpg"><source src="/v/clip.mp4" type="video/mp4"></video>'
            '<img src="/img/p/moto.jpg"><a href="/page/1">back</a>'
            '<a href="/private-link">x</a>'
            # Never fetched: robots.txt disallows it; file: and ftp: are not the web.
            '<img src="/members/hidden.jpg"><img src="file:///etc/hostname">'
            '<a href="file:///etc/passwd">x</a><a href="ftp://127.0.0.1/post/1">x</a>',
        ),
        "/robots.txt": Route(b"User-agent: *\nDisallow: /members/\n", "text/plain"),
        "/members/hidden.jpg": Route(jpeg("astronaut", quality=90), jpeg_type),
        # Copies of references: resized, re-encoded, renamed, format-changed.
        "/img/2024/05/a-small.jpg": Route(jpeg("astronaut", quality=60, scale=0.3), jpeg_type),
        "/img/2024/05/a-large.jpg": Route(jpeg("astronaut", quality=70, scale=0.8), jpeg_type),
        "/img/uploads/x1.jpg": Route(jpeg("coffee", quality=40), jpeg_type),
        "/img/uploads/lazy-orig.jpg": Route(jpeg("chelsea", quality=75, scale=1.5), jpeg_type),
        "/full/rocket-full.png": Route(
            samples.encode(samples.load_photo("rocket"), "PNG"), png_type
        ),
        "/thumbs/rocket-t.jpg": Route(jpeg("rocket", quality=80, scale=0.35), jpeg_type),
        "/v/clip.mp4": Route(VIDEO, "video/mp4"),
        "/r/lazy": redirect("/img/uploads/lazy-orig.jpg"),
        **{
            path: Route(body, "video/webm" if path.endswith("webm") else "image/jpeg")
            for path, body in edited_copies().items()
        },
        # Unrelated photos.
        "/img/p/camera.jpg": Route(jpeg("camera", quality=85), jpeg_type),
        "/img/p/coins.jpg": Route(jpeg("coins", quality=85), jpeg_type),
        "/img/p/moon.jpg": Route(jpeg("moon", quality=85), jpeg_type),
        "/img/p/hubble.jpg": Route(jpeg("hubble", quality=85, scale=0.5), jpeg_type),
        "/img/p/moto.jpg": Route(jpeg("motorcycle", quality=85, scale=0.5), jpeg_type),
        "/img/p/ihc.jpg": Route(jpeg("ihc", quality=85), jpeg_type),
        # Served as an image, but it is HTML: sniffing by magic bytes must not be fooled.
        "/img/not-an-image.jpg": Route(b"<!doctype html><p>hotlink denied</p>", jpeg_type),
    }


def site_file(name: str, base_url: str, **extra: str) -> str:
    """TOML for a site file crawling this gallery at ``base_url``."""
    lines = [
        f'name = "{name}"',
        f'start_urls = ["{base_url}/"]',
        "allow_private_network = true",
        *[f"{key} = {value}" for key, value in extra.items()],
        "[follow]",
        r"allow = ['/page/\d+', '/post/']",
        "max_depth = 3",
    ]
    return "\n".join(lines) + "\n"


#: (media path, case) of every repost a crawl of the gallery must flag, and nothing else.
EXPECTED_FLAGS = {
    ("/img/2024/05/a-large.jpg", CASE),
    ("/img/uploads/x1.jpg", CASE),
    ("/r/lazy", CASE),  # flagged as linked; the redirect was followed
    ("/full/rocket-full.png", CASE),  # linked from its thumbnail: the one hashed
    ("/v/clip.mp4", CASE),
    # Edited reposts: mirrored, turned, padded, cropped, and a re-encoded copy of a video.
    ("/img/e/mirror.jpg", CASE),
    ("/img/e/turned.jpg", CASE),
    ("/img/e/padded.jpg", CASE),
    ("/img/e/cropped.jpg", CASE),
    ("/v/repost.webm", CASE),
}
UNRELATED_MEDIA = {
    "/img/p/camera.jpg",
    "/img/p/coins.jpg",
    "/img/p/moon.jpg",
    "/img/p/hubble.jpg",
    "/img/p/moto.jpg",
    "/img/not-an-image.jpg",
    "/v/other.mp4",
}
#: Posters: previews of a video (MediaPage.previews), not media of the page.
POSTERS = {"/img/p/ihc.jpg"}
