"""The Scrapy side of RepostWatch: download media, hash it off the reactor, match, record flags.

For every :class:`~crawler.items.MediaPage` the pipeline downloads each media URL through Scrapy's
engine (so downloader middlewares, the private-network guard, retries, limits and stats apply),
keeps the body in memory only, hashes it in a process pool, matches the hashes against the
reference index loaded from the database when the spider opens (on one matching thread, which
also applies reference changes: neither blocks the reactor, and they never interleave), writes
a flag for every match (committed at once, so nothing found is lost if the crawl dies later) and
drops the bytes.
The crawl run row is opened when the spider opens and closed with its figures when it closes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import functools
import logging
import os
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spiders import Spider
from scrapy.utils.datatypes import SequenceExclude
from sqlalchemy.exc import SQLAlchemyError

from crawler import db
from crawler.crawling.hash_pool import new_hash_pool
from crawler.crawling.live_references import LiveReferences, wait_for_announcements
from crawler.crawling.media_cache import media_cache
from crawler.crawling.middlewares.private_network import PrivateNetworkRefused
from crawler.crawling.process import run_stats, summarize
from crawler.crawling.recording import FlagRecorder
from crawler.db import evidence as evidence_store
from crawler.db.evidence import SealedEvidence
from crawler.db.flags import MatchRecord
from crawler.distributed import UNSUMMED_STATS
from crawler.hashing import MediaError, MediaHashes, hash_media
from crawler.hashing.types import media_hashes_from_json, media_hashes_to_json
from crawler.items import MediaPage
from crawler.matching import Match

logger = logging.getLogger(__name__)

STATS = "repostwatch"


@dataclass(frozen=True)
class MediaOutcome:
    """What became of one media URL: its hashes' summary and its matches, never its bytes."""

    url: str
    sha256: str | None = None
    kind: str | None = None
    matches: tuple[tuple[Match, str | None], ...] = ()  # each with its evidence (JSON) or None
    error: str | None = None
    pdq: str | None = None  # the media's PDQ hex (images), recorded on its flags
    # Matched media encrypted as evidence (only with REPOSTWATCH_EVIDENCE_KEY), never plaintext.
    sealed: SealedEvidence | None = None


class HashMatchPipeline:
    """Downloads, hashes and matches the media of every page; records a flag per match."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        database_url: str,
        hash_workers: int,
        media_maxsize: int,
        max_pixels: int,
        media_concurrency: int,
        spill_file: str,
        reference_poll_seconds: float = 2.0,
        reference_poll_seconds_with_redis: float = 30.0,
        redis_url: str | None = None,
        use_media_cache: bool = True,
        join_run_id: int | None = None,
        shared_run: bool = False,
        evidence_key: str = "",
    ):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = database_url
        self.hash_workers = hash_workers or os.cpu_count() or 1
        self.media_maxsize = media_maxsize
        self.max_pixels = max_pixels
        self.media_concurrency = media_concurrency
        self.spill_file = spill_file
        self.reference_poll_seconds = reference_poll_seconds
        self.reference_poll_seconds_with_redis = reference_poll_seconds_with_redis
        self.redis_url = redis_url
        self.use_media_cache = use_media_cache
        self.cache = None
        self.hasher: Executor | None = None
        self.writer: ThreadPoolExecutor | None = None
        # Matching and reference updates: one thread, so that they never interleave.
        self.matching: ThreadPoolExecutor | None = None
        self.outcomes: dict[str, asyncio.Future[MediaOutcome]] = {}
        self.run_id: int | None = None
        self.site_id: int | None = None
        self.join_run_id = join_run_id
        # Distributed: other workers share the run; this one adds its figures, the last closes it.
        self.shared_run = shared_run
        # Evidence (issue #6): matched media is kept encrypted only when a key is configured.
        self.evidence = evidence_store.cipher(evidence_key) if evidence_key else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HashMatchPipeline:
        settings = crawler.settings
        pipeline = cls(
            crawler,
            database_url=settings.get("REPOSTWATCH_DATABASE_URL"),
            hash_workers=settings.getint("REPOSTWATCH_HASH_WORKERS"),
            media_maxsize=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
            max_pixels=settings.getint("REPOSTWATCH_MAX_PIXELS"),
            media_concurrency=settings.getint("REPOSTWATCH_MEDIA_CONCURRENCY", 16),
            spill_file=settings.get("REPOSTWATCH_SPILL_FILE"),
            reference_poll_seconds=settings.getfloat("REPOSTWATCH_REFERENCE_POLL_SECONDS", 2.0),
            reference_poll_seconds_with_redis=settings.getfloat(
                "REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS", 30.0
            ),
            redis_url=settings.get("REPOSTWATCH_REDIS_URL") or None,
            use_media_cache=settings.getbool("REPOSTWATCH_MEDIA_CACHE", True),
            join_run_id=settings.getint("REPOSTWATCH_RUN_ID") or None,
            shared_run=settings.getbool("REPOSTWATCH_DISTRIBUTED"),
            evidence_key=settings.get("REPOSTWATCH_EVIDENCE_KEY") or "",
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # --- lifecycle ------------------------------------------------------------------------
    async def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        site_name = getattr(spider, "site_name", None) or spider.name
        self.engine = db.make_engine(self.database_url)
        self.sessions = db.make_sessionmaker(self.engine)
        self.recorder = FlagRecorder(self.sessions, self.spill_file)
        self.references = LiveReferences(self.sessions)
        # Off the reactor: loading millions of references takes a minute, during which the
        # reactor keeps serving signals, the telnet console and a distributed crawl's heartbeat.
        replayed, loaded = await asyncio.to_thread(self._open_run, site_name)
        if replayed:
            self.stats.set_value(f"{STATS}/flags/replayed", replayed)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repostwatch-db")
        self.matching = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repostwatch-match")
        self.cache_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="repostwatch-cache")
        self.cache = media_cache(self.redis_url, self.sessions) if self.use_media_cache else None
        self.hasher = self._new_hasher()
        self.references_changed = asyncio.Event()
        self.poller = asyncio.ensure_future(self._poll_references())
        self.listener = None
        if self.redis_url:
            self.listener = asyncio.ensure_future(
                wait_for_announcements(self.redis_url, self.references_changed.set)
            )
        self.stats.set_value(f"{STATS}/run_id", self.run_id)
        self.stats.set_value(f"{STATS}/references", loaded)
        # A crawl stopped before the engine closes the spider (cancelled while starting, a
        # second Ctrl-C) never sends spider_closed: close the run at exit so that it does not
        # stay "running" and block the site's next crawl.
        self.run_closed = False
        atexit.register(self._close_run_at_exit)
        logger.info(
            "Crawl run %s of site %r: matching against %d reference hashes, %d hashing %s",
            self.run_id,
            site_name,
            loaded,
            self.hash_workers,
            "process" if self.hash_workers == 1 else "processes",
        )

    def _open_run(self, site_name: str) -> tuple[int, int]:
        """Replay unrecorded matches, open (or join) the crawl run and load the references;
        returns how many matches were replayed and how many reference hashes were loaded."""
        try:
            replayed = self.recorder.replay()
            with self.sessions.begin() as session:
                if self.join_run_id is not None:
                    self.site_id = db.join_run(session, self.join_run_id, site_name)
                    self.run_id = self.join_run_id
                else:
                    self.run_id = db.start_run(session, site_name)  # creates the site if new
                    self.site_id = db.get_run(session, self.run_id).site_id
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
        interval = self.reference_poll_seconds
        if self.redis_url:
            interval = max(interval, self.reference_poll_seconds_with_redis)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.references_changed.wait(), timeout=interval)
            self.references_changed.clear()
            try:
                checked_at, changes = await loop.run_in_executor(self.writer, self.references.fetch)
            except SQLAlchemyError as exc:
                logger.warning("Could not check for new references: %s", exc)
                continue
            applied = await loop.run_in_executor(
                self.matching, self.references.apply, checked_at, changes
            )
            self.stats.inc_value(f"{STATS}/references/added_live", applied.added)
            self.stats.inc_value(f"{STATS}/references/withdrawn_live", applied.removed)

    def _new_hasher(self) -> Executor:
        return new_hash_pool(self.hash_workers)

    def close_spider(self, spider: Spider | None = None) -> None:
        for task in (getattr(self, "poller", None), getattr(self, "listener", None)):
            if task is not None:
                task.cancel()
        if self.hasher is not None:
            self.hasher.shutdown(wait=True, cancel_futures=True)
            self.hasher = None
        if self.matching is not None:
            self.matching.shutdown(wait=True)
            self.matching = None
        self.outcomes.clear()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run_id is None:
            return
        finished = reason == "finished" or reason.startswith("closespider_")
        if getattr(self, "cache_pool", None) is not None:
            self.cache_pool.shutdown(wait=True)
        if self.writer is not None:
            self.writer.shutdown(wait=True)
            self.writer = None
        figures = self._figures("finished" if finished else "failed", reason)
        for attempt in range(3):
            try:
                with self.sessions.begin() as session:
                    if self.shared_run:  # crawler.distributed closes the run after the last worker
                        counters = {k: v for k, v in figures.items() if k not in _RUN_OUTCOME}
                        db.add_to_run(session, self.run_id, **counters, unsummed=UNSUMMED_STATS)
                    else:
                        db.finish_run(session, self.run_id, **figures)
                break
            except SQLAlchemyError as exc:
                if attempt == 2:
                    logger.error(
                        "Could not close crawl run %s in the database (%s); its figures: %s",
                        self.run_id,
                        str(exc).splitlines()[0],
                        figures,
                    )
                else:
                    time.sleep(2.0 * (attempt + 1))
        self.run_closed = True
        self.engine.dispose()

    def _figures(self, status: str, reason: str) -> dict:
        """The run's closing figures from the crawl's stats."""
        spider_name = getattr(getattr(self.crawler, "spider", None), "name", "site")
        summary = summarize(spider_name, self.stats.get_stats())
        return {
            "status": status,
            "finish_reason": reason,
            "pages": summary.pages,
            "media": summary.media_hashed + summary.media_cached,
            "bytes": summary.bytes,
            "errors": summary.errors,
            "flags": summary.flags_new + summary.flags_seen_again + summary.flags_spilled,
            "stats": run_stats(self.stats.get_stats()),
        }

    def _close_run_at_exit(self) -> None:
        """Close the run as failed if the process exits without spider_closed having run."""
        if self.run_id is None or getattr(self, "run_closed", True) or self.shared_run:
            return  # a shared run's lost workers are closed by crawler.distributed
        self.run_closed = True
        engine = db.make_engine(self.database_url)
        try:
            with db.make_sessionmaker(engine).begin() as session:
                db.finish_run(
                    session,
                    self.run_id,
                    **self._figures("failed", "stopped before the crawl could close its run"),
                )
            logger.warning("Crawl run %s closed as failed: the crawl stopped early", self.run_id)
        except (SQLAlchemyError, ValueError) as exc:
            logger.error("Could not close crawl run %s at exit: %s", self.run_id, exc)
        finally:
            engine.dispose()

    # --- items ----------------------------------------------------------------------------
    async def process_item(self, item: MediaPage, spider: Spider | None = None) -> MediaPage:
        if not isinstance(item, MediaPage):
            return item
        self.stats.inc_value(f"{STATS}/pages")
        limit = asyncio.Semaphore(self.media_concurrency)

        async def one(url: str) -> MediaOutcome:
            async with limit:
                return await self._outcome(url, referer=item.url)

        outcomes = await asyncio.gather(*(one(url) for url in item.media_urls))
        matched = [(outcome, *match) for outcome in outcomes for match in outcome.matches]
        if matched:
            await asyncio.get_running_loop().run_in_executor(
                self.writer, functools.partial(self._record, item.url, matched, item.keyword)
            )
            item.flags = len(matched)
        return item

    async def _outcome(self, url: str, referer: str) -> MediaOutcome:
        """The outcome of one media URL, downloaded and hashed once per crawl run."""
        future = self.outcomes.get(url)
        if future is None:
            future = asyncio.ensure_future(self._download_and_hash(url, referer))
            self.outcomes[url] = future
        else:
            self.stats.inc_value(f"{STATS}/media/seen_again")
        return await asyncio.shield(future)

    def _media_request(self, url: str, referer: str, method: str = "GET", **headers) -> Request:
        return Request(
            url,
            method=method,
            headers={"Referer": referer, **headers},
            meta={
                "download_maxsize": self.media_maxsize,
                "download_warnsize": 0,
                "allow_offsite": True,  # media often lives on another host (a CDN)
                # Every status but redirects comes back to us; redirects are followed (and
                # each hop passes the private-network guard again).
                "handle_httpstatus_list": SequenceExclude(range(300, 400)),
                "repostwatch_media": True,
            },
            dont_filter=True,
        )

    async def _download_and_hash(self, url: str, referer: str) -> MediaOutcome:
        """Download and hash ``url``, unless the media cache shows it unchanged since it was
        hashed: then one conditional request (or a HEAD compared by length) is all it costs."""
        loop = asyncio.get_running_loop()
        cached = None
        if self.cache is not None:
            try:
                cached = await loop.run_in_executor(self.cache_pool, self.cache.get, url)
            except Exception as exc:  # a cache that is down only costs a download
                logger.warning("Media cache unavailable (%s); downloading %s", exc, url)
        validators = {}
        if cached is not None:
            if cached.etag:
                validators["If-None-Match"] = cached.etag
            if cached.last_modified:
                validators["If-Modified-Since"] = cached.last_modified
        head = cached is not None and not validators and cached.content_length is not None
        try:
            response = await self.crawler.engine.download_async(
                self._media_request(url, referer, "HEAD" if head else "GET", **validators)
            )
            if cached is not None and _unchanged(response, cached, head):
                return await self._from_cache(url, cached)
            if head:  # changed since: fetch it
                response = await self.crawler.engine.download_async(
                    self._media_request(url, referer)
                )
        except IgnoreRequest as exc:
            # Refused on purpose (robots.txt, the private-network guard): counted as a refusal,
            # not a failure. The guard counts its own refusals.
            if not isinstance(exc, PrivateNetworkRefused):
                self.stats.inc_value(f"{STATS}/refused/{_refusal_reason(exc)}")
            logger.info("Media not fetched: %s (%s)", url, exc or exc.__class__.__name__)
            return MediaOutcome(url=url, error=str(exc) or exc.__class__.__name__)
        except Exception as exc:
            kind = "too_large" if "max size" in str(exc).lower() else "download"
            return self._failed(url, kind, f"{exc.__class__.__name__}: {exc}")
        if response.status != 200:
            return self._failed(url, f"http_{response.status}", f"HTTP {response.status}")
        return await self._hash(url, response)

    async def _from_cache(self, url: str, cached: db.CachedMedia) -> MediaOutcome:
        self.stats.inc_value(f"{STATS}/media/cache_hits")
        hashes = media_hashes_from_json(cached.hashes)
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self.cache_pool, self.cache.touch, url)
        return await self._matched(url, hashes)

    async def _matched(self, url: str, hashes: MediaHashes) -> MediaOutcome:
        """Match on the matching thread: the work grows with the references (crhash screens
        every one, videos compare frames), and reference updates run on the same thread."""
        loop = asyncio.get_running_loop()
        matches = tuple(await loop.run_in_executor(self.matching, self.references.match, hashes))
        if matches:
            self.stats.inc_value(f"{STATS}/media/matched")
        pdq = hashes.get("pdq")
        return MediaOutcome(
            url=url,
            sha256=hashes.sha256,
            kind=hashes.kind,
            matches=matches,
            pdq=pdq.hex if pdq is not None else None,
        )

    async def _hash(self, url: str, response: Response) -> MediaOutcome:
        body = response.body
        self.stats.inc_value(f"{STATS}/media/downloaded")
        self.stats.inc_value(f"{STATS}/media/bytes", len(body))
        loop = asyncio.get_running_loop()
        work = functools.partial(hash_media, body, max_pixels=self.max_pixels)
        try:
            hashes: MediaHashes = await loop.run_in_executor(self.hasher, work)
        except MediaError as exc:
            self.stats.inc_value(f"{STATS}/media/skipped/{exc.__class__.__name__}")
            logger.debug("Not hashed: %s: %s", url, exc)
            return MediaOutcome(url=url, error=str(exc))
        except BrokenProcessPool:
            # A worker died (for example on a malicious file): start a fresh pool, go on.
            logger.error("A hashing process died on %s; restarting the pool", url)
            self.hasher = self._new_hasher()
            return self._failed(url, "hasher_died", "hashing process died")
        finally:
            del body
        self.stats.inc_value(f"{STATS}/media/hashed")
        self.stats.inc_value(f"{STATS}/media/hashed/{hashes.kind}")
        if self.cache is not None:
            self._remember(url, response, hashes)
        outcome = await self._matched(url, hashes)
        if outcome.matches and self.evidence is not None:
            # Only matched media, encrypted at once (off the reactor); the plaintext goes with
            # the response.
            seal = functools.partial(
                evidence_store.seal, self.evidence, response.body, hashes.kind, hashes.format
            )
            sealed = await loop.run_in_executor(self.cache_pool, seal)
            outcome = dataclasses.replace(outcome, sealed=sealed)
        return outcome

    def _remember(self, url: str, response: Response, hashes: MediaHashes) -> None:
        """Keep the validators and hashes for the next crawl (in the background)."""
        headers = response.headers
        etag = headers.get("ETag")
        last_modified = headers.get("Last-Modified")
        entry = {
            "etag": etag.decode("latin-1") if etag else None,
            "last_modified": last_modified.decode("latin-1") if last_modified else None,
            "content_length": hashes.size,
            "media_sha256": hashes.sha256,
            "hashes": media_hashes_to_json(hashes),
        }
        future = asyncio.get_running_loop().run_in_executor(
            self.cache_pool, functools.partial(self.cache.put, url, **entry)
        )
        future.add_done_callback(_log_cache_error)

    def _failed(self, url: str, kind: str, why: str) -> MediaOutcome:
        self.stats.inc_value(f"{STATS}/media/failed")
        self.stats.inc_value(f"{STATS}/media/failed/{kind}")
        logger.warning("Media not fetched: %s (%s)", url, why)
        return MediaOutcome(url=url, error=why)

    def _record(
        self,
        page_url: str,
        matched: list[tuple[MediaOutcome, Match, str | None]],
        keyword: str | None = None,
    ) -> None:
        """Write one flag per match, in one transaction per page (runs on the writer thread).
        ``keyword``: the case keyword whose site search led to the page (search crawls)."""
        now = datetime.now(UTC)
        records = [
            MatchRecord(
                run_id=self.run_id,
                site_id=self.site_id,
                page_url=page_url,
                media_url=outcome.url,
                media_sha256=outcome.sha256,
                case_id=match.case_id,
                reference_id=match.reference_id,
                algorithm=match.algorithm,
                distance=match.distance,
                seen_at=now,
                variant=match.variant,
                evidence=evidence,
                media_pdq=outcome.pdq,
                keyword=keyword,
            )
            for outcome, match, evidence in matched
        ]
        results = self.recorder.record(records)
        if results is None:
            self.stats.inc_value(f"{STATS}/flags/spilled", len(records))
            return
        for (outcome, match, _), result in zip(matched, results, strict=True):
            self.stats.inc_value(f"{STATS}/flags/recorded")
            self.stats.inc_value(f"{STATS}/flags/{'new' if result.created else 'seen_again'}")
            logger.info(
                "%s flag %d: %s on %s (%s %s distance %d, case %d)",
                "New" if result.created else "Seen again:",
                result.flag_id,
                outcome.url,
                page_url,
                match.algorithm,
                match.variant,
                match.distance,
                match.case_id,
            )
        self._keep_evidence(matched, results)

    def _keep_evidence(self, matched, results) -> None:
        """Store the encrypted media of each flag that has none yet (writer thread)."""
        pairs = [(o.sealed, r.flag_id) for (o, _, _), r in zip(matched, results, strict=True)]
        pairs = [(sealed, flag_id) for sealed, flag_id in pairs if sealed is not None]
        if not pairs:
            return
        try:
            with self.sessions.begin() as session:
                for sealed, flag_id in pairs:
                    if evidence_store.store_evidence(
                        session, flag_id, sealed.ciphertext, sealed.content_type, sealed.sha256
                    ):
                        self.stats.inc_value(f"{STATS}/evidence/kept")
        except SQLAlchemyError as exc:  # the flags are recorded; only the evidence is missing
            logger.error("Could not keep evidence for flags %s: %s", [f for _, f in pairs], exc)


_RUN_OUTCOME = ("status", "finish_reason")  # a shared run's outcome is decided by its last worker


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


def _refusal_reason(exc: IgnoreRequest) -> str:
    text = str(exc).lower()
    if "robots.txt" in text:
        return "robots_txt"
    return exc.__class__.__name__
