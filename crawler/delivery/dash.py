"""DASH manifests (MPD) read down to the segments of one video representation.

    >>> parsed = parse(body, url, min_lines=360)
    >>> if isinstance(parsed, Indexed):          # SegmentBase: the segments are in the sidx
    ...     timeline = timeline_from_sidx(parsed, sidx_bytes)

Covered: ``SegmentTemplate`` with ``$Number$`` (and a segment ``@duration``) or ``$Time$`` with a
``SegmentTimeline`` (``S@t/@d/@r``, ``@r="-1"`` to the period's end), identifiers with widths
(``$Number%05d$``), ``$RepresentationID$`` and ``$Bandwidth$``; ``SegmentList`` (``SegmentURL``
with ``@mediaRange``); ``SegmentBase`` with ``@indexRange`` (the ``sidx`` box is fetched and read
here); ``BaseURL`` at every level; segment information inherited from Period and AdaptationSet;
several periods, one after the other; live manifests (``type="dynamic"``): a timeline's listed
window, or the last ``@timeShiftBufferDepth`` of numbered segments at ``now``.
The representation is chosen as HLS variants are (`choose_rendition`), among the video
adaptation sets (not trick-mode ones). There are no DASH libraries worth their weight here:
`mpegdash` only maps the XML onto objects and leaves all of this to its caller.

Pure: standard library and defusedxml (manifests come from the internet: no DTDs, no entities).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from crawler.delivery.stream import (
    MAX_MANIFEST_BYTES,
    MAX_SEGMENTS,
    ByteRange,
    Rendition,
    Resource,
    Segment,
    StreamError,
    Timeline,
    choose_rendition,
)
from crawler.manifests import is_dash_manifest

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_IDENTIFIER = re.compile(r"\$(RepresentationID|Number|Bandwidth|Time|SubNumber)?(?:%0(\d+)d)?\$")
_TRICK_MODE = "http://dashif.org/guidelines/trickmode"
#: Seconds of a live manifest sampled when it gives no time-shift buffer depth.
DEFAULT_LIVE_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class Indexed:
    """A ``SegmentBase`` representation: one file whose segments the ``sidx`` box at ``index``
    lists; `timeline_from_sidx` reads it."""

    media: str
    index: ByteRange
    init: Resource
    rendition: Rendition


def parse(data: bytes, url: str, *, min_lines: int, now: float | None = None) -> Timeline | Indexed:
    """The chosen video representation's segments in manifest ``data`` found at ``url``.
    ``now`` (Unix seconds) places the live window of a dynamic manifest with numbered
    segments."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise StreamError(f"manifest of {len(data):,} bytes, over {MAX_MANIFEST_BYTES:,}")
    if not is_dash_manifest(data):
        raise StreamError("not a DASH manifest: no <MPD> element")
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise StreamError(f"manifest refused: {error}") from None
    except Exception as error:
        raise StreamError(f"unreadable DASH manifest ({type(error).__name__}: {error})") from None
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = element.tag.rpartition("}")[2]
    return _Manifest(root, url, min_lines, now).read()


class _Manifest:
    def __init__(self, root: Element, url: str, min_lines: int, now: float | None) -> None:
        self.root = root
        self.base = _base(root, url)
        self.min_lines = min_lines
        self.now = now
        self.live = root.get("type", "static") == "dynamic"
        self.total = _seconds(root.get("mediaPresentationDuration"))

    def read(self) -> Timeline | Indexed:
        periods = self.root.findall("Period")
        if not periods:
            raise StreamError("the manifest has no Period")
        segments: list[Segment] = []
        chosen = None
        start = 0.0
        truncated = False
        for position, period in enumerate(periods):
            start = _seconds(period.get("start"), start)
            end = self._period_end(periods, position, start)
            rendition, parts = self._representation(period)
            chosen = chosen or rendition
            if isinstance(found := self._segments(period, parts, rendition, start, end), Indexed):
                if len(periods) > 1:
                    raise StreamError("SegmentBase over several periods is not supported")
                return found
            for segment in found:
                if len(segments) == MAX_SEGMENTS:
                    truncated = True
                    break
                segments.append(_renumbered(segment, len(segments)))
            start = end if end is not None else (segments[-1].end if segments else start)
        if not segments:
            raise StreamError("the manifest's video representation lists no segment")
        return Timeline(tuple(segments), live=self.live, rendition=chosen, truncated=truncated)

    def _period_end(self, periods: list[Element], position: int, start: float) -> float | None:
        if (duration := _seconds(periods[position].get("duration"))) is not None:
            return start + duration
        if position + 1 < len(periods) and periods[position + 1].get("start"):
            return _seconds(periods[position + 1].get("start"))
        return self.total

    def _representation(self, period: Element) -> tuple[Rendition, list[Element]]:
        """The chosen video representation, and its chain of elements (period first)."""
        options: dict[Rendition, list[Element]] = {}
        for adaptation in period.findall("AdaptationSet"):
            if not _is_video(adaptation) or _is_trick_mode(adaptation):
                continue
            for representation in adaptation.findall("Representation"):
                rendition = Rendition(
                    url="",
                    width=_int(_inherited("width", representation, adaptation)),
                    height=_int(_inherited("height", representation, adaptation)),
                    bandwidth=_int(representation.get("bandwidth")),
                    codecs=_inherited("codecs", representation, adaptation) or "",
                    id=representation.get("id", ""),
                )
                options.setdefault(rendition, [period, adaptation, representation])
        if not options:
            raise StreamError("the manifest has no video representation")
        chosen = choose_rendition(list(options), self.min_lines)
        return chosen, options[chosen]

    def _segments(
        self,
        period: Element,
        chain: list[Element],
        rendition: Rendition,
        start: float,
        end: float | None,
    ) -> list[Segment] | Indexed:
        base = self.base
        for element in chain:
            base = _base(element, base)
        fields = {"RepresentationID": rendition.id, "Bandwidth": rendition.bandwidth or 0}
        if (template := _merged(chain, "SegmentTemplate")) is not None:
            return self._template(template, base, fields, start, end)
        if (listing := _merged(chain, "SegmentList")) is not None:
            return _segment_list(listing, base, start)
        if (segment_base := _merged(chain, "SegmentBase")) is not None and segment_base.get(
            "indexRange"
        ):
            index = _range(segment_base.get("indexRange"))
            initialization = segment_base.find("Initialization")
            init_range = initialization.get("range") if initialization is not None else None
            init = ByteRange(0, index.start) if init_range is None else _range(init_range)
            return Indexed(base, index, Resource(base, init), rendition)
        raise StreamError(
            f"representation {rendition.id!r} has no SegmentTemplate, SegmentList or "
            "SegmentBase with an indexRange: a single-file video, fetch it as one"
        )

    def _template(
        self,
        template: Element,
        base: str,
        fields: dict[str, object],
        start: float,
        end: float | None,
    ) -> list[Segment]:
        media = template.get("media")
        if not media:
            raise StreamError("SegmentTemplate has no @media")
        scale = _int(template.get("timescale")) or 1
        offset = _int(template.get("presentationTimeOffset")) or 0
        first = _int(template.get("startNumber"))
        first = 1 if first is None else first
        init = None
        if initialization := template.get("initialization"):
            init = Resource(urljoin(base, _fill(initialization, fields)))
        timeline = template.find("SegmentTimeline")
        if timeline is not None:
            times = _timeline(timeline, scale, offset, end - start if end else None)
            entries = [(number, *entry) for number, entry in enumerate(times)]
        else:
            entries = self._numbered(template, scale, start, end)
        segments = []
        for number, time, duration in entries:
            values = {**fields, "Number": first + number, "Time": time + offset}
            segments.append(
                Segment(
                    index=len(segments),
                    start=start + time / scale,
                    duration=duration / scale,
                    media=Resource(urljoin(base, _fill(media, values))),
                    init=init,
                )
            )
        return segments

    def _numbered(
        self, template: Element, scale: int, start: float, end: float | None
    ) -> list[tuple[int, int, int]]:
        """(number from the first, time, duration) in timescale units from ``start`` of
        numbered segments."""
        duration = _int(template.get("duration"))
        if not duration:
            raise StreamError("SegmentTemplate has neither a SegmentTimeline nor a @duration")
        if not self.live:
            if end is None:
                raise StreamError("a numbered SegmentTemplate needs the period's duration")
            count = math.ceil((end - start) * scale / duration - 1e-9)
            return [(n, n * duration, duration) for n in range(min(count, MAX_SEGMENTS))]
        available = _seconds_since(self.root.get("availabilityStartTime"), self.now)
        depth = _seconds(self.root.get("timeShiftBufferDepth"), DEFAULT_LIVE_WINDOW)
        latest = math.floor((available - start) * scale / duration)  # segments complete now
        earliest = max(0, latest - math.ceil(depth * scale / duration))
        return [(n, n * duration, duration) for n in range(earliest, latest)]


def timeline_from_sidx(indexed: Indexed, data: bytes) -> Timeline:
    """The segments of a ``SegmentBase`` representation from its ``sidx`` box (ISO/IEC
    14496-12 8.16.3), fetched as ``indexed.index``."""
    position = 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind == b"sidx":
            return _sidx(indexed, data[position : position + size], position)
        if size < 8:
            break
        position += size
    raise StreamError("the indexRange holds no sidx box")


def _sidx(indexed: Indexed, box: bytes, position: int) -> Timeline:
    try:
        version = box[8]
        scale = int.from_bytes(box[16:20], "big")
        field = 4 if version == 0 else 8
        at = 20 + 2 * field
        first_offset = int.from_bytes(box[20 + field : at], "big")
        count = int.from_bytes(box[at + 2 : at + 4], "big")
        at += 4
        if len(box) < at + 12 * count or not scale:
            raise StreamError("the sidx box is cut short or has no timescale")
    except IndexError:
        raise StreamError("the sidx box is cut short") from None
    offset = indexed.index.start + position + len(box) + first_offset
    segments = []
    time = 0
    for number in range(min(count, MAX_SEGMENTS)):
        entry = box[at + 12 * number : at + 12 * number + 12]
        word = int.from_bytes(entry[:4], "big")
        if word >> 31:
            raise StreamError("hierarchical sidx (a sidx that points to sidx boxes)")
        size = word & 0x7FFFFFFF
        duration = int.from_bytes(entry[4:8], "big")
        segments.append(
            Segment(
                index=number,
                start=time / scale,
                duration=duration / scale,
                media=Resource(indexed.media, ByteRange(offset, size)),
                init=indexed.init,
            )
        )
        offset += size
        time += duration
    if not segments:
        raise StreamError("the sidx box lists no segment")
    return Timeline(tuple(segments), rendition=indexed.rendition, truncated=count > MAX_SEGMENTS)


def _timeline(
    timeline: Element, scale: int, offset: int, period_length: float | None
) -> list[tuple[int, int]]:
    """(time, duration) from the period's start, in timescale units, of each ``S``."""
    entries: list[tuple[int, int]] = []
    items = timeline.findall("S")
    time = offset
    for position, item in enumerate(items):
        duration = _int(item.get("d"))
        if not duration or duration < 0:
            raise StreamError("SegmentTimeline S without a positive @d")
        time = _int(item.get("t"), time)
        repeat = _int(item.get("r")) or 0
        if repeat < 0:  # up to the next S's @t, else to the period's end
            following = _int(items[position + 1].get("t")) if position + 1 < len(items) else None
            if following is None and period_length is not None:
                following = offset + round(period_length * scale)
            repeat = math.ceil((following - time) / duration) - 1 if following else 0
        for _ in range(repeat + 1):
            if len(entries) == MAX_SEGMENTS:
                return entries
            entries.append((time - offset, duration))
            time += duration
    return entries


def _segment_list(listing: Element, base: str, start: float) -> list[Segment]:
    scale = _int(listing.get("timescale")) or 1
    duration = _int(listing.get("duration"))
    init = None
    if (initialization := listing.find("Initialization")) is not None:
        source = urljoin(base, initialization.get("sourceURL") or "")
        init_range = initialization.get("range")
        init = Resource(source, _range(init_range) if init_range else None)
    timeline = listing.find("SegmentTimeline")
    times = _timeline(timeline, scale, 0, None) if timeline is not None else None
    segments = []
    for position, item in enumerate(listing.findall("SegmentURL")[:MAX_SEGMENTS]):
        if times is not None and position < len(times):
            time, length = times[position]
        elif duration:
            time, length = position * duration, duration
        else:
            raise StreamError("SegmentList has neither a @duration nor a SegmentTimeline")
        media_range = item.get("mediaRange")
        segments.append(
            Segment(
                index=position,
                start=start + time / scale,
                duration=length / scale,
                media=Resource(
                    urljoin(base, item.get("media") or ""),
                    _range(media_range) if media_range else None,
                ),
                init=init,
            )
        )
    return segments


def _merged(chain: list[Element], tag: str) -> Element | None:
    """The ``tag`` element of the innermost level that has one, with the attributes (and
    children it lacks) of the outer levels' ``tag`` elements: DASH's inheritance."""
    found = [child for level in chain if (child := level.find(tag)) is not None]
    if not found:
        return None
    merged = Element(tag)
    for element in found:
        merged.attrib.update(element.attrib)
    for name in ("SegmentTimeline", "Initialization"):
        for element in reversed(found):
            if (child := element.find(name)) is not None:
                merged.append(child)
                break
    for element in reversed(found):
        if element.findall("SegmentURL"):
            merged.extend(element.findall("SegmentURL"))
            break
    return merged


def _fill(template: str, values: dict[str, object]) -> str:
    def replace(match: re.Match) -> str:
        name, width = match.group(1), match.group(2)
        if name is None:
            return "$"  # "$$" is a dollar sign
        value = values.get(name)
        if value is None:
            raise StreamError(f"template identifier ${name}$ has no value here")
        if width and isinstance(value, int):
            return f"{value:0{int(width)}d}"
        return str(value)

    return _IDENTIFIER.sub(replace, template)


def _is_video(adaptation: Element) -> bool:
    kinds = [adaptation.get("contentType", ""), adaptation.get("mimeType", "")]
    kinds += [r.get("mimeType", "") for r in adaptation.findall("Representation")]
    kinds += [c.get("contentType", "") for c in adaptation.findall("ContentComponent")]
    if any(kind.startswith("video") for kind in kinds):
        return True
    if any(kind for kind in kinds):
        return False
    return adaptation.get("width") is not None or any(
        r.get("width") for r in adaptation.findall("Representation")
    )


def _is_trick_mode(adaptation: Element) -> bool:
    return any(
        prop.get("schemeIdUri") == _TRICK_MODE
        for tag in ("EssentialProperty", "SupplementalProperty")
        for prop in adaptation.findall(tag)
    )


def _inherited(name: str, *elements: Element) -> str | None:
    for element in elements:
        if (value := element.get(name)) is not None:
            return value
    return None


def _base(element: Element, base: str) -> str:
    found = element.find("BaseURL")
    if found is not None and found.text and found.text.strip():
        return urljoin(base, found.text.strip())
    return base


def _range(text: str) -> ByteRange:
    first, _, last = text.partition("-")
    try:
        start, end = int(first), int(last)
    except ValueError:
        raise StreamError(f"byte range {text!r} is not <first>-<last>") from None
    if start < 0 or end < start:
        raise StreamError(f"byte range {text!r} is empty")
    return ByteRange(start, end - start + 1)


def _int(text: str | None, default: int | None = None) -> int | None:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise StreamError(f"{text!r} is not a whole number") from None


def _seconds(text: str | None, default: float | None = None) -> float | None:
    """An ISO 8601 duration (``PT1M30.5S``) in seconds."""
    if not text:
        return default
    match = _DURATION.match(text.strip())
    if match is None:
        raise StreamError(f"{text!r} is not an ISO 8601 duration")
    parts = {name: float(value or 0) for name, value in match.groupdict().items()}
    return parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def _seconds_since(moment: str | None, now: float | None) -> float:
    from datetime import datetime

    if not moment or now is None:
        raise StreamError("a live manifest of numbered segments needs availabilityStartTime")
    try:
        start = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    except ValueError:
        raise StreamError(f"availabilityStartTime {moment!r} is not a date and time") from None
    return now - start.timestamp()


def _renumbered(segment: Segment, index: int) -> Segment:
    from dataclasses import replace

    return replace(segment, index=index)
