"""The Scrapy side of RepostWatch: download media, hash it off the reactor, match, record flags.

For every :class:`~crawler.items.MediaPage` the pipeline fetches each media URL
(:mod:`crawler.crawling.media_download`: through Scrapy's engine, conditionally when the media
cache knows it; :mod:`crawler.crawling.video_fetch` decides from its first bytes whether it is
fetched whole, sampled by byte ranges (large videos) or read as a stream), keeps the bytes in
memory only, hashes them in a process pool, matches the hashes
against the reference index loaded from the database when the spider opens (on one matching
thread, which also applies reference changes: neither blocks the reactor, and they never
interleave), writes a flag for every match (committed at once, so nothing found is lost if the
crawl dies later) and drops the bytes. The crawl run row (:mod:`crawler.crawling.run`) is opened
when the spider opens and closed with its figures when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spiders import Spider
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.crawling.hash_pool import HashTimeout, new_hash_pool
from crawler.crawling.live_references import (
    LiveReferences,
    video_matcher_from_settings,
    wait_for_announcements,
)
from crawler.crawling.match_writer import MatchWriter
from crawler.crawling.media_cache import media_cache
from crawler.crawling.media_download import AlignedLine, MediaDownload, MediaOutcome
from crawler.crawling.previews import (
    NO_HINTS,
    PreviewDownload,
    PreviewHints,
    hash_tiles,
    preview_hashes,
    preview_hints,
)
from crawler.crawling.recording import FlagRecorder
from crawler.crawling.run import RunRow
from crawler.crawling.stream_budget import StreamBudget
from crawler.crawling.stream_fetch import StreamOptions
from crawler.crawling.video_fetch import (
    Sampled,
    VideoFetch,
    Whole,
)
from crawler.db import evidence as evidence_store
from crawler.hashing import MediaError, MediaHashes, hash_media
from crawler.hashing.algorithms import CRPDQ
from crawler.hashing.crpdq import RegionCheck, region_distances
from crawler.hashing.types import Delivery, FrameHash, media_hashes_from_json
from crawler.items import MediaPage
from crawler.matching import Match
from crawler.matching.video import VideoMatcher
from crawler.stats import (
    CROPS_REFUSED,
    CROPS_UNCHECKED,
    FLAGS_REPLAYED,
    MEDIA_HASHED,
    MEDIA_MATCHED,
    MEDIA_OVER_PIXEL_BUDGET,
    MEDIA_SEEN_AGAIN,
    PAGES,
    PREVIEWS_HASHED,
    PREVIEWS_MATCHED_HINT,
    REFERENCES,
    REFERENCES_ADDED_LIVE,
    REFERENCES_WITHDRAWN_LIVE,
    RUN_ID,
    media_hashed,
    media_skipped,
)

logger = logging.getLogger(__name__)


def hash_processes(workers: int) -> int:
    """How many hashing processes ``REPOSTWATCH_HASH_WORKERS`` asks for: 0 means one per core."""
    return workers if workers > 0 else os.cpu_count() or 1


class HashMatchPipeline:
    """Downloads, hashes and matches the media of every page; records a flag per match.

    ``from_crawler`` reads the settings and hands their values here, with the crawler (whose
    engine downloads the media once the crawl runs). What needs the database or the running
    crawl (the run, the references, the media cache, the hashing processes) is started when the
    spider opens; until then those attributes are None.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        database_url: str,
        hash_workers: int,
        hash_task_seconds: float,
        pixel_budget: int,
        media_maxsize: int,
        probe_bytes: int,
        video: dict,
        max_pixels: int,
        media_concurrency: int,
        spill_file: str,
        reference_poll_seconds: float,
        run_progress_seconds: float,
        redis_url: str,
        use_media_cache: bool,
        media_cache_rehash_days: float,
        join_run_id: int,
        shared_run: bool,
        evidence: evidence_store.Sealer | None,
        video_matcher: VideoMatcher,
    ):
        self.crawler = crawler  # its engine downloads the media; its spider is the one crawling
        self.stats = crawler.stats
        self.database_url = database_url
        self.hash_workers = hash_workers
        self.hash_task_seconds = hash_task_seconds
        self.pixel_budget = pixel_budget
        self.media_maxsize = media_maxsize
        self.probe_bytes = probe_bytes
        # REPOSTWATCH_VIDEO_*: how large videos are sampled (crawler/crawling/video_fetch.py).
        self.video = video
        self.max_pixels = max_pixels
        self.media_concurrency = media_concurrency
        self.spill_file = spill_file
        self.reference_poll_seconds = reference_poll_seconds
        # Seconds between writes of the figures so far to the run's row (0: only at the end).
        self.run_progress_seconds = run_progress_seconds
        self.redis_url = redis_url  # "" without Redis
        self.use_media_cache = use_media_cache
        self.media_cache_rehash_days = media_cache_rehash_days
        # Evidence: matched media is kept sealed to the web app's public key, only when one is
        # configured; the crawl cannot decrypt what it keeps.
        self.evidence = evidence
        # The video alignment rule (REPOSTWATCH_VIDEO_*_ALIGNED_*); its references load with
        # the others when the spider opens.
        self.video_matcher = video_matcher
        self.run = RunRow(
            database_url=database_url, stats=self.stats, join_run_id=join_run_id, shared=shared_run
        )
        # Database writes; matching and reference updates (one thread, so that they never
        # interleave); media cache calls and evidence encryption.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repostwatch-db")
        self.matching = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repostwatch-match")
        self.cache_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="repostwatch-cache")
        self.outcomes: dict[str, asyncio.Future[MediaOutcome]] = {}  # per media URL, this run
        self.references_changed = asyncio.Event()
        # Started by open_spider:
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None
        self.recorder: FlagRecorder | None = None
        self.match_writer: MatchWriter | None = None
        self.references: LiveReferences | None = None
        self.media: MediaDownload | None = None
        self.previews: PreviewDownload | None = None
        self.hasher: Executor | None = None
        self.videos: VideoFetch | None = None
        self.stream_budget: StreamBudget | None = None  # set by from_crawler
        self.poller: asyncio.Future[None] | None = None
        self.listener: asyncio.Future[None] | None = None
        self.progress: asyncio.Future[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HashMatchPipeline:
        settings = crawler.settings
        redis_url = settings.get("REPOSTWATCH_REDIS_URL")
        poll_seconds = settings.getfloat("REPOSTWATCH_REFERENCE_POLL_SECONDS")
        if redis_url:  # Redis announces changes at once; the poll is only the safety net
            poll_seconds = max(
                poll_seconds, settings.getfloat("REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS")
            )
        public_key = settings.get("REPOSTWATCH_EVIDENCE_PUBLIC_KEY")
        if settings.get("REPOSTWATCH_EVIDENCE_KEY"):
            logger.warning(
                "REPOSTWATCH_EVIDENCE_KEY is set for this crawl: crawls no longer use it, and it "
                "decrypts old evidence, so remove it from crawl hosts. Evidence is kept only with "
                "REPOSTWATCH_EVIDENCE_PUBLIC_KEY (`repostwatch evidence keygen`)"
            )
        pipeline = cls(
            crawler,
            database_url=settings.get("REPOSTWATCH_DATABASE_URL"),
            hash_workers=hash_processes(settings.getint("REPOSTWATCH_HASH_WORKERS")),
            hash_task_seconds=settings.getfloat("REPOSTWATCH_HASH_TASK_SECONDS"),
            pixel_budget=settings.getint("REPOSTWATCH_HASH_PIXEL_BUDGET"),
            media_maxsize=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
            probe_bytes=settings.getint("REPOSTWATCH_MEDIA_PROBE_BYTES"),
            video={
                "whole_maxsize": settings.getint("REPOSTWATCH_VIDEO_WHOLE_MAXSIZE"),
                "samples": settings.getint("REPOSTWATCH_VIDEO_SAMPLES"),
                "dense_seconds": settings.getfloat("REPOSTWATCH_VIDEO_DENSE_SECONDS"),
                "byte_share": settings.getfloat("REPOSTWATCH_VIDEO_BYTE_SHARE"),
                "seconds": settings.getfloat("REPOSTWATCH_VIDEO_SECONDS"),
            },
            max_pixels=settings.getint("REPOSTWATCH_MAX_PIXELS"),
            media_concurrency=settings.getint("REPOSTWATCH_MEDIA_CONCURRENCY"),
            spill_file=settings.get("REPOSTWATCH_SPILL_FILE"),
            reference_poll_seconds=poll_seconds,
            run_progress_seconds=settings.getfloat("REPOSTWATCH_RUN_PROGRESS_SECONDS"),
            redis_url=redis_url,
            use_media_cache=settings.getbool("REPOSTWATCH_MEDIA_CACHE"),
            media_cache_rehash_days=settings.getfloat("REPOSTWATCH_MEDIA_CACHE_REHASH_DAYS"),
            join_run_id=settings.getint("REPOSTWATCH_RUN_ID"),  # 0 (unset): open a run
            shared_run=settings.getbool("REPOSTWATCH_DISTRIBUTED"),
            evidence=evidence_store.sealer(public_key) if public_key else None,
            video_matcher=video_matcher_from_settings(settings),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        budget = StreamBudget(
            maxsize=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
            budget_bytes=settings.getint("REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES"),
            budget_seconds=settings.getfloat("REPOSTWATCH_VIDEO_STREAM_BUDGET_SECONDS"),
        )
        pipeline.stream_budget = budget  # kept: the signal holds its receivers weakly
        pipeline.video["stream_options"] = StreamOptions.from_settings(settings)
        crawler.signals.connect(budget.bytes_received, signal=signals.bytes_received)
        return pipeline

    # --- wiring: open and close ---------------------------------------------------------------
    async def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        site_name = getattr(spider, "site_name", None) or spider.name
        self.engine = db.make_engine(self.database_url)
        self.sessions = db.make_sessionmaker(self.engine)
        self.recorder = FlagRecorder(self.sessions, self.spill_file)
        self.match_writer = MatchWriter(self.sessions, self.recorder, self.run, self.stats)
        self.references = LiveReferences(self.sessions, videos=self.video_matcher)
        # Off the reactor: loading millions of references takes a minute, during which the
        # reactor keeps serving signals, the telnet console and a distributed crawl's heartbeat.
        replayed, loaded = await asyncio.to_thread(self._open_run, site_name, spider.name)
        if replayed:
            self.stats.set_value(FLAGS_REPLAYED, replayed)
        cache = media_cache(self.redis_url, self.sessions) if self.use_media_cache else None
        fetching = {
            "download": self._download,
            "stats": self.stats,
            "maxsize": self.media_maxsize,
            "probe_bytes": self.probe_bytes,
            "cache": cache,
            "cache_pool": self.cache_pool,
            "rehash_after": timedelta(days=self.media_cache_rehash_days),
        }
        self.media = MediaDownload(**fetching)
        self.previews = PreviewDownload(**fetching)  # the same cache, counted as previews
        self.hasher = new_hash_pool(self.hash_workers, self.hash_task_seconds)
        self.videos = VideoFetch(
            media=self.media,
            hasher=self.hasher,
            candidate_times=self._candidate_times,
            aligned_lines=self._aligned_lines,
            maxsize=self.media_maxsize,
            max_pixels=self.max_pixels,
            **self.video,
        )
        self.poller = asyncio.ensure_future(self._poll_references())
        if self.redis_url:
            self.listener = asyncio.ensure_future(
                wait_for_announcements(self.redis_url, self.references_changed.set)
            )
        self.stats.set_value(RUN_ID, self.run.run_id)
        self.stats.set_value(REFERENCES, loaded)
        self.run.close_at_exit()
        if self.run_progress_seconds > 0:
            self.progress = asyncio.ensure_future(self._write_progress())
        logger.info(
            "Crawl run %s of site %r: matching against %d reference hashes, %d hashing %s",
            self.run.run_id,
            site_name,
            loaded,
            self.hash_workers,
            "process" if self.hash_workers == 1 else "processes",
        )

    async def _download(self, request: Request) -> Response:
        """``request``'s response, through the crawl's engine (its middlewares, limits, stats)."""
        return await self.crawler.engine.download_async(request)

    def _open_run(self, site_name: str, spider_name: str) -> tuple[int, int]:
        """Replay unrecorded matches, open (or join) the crawl run and load the references;
        returns how many matches were replayed and how many reference hashes were loaded."""
        try:
            replayed = self.recorder.replay()
        except Exception:  # a spill file never stops a crawl: its lines stay for the next one
            logger.exception("Could not replay %s; the crawl goes on", self.spill_file)
            replayed = 0
        try:
            with self.sessions.begin() as session:
                self.run.open(session, site_name, spider_name)
            return replayed, self.references.load()
        except SQLAlchemyError as exc:
            raise RuntimeError(
                f"cannot use the database at {self.engine.url!r}: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}. Create or update it with `repostwatch db upgrade`."
            ) from exc

    async def _poll_references(self) -> None:
        """Apply references added or withdrawn while crawling: every few seconds, and at once
        when Redis announces a change."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.references_changed.wait(), timeout=self.reference_poll_seconds
                )
            self.references_changed.clear()
            try:
                checked_at, changes = await loop.run_in_executor(self.writer, self.references.fetch)
            except SQLAlchemyError as exc:
                logger.warning("Could not check for new references: %s", exc)
                continue
            applied = await loop.run_in_executor(
                self.matching, self.references.apply, checked_at, changes
            )
            self.stats.inc_value(REFERENCES_ADDED_LIVE, applied.added)
            self.stats.inc_value(REFERENCES_WITHDRAWN_LIVE, applied.removed)

    async def _write_progress(self) -> None:
        """Write the crawl's figures so far to its run's row every few seconds, through the
        database writer (so never after the run is closed: that waits for the writer)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.run_progress_seconds)
            try:
                await loop.run_in_executor(self.writer, self.run.progress, self.sessions)
            except SQLAlchemyError as exc:
                logger.warning("Could not write the crawl run's figures so far: %s", exc)

    def close_spider(self, spider: Spider | None = None) -> None:
        for task in (self.poller, self.listener, self.progress):
            if task is not None:
                task.cancel()
        if self.hasher is not None:
            self.hasher.shutdown(wait=True, cancel_futures=True)
            self.hasher = None
        self.matching.shutdown(wait=True)
        self.outcomes.clear()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run.run_id is None:
            return
        # Every write (flags, the media cache) is done before the run's figures are read.
        self.cache_pool.shutdown(wait=True)
        self.writer.shutdown(wait=True)
        self.run.close(self.sessions, reason)
        self.engine.dispose()

    # --- items ----------------------------------------------------------------------------------
    async def process_item(self, item: MediaPage, spider: Spider | None = None) -> MediaPage:
        if not isinstance(item, MediaPage):
            return item
        self.stats.inc_value(PAGES)
        limit = asyncio.Semaphore(self.media_concurrency)
        loop = asyncio.get_running_loop()

        # A page a site search led to is no one's Referer: its URL (or its search page's) may
        # hold a victim's name.
        referer = "" if item.keyword is not None else item.url
        hints = await self._preview_hints(item, referer) if item.previews else NO_HINTS

        async def one(url: str) -> int:
            """Hash one media URL and record its matches at once: a page's slow media never
            holds back the flags of the others."""
            async with limit:
                outcome = await self._outcome(
                    url, referer, hints.times_for(url), url in item.captured
                )
            matched = [(outcome, *match) for match in outcome.matches]
            previews = hints.kinds_for(url) if outcome.kind == "video" else []
            if previews:  # the video earned its flag; its previews only join the evidence
                matched = [(o, m, _with_previews(e, previews)) for o, m, e in matched]
            if matched:
                record = functools.partial(
                    self.match_writer.record, item.url, matched, item.keyword, item.embedded_in
                )
                await loop.run_in_executor(self.writer, record)
            return len(matched)

        flags = sum(await asyncio.gather(*(one(url) for url in item.media_urls)))
        if flags:
            item.flags = flags
        return item

    async def _preview_hints(self, item: MediaPage, referer: str) -> PreviewHints:
        """The page's previews fetched (bounded: `crawler.crawling.previews`) and hashed as
        media are, and which of them look like a reference video's frame: early evidence for
        its videos' sampling, never a flag of their own."""
        loop = asyncio.get_running_loop()

        def hash_in_pool(data: bytes, boxes: list) -> asyncio.Future:
            work = functools.partial(
                hash_tiles, data, boxes, max_pixels=self.max_pixels, pixel_budget=self.pixel_budget
            )
            return loop.run_in_executor(self.hasher, work)

        hashed = await preview_hashes(
            item.previews,
            media=self.previews,
            referer=referer,
            hash_tiles=hash_in_pool,
        )
        self.stats.inc_value(PREVIEWS_HASHED, len(hashed))
        hints = await preview_hints(hashed, self._candidate_times)
        self.stats.inc_value(PREVIEWS_MATCHED_HINT, sum(map(len, hints.kinds.values())))
        return hints

    async def _outcome(
        self, url: str, referer: str, hints: list[float], captured: bool = False
    ) -> MediaOutcome:
        """The outcome of one media URL, downloaded and hashed once per crawl run (``hints``:
        where its page's previews say to sample it first; ``captured``: the page's player asked
        for it in the browser)."""
        future = self.outcomes.get(url)
        if future is None:
            work = self._download_and_hash(url, referer, hints, captured)
            future = asyncio.ensure_future(work)
            self.outcomes[url] = future
        else:
            self.stats.inc_value(MEDIA_SEEN_AGAIN)
        return await asyncio.shield(future)

    async def _download_and_hash(
        self, url: str, referer: str, hints: list[float], captured: bool
    ) -> MediaOutcome:
        """Fetch ``url`` and hash it, or match the hashes the media cache has for it when the
        server says it is unchanged."""
        fetched = await self.media.fetch(url, referer)
        if isinstance(fetched, MediaOutcome):  # refused, or failed
            return fetched
        if isinstance(fetched, Response):
            delivered = await self.videos.deliver(url, referer, fetched, hints, captured=captured)
            if isinstance(delivered, MediaOutcome):
                return delivered
            if isinstance(delivered, Sampled):
                return await self._sampled(url, fetched, delivered.hashes)
            return await self._hash(url, fetched, delivered)
        try:
            again = functools.partial(self._body_again, url, referer)
            return await self._matched(url, media_hashes_from_json(fetched.hashes), again=again)
        except Exception as exc:  # an unreadable cache entry costs this media, not the page
            return self.media.media_failed(url, "download", f"{exc.__class__.__name__}: {exc}")

    async def _hash(self, url: str, response: Response, delivered: Whole) -> MediaOutcome:
        body = delivered.body
        size = len(body)
        loop = asyncio.get_running_loop()
        work = functools.partial(
            hash_media, body, max_pixels=self.max_pixels, pixel_budget=self.pixel_budget
        )
        try:
            hashes: MediaHashes = await loop.run_in_executor(self.hasher, work)
        except MediaError as exc:
            self.stats.inc_value(media_skipped(exc.__class__.__name__))
            logger.debug("Not hashed: %s: %s", url, exc)
            return MediaOutcome(url=url, error=str(exc))
        except HashTimeout as exc:  # the pool killed and replaced the worker
            logger.warning("Not hashed: %s: %s", url, exc)
            return self.media.media_failed(url, "hash_timeout", str(exc))
        except BrokenProcessPool:  # a worker died (a decoder crash); the pool replaced it
            logger.error("A hashing process died on %s; a new one takes its place", url)
            return self.media.media_failed(url, "hasher_died", "hashing process died")
        finally:
            del body
        if hashes.over_budget:
            self.stats.inc_value(MEDIA_OVER_PIXEL_BUDGET)
            logger.info("Hashed only the first frames of %s: over the pixel budget", url)
        if delivered.delivery is not None:  # a prefix: its digests are not the file's
            hashes = dataclasses.replace(
                hashes,
                hashes=tuple(v for v in hashes.hashes if v.algorithm not in _FILE_DIGESTS),
                delivery=delivered.delivery,
            )
        elif hashes.kind == "video":
            hashes = dataclasses.replace(hashes, delivery=Delivery("whole", size, size))
        self.stats.inc_value(MEDIA_HASHED)
        self.stats.inc_value(media_hashed(hashes.kind))
        self.media.remember(url, response, hashes)
        outcome = await self._matched(url, hashes, delivered.body)
        if outcome.matches and self.evidence is not None and delivered.delivery is None:
            # Only matched media read whole (a prefix or a sample is never sealed as if it
            # were the file), encrypted at once (off the reactor); the plaintext goes with the
            # response.
            seal = functools.partial(
                evidence_store.seal, self.evidence, delivered.body, hashes.kind, hashes.format
            )
            sealed = await loop.run_in_executor(self.cache_pool, seal)
            outcome = dataclasses.replace(outcome, sealed=sealed)
        return outcome

    async def _sampled(self, url: str, response: Response, hashes: MediaHashes) -> MediaOutcome:
        """A video sampled without reading it whole: matched, never sealed as evidence (its
        flag's evidence says how it was fetched instead)."""
        self.stats.inc_value(MEDIA_HASHED)
        self.stats.inc_value(media_hashed(hashes.kind))
        self.media.remember(url, response, hashes)
        return await self._matched(url, hashes)

    async def _candidate_times(self, frames: tuple[FrameHash, ...]) -> list[float]:
        """The sampled times whose frame looks like a reference frame (on the matching thread,
        where references change): where a video sampler looks more densely."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.matching, self.references.video_candidate_times, frames
        )

    async def _aligned_lines(self, frames: Sequence[FrameHash]) -> list[AlignedLine]:
        """The matches of the frames sampled so far, as lines (on the matching thread): a
        video sampler follows them to where the reference ends."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.matching, self.references.video_lines, frames)

    # --- matching ---------------------------------------------------------------------------
    async def _matched(
        self,
        url: str,
        hashes: MediaHashes,
        body: bytes | None = None,
        *,
        again: Callable[[], Awaitable[bytes | None]] | None = None,
    ) -> MediaOutcome:
        """Match on the matching thread: the work grows with the references (crhash screens
        every one, videos compare frames), and reference updates run on the same thread. Crop
        matches are then checked on the media's bytes (`_region_checked`): ``body``, or for
        media matched from the media cache what ``again`` fetches, only when one needs it."""
        loop = asyncio.get_running_loop()
        found, keys, checks = await loop.run_in_executor(
            self.matching, self._match_and_name, hashes
        )
        if body is None and again is not None and any(c is not None for c in checks):
            body = await again()
        found = await self._region_checked(url, found, checks, body)
        if hashes.delivery is not None:
            found = [
                (match, _with_delivery(evidence, hashes.delivery)) for match, evidence in found
            ]
        matches = tuple(found)
        if matches:
            self.stats.inc_value(MEDIA_MATCHED)
        pdq = hashes.get("pdq")
        return MediaOutcome(
            url=url,
            sha256=hashes.media_key,
            kind=hashes.kind,
            matches=matches,
            pdq=pdq.hex if pdq is not None else None,
            reference_keys=tuple(keys.items()),
        )

    async def _body_again(self, url: str, referer: str) -> bytes | None:
        """``url``'s bytes, downloaded again whole: media matched from the media cache has
        only its hashes, and a crop match is checked on the pixels. None when that fails."""
        try:
            response = await self.media.download(self.media.media_request(url, referer))
        except Exception as exc:
            logger.warning("Could not fetch %s again to check a crop match: %s", url, exc)
            return None
        return response.body if response.status == 200 else None

    def _match_and_name(self, hashes: MediaHashes) -> tuple[list, dict, list]:
        """Matches, what their references are called, and each one's region check (None but
        for crop matches: `Matcher.region_check`), on the matching thread."""
        found = self.references.match(hashes)
        keys = self.references.keys_in_memory(match for match, _ in found)
        checks = [self.references.matcher.region_check(match) for match, _ in found]
        return found, keys, checks

    async def _region_checked(
        self,
        url: str,
        found: list[tuple[Match, str | None]],
        checks: list[RegionCheck | None],
        body: bytes | None,
    ) -> list[tuple[Match, str | None]]:
        """``found`` without the crop matches whose region check fails: the media's pixels
        where the match placed the reference, hashed in the hashing pool
        (`region_distances`), more than `CRPDQ.threshold` bits from the case's crpdq. A kept
        crop match's evidence gets the distance (``"region_bits"``). Without bytes (a media
        cache hit that could not be fetched again) or when they fail to decode, crop matches
        stand unchecked (`CROPS_UNCHECKED`): a flag is not dropped for want of a check."""
        wanted = [check for check in checks if check is not None]
        if not wanted:
            return found
        if body is None:
            self.stats.inc_value(CROPS_UNCHECKED, len(wanted))
            logger.warning("Crop matches of %s kept unchecked: its bytes could not be read", url)
            return found
        work = functools.partial(region_distances, body, wanted, max_pixels=self.max_pixels)
        try:
            distances = iter(await asyncio.get_running_loop().run_in_executor(self.hasher, work))
        except (MediaError, HashTimeout, BrokenProcessPool) as exc:
            self.stats.inc_value(CROPS_UNCHECKED, len(wanted))
            logger.warning("Crop matches of %s kept unchecked: %s", url, exc)
            return found
        kept = []
        for (match, evidence), check in zip(found, checks, strict=True):
            if check is None:
                kept.append((match, evidence))
                continue
            bits = next(distances)
            if bits > CRPDQ.threshold:
                self.stats.inc_value(CROPS_REFUSED)
                logger.info(
                    "Crop match of %s to case %s refused: the region is %s bits from the "
                    "reference's (over %s)",
                    url,
                    match.case_id,
                    bits,
                    CRPDQ.threshold,
                )
                continue
            kept.append((match, _with_region(evidence, bits)))
        return kept


#: Digests of the bytes hashed: dropped when those bytes are only a prefix of the file.
_FILE_DIGESTS = frozenset({"sha256", "md5"})


def _with_previews(evidence: str | None, kinds: list[str]) -> str:
    """A video flag's evidence JSON with the kinds of its page's previews that also looked like
    a reference frame (``"previews"``: ``["poster", "storyboard"]``)."""
    found = json.loads(evidence) if evidence else {}
    found["previews"] = kinds
    return json.dumps(found)


def _with_region(evidence: str | None, bits: int) -> str:
    """A crop match's evidence JSON with its region check's distance (``"region_bits"``)."""
    found = json.loads(evidence) if evidence else {}
    found["region_bits"] = bits
    return json.dumps(found)


def _with_delivery(evidence: str | None, delivery: Delivery) -> str:
    """A flag's evidence JSON with how the media was fetched (``"delivery"``) added."""
    found = json.loads(evidence) if evidence else {}
    found["delivery"] = delivery.to_json()
    return json.dumps(found)
