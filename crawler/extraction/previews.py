"""Posters and storyboards: the stills a page's players show for their videos.

* :func:`page_previews` reads a page: each ``<video>``'s ``poster`` (or ``data-poster``), its
  ``<track kind="metadata">`` (or ``kind="thumbnails"``) WebVTT file, and ``.vtt`` URLs a player
  configuration in an inline script names (``previewThumbnails: {src: ".../thumbs.vtt"}``,
  ``tracks: [{file: ".../sprite.vtt", kind: "thumbnails"}]``), each with the video it belongs
  to when the page says.
* :func:`storyboard_cues` reads a WebVTT storyboard: each cue's time range and the sprite image
  and ``#xywh=x,y,w,h`` box of its thumbnail. A subtitle file has no such cues (an empty list).

Pure (parsel and the standard library). A poster is not a media URL of the page: a still of a
video is early evidence, never a match on its own (:class:`crawler.items.Preview`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from parsel import Selector

from crawler.extraction.urls import url_string
from crawler.items import POSTER, STORYBOARD, Preview

#: Previews read per page, and cues per storyboard (a 2-hour video at one tile a second has
#: 7,200; the pipeline hashes a spread of them).
MAX_PREVIEWS = 50
MAX_CUES = 20_000
#: Characters of inline scripts searched for storyboard URLs, and of a storyboard read.
MAX_SCRIPT_CHARS = 2_000_000
MAX_STORYBOARD_CHARS = 4_000_000
#: Track kinds players use for storyboards (``metadata`` by the spec, ``thumbnails`` by JW
#: Player and video.js plug-ins).
STORYBOARD_TRACK_KINDS = ("metadata", "thumbnails")
_VTT_IN_SCRIPT = re.compile(r"""["']([^"'\s<>]{1,2000}\.vtt(?:\?[^"'\s<>]{0,2000})?)["']""")
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)"
)
_XYWH = re.compile(r"^(?:pixel:)?(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})$")


@dataclass(frozen=True)
class Cue:
    """One storyboard thumbnail: a sprite image and the box of the tile for ``start``-``end``."""

    start: float
    end: float
    image_url: str
    #: (x, y, width, height) of the tile in the image; None: the whole image is the thumbnail.
    box: tuple[int, int, int, int] | None = None


def _absolute(urljoin_page: Callable[[str], str], raw: str | None) -> str | None:
    text = url_string(raw or "")
    if not text or text.lower().startswith(("data:", "blob:", "javascript:")):
        return None
    try:
        url = urljoin_page(text)
    except ValueError:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _video_source(video: Selector, urljoin_page: Callable[[str], str]) -> str | None:
    for raw in [video.root.get("src"), *video.css("source::attr(src)").getall()]:
        if url := _absolute(urljoin_page, raw):
            return url
    return None


def page_previews(page: Selector, urljoin_page: Callable[[str], str]) -> list[Preview]:
    """The posters and storyboards ``page`` names (see the module's docstring), each once."""
    found: dict[tuple[str, str], Preview] = {}

    def add(kind: str, raw: str | None, video: str | None) -> None:
        url = _absolute(urljoin_page, raw)
        if url and (url, kind) not in found and len(found) < MAX_PREVIEWS:
            found[(url, kind)] = Preview(url=url, kind=kind, video=video)

    for video in page.css("video"):
        source = _video_source(video, urljoin_page)
        add(POSTER, video.root.get("poster") or video.root.get("data-poster"), source)
        for track in video.css("track"):
            if (track.root.get("kind") or "").strip().lower() in STORYBOARD_TRACK_KINDS:
                add(STORYBOARD, track.root.get("src"), source)
    videos = [url for v in page.css("video") if (url := _video_source(v, urljoin_page))]
    only = videos[0] if len(videos) == 1 else None  # a script's storyboard: the page's video
    chars = MAX_SCRIPT_CHARS
    for script in page.xpath("//script[not(@src)]/text()").getall():
        if len(script) > chars:
            break
        chars -= len(script)
        for raw in _VTT_IN_SCRIPT.findall(script):
            add(STORYBOARD, raw.replace("\\/", "/"), only)
    return list(found.values())


def _seconds(text: str) -> float:
    parts = text.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _box(fragment: str) -> tuple[int, int, int, int] | None:
    for item in unquote(fragment).split("&"):
        name, _, value = item.partition("=")
        if name.strip().lower() == "xywh" and (match := _XYWH.match(value.strip())):
            x, y, w, h = (int(group) for group in match.groups())
            return (x, y, w, h) if w > 0 and h > 0 else None
    return None


def storyboard_cues(text: str, base_url: str) -> list[Cue]:
    """The thumbnail cues of a WebVTT storyboard at ``base_url``, in file order.

    A cue counts when its first payload line is an image URL, relative to the file, with or
    without ``#xywh=``; subtitles, chapters and notes are passed over. A file that does not
    start with ``WEBVTT`` has none.
    """
    text = text[:MAX_STORYBOARD_CHARS].lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        return []
    cues: list[Cue] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines) and len(cues) < MAX_CUES:
        match = _TIMING.match(lines[index])
        index += 1
        if match is None or index >= len(lines):
            continue
        payload = lines[index].strip()
        raw = url_string(payload)
        if not raw or raw.lower().startswith(("data:", "javascript:")):
            continue
        url = urljoin(base_url, raw)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        image = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        if not _looks_like_image(image) and "xywh" not in parts.fragment.lower():
            continue  # a cue of text (subtitles) or of data (JSON chapters)
        cues.append(
            Cue(_seconds(match.group(1)), _seconds(match.group(2)), image, _box(parts.fragment))
        )
    return cues


def _looks_like_image(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"))
