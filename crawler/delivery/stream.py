"""What a stream is once its playlist or manifest is read: one video rendition as a list of
segments on one timeline, each with what it takes to fetch and decode it.

HLS (`crawler.delivery.hls`) and DASH (`crawler.delivery.dash`) both come down to a `Timeline`,
which `crawler.delivery.plan` samples and `crawler.delivery.segment` decodes.

Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Playlists and manifests larger than this are not read: a real one of a 3-hour video in 2 s
#: segments is about 600 kB (HLS) or a few kB (DASH with templates).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: Segments per timeline at most; a longer list is cut (``Timeline.truncated``).
MAX_SEGMENTS = 100_000


class StreamError(ValueError):
    """A playlist or manifest that cannot be sampled; the message says why."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``length`` bytes from ``start`` of a resource."""

    start: int
    length: int

    @property
    def end(self) -> int:
        """The last byte, as HTTP's Range header counts (inclusive)."""
        return self.start + self.length - 1

    def header(self) -> str:
        return f"bytes={self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class Resource:
    """A URL, or a byte range of one."""

    url: str
    byterange: ByteRange | None = None

    def headers(self) -> dict[str, str]:
        return {"Range": self.byterange.header()} if self.byterange is not None else {}

    @property
    def size(self) -> int | None:
        return self.byterange.length if self.byterange is not None else None


@dataclass(frozen=True, slots=True)
class Key:
    """How a segment is encrypted: only AES-128 (whole segments, CBC, PKCS#7) is decoded."""

    method: str  # "AES-128", "SAMPLE-AES", ...
    url: str
    iv: bytes  # 16 bytes: the playlist's IV, else the segment's media sequence number


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: where it starts on the stream's timeline, how long it lasts, where its bytes
    are, and the initialization section (fMP4) and key it needs."""

    index: int  # position in the timeline
    start: float  # seconds from the timeline's start
    duration: float
    media: Resource
    init: Resource | None = None
    key: Key | None = None  # also the key of an encrypted initialization section

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class Rendition:
    """One variant (HLS) or representation (DASH) a player could choose."""

    url: str  # the media playlist (HLS) or the manifest (DASH)
    width: int | None = None
    height: int | None = None
    bandwidth: int | None = None  # bits per second
    codecs: str = ""
    id: str = ""

    @property
    def lines(self) -> int | None:
        """The short side: 360 for 640x360 and for a portrait 360x640."""
        if self.width and self.height:
            return min(self.width, self.height)
        return self.height or None

    def describe(self) -> str:
        """As staff read it: ``640x360 800 kbit/s``."""
        parts = []
        if self.width and self.height:
            parts.append(f"{self.width}x{self.height}")
        if self.bandwidth:
            parts.append(f"{round(self.bandwidth / 1000)} kbit/s")
        return " ".join(parts) or self.id or "unknown variant"


@dataclass(frozen=True, slots=True)
class Timeline:
    """The segments of the chosen rendition, in time order."""

    segments: tuple[Segment, ...]
    live: bool = False  # a live window: only the segments listed now
    rendition: Rendition | None = None
    truncated: bool = False

    @property
    def duration(self) -> float:
        return self.segments[-1].end if self.segments else 0.0

    @property
    def bytes_total(self) -> int | None:
        """Bytes of all segments and their initialization sections, when every size is known
        (byte ranges); None otherwise."""
        total = 0
        inits = set()
        for segment in self.segments:
            if segment.media.size is None:
                return None
            total += segment.media.size
            if segment.init is not None and segment.init not in inits:
                if segment.init.size is None:
                    return None
                inits.add(segment.init)
                total += segment.init.size
        return total

    @property
    def encryption(self) -> str:
        methods = sorted({s.key.method for s in self.segments if s.key is not None})
        return ", ".join(methods)


def choose_rendition(renditions: list[Rendition], min_lines: int) -> Rendition:
    """The smallest rendition at least ``min_lines`` high (short side), else the largest below.

    Renditions without a resolution are ranked by bandwidth after those with one; when none
    has a resolution, the lowest bandwidth of at least 400 kbit/s per 360 lines (about what
    360p H.264 takes) is chosen, else the highest.
    """
    if not renditions:
        raise StreamError("the playlist lists no video variant")
    sized = [r for r in renditions if r.lines]
    if sized:
        big_enough = [r for r in sized if r.lines >= min_lines]
        if big_enough:
            return min(big_enough, key=lambda r: (r.lines, r.bandwidth or 0))
        return max(sized, key=lambda r: (r.lines, r.bandwidth or 0))
    floor = 400_000 * min_lines / 360
    enough = [r for r in renditions if (r.bandwidth or 0) >= floor]
    if enough:
        return min(enough, key=lambda r: r.bandwidth or 0)
    return max(renditions, key=lambda r: r.bandwidth or 0)
