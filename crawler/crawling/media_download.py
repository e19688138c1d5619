"""Fetching one media URL for the pipeline, cut where Scrapy's media pipeline cuts it.

Scrapy's ``scrapy/pipelines/media.py`` names the hooks of a media download; these mean the same:

- :meth:`MediaDownload.media_to_download`: is it known already? The media cache holds the
  validators and hashes of media hashed by an earlier crawl, so unchanged media costs one
  conditional request (or a ``HEAD`` compared by length) instead of a download. A site can
  swap the bytes behind an unchanged ETag, Last-Modified or length, so "unchanged" is only
  believed for ``REPOSTWATCH_MEDIA_CACHE_REHASH_DAYS`` after the media was last hashed: older
  entries are downloaded and hashed again.
- :meth:`MediaDownload.media_request`: the request, through Scrapy's engine, so that the
  downloader middlewares (the private-network guard, robots.txt, retries), limits and stats
  apply to media as to pages.
- :meth:`MediaDownload.media_downloaded`: a response to hash, or a failure by status.
- :meth:`MediaDownload.media_failed`: a failure, named by the type of the exception Scrapy
  raised (:func:`failure_kind`, :func:`refusal_reason`).

The bytes stay in the response, in memory, for the pipeline to hash and drop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.datatypes import SequenceExclude

from crawler import db
from crawler.crawling.media_cache import MediaCache
from crawler.crawling.middlewares.private_network import PrivateNetworkRefused
from crawler.crawling.middlewares.robots import RobotsTxtRefused
from crawler.db.evidence import SealedEvidence
from crawler.db.match_keys import ReferenceKey
from crawler.hashing import MediaHashes
from crawler.hashing.types import FrameHash, media_hashes_to_json
from crawler.matching import Match
from crawler.network import same_origin_referer
from crawler.stats import (
    MEDIA_BYTES,
    MEDIA_CACHE_HITS,
    MEDIA_CACHE_REHASHED,
    MEDIA_DOWNLOADED,
    MEDIA_FAILED,
    media_failed,
    refused,
)

logger = logging.getLogger(__name__)

#: ``await download(request)``: the response Scrapy's engine downloads for ``request``.
Download = Callable[[Request], Awaitable[Response]]
#: ``await candidate_times(frames)``: the sampled times whose frame looks like a reference's
#: (where the video and stream samplers look more densely; previews ask it too).
CandidateTimes = Callable[[Sequence[FrameHash]], Awaitable[list[float]]]


@dataclass(frozen=True)
class AlignedLine:
    """Where a sampled video's frames agree with a reference video along one line (a match):
    the video's seconds from ``found_start`` to ``found_end``; and the seconds the whole
    reference would span along that line (its start and end: None when its length is not
    known), where a sampler follows the line to see where the reference really sits."""

    reference_video: int
    found_start: float
    found_end: float
    reference_first: float | None
    reference_last: float | None


#: ``await aligned_lines(frames)``: the matches of the frames sampled so far, as lines.
AlignedLines = Callable[[Sequence[FrameHash]], Awaitable[list[AlignedLine]]]


@dataclass(frozen=True)
class MediaOutcome:
    """What became of one media URL: its hashes' summary and its matches, never its bytes."""

    url: str
    #: The media's sha256; for media not read whole (a sampled video), `MediaHashes.media_key`.
    sha256: str | None = None
    kind: str | None = None
    matches: tuple[tuple[Match, str | None], ...] = ()  # each with its evidence (JSON) or None
    error: str | None = None
    pdq: str | None = None  # the media's PDQ hex (images), recorded on its flags
    # What the matched references are called, by id, learnt from memory as they matched: a
    # spilled match names them even when the database was down from the start.
    reference_keys: tuple[tuple[int, ReferenceKey], ...] = ()
    # Matched media encrypted as evidence (only with REPOSTWATCH_EVIDENCE_KEY), never plaintext.
    sealed: SealedEvidence | None = None


#: The request meta key of a probe's `Reading`.
READING = "repostwatch_reading"


@dataclass
class Reading:
    """How much of one probe's response has arrived (request meta `READING`)."""

    started: float = field(default_factory=time.monotonic)
    received: int = 0
    head: bytes = b""
    video: bool | None = None  # None until the first bytes are sniffed
    stopped: bool = False  # the stream budget stopped it
    too_large: bool = False  # not a video, and over REPOSTWATCH_MEDIA_MAXSIZE


def failure_kind(exc: Exception) -> str:
    """The ``media/failed/<kind>`` of a download that raised ``exc``: ``too_large`` when
    Scrapy cancelled it at the size limit (``download_maxsize``, or the probe's own limit in
    `crawler.crawling.stream_budget.StreamBudget`), ``download`` otherwise."""
    too_large = isinstance(exc, DownloadCancelledError | StopDownload)
    return "too_large" if too_large else "download"


def refusal_reason(exc: IgnoreRequest) -> str | None:
    """The ``refused/<reason>`` of a request refused on purpose, or None for the private-network
    guard's refusals, which the guard counts itself."""
    if isinstance(exc, PrivateNetworkRefused):
        return None
    if isinstance(exc, RobotsTxtRefused):
        return "robots_txt"
    return exc.__class__.__name__


class MediaDownload:
    """Downloads media for the pipeline, conditionally when the media cache knows it.

    ``cache`` is None when the media cache is off; its calls run on ``cache_pool``, off the
    reactor thread. An entry hashed longer than ``rehash_after`` ago (by ``clock``) is not
    asked about: the media is downloaded and hashed again.
    """

    def __init__(
        self,
        *,
        download: Download,
        stats: StatsCollector,
        maxsize: int,
        probe_bytes: int,
        cache: MediaCache | None,
        cache_pool: Executor,
        rehash_after: timedelta,
        clock: Callable[[], datetime] | None = None,
    ):
        self.download = download
        self.stats = stats
        self.maxsize = maxsize
        self.probe_bytes = probe_bytes
        self.cache = cache
        self.cache_pool = cache_pool
        self.rehash_after = rehash_after
        self.clock = clock or _utcnow

    async def media_to_download(self, url: str) -> db.CachedMedia | None:
        """The media cache's entry for ``url``, or None: unknown, hashed too long ago to trust
        an "unchanged" answer, or the cache is off or down (a cache that is down only costs a
        download)."""
        if self.cache is None:
            return None
        loop = asyncio.get_running_loop()
        try:
            cached = await loop.run_in_executor(self.cache_pool, self.cache.get, url)
        except Exception as exc:
            logger.warning("Media cache unavailable (%s); downloading %s", exc, url)
            return None
        if cached is not None and self.clock() - _aware(cached.hashed_at) >= self.rehash_after:
            self.stale(url)
            return None
        return cached

    def stale(self, url: str) -> None:
        """Count a cache entry hashed too long ago to be believed."""
        self.stats.inc_value(MEDIA_CACHE_REHASHED)

    def media_request(self, url: str, referer: str, method: str = "GET", **headers) -> Request:
        """The request for ``url``, found on page ``referer`` ("" for a page a site search led
        to): the page is its Referer only on the page's own origin."""
        return Request(
            url,
            method=method,
            headers={**same_origin_referer(referer, url), **headers},
            meta={
                "download_maxsize": self.maxsize,
                "download_warnsize": 0,
                "allow_offsite": True,  # media often lives on another host (a CDN)
                # Every status but redirects comes back to us; redirects are followed (and
                # each hop passes the private-network guard again).
                "handle_httpstatus_list": SequenceExclude(range(300, 400)),
                "repostwatch_media": True,
            },
            dont_filter=True,
        )

    def probe_request(self, url: str, referer: str, **headers) -> Request:
        """The first request for ``url``: its first ``probe_bytes`` (``Range``), read with no
        size limit of Scrapy's: `crawler.crawling.stream_budget.StreamBudget` ends a server's
        whole answer (no Range) at the stream budget (video) or at ``maxsize`` (the rest)."""
        request = self.media_request(
            url, referer, Range=f"bytes=0-{self.probe_bytes - 1}", **headers
        )
        request.meta["download_maxsize"] = 0
        request.meta[READING] = Reading()
        return request

    async def fetch(
        self, url: str, referer: str, *, whole: bool = False
    ) -> Response | db.CachedMedia | MediaOutcome:
        """``url``'s first response (its first bytes, or all of it) for
        `crawler.crawling.video_fetch.VideoFetch.deliver`; or its cache entry, when the server
        says it is unchanged since it was hashed; or the outcome of a refusal or a failure.
        ``whole``: ask for all of it at once, up to ``maxsize`` (a preview image, never
        sampled), instead of its first bytes."""
        cached = await self.media_to_download(url)
        validators = _validators(cached)
        head = cached is not None and not validators and cached.content_length is not None
        get = self.media_request if whole else self.probe_request
        try:
            if head:
                response = await self.download(self.media_request(url, referer, "HEAD"))
            else:
                response = await self.download(get(url, referer, **validators))
            if cached is not None and _unchanged(response, cached, head):
                self.unchanged(url)
                return cached
            if head:  # changed since: fetch it
                response = await self.download(get(url, referer))
        except IgnoreRequest as exc:
            return self.media_refused(url, exc)
        except Exception as exc:
            return self.media_failed(url, failure_kind(exc), f"{exc.__class__.__name__}: {exc}")
        return self.media_downloaded(url, response)

    def unchanged(self, url: str) -> None:
        """Count a cache hit and keep the entry from expiring."""
        self.stats.inc_value(MEDIA_CACHE_HITS)
        self.touch(url)

    def touch(self, url: str) -> None:
        """Keep ``url``'s cache entry from expiring (in the background)."""
        asyncio.get_running_loop().run_in_executor(self.cache_pool, self.cache.touch, url)

    def media_downloaded(self, url: str, response: Response) -> Response | MediaOutcome:
        """The response to hash (200, or 206 for the first bytes), or the failure its status
        is."""
        if response.status not in (200, 206):
            return self.media_failed(url, f"http_{response.status}", f"HTTP {response.status}")
        self.stats.inc_value(MEDIA_DOWNLOADED)
        self.stats.inc_value(MEDIA_BYTES, len(response.body))
        return response

    def media_refused(self, url: str, exc: IgnoreRequest) -> MediaOutcome:
        """Refused on purpose (robots.txt, the private-network guard): counted as a refusal,
        not a failure."""
        if (reason := refusal_reason(exc)) is not None:
            self.stats.inc_value(refused(reason))
        logger.info("Media not fetched: %s (%s)", url, exc or exc.__class__.__name__)
        return MediaOutcome(url=url, error=str(exc) or exc.__class__.__name__)

    def media_failed(self, url: str, kind: str, why: str) -> MediaOutcome:
        """Media that could not be fetched (or hashed: ``hasher_died``), counted by ``kind``."""
        self.stats.inc_value(MEDIA_FAILED)
        self.stats.inc_value(media_failed(kind))
        logger.warning("Media not fetched: %s (%s)", url, why)
        return MediaOutcome(url=url, error=why)

    def remember(self, url: str, response: Response, hashes: MediaHashes) -> None:
        """Keep the response's validators and the hashes for the next crawl (in the
        background); nothing when the media cache is off."""
        if self.cache is None:
            return
        headers = response.headers
        etag = headers.get("ETag")
        last_modified = headers.get("Last-Modified")
        entry = {
            "etag": etag.decode("latin-1") if etag else None,
            "last_modified": last_modified.decode("latin-1") if last_modified else None,
            "content_length": hashes.size,
            "media_sha256": hashes.media_key,
            "hashes": media_hashes_to_json(hashes),
        }
        future = asyncio.get_running_loop().run_in_executor(
            self.cache_pool, functools.partial(self.cache.put, url, **entry)
        )
        future.add_done_callback(_log_cache_error)


def _validators(cached: db.CachedMedia | None) -> dict[str, str]:
    """The conditional request headers for media hashed before."""
    validators = {}
    if cached is not None:
        if cached.etag:
            validators["If-None-Match"] = cached.etag
        if cached.last_modified:
            validators["If-Modified-Since"] = cached.last_modified
    return validators


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite gives back naive UTC timestamps)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _unchanged(response: Response, cached: db.CachedMedia, head: bool) -> bool:
    if response.status == 304:
        return True
    if head and response.status == 200:
        length = response.headers.get("Content-Length")
        return length is not None and int(length) == cached.content_length
    return False


def _log_cache_error(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Could not store a media cache entry: %s", future.exception())
