"""HLS and DASH streams sampled by segments, every byte through Scrapy's engine.

A media URL whose first bytes are a playlist or a manifest (`crawler.hashing.sniff` says
``stream``) comes here from the video dispatcher (`crawler.crawling.video_fetch`):

1. The playlist is read (`crawler.delivery.hls`, `crawler.delivery.dash`); from a master
   playlist or an MPD, the variant of ``REPOSTWATCH_VIDEO_STREAM_MIN_LINES`` is chosen
   (`choose_rendition`) and its media playlist fetched; a DASH ``SegmentBase`` representation's
   ``sidx`` is fetched for its segments.
2. ``REPOSTWATCH_VIDEO_SAMPLES`` segments spread over the timeline (`crawler.delivery.plan`) are
   fetched concurrently (``REPOSTWATCH_VIDEO_STREAM_CONCURRENCY``), with their initialization
   sections and AES-128 keys (each fetched once), and the first keyframe of each is hashed in
   the crawl's hashing processes (`crawler.delivery.segment.hash_segment`). Only a segment's
   first ``REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX`` bytes are asked for (a Range request),
   which hold its first keyframe; the whole segment only when they do not.
3. ``candidate_times(frames)`` names the times whose frames look like a reference's; the
   segments within ``REPOSTWATCH_VIDEO_DENSE_SECONDS`` of them (at most
   ``REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS`` more) are fetched, and these and the sampled
   ones near those times are hashed a frame a second, for the alignment to confirm.

All of it within ``REPOSTWATCH_VIDEO_SECONDS``: segments not sampled by then are given up and
the stream is matched on the frames it has (``video/<form>/time_limited``).

Every request is a media request (the media meta, the page as Referer only on its own origin)
given to ``download``, i.e. Scrapy's engine: the private-network guard, robots.txt, retries,
politeness and stats apply to playlists, keys and segments alike. What was fetched is the
`Delivery`: form ``hls``/``dash`` (``browser-hls``/``browser-dash`` for a stream the page's
player was seen asking for in the browser, ``render = "browser"``: sampled the same way, found
another), bytes fetched, the segments' total when every size is known (byte ranges, a sidx), and
a detail for people ("480x360 900 kbit/s, AES-128, 12 of 12 segments"). Counted under
``repostwatch/video/<hls|dash>/...`` (`crawler.stats.video_stream`) however it was found.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import re
import time
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.datatypes import SequenceExclude

from crawler.crawling.hash_pool import HashTimeout
from crawler.crawling.media_download import CandidateTimes, Download, MediaOutcome
from crawler.delivery import dash, hls, plan
from crawler.delivery.segment import SegmentFrames, hash_segment
from crawler.delivery.stream import (
    ByteRange,
    Resource,
    Segment,
    StreamError,
    Timeline,
    choose_rendition,
)
from crawler.hashing.errors import MediaError, UnsupportedMedia
from crawler.hashing.sniff import sniff
from crawler.hashing.types import BROWSER_CAPTURED, Delivery, FrameHash
from crawler.network import same_origin_referer
from crawler.stats import MEDIA_BYTES, video_stream

logger = logging.getLogger(__name__)

#: Seconds between the frames hashed in segments near a candidate time.
DENSE_STEP = 1.0
_CONTENT_RANGE = re.compile(rb"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True)
class StreamOptions:
    """The settings a stream's sampling reads (`from_settings`: no fallbacks)."""

    samples: int  # REPOSTWATCH_VIDEO_SAMPLES
    min_lines: int  # REPOSTWATCH_VIDEO_STREAM_MIN_LINES
    dense_seconds: float  # REPOSTWATCH_VIDEO_DENSE_SECONDS
    dense_segments: int  # REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS
    concurrency: int  # REPOSTWATCH_VIDEO_STREAM_CONCURRENCY
    maxsize: int  # REPOSTWATCH_MEDIA_MAXSIZE, per request
    max_pixels: int  # REPOSTWATCH_MAX_PIXELS
    segment_prefix: int  # REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX
    seconds: float  # REPOSTWATCH_VIDEO_SECONDS: then matched on the frames sampled so far

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> StreamOptions:
        return cls(
            samples=settings.getint("REPOSTWATCH_VIDEO_SAMPLES"),
            min_lines=settings.getint("REPOSTWATCH_VIDEO_STREAM_MIN_LINES"),
            dense_seconds=settings.getfloat("REPOSTWATCH_VIDEO_DENSE_SECONDS"),
            dense_segments=settings.getint("REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS"),
            concurrency=settings.getint("REPOSTWATCH_VIDEO_STREAM_CONCURRENCY"),
            maxsize=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
            max_pixels=settings.getint("REPOSTWATCH_MAX_PIXELS"),
            segment_prefix=settings.getint("REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX"),
            seconds=settings.getfloat("REPOSTWATCH_VIDEO_SECONDS"),
        )


@dataclass(frozen=True)
class StreamSample:
    """A stream's sampled frames (seconds on its timeline) and how they were fetched."""

    frames: tuple[FrameHash, ...]
    delivery: Delivery
    format: str  # "hls" or "dash"
    width: int | None
    height: int | None
    duration: float | None
    codec: str
    segments: int  # segments hashed


async def sample_stream(
    download: Download,
    url: str,
    first_response: Response,
    *,
    candidate_times: CandidateTimes | None = None,
    options: StreamOptions | None = None,
    hasher: Executor | None = None,
    stats: StatsCollector | None = None,
    referer: str | None = None,
    captured: bool = False,
) -> StreamSample | MediaOutcome:
    """Sample the stream whose playlist or manifest ``url`` answered ``first_response`` with
    (see the module). ``options`` defaults to the project's settings; ``hasher`` (the crawl's
    hashing processes) to a thread of this process; ``referer`` to the Referer the first
    request carried; ``captured``: the page's player asked for ``url`` in the browser (its
    delivery's form says so). A stream that cannot be sampled at all is a `MediaOutcome` with
    its error."""
    if options is None:
        from scrapy.utils.project import get_project_settings

        options = StreamOptions.from_settings(get_project_settings())
    if referer is None and first_response.request is not None:
        sent = first_response.request.headers.get("Referer")
        referer = sent.decode("latin-1") if sent else ""
    sampler = _StreamSampler(download, options, hasher, stats, referer or "", captured)
    return await sampler.run(url, first_response, candidate_times)


@dataclass(frozen=True)
class _Parts:
    """What decoding one segment takes: its bytes (all, or its first only), its
    initialization section and its AES-128 key."""

    media: bytes
    init: bytes
    key: bytes | None
    whole: bool


class _FetchFailed(Exception):
    """A playlist, key or segment that could not be fetched; the message says why."""


class _StreamSampler:
    def __init__(
        self,
        download: Download,
        options: StreamOptions,
        hasher: Executor | None,
        stats: StatsCollector | None,
        referer: str,
        captured: bool = False,
    ) -> None:
        self.download = download
        self.captured = captured
        self.options = options
        self.hasher = hasher
        self.stats = stats
        self.referer = referer
        self.limit = asyncio.Semaphore(max(1, options.concurrency))
        self.shared: dict[Resource, asyncio.Future[bytes]] = {}  # keys, init sections, once
        self.sizes: dict[str, int] = {}  # file sizes that 206 and 200 answers told
        self.fetched = 0
        self.form = "hls"
        self.deadline = math.inf  # REPOSTWATCH_VIDEO_SECONDS after the start
        self.time_limited = False

    def count(self, what: str, value: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(video_stream(self.form, what), value)

    async def run(
        self, url: str, first: Response, candidate_times: CandidateTimes | None
    ) -> StreamSample | MediaOutcome:
        started = time.monotonic()
        self.fetched = len(first.body)
        try:
            sniffed = sniff(first.body)
        except UnsupportedMedia as exc:
            sniffed, why = None, str(exc)
        if sniffed is None or sniffed.kind != "stream":
            why = f"a {sniffed.format} file" if sniffed is not None else why
            return self._failed(url, "unreadable", f"not an HLS playlist or DASH manifest: {why}")
        self.form = sniffed.format
        try:
            body = await self._whole_manifest(url, first)
            timeline = await self._timeline(url, body)
        except StreamError as exc:
            return self._failed(url, "unreadable", str(exc))
        except _FetchFailed as exc:
            return self._failed(url, "fetch", str(exc))
        self.deadline = started + self.options.seconds
        chosen = plan.spread(timeline.segments, self.options.samples)
        tasks = {asyncio.ensure_future(self._sampled(segment)): segment for segment in chosen}
        await self._within_time(tasks)
        hashed = {
            tasks[task].index: (tasks[task], *task.result())
            for task in tasks
            if not task.cancelled()
        }
        dense = 0
        dense_wanted = candidate_times is not None and self.options.dense_seconds > 0
        if dense_wanted and time.monotonic() < self.deadline:
            dense = await self._densely(timeline, hashed, candidate_times)
        results = {index: frames for index, (_, frames, _) in hashed.items() if frames is not None}
        if not results and self.time_limited:
            self.count("time_limited")
            limit = f"REPOSTWATCH_VIDEO_SECONDS ({self.options.seconds:g} s)"
            why = f"not one segment sampled within {limit}"
            return self._failed(url, "time_limited", why)
        if not results:
            errors = [kept for _, frames, kept in hashed.values() if frames is None]
            if any(isinstance(error, UnsupportedMedia) for error in errors):
                reason = "unsupported"
            elif all(isinstance(error, _FetchFailed) for error in errors):
                reason = "fetch"
            else:
                reason = "undecodable"
            why = str(errors[0]) if errors else "no segment"
            return self._failed(url, reason, f"not one segment could be sampled: {why}")
        return self._sample(url, timeline, results, dense, started)

    async def _whole_manifest(self, url: str, first: Response) -> bytes:
        """The whole playlist: the first response, or all of it when that held only the first
        bytes (a probe's Range)."""
        span = _CONTENT_RANGE.match((first.headers.get("Content-Range") or b"").strip())
        if first.status == 206 and span is not None:
            total = None if span.group(3) == b"*" else int(span.group(3))
            if total is None or len(first.body) < total:
                return await self._get(Resource(url))
        return first.body

    async def _timeline(self, url: str, body: bytes) -> Timeline:
        if self.form == "dash":
            parsed = dash.parse(body, url, min_lines=self.options.min_lines, now=time.time())
            if isinstance(parsed, dash.Indexed):
                index = await self._get(Resource(parsed.media, parsed.index))
                return dash.timeline_from_sidx(parsed, index)
            return parsed
        parsed = hls.parse(body, url)
        if isinstance(parsed, hls.MasterPlaylist):
            variant = choose_rendition(list(parsed.variants), self.options.min_lines)
            media = hls.parse(await self._get(Resource(variant.url)), variant.url)
            if isinstance(media, hls.MasterPlaylist):
                raise StreamError(f"variant {variant.url} is a master playlist again")
            return dataclasses.replace(media, rendition=variant)
        return parsed

    async def _sampled(self, segment: Segment) -> tuple[SegmentFrames | None, object]:
        """The first keyframe of ``segment``, from its first
        ``REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX`` bytes (all of it when those hold no whole
        frame), and the bytes fetched (kept for dense sampling) or the error that stopped it."""
        try:
            parts = await self._parts(segment, self.options.segment_prefix)
            try:
                return await self._hash(segment, parts, every=None), parts
            except MediaError:
                if parts.whole:
                    raise
            self.count("segment_refetched")
            parts = await self._rest(segment, parts)
            return await self._hash(segment, parts, every=None), parts
        except (_FetchFailed, MediaError, HashTimeout, BrokenProcessPool) as exc:
            self.count("segment_failed")
            logger.debug("Segment %s not sampled: %s", segment.media.url, exc)
            return None, exc

    async def _densely(
        self,
        timeline: Timeline,
        hashed: dict[int, tuple[Segment, SegmentFrames | None, object]],
        candidate_times: CandidateTimes,
    ) -> int:
        """Hash a frame a second in at most ``REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS``
        segments around the candidate times; returns how many were fetched (whole, or the rest
        of those whose first bytes were sampled) for it."""
        frames = sorted(
            (f for _, found, _ in hashed.values() if found is not None for f in found.frames),
            key=lambda f: f.seconds,
        )
        if not frames:
            return 0
        times = await candidate_times(frames)
        if not times:
            return 0
        # A few of the times, from the first to the last, so that the alignment is confirmed
        # at both ends; their segments, whether sampled already or not, within the budget.
        budget = self.options.dense_segments
        spaced = plan.spaced(sorted(times), max(1, budget // 2))
        targets = plan.around(timeline.segments, spaced, self.options.dense_seconds, limit=budget)
        near = [s for s in targets if s.index in hashed and hashed[s.index][1] is not None]
        more = [s for s in targets if s.index not in hashed]
        fetched = len(more) + sum(1 for s in near if not hashed[s.index][2].whole)

        async def again(segment: Segment) -> None:
            _, _, parts = hashed[segment.index]
            try:
                if not parts.whole:  # only its first bytes were fetched
                    parts = await self._rest(segment, parts)
                hashed[segment.index] = (segment, await self._hash(segment, parts, DENSE_STEP), b"")
            except (_FetchFailed, MediaError, HashTimeout, BrokenProcessPool) as exc:
                logger.debug("Segment %s not sampled densely: %s", segment.media.url, exc)

        async def new(segment: Segment) -> None:
            try:
                parts = await self._parts(segment)
                hashed[segment.index] = (segment, await self._hash(segment, parts, DENSE_STEP), b"")
            except (_FetchFailed, MediaError, HashTimeout, BrokenProcessPool) as exc:
                self.count("segment_failed")
                logger.debug("Segment %s not sampled densely: %s", segment.media.url, exc)

        await self._within_time(
            [asyncio.ensure_future(again(s)) for s in near]
            + [asyncio.ensure_future(new(s)) for s in more]
        )
        self.count("dense_segments", fetched)
        return fetched

    async def _within_time(self, tasks) -> None:
        """Wait for ``tasks`` until ``REPOSTWATCH_VIDEO_SECONDS`` from the start have passed;
        those still running then are cancelled (the stream is matched on what it has)."""
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, self.deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        if pending:
            self.time_limited = True
            await asyncio.wait(pending)

    async def _parts(self, segment: Segment, prefix: int = 0) -> _Parts:
        """The segment's bytes (its first ``prefix`` bytes only, when it may be larger), its
        initialization section and its key."""
        if segment.key is not None and segment.key.method != "AES-128":
            raise UnsupportedMedia(
                f"{segment.key.method} segments (DRM or sample encryption) cannot be decoded"
            )
        media = segment.media
        whole = not prefix or (media.size is not None and media.size <= prefix)
        if not whole:
            start = media.byterange.start if media.byterange is not None else 0
            media = Resource(media.url, ByteRange(start, prefix))
        data, init, key = await asyncio.gather(
            self._get(media, segment=segment.media),
            self._once(segment.init) if segment.init is not None else _nothing(b""),
            self._once(Resource(segment.key.url)) if segment.key is not None else _nothing(None),
        )
        if not whole:  # unless the first bytes were all of it
            size = segment.media.size or self.sizes.get(segment.media.url)
            whole = size is not None and len(data) >= size
        return _Parts(data, init, key, whole)

    async def _rest(self, segment: Segment, first: _Parts) -> _Parts:
        """The whole segment, when its ``first`` bytes are fetched already: the rest of it (one
        more Range request) when its size is known, else all of it again."""
        size = segment.media.size or self.sizes.get(segment.media.url)
        if size is None or len(first.media) >= size:
            return await self._parts(segment)
        start = segment.media.byterange.start if segment.media.byterange is not None else 0
        rest = Resource(
            segment.media.url, ByteRange(start + len(first.media), size - len(first.media))
        )
        data = await self._get(rest)
        return dataclasses.replace(first, media=first.media + data, whole=True)

    async def _hash(self, segment: Segment, parts: _Parts, every: float | None) -> SegmentFrames:
        work = functools.partial(
            hash_segment,
            parts.media,
            start=segment.start,
            init=parts.init,
            key=parts.key,
            iv=segment.key.iv if segment.key is not None else None,
            every=every,
            whole=parts.whole,
            max_pixels=self.options.max_pixels,
        )
        return await asyncio.get_running_loop().run_in_executor(self.hasher, work)

    async def _once(self, resource: Resource) -> bytes:
        """A resource many segments share (a key, an initialization section), fetched once."""
        future = self.shared.get(resource)
        if future is None:
            future = asyncio.ensure_future(self._get(resource))
            self.shared[resource] = future
        return await asyncio.shield(future)

    async def _get(self, resource: Resource, *, segment: Resource | None = None) -> bytes:
        """The bytes of ``resource`` through Scrapy's engine (a byte range when it names one).
        ``segment``: the segment ``resource`` is the first bytes of; a server that ignores the
        Range and sends the whole file gives all of it. What a 206 or a 200 says of a file's
        size is kept in ``sizes``."""
        request = self._request(resource.url, resource.headers())
        try:
            async with self.limit:
                response = await self.download(request)
        except Exception as exc:  # refusals (guard, robots) and failures alike
            raise _FetchFailed(f"{resource.url}: {exc.__class__.__name__}: {exc}") from None
        body = response.body
        self.fetched += len(body)
        if self.stats is not None:
            self.stats.inc_value(MEDIA_BYTES, len(body))
        wanted = resource.byterange
        if response.status == 206 and wanted is not None:
            span = _CONTENT_RANGE.match((response.headers.get("Content-Range") or b"").strip())
            if span is None or int(span.group(1)) != wanted.start:
                raise _FetchFailed(f"{resource.url}: the server sent another range than asked")
            if span.group(3) != b"*":
                self.sizes[resource.url] = int(span.group(3))
            return body[: wanted.length]
        if response.status == 200:  # the whole file: a server that ignores Range
            self.sizes[resource.url] = len(body)
            keep = segment.byterange if segment is not None else wanted
            return body if keep is None else body[keep.start : keep.end + 1]
        raise _FetchFailed(f"{resource.url}: HTTP {response.status}")

    def _request(self, url: str, headers: dict[str, str]) -> Request:
        """A media request (as `MediaDownload.media_request` makes them)."""
        return Request(
            url,
            headers={**same_origin_referer(self.referer, url), **headers},
            meta={
                "download_maxsize": self.options.maxsize,
                "download_warnsize": 0,
                "allow_offsite": True,
                "handle_httpstatus_list": SequenceExclude(range(300, 400)),
                "repostwatch_media": True,
            },
            dont_filter=True,
        )

    def _failed(self, url: str, reason: str, why: str) -> MediaOutcome:
        self.count(f"failed/{reason}")
        self.count("bytes", self.fetched)
        logger.warning("Stream not sampled: %s (%s)", url, why)
        return MediaOutcome(url=url, error=why)

    def _sample(
        self,
        url: str,
        timeline: Timeline,
        results: dict[int, SegmentFrames],
        dense: int,
        started: float,
    ) -> StreamSample:
        frames = tuple(
            sorted((f for r in results.values() for f in r.frames), key=lambda f: f.seconds)
        )
        first = next(iter(results.values()))
        self.count("streams")
        self.count("segments", len(results))
        self.count("bytes", self.fetched)
        if timeline.live:
            self.count("live")
        if timeline.encryption:
            self.count("encrypted")
        rendition = timeline.rendition
        parts = [rendition.describe() if rendition is not None else f"{first.width}x{first.height}"]
        if timeline.encryption:
            parts.append(timeline.encryption)
        if timeline.live:
            parts.append("live window")
        parts.append(f"{len(results)} of {len(timeline.segments)} segments")
        if dense:
            parts.append(f"{dense} fetched for frames near candidate times")
        if self.time_limited:
            self.count("time_limited")
            parts.append(f"stopped at the time limit ({self.options.seconds:g} s)")
        delivery = Delivery(
            f"{BROWSER_CAPTURED}{self.form}" if self.captured else self.form,
            bytes_fetched=self.fetched,
            bytes_total=timeline.bytes_total,
            detail=", ".join(parts),
        )
        logger.info(
            "Sampled %s stream %s%s: %d frames from %d segments, %d bytes, %.1f s (%s)",
            self.form.upper(), url, " (captured in the browser)" if self.captured else "",
            len(frames), len(results), self.fetched, time.monotonic() - started, delivery.detail,
        )  # fmt: skip
        return StreamSample(
            frames=frames,
            delivery=delivery,
            format=self.form,
            width=first.width,
            height=first.height,
            duration=timeline.duration,
            codec=first.codec,
            segments=len(results),
        )


async def _nothing(value):
    return value
