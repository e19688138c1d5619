"""Media URLs as text: which paths are media files, ``srcset`` and CSS ``url()`` values, one
spelling per URL, and the encoding a page (and so its URL queries) is in. Pure (w3lib).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from charset_normalizer import from_bytes
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
#: HLS playlists and DASH manifests: their segments are sampled (crawler/crawling/stream_fetch.py);
#: a playlist served under any other name is recognised by its first bytes all the same.
STREAM_EXTENSIONS = ("m3u8", "mpd")
MEDIA_EXTENSIONS = frozenset(
    IMAGE_EXTENSIONS + VIDEO_EXTENSIONS + STREAM_EXTENSIONS + ("heic", "heif", "ts")
)

_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")


def parse_srcset(srcset: str) -> list[tuple[str, float]]:
    """``"a.jpg 480w, b.jpg 1080w"`` → ``[("a.jpg", 480.0), ("b.jpg", 1080.0)]``.

    Density descriptors (``2x``) are kept as their number; a candidate without a descriptor
    counts as ``1x``. Commas inside URLs are handled as the HTML spec does: a candidate ends at a
    comma followed by whitespace, or at the end.
    """
    return [(url, size) for url, size, _ in srcset_descriptors(srcset)]


def srcset_descriptors(srcset: str) -> list[tuple[str, float, str]]:
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


#: What a string in a script, JSON or an attribute must end in to be taken for a media URL:
#: `MEDIA_EXTENSIONS` but ``ts``, which names TypeScript files in scripts far more often than
#: video segments.
STRING_MEDIA_EXTENSIONS = MEDIA_EXTENSIONS - {"ts"}
#: A longer string is not taken for a URL.
MAX_URL_CHARS = 4096
_NOT_IN_URL = frozenset(" \t\r\n\f<>\"'{}|\\^`*")
#: Template and format syntax: ``$1``, ``${id}``, ``%s`` (a ``%`` not starting an escape).
_TEMPLATE = re.compile(r"\$\d|\$\{|%(?![0-9A-Fa-f]{2})")


def url_string(text: str) -> str | None:
    """``text`` stripped, if it can be a URL as data write one: not longer than `MAX_URL_CHARS`,
    no spaces, quotes, braces or template syntax, and http(s) if it names a scheme."""
    text = text.strip()
    if not text or len(text) > MAX_URL_CHARS or not _NOT_IN_URL.isdisjoint(text):
        return None
    head = text.split("/", 1)[0]
    if (":" in head and head.lower() not in ("http:", "https:")) or _TEMPLATE.search(text):
        return None
    return text


def media_string(text: str) -> str | None:
    """``text`` stripped, if it is a URL (:func:`url_string`) whose file name has a media
    extension: ``thumbs/a.jpg``, ``https://cdn.example/v/1.webm?t=2``, not ``.jpg`` or
    ``image/jpeg``."""
    if "." not in text:  # most strings of a script: no need to look further
        return None
    url = url_string(text)
    if url is None:
        return None
    path = url.split("#", 1)[0].split("?", 1)[0]
    stem, dot, extension = path.rsplit("/", 1)[-1].rpartition(".")
    return url if dot and stem and extension.lower() in STRING_MEDIA_EXTENSIONS else None


_HTML_START = re.compile(r"\s*<[A-Za-z]")
_HTML_MEDIA_MARKERS = ("src", "href", "url(", "poster", "data-")


def looks_like_html(text: str) -> bool:
    """Whether a string is markup that may show media (``<video><source src='y.webm'>``)."""
    return (
        _HTML_START.match(text) is not None
        and ">" in text
        and any(marker in text for marker in _HTML_MEDIA_MARKERS)
    )


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
