"""What a page's video player asks the network for, and which of it names a video.

MSE players (hls.js, dash.js, video.js, Shaka) give their ``<video>`` a ``blob:`` URL and fetch
the stream themselves: the manifest (HLS ``.m3u8``, DASH ``.mpd``), then its segments. Only the
network shows those URLs. :func:`classify` tells, from a request's URL and resource type and a
response's content type (and the first bytes of a body whose type says nothing), what one
request was; :class:`PlayerTraffic` collects one page's and :meth:`PlayerTraffic.videos` names
the videos to hand to the pipeline:

* a manifest that no other captured manifest lists (a master playlist, not its variants);
* a progressive video file (``<video src=x.mp4>``, or an MP4 a player reads by ranges) that no
  captured DASH manifest covers;
* a segment only when no captured manifest covers it (a player that builds its own segment
  list): the pipeline hashes it like any video file.

A segment is covered by an HLS playlist that lists it, and by a DASH manifest when it lies
under the manifest's folder or one of its ``<BaseURL>``\\ s. Pure: no Scrapy, no browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from crawler.extraction.urls import VIDEO_EXTENSIONS
from crawler.manifests import is_dash_manifest, is_hls_playlist

#: What a player's request was.
MANIFEST, SEGMENT, VIDEO, STORYBOARD = "manifest", "segment", "video", "storyboard"
HLS, DASH = "hls", "dash"
HLS_CONTENT_TYPES = (
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
)
DASH_CONTENT_TYPES = ("application/dash+xml",)
#: Content types of stream segments (MPEG-TS, fMP4/CMAF fragments, a stream's audio).
SEGMENT_CONTENT_TYPES = ("video/mp2t", "video/iso.segment", "audio/mp4", "audio/aac")
SEGMENT_EXTENSIONS = ("ts", "m4s", "cmfv", "cmfa", "m4f", "aac")
#: Content types a body is sniffed for a manifest under (servers label playlists loosely).
SNIFFED_CONTENT_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream")
#: Resource types a player fetches with (Playwright's names).
PLAYER_RESOURCE_TYPES = ("media", "xhr", "fetch", "other")
#: Longest manifest text kept to find the segments it covers (characters).
MAX_MANIFEST_CHARS = 2_000_000
_URI_ATTRIBUTE = re.compile(r'URI="([^"]+)"')
_BASE_URL = re.compile(r"<BaseURL[^>]*>\s*([^<\s]+)\s*</BaseURL>", re.IGNORECASE)


def _extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    return path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""


def _content_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def manifest_format(url: str, content_type: str | None = None, head: bytes = b"") -> str | None:
    """``"hls"``, ``"dash"`` or None: by content type, extension, then the body's first bytes
    (`crawler.manifests`: the rule the pipeline sniffs a stream by)."""
    kind = _content_type(content_type)
    if kind in HLS_CONTENT_TYPES:
        return HLS
    if kind in DASH_CONTENT_TYPES:
        return DASH
    extension = _extension(url)
    if extension == "m3u8" or (extension == "m3u" and kind.startswith(("audio/", "application/"))):
        return HLS
    if extension == "mpd":
        return DASH
    if is_hls_playlist(head):
        return HLS
    if is_dash_manifest(head):
        return DASH
    return None


def classify(
    url: str, resource_type: str, content_type: str | None = None, head: bytes = b""
) -> str | None:
    """What a browser request was (:data:`MANIFEST`, :data:`SEGMENT`, :data:`VIDEO`,
    :data:`STORYBOARD`), or None when it is no player's. Without ``content_type`` (the request
    is on its way) the URL and resource type decide; with it, the response's type (and
    ``head``, its first bytes, when the type says nothing) decides."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    if manifest_format(url, content_type, head) is not None:
        return MANIFEST
    kind, extension = _content_type(content_type), _extension(url)
    if extension == "vtt" or kind == "text/vtt":
        return STORYBOARD  # thumbnails or subtitles: the storyboard reader tells
    if kind in SEGMENT_CONTENT_TYPES or (not kind and extension in SEGMENT_EXTENSIONS):
        return SEGMENT
    if kind.startswith("video/") or (not kind and extension in VIDEO_EXTENSIONS):
        return VIDEO
    if resource_type == "media" and not kind.startswith(("image/", "text/")):
        return VIDEO  # a <video>/<audio> element's own request: a file whatever its name
    return None


def playlist_uris(text: str, base_url: str) -> list[str]:
    """The absolute URLs an HLS playlist names: variants, renditions, segments, init
    sections (``#EXT-X-MAP``); not keys."""
    uris: list[str] = []
    for line in text[:MAX_MANIFEST_CHARS].splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith(("#EXT-X-MAP", "#EXT-X-MEDIA", "#EXT-X-I-FRAME-STREAM-INF")):
                uris += [urljoin(base_url, uri) for uri in _URI_ATTRIBUTE.findall(line)]
            continue
        uris.append(urljoin(base_url, line))
    return [_without_fragment(uri) for uri in uris]


def dash_prefixes(text: str, base_url: str) -> list[str]:
    """URL prefixes a DASH manifest's segments live under: its folder and its BaseURLs."""
    folder = urljoin(base_url, ".")
    return [
        folder,
        *(urljoin(folder, base) for base in _BASE_URL.findall(text[:MAX_MANIFEST_CHARS])),
    ]


def _without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


@dataclass
class PlayerTraffic:
    """One page's player requests, as plain lists (kept in a request's meta as
    :meth:`to_plain`; its lists are only ever added to, never replaced)."""

    #: [url, format ("hls"/"dash"), the URLs it covers (HLS) or their prefixes (DASH)]
    manifests: list[list] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    storyboards: list[str] = field(default_factory=list)

    def add(self, kind: str, url: str) -> bool:
        """Record a request of ``kind``; whether it was new."""
        url = _without_fragment(url)
        target = {SEGMENT: self.segments, VIDEO: self.videos, STORYBOARD: self.storyboards}.get(
            kind
        )
        if kind == MANIFEST:
            if any(entry[0] == url for entry in self.manifests):
                return False
            self.manifests.append([url, None, []])
            return True
        if target is None or url in target:
            return False
        target.append(url)
        return True

    def read_manifest(self, url: str, text: str, content_type: str | None = None) -> None:
        """What a captured manifest covers, from its text."""
        url = _without_fragment(url)
        self.add(MANIFEST, url)
        entry = next(entry for entry in self.manifests if entry[0] == url)
        form = manifest_format(url, content_type, text[:4096].encode("utf-8", "replace"))
        entry[1] = form
        if form == HLS:
            entry[2] = playlist_uris(text, url)
        elif form == DASH:
            entry[2] = dash_prefixes(text, url)

    @property
    def seen(self) -> bool:
        """Whether the player asked for anything at all (a manifest, a segment, a video)."""
        return bool(self.manifests or self.segments or self.videos)

    def covered(self, url: str) -> bool:
        """Whether a captured manifest covers ``url`` (lists it, or holds it under its folder)."""
        for _, form, covers in self.manifests:
            if form == HLS and url in covers:
                return True
            if form == DASH and any(url.startswith(prefix) for prefix in covers):
                return True
            if form is None and url in covers:
                return True
        return False

    def streams(self) -> list[str]:
        """The manifests no other captured manifest lists: one per stream."""
        listed = {uri for _, form, covers in self.manifests if form == HLS for uri in covers}
        return [url for url, _, _ in self.manifests if url not in listed]

    def media(self) -> tuple[list[str], int]:
        """(the videos to hand to the pipeline, streams first; how many captured URLs were left
        out as parts of a captured stream)."""
        urls = self.streams()
        left_out = len(self.manifests) - len(urls)
        for url in [*self.videos, *self.segments]:
            if self.covered(url):
                left_out += 1
            elif url not in urls:
                urls.append(url)
        return urls, left_out

    def to_plain(self) -> dict:
        """Its lists as a dict of plain data (JSON), sharing them: it sees later additions."""
        return {
            "manifests": self.manifests,
            "segments": self.segments,
            "videos": self.videos,
            "storyboards": self.storyboards,
        }

    @classmethod
    def from_plain(cls, plain: dict | None) -> PlayerTraffic:
        plain = plain or {}
        return cls(
            manifests=[list(entry) for entry in plain.get("manifests", ())],
            segments=list(plain.get("segments", ())),
            videos=list(plain.get("videos", ())),
            storyboards=list(plain.get("storyboards", ())),
        )
