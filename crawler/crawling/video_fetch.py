"""How a media URL's bytes are fetched, decided by its first bytes: whole, by ranges, or a stream.

Every media URL is first asked for with ``Range: bytes=0-<REPOSTWATCH_MEDIA_PROBE_BYTES - 1>``
(:meth:`MediaDownload.fetch`); :meth:`VideoFetch.deliver` decides from the answer:

- ``206`` with ``Content-Range``: the probe holds the whole file, or the file is an image or a
  video small enough to hash whole (``REPOSTWATCH_MEDIA_MAXSIZE``,
  ``REPOSTWATCH_VIDEO_WHOLE_MAXSIZE``): the rest is fetched with one more Range request and the
  whole is hashed as before. A larger MP4/MOV/M4V/WebM/MKV is *sampled*: pass after pass in the
  hashing processes (`crawler.delivery.sparse.sample_ranges`) says which byte ranges it lacks
  (the index, then one keyframe near each of ``REPOSTWATCH_VIDEO_SAMPLES`` times over the whole
  duration, or one every `SPREAD_SECONDS` on a long video as far as the byte share affords),
  and they are fetched together, concurrently, here. Then the matching thread names the
  sampled times that look like a reference frame, and ``REPOSTWATCH_VIDEO_DENSE_SECONDS``
  around each are fetched and sampled every second, for the alignment to confirm. Once the
  frames match, each match is followed as a line (`AlignedLine`): keyframes every
  `FOLLOW_STEP` seconds past each end, a stretch at a time, until the frames stop agreeing or
  the reference's own start or end is passed, so that the evidence says where the reference
  really sits. Each keyframe is decoded and hashed once, however many passes. Bounded by
  `MAX_PASSES`, a byte budget (``REPOSTWATCH_VIDEO_BYTE_SHARE`` of the file, at least
  ``REPOSTWATCH_VIDEO_WHOLE_MAXSIZE``; following a line, the share alone) and
  ``REPOSTWATCH_VIDEO_SECONDS``.
- ``200``: the server ignored Range. `crawler.crawling.stream_budget.StreamBudget` (on Scrapy's
  ``bytes_received`` signal) reads a
  video up to ``REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES`` or ``_SECONDS`` and stops the download
  keeping what came (``StopDownload(fail=False)``); the prefix is hashed when it decodes (an MP4
  with ``moov`` at the front). Other media stop at ``REPOSTWATCH_MEDIA_MAXSIZE`` as before.
- An HLS playlist or a DASH manifest (`crawler.hashing.sniff` says ``stream``, by content)
  goes to `crawler.crawling.stream_fetch.sample_stream`.

Every request goes through Scrapy's engine (``MediaDownload.download``) with the media request's
meta, so the private-network guard, robots.txt, retries, politeness and stats apply to each
range. A sampled video has no whole-file sha256; its `Delivery` says what was fetched.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace

from scrapy.http import Response

from crawler.crawling.media_download import (
    READING,
    AlignedLine,
    AlignedLines,
    CandidateTimes,
    MediaDownload,
    MediaOutcome,
    Reading,
)
from crawler.crawling.stream_fetch import StreamOptions, sample_stream
from crawler.delivery.sparse import (
    MIN_CHUNK,
    SPARSE_DEMUXERS,
    ByteRange,
    Chunks,
    SparseSample,
    chunk_for,
    sample_ranges,
)
from crawler.hashing.errors import MediaError, UnsupportedMedia
from crawler.hashing.sniff import sniff
from crawler.hashing.types import Delivery, FrameHash, MediaHashes
from crawler.stats import (
    MEDIA_BYTES,
    VIDEO_BUDGET_STOPPED,
    VIDEO_DENSE_WINDOWS,
    VIDEO_FOLLOWED,
    VIDEO_NO_RANGE,
    VIDEO_RANGED,
    VIDEO_RANGED_BYTES,
    VIDEO_SAMPLING_LIMITED,
    media_skipped,
)

logger = logging.getLogger(__name__)

#: A long video is sampled at least once every this many seconds (more than
#: ``REPOSTWATCH_VIDEO_SAMPLES``), so that a one-minute clip in it holds a sample: 60 samples
#: over the 106 minutes of a 1 GB file fell 107 s apart and missed the reference's minute. As
#: many as half the file's byte share affords at two `MIN_CHUNK` each. Each costs its decode
#: and hash: the 139 after the scouts took 19 s at load 21 on the 2 shared cores.
SPREAD_SECONDS = 45.0
#: Passes over a sampled video at most (each fetches what the one before lacked; following a
#: matched line takes one or two a stretch).
MAX_PASSES = 24
#: Seconds between the keyframes sampled along a matched line (fewer where the file has
#: keyframes further apart): each costs its keyframe's bytes (`crawler.delivery.sparse.MIN_CHUNK`
#: or more); the alignment allows 15 s between aligned frames (the matcher's ``max_gap``).
FOLLOW_STEP = 3.0
#: Seconds a matched line is followed past each end at least, a stretch at a time (then as far
#: as it is long: a whole reference is covered in a few stretches).
FOLLOW_SECONDS = 12.0
#: Matched lines followed per video at most (the matches with the most frames aligned).
MAX_LINES = 2
#: Slack past a reference's own start or end along a line, per second of extrapolation.
_FOLLOW_SLACK = 0.05
#: Dense windows per video at most, spread over the times that looked like a reference: each
#: costs its seconds of the file's bytes, and a few confirm an alignment.
MAX_DENSE_WINDOWS = 2
_CONTENT_RANGE = re.compile(rb"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True)
class Whole:
    """Bytes to hash as today: the whole file, or a no-Range server's prefix (``delivery``)."""

    body: bytes
    delivery: Delivery | None


@dataclass(frozen=True)
class Sampled:
    """A video sampled without reading it whole: its hashes carry its `Delivery`."""

    hashes: MediaHashes


def content_range(response: Response) -> tuple[int, int, int | None] | None:
    """``(first byte, last byte, total or None)`` of a 206 response's ``Content-Range``."""
    found = _CONTENT_RANGE.match((response.headers.get("Content-Range") or b"").strip())
    if found is None:
        return None
    total = None if found.group(3) == b"*" else int(found.group(3))
    return int(found.group(1)), int(found.group(2)), total


class VideoFetch:
    """Decides how each media URL is fetched and samples large videos (see the module)."""

    def __init__(
        self,
        *,
        media: MediaDownload,
        hasher: Executor,
        candidate_times: CandidateTimes,
        maxsize: int,
        whole_maxsize: int,
        samples: int,
        dense_seconds: float,
        byte_share: float,
        seconds: float,
        max_pixels: int,
        stream_options: StreamOptions | None = None,
        aligned_lines: AlignedLines | None = None,
    ):
        self.media = media
        self.stats = media.stats
        self.hasher = hasher
        self.candidate_times = candidate_times
        self.maxsize = maxsize
        self.whole_maxsize = whole_maxsize
        self.samples = samples
        self.dense_seconds = dense_seconds
        self.byte_share = byte_share
        self.seconds = seconds
        self.max_pixels = max_pixels
        self.stream_options = stream_options  # None: the project's settings
        self.aligned_lines = aligned_lines  # None: matched lines are not followed

    async def deliver(
        self,
        url: str,
        referer: str,
        response: Response,
        hint_times: Sequence[float] = (),
        *,
        captured: bool = False,
    ) -> Whole | Sampled | MediaOutcome:
        """What to hash for the probe ``response`` of ``url`` (see the module). ``hint_times``:
        seconds of the video its page's previews (storyboard tiles) suggest look like a
        reference: sampled densely from the first pass (a stream: with its candidate times).
        ``captured``: the page's player asked for ``url`` in the browser (a stream's delivery
        says so: ``browser-hls``)."""
        body = response.body
        try:
            sniffed = sniff(body)
        except UnsupportedMedia:
            sniffed = None  # not media: hashing says so, as for any other bytes
        if sniffed is not None and sniffed.kind == "stream":
            return await self._stream(url, referer, response, hint_times, captured)
        if response.status == 200:
            return self._whole_answer(url, response)
        span = content_range(response)
        if span is None or span[0] != 0 or span[2] is None:
            return Whole(body, None)  # a 206 that does not say what it holds: hash what came
        total = span[2]
        if len(body) >= total or sniffed is None:
            return Whole(body, None)
        large_video = sniffed.kind == "video" and total > self.whole_maxsize
        if large_video and sniffed.format in SPARSE_DEMUXERS:
            return await self._sample(url, referer, body, total, sniffed.format, hint_times)
        if total > self.maxsize:
            return self.media.media_failed(
                url, "too_large", f"{total:,} bytes, over REPOSTWATCH_MEDIA_MAXSIZE"
            )
        return await self._rest(url, referer, body, total)

    def _whole_answer(self, url: str, response: Response) -> Whole:
        """A 200: the whole file, or as much of a video as the stream budget let in."""
        reading: Reading | None = response.request.meta.get(READING) if response.request else None
        video = bool(reading and reading.video)
        if not video:
            return Whole(response.body, None)
        asked_range = response.request is not None and b"Range" in response.request.headers
        if asked_range:
            self.stats.inc_value(VIDEO_NO_RANGE)
        if "download_stopped" not in response.flags:
            return Whole(response.body, None)
        self.stats.inc_value(VIDEO_BUDGET_STOPPED)
        body = response.body
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        logger.info(
            "Read %s only up to the stream budget (%d of %s bytes): the server ignores Range",
            url,
            len(body),
            f"{total:,}" if total else "unknown",
        )
        delivery = Delivery(
            "stream-budget",
            bytes_fetched=len(body),
            bytes_total=total,
            detail="no Range: prefix read up to the stream budget",
            partial_sha256=_partial_sha256(body, total),
        )
        return Whole(body, delivery)

    async def _rest(self, url: str, referer: str, head: bytes, total: int) -> Whole | MediaOutcome:
        """The whole file: ``head`` (the probe) and one Range request for the rest."""
        wanted = ByteRange(len(head), total)
        fetched = await self._fetch_range(url, referer, wanted)
        if isinstance(fetched, MediaOutcome):
            return fetched
        if isinstance(fetched, Response):  # a 200 with the whole body after all
            return Whole(fetched.body, None)
        return Whole(head + fetched, None)

    async def _fetch_range(
        self, url: str, referer: str, wanted: ByteRange
    ) -> bytes | Response | MediaOutcome:
        """The bytes of ``wanted``; or the response, when the server sent the whole file (200);
        or the outcome of a failure."""
        request = self.media.media_request(url, referer, Range=wanted.header)
        request.meta["download_maxsize"] = max(self.maxsize, len(wanted) + 1)
        try:
            response = await self.media.download(request)
        except Exception as exc:  # refusals and failures alike end the video
            return self.media.media_failed(
                url, "download", f"range {wanted.header}: {exc.__class__.__name__}: {exc}"
            )
        self.stats.inc_value(MEDIA_BYTES, len(response.body))
        if response.status == 200:
            return response
        span = content_range(response)
        if response.status != 206 or span is None or span[0] != wanted.start:
            return self.media.media_failed(
                url, f"http_{response.status}", f"range {wanted.header}: HTTP {response.status}"
            )
        return response.body

    async def _sample(
        self, url: str, referer: str, head: bytes, total: int, fmt: str, hints: Sequence[float]
    ) -> Sampled | MediaOutcome:
        """Sample a large progressive video pass after pass (see the module)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        chunks = Chunks()
        chunks.add(0, head)
        fetched = len(head)
        share = int(self.byte_share * total)
        budget = max(share, self.whole_maxsize)
        asked_dense = self.dense_seconds <= 0
        hinted = () if asked_dense else _windows(hints, self.dense_seconds, None)
        windows = hinted
        if hinted:
            self.stats.inc_value(VIDEO_DENSE_WINDOWS, len(hinted))
        passes = 0
        limited = ""
        found: SparseSample | None = None
        frames: dict[float, FrameHash] = {}  # every frame decoded, by its second
        known: frozenset[float] = frozenset()  # the target times they were decoded for
        keyframe_bytes: list[int] = []  # what each keyframe took to decode so far
        along: set[float] = set()  # times asked for along matched lines
        reach: dict[int, tuple[float, float]] = {}  # per line: the seconds followed so far
        candidates: list[float] = []  # the times the dense windows were put around
        probed = False  # keyframes were sampled around them, nothing having matched
        while True:
            passes += 1
            work = functools.partial(
                sample_ranges,
                chunks,
                total,
                fmt,
                samples=self.samples,
                spread_every=SPREAD_SECONDS,
                max_samples=share // (2 * MIN_CHUNK),
                windows=windows,
                times=tuple(sorted(along)),
                known=known,
                chunk=chunk_for(keyframe_bytes),
                max_pixels=self.max_pixels,
            )
            try:
                sampled = await loop.run_in_executor(self.hasher, work)
            except MediaError as exc:
                self.stats.inc_value(media_skipped(exc.__class__.__name__))
                logger.debug("Not sampled: %s: %s", url, exc)
                return MediaOutcome(url=url, error=str(exc))
            known |= sampled.decoded_times
            keyframe_bytes += sampled.target_bytes
            for frame in sampled.frames:
                frames.setdefault(frame.seconds, frame)
            if sampled.duration is not None:
                found = (
                    sampled
                    if sampled.width or found is None
                    else replace(sampled, width=found.width, height=found.height)
                )
            wanted = list(sampled.needed)
            so_far = [frames[seconds] for seconds in sorted(frames)]
            if not wanted and not asked_dense and frames:
                asked_dense = True
                times = await self.candidate_times(so_far)
                candidates = _picked(times)
                more = _windows(times, self.dense_seconds, sampled.duration)
                if more:
                    self.stats.inc_value(VIDEO_DENSE_WINDOWS, len(more))
                    windows = _union((*hinted, *more))
                    continue
            if not wanted and self.aligned_lines is not None and frames and sampled.duration:
                lines = await self.aligned_lines(so_far)
                if not lines and candidates and not probed:
                    # Nothing matched yet around what looked like a reference (a window of
                    # fades and flat frames): keyframes either side, as if a line went through.
                    probed = True
                    lines = [
                        AlignedLine(-1 - i, t, t, None, None) for i, t in enumerate(candidates)
                    ]
                more = _along(lines, reach, sampled.duration) - along
                if more:
                    self.stats.inc_value(VIDEO_FOLLOWED, len(more))
                    along |= more
                    continue
            if not wanted:
                break
            if passes >= MAX_PASSES:
                limited = f"pass limit ({MAX_PASSES})"
                break
            if loop.time() - started > self.seconds:
                limited = f"time limit ({self.seconds:g} s)"
                break
            # Following a line is worth the file's share of bytes, never the floor's more.
            limit = min(budget, share) if along else budget
            wanted = _within(wanted, limit - fetched)
            if not wanted:
                limited = f"byte budget ({limit:,} bytes)"
                break
            answers = await asyncio.gather(
                *(self._fetch_range(url, referer, item) for item in wanted)
            )
            for item, answer in zip(wanted, answers, strict=True):
                if isinstance(answer, bytes):
                    chunks.add(item.start, answer)
                    fetched += len(answer)
                elif isinstance(answer, Response):  # the server stopped honouring Range
                    fetched += len(answer.body)
                    limited = "the server answered a range with the whole file"
                else:
                    limited = answer.error or "a range failed"
            if limited:
                break
        self.stats.inc_value(VIDEO_RANGED)
        self.stats.inc_value(VIDEO_RANGED_BYTES, fetched)
        if limited:
            self.stats.inc_value(VIDEO_SAMPLING_LIMITED)
        if not frames or found is None:
            why = f"no frame sampled from its byte ranges ({limited or 'nothing decoded'})"
            return self.media.media_failed(url, "video_sampling", why)
        seconds = loop.time() - started
        detail = f"{len(frames)} frames, {passes} passes, {seconds:.1f} s" + (
            f"; stopped at the {limited}" if limited else ""
        )
        logger.info(
            "Sampled %s: %d of %d bytes (%.1f%%), %s", url, fetched, total,
            100 * fetched / total, detail,
        )  # fmt: skip
        delivery = Delivery(
            "ranged", fetched, total, detail=detail, partial_sha256=_partial_sha256(head, total)
        )
        return Sampled(
            MediaHashes(
                kind="video",
                format=fmt,
                size=total,
                width=found.width,
                height=found.height,
                hashes=(),
                frames=tuple(frames[seconds] for seconds in sorted(frames)),
                duration=found.duration,
                delivery=delivery,
            )
        )

    async def _stream(
        self,
        url: str,
        referer: str,
        response: Response,
        hints: Sequence[float],
        captured: bool = False,
    ) -> Sampled | MediaOutcome:
        """An HLS playlist or a DASH manifest, sampled by its segments; ``hints`` join the
        candidate times its sampled frames give."""

        async def candidate_times(frames: Sequence[FrameHash]) -> list[float]:
            return sorted({*await self.candidate_times(frames), *hints})

        result = await sample_stream(
            self.media.download,
            url,
            response,
            candidate_times=candidate_times,
            options=self.stream_options,
            hasher=self.hasher,
            stats=self.stats,
            referer=referer,
            captured=captured,
        )
        if isinstance(result, MediaOutcome):
            return result
        return Sampled(
            MediaHashes(
                kind="video",
                format=result.format,
                size=result.delivery.bytes_total or result.delivery.bytes_fetched,
                width=result.width,
                height=result.height,
                hashes=(),
                frames=tuple(result.frames),
                duration=result.duration,
                delivery=result.delivery,
            )
        )


def _windows(
    times: Sequence[float], around: float, duration: float | None
) -> tuple[tuple[float, float], ...]:
    """``around`` seconds either side of each time (at most `MAX_DENSE_WINDOWS` of them, spread
    over ``times``), overlapping windows merged."""
    return _union(
        (max(0.0, t - around), t + around if duration is None else min(duration, t + around))
        for t in _picked(times)
    )


def _picked(times: Sequence[float]) -> list[float]:
    """At most `MAX_DENSE_WINDOWS` of ``times``, spread over them (the first and the last)."""
    times = sorted(times)
    if len(times) > MAX_DENSE_WINDOWS:
        last = len(times) - 1
        picks = {round(i * last / (MAX_DENSE_WINDOWS - 1)) for i in range(MAX_DENSE_WINDOWS)}
        times = [times[i] for i in sorted(picks)]
    return times


def _along(
    lines: Sequence[AlignedLine], reach: dict[int, tuple[float, float]], duration: float
) -> set[float]:
    """The times to sample next along the first `MAX_LINES` matched ``lines`` (``reach``: the
    seconds each was followed over so far, updated). Past each end of a line whose frames still
    agree at the last time sampled there, a stretch as long as the line found so far (at least
    `FOLLOW_SECONDS`), one time every `FOLLOW_STEP` seconds; never past the video nor (with
    slack: the line's speed is known to a few per cent) past where the reference's own start
    or end falls along the line. An end where the frames stopped agreeing is not followed."""
    times: set[float] = set()
    for line in lines[:MAX_LINES]:
        lo, hi = reach.get(line.reference_video, (line.found_start, line.found_end))
        lo, hi = min(lo, line.found_start), max(hi, line.found_end)
        first, last = 0.0, duration
        if line.reference_first is not None:
            away = max(0.0, line.found_start - line.reference_first)
            first = max(first, line.reference_first - FOLLOW_STEP - _FOLLOW_SLACK * away)
        if line.reference_last is not None:
            away = max(0.0, line.reference_last - line.found_end)
            last = min(last, line.reference_last + FOLLOW_STEP + _FOLLOW_SLACK * away)
        stretch = max(FOLLOW_SECONDS, hi - lo)
        new_lo, new_hi = lo, hi
        if line.found_start <= lo + 2 * FOLLOW_STEP and lo > first:
            new_lo = max(first, lo - stretch)
            times.update(_steps(lo, new_lo))
        if line.found_end >= hi - 2 * FOLLOW_STEP and hi < last:
            new_hi = min(last, hi + stretch)
            times.update(_steps(hi, new_hi))
        reach[line.reference_video] = (new_lo, new_hi)
    return times


def _steps(edge: float, end: float) -> list[float]:
    """Times from ``edge`` (excluded) to ``end`` (included), about `FOLLOW_STEP` apart."""
    count = math.ceil(abs(end - edge) / FOLLOW_STEP - 1e-9)
    return [round(edge + (end - edge) * i / count, 3) for i in range(1, count + 1)]


def _union(windows: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """``windows`` in time order, overlapping ones merged."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _within(wanted: list[ByteRange], room: int) -> list[ByteRange]:
    """As many of ``wanted`` as fit in ``room`` bytes, smallest first; the first that does not
    fit is cut to the room left (its start is what a pass lacked first)."""
    kept, used = [], 0
    for item in sorted(wanted, key=len):
        left = room - used
        if left <= 0:
            break
        if len(item) > left:
            item = ByteRange(item.start, item.start + left)
        kept.append(item)
        used += len(item)
    return sorted(kept, key=lambda item: item.start)


def _partial_sha256(head: bytes, total: int | None) -> str:
    """The sha256 of a file's size and first bytes: names a file not read whole."""
    digest = hashlib.sha256(f"{total}:".encode())
    digest.update(head)
    return digest.hexdigest()
