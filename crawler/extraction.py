"""Find the media URLs of a page: ordinary gallery markup, lazy loading and links to media files
(a thumbnail wrapped in a link to its full-size file counts as the full-size file only).

Pure functions over a parsel Selector (what `response.css` uses), so they can be tested on
HTML strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from charset_normalizer import from_bytes
from parsel import Selector
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)
from w3lib.url import safe_url_string

#: File extensions that mark a link (``<a href>``) as pointing straight at media.
IMAGE_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "gif", "webp", "bmp", "tif", "tiff", "avif")
VIDEO_EXTENSIONS = ("mp4", "m4v", "mov", "webm", "mkv", "avi", "flv", "wmv", "mpg", "mpeg", "3gp")
MEDIA_EXTENSIONS = frozenset(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS + ("heic", "heif", "ts"))
#: Attributes lazy-loading scripts keep the real image URL in, most specific first.
LAZY_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-url")
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")

_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")


def parse_srcset(srcset: str) -> list[tuple[str, float]]:
    """``"a.jpg 480w, b.jpg 1080w"`` → ``[("a.jpg", 480.0), ("b.jpg", 1080.0)]``.

    Density descriptors (``2x``) are kept as their number; a candidate without a descriptor
    counts as ``1x``. Commas inside URLs are handled as the HTML spec does: a candidate ends at a
    comma followed by whitespace, or at the end.
    """
    return [(url, size) for url, size, _ in _srcset_descriptors(srcset)]


def _srcset_descriptors(srcset: str) -> list[tuple[str, float, str]]:
    """``parse_srcset`` with each candidate's kind of descriptor: ``"w"`` or ``"x"``."""
    candidates: list[tuple[str, float, str]] = []
    for chunk in re.split(r",\s+|,$", srcset.strip()):
        parts = chunk.strip().split()
        if not parts:
            continue
        url, size, kind = parts[0].rstrip(","), 1.0, "x"
        if len(parts) > 1:
            match = _DESCRIPTOR.match(parts[1])
            if match:
                size, kind = float(match.group(1)), match.group(2)
        candidates.append((url, size, kind))
    return candidates


def largest_srcset_candidate(srcset: str) -> str | None:
    candidates = parse_srcset(srcset)
    if not candidates:
        return None
    return max(candidates, key=lambda candidate: candidate[1])[0]


def is_media_link(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.rsplit(".", 1)[-1] in MEDIA_EXTENSIONS if "." in path else False


def _image_url(img: Selector) -> str | None:
    """The best URL of one ``<img>``: largest srcset candidate, then lazy attributes, then src."""
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        srcset = img.attrib.get(attribute)
        if srcset:
            best = largest_srcset_candidate(srcset)
            if best and not best.startswith("data:"):
                return best
    for attribute in (*LAZY_ATTRIBUTES, "src"):
        value = (img.attrib.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return None


def _picture_url(picture: Selector) -> str | None:
    """The one URL a ``<picture>`` stands for: its largest candidate.

    Its ``<source>`` elements differ by media query or type (AVIF, WebP, JPEG of one photo) and
    the ``<img>`` is the fallback, so they are one picture: the candidate with the largest width
    descriptor among the sources' and the img's srcsets wins; without width descriptors the
    largest density (``2x``; no descriptor is ``1x``); without any srcset the img's own URL.
    Ties go to the first in page order (the browser's first choice).
    """
    by_kind: dict[str, list[tuple[str, float]]] = {"w": [], "x": []}
    for element in picture.css("source, img"):
        for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
            for url, size, kind in _srcset_descriptors(element.attrib.get(attribute, "")):
                if not url.startswith("data:"):
                    by_kind[kind].append((url, size))
    for kind in ("w", "x"):
        if by_kind[kind]:
            return max(by_kind[kind], key=lambda candidate: candidate[1])[0]
    img = picture.css("img")
    return _image_url(img[0]) if img else None


def _shown_url(img: Selector) -> str | None:
    """The URL an ``<img>`` is hashed by: its picture's one URL when it is a picture's fallback."""
    picture = img.xpath("ancestor::picture[1]")  # libxml2 may nest it inside a <source>
    return _picture_url(picture[0]) if picture else _image_url(img)


def _image_candidates(element: Selector) -> list[str]:
    """Every URL an ``<img>``/``<source>`` may show: src, lazy attributes, all srcset candidates."""
    urls = [element.attrib.get(name, "") for name in ("src", *LAZY_ATTRIBUTES)]
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        urls += [url for url, _ in parse_srcset(element.attrib.get(attribute, ""))]
    for style in element.xpath("@style").getall():
        urls += background_images(style)
    return [url.strip() for url in urls if url.strip()]


def _thumbnails(page: Selector) -> tuple[set[object], list[str]]:
    """Elements inside an ``<a href>`` to a media file, and every URL they could show.

    A gallery shows a small copy and links it to the full-size file: the link is what is
    hashed (it is the best copy to match and to report), the thumbnail is not fetched at all.
    """
    elements: set[object] = set()
    urls: list[str] = []
    for link in page.css("a[href]"):
        if not is_media_link(link.attrib["href"].strip()):
            continue
        for element in link.css("img, picture source, [style]"):  # the link's own style too
            elements.add(element.root)
            urls += _image_candidates(element)
    return elements, urls


def _raw_media_urls(page: Selector, thumbnails: set[object]) -> Iterable[str]:
    for img in page.css("img"):
        if img.root in thumbnails:
            continue
        url = _shown_url(img)  # a <picture> is one image: its largest candidate
        if url:
            yield url
    for picture in page.css("picture"):
        if picture.css("img") or any(s.root in thumbnails for s in picture.css("source")):
            continue
        if url := _picture_url(picture):  # sources without their fallback <img>
            yield url
    for video in page.css("video"):
        if video.attrib.get("src"):
            yield video.attrib["src"]
        for source in video.css("source"):
            if source.attrib.get("src"):
                yield source.attrib["src"]
        if video.attrib.get("poster"):  # the still a tube page shows: often a frame of the clip
            yield video.attrib["poster"]
    for styled in page.css("[style]"):
        if styled.root not in thumbnails:
            yield from background_images(styled.attrib["style"])
    for href in page.css("a::attr(href)").getall():
        if is_media_link(href.strip()):
            yield href
    yield from page.css(
        'meta[property="og:image"]::attr(content), '
        'meta[property="og:image:url"]::attr(content), '
        'meta[property="og:image:secure_url"]::attr(content), '
        'meta[property="og:video"]::attr(content), '
        'meta[property="og:video:url"]::attr(content), '
        'meta[property="og:video:secure_url"]::attr(content)'
    ).getall()


#: Inline styles are read up to this many characters; the rest is ignored. A page controls the
#: attribute, and an image URL has no business behind 64 KiB of declarations.
MAX_STYLE_CHARS = 65_536
_CSS_SPACE = " \t\n\r\f"


def background_images(style: str) -> list[str]:
    """The ``url(...)`` images of an inline ``background``/``background-image`` declaration.

    Reads at most `MAX_STYLE_CHARS` of ``style``, in time linear in its length.
    """
    urls = []
    for declaration in style[:MAX_STYLE_CHARS].split(";"):
        name, _, value = declaration.partition(":")
        if name.strip().lower() in ("background", "background-image"):
            urls += css_urls(value)
    return urls


def css_urls(value: str) -> list[str]:
    """The non-empty ``url(...)`` arguments of a CSS value, quoted or not, in order.

    One pass from left to right: each ``url(`` is closed by the first matching quote (quoted) or
    the first ``)`` (unquoted) after it, and scanning goes on from there, so no character is
    read more than twice whatever the input (a regular expression with a lazy group backtracked
    over the whole rest of the value at every ``url(``: quadratic time).
    """
    lowered = value.lower()  # same length: only ASCII letters matter for "url("
    if len(lowered) != len(value):
        lowered = "".join(c.lower() if c.isascii() else c for c in value)
    urls: list[str] = []
    position = 0
    while (start := lowered.find("url(", position)) >= 0:
        position = start + 4
        while position < len(value) and value[position] in _CSS_SPACE:
            position += 1
        quote = value[position : position + 1]
        if quote in ("'", '"'):
            end = value.find(quote, position + 1)
            if end < 0:
                break  # an unclosed string runs to the end of the value
            url = value[position + 1 : end]
            close = value.find(")", end + 1)
            if close < 0:
                break
            position = close + 1
        else:
            close = value.find(")", position)
            if close < 0:
                break  # nothing after this can close a url( either
            url = value[position:close].rstrip(_CSS_SPACE)
            position = close + 1
        if url:
            urls.append(url)
    return urls


def extract_media_urls(
    page: Selector,
    urljoin: Callable[[str], str],
    thumbnails: set[str] | None = None,
    *,
    encoding: str = "utf-8",
) -> list[str]:
    """Absolute http(s) media URLs of a page, in page order, each once.

    Thumbnails wrapped in a link to their full-size file are left out (the link is in); pass a
    set as ``thumbnails`` to learn their URLs, e.g. to ignore them among what a browser loaded.
    ``encoding`` is the page's (:func:`page_encoding`): queries are encoded in it, as browsers do.
    """
    wrapped, thumbnail_urls = _thumbnails(page)
    media = _absolute(_raw_media_urls(page, wrapped), urljoin, encoding)
    if thumbnails is not None:
        thumbnails.update(
            url for url in _absolute(thumbnail_urls, urljoin, encoding) if url not in media
        )
    return media


def linked_thumbnails(
    page: Selector, urljoin: Callable[[str], str], *, encoding: str = "utf-8"
) -> list[tuple[str, list[str]]]:
    """Images wrapped in a link whose URL does not say what it is (``<a href="/f/123"><img
    src="/t/123.jpg"></a>``): ``(link, [the image URLs extract_media_urls took])`` per link.

    The link may be the full-size file served without an extension, or a page; only a request
    tells (spiders/full_size.py asks once per kind of link and remembers the answer).
    """
    found: list[tuple[str, list[str]]] = []
    for link in page.css("a[href]"):
        href = link.attrib["href"].strip()
        if not href or href.startswith(("#", "javascript:", "data:", "mailto:")):
            continue
        if is_media_link(href):
            continue
        images = [url for url in map(_shown_url, link.css("img")) if url]
        if not images:
            continue
        absolute = _absolute([href], urljoin, encoding)
        if absolute:
            found.append((absolute[0], _absolute(images, urljoin, encoding)))
    return found


def _absolute(raw_urls: Iterable[str], urljoin: Callable[[str], str], encoding: str) -> list[str]:
    seen: dict[str, None] = {}
    for raw in raw_urls:
        raw = raw.strip()
        if not raw or raw.startswith(("data:", "javascript:", "blob:")):
            continue
        url = canonical_media_url(urljoin(raw), encoding)
        if urlsplit(url).scheme in ("http", "https"):
            seen.setdefault(url, None)
    return list(seen)


def canonical_media_url(url: str, encoding: str = "utf-8") -> str:
    """One spelling per media URL: percent-encoded as a browser sends it, without a fragment.

    ``/이미지/사진 1.jpg`` and ``/%EC%9D%B4...%201.jpg`` are the same file, and so are
    ``/a.jpg`` and ``/a.jpg#zoom``: each must be downloaded once and flagged once. As in a
    browser, the path is encoded in UTF-8 and the query in the encoding of the page the URL
    is on (``?name=하늘`` on an EUC-KR board is ``?name=%C7%CF%B4%C3``); a character that
    encoding lacks becomes ``&#NNNN;`` (percent-encoded), as browsers send it.
    """
    url = url.split("#", 1)[0]
    encoding = _query_encoding(encoding)
    base, mark, query = url.partition("?")
    if mark:
        query = "".join(
            char if _encodable(char, encoding) else f"%26%23{ord(char)}%3B" for char in query
        )
    return safe_url_string(base + mark + query, encoding=encoding)


def _query_encoding(encoding: str) -> str:
    """The encoding a page's URL queries are sent in: the page's, or UTF-8 for pages in
    UTF-16/32 (the URL standard's rule) and for names Python does not know."""
    name = resolve_encoding(encoding) or "utf-8"
    if name.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def page_encoding(content_type: str | None, body: bytes) -> str:
    """The encoding of an HTML page, found as Scrapy's ``TextResponse.encoding`` finds it
    (what the crawl reads pages with): a byte order mark, the ``Content-Type`` header's
    charset, the page's ``<meta charset>`` / ``http-equiv``, then a guess (ASCII, UTF-8,
    then charset detection). The same w3lib code; tests check both agree."""
    content_type = content_type or ""
    declared = (
        read_bom(body)[0]
        or http_content_type_encoding(content_type)
        or html_body_declared_encoding(body)
    )
    if declared:
        return declared
    return html_to_unicode(content_type, body, auto_detect_fun=_guess_encoding)[0]


def decode_page(content_type: str | None, body: bytes) -> tuple[str, str]:
    """``(encoding, text)`` of an HTML page: :func:`page_encoding`, decoded as Scrapy does."""
    encoding = page_encoding(content_type, body)
    return encoding, html_to_unicode(f"charset={encoding}", body)[1]


def _guess_encoding(body: bytes) -> str | None:
    for encoding in ("ascii", "utf-8"):
        try:
            body.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    match = from_bytes(body).best()
    return resolve_encoding(match.encoding) if match else None
