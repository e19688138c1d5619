"""HashMatchPipeline: wired from the project's settings, opened without blocking the event loop
the reactor runs on."""

from __future__ import annotations

import asyncio
import threading
import time

from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler import db
from crawler.crawling.live_references import LiveReferences
from crawler.crawling.pipeline import HashMatchPipeline, hash_processes
from crawler.crawling.process import project_settings


def _crawler(**overrides):
    """A crawler with the project's RepostWatch settings (settings/__init__.py owns their
    defaults), and ``overrides``."""
    ours = {
        k: v for k, v in project_settings().copy_to_dict().items() if k.startswith("REPOSTWATCH_")
    }
    return get_crawler(settings_dict=ours | overrides)


def test_references_load_off_the_event_loop(engine, database_url, tmp_path, monkeypatch):
    """Loading millions of references takes about a minute (docs/benchmarks.md): meanwhile the
    loop (Scrapy's asyncio reactor) must go on serving timers, signals and heartbeats."""
    with db.make_sessionmaker(engine).begin() as session:
        db.add_reference_hashes(session, "case-1", [db.NewHash("phash", "8" * 16, None)])
    load = LiveReferences.load
    loading_threads = []

    def slow_load(self):
        loading_threads.append(threading.current_thread())
        time.sleep(1.0)  # a large registry
        return load(self)

    monkeypatch.setattr(LiveReferences, "load", slow_load)
    crawler = _crawler(
        REPOSTWATCH_DATABASE_URL=database_url,
        REPOSTWATCH_HASH_WORKERS=1,
        REPOSTWATCH_SPILL_FILE=str(tmp_path / "spill.jsonl"),
    )
    pipeline = HashMatchPipeline.from_crawler(crawler)
    spider = Spider(name="opening")

    async def scenario() -> tuple[int, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        await pipeline.open_spider(spider)
        ticker.cancel()
        try:
            return ticks, crawler.stats.get_value("repostwatch/references")
        finally:
            pipeline.close_spider(spider)
            pipeline.spider_closed(spider, "finished")

    ticks, loaded = asyncio.run(scenario())
    assert loading_threads and loading_threads[0] is not threading.main_thread()
    assert ticks >= 10  # the loop ran on through the one-second load
    assert loaded == 1
    with db.make_sessionmaker(engine)() as session:
        run = db.get_run(session, pipeline.run.run_id)
    # Closed; and as failed, since no page was crawled (a crawl of nothing is no success).
    assert (run.status, run.finish_reason) == ("failed", "no_page_crawled")


def test_the_pipeline_takes_its_settings_from_the_project(tmp_path):
    pipeline = HashMatchPipeline.from_crawler(_crawler(REPOSTWATCH_REDIS_URL="redis://r:6379/0"))
    assert pipeline.media_concurrency == 16
    assert pipeline.use_media_cache is True
    assert pipeline.run.join_run_id == 0  # no REPOSTWATCH_RUN_ID: the crawl opens its run
    assert pipeline.evidence is None  # no REPOSTWATCH_EVIDENCE_PUBLIC_KEY
    # With Redis announcing changes, the poll is only the safety net.
    assert pipeline.reference_poll_seconds == 30.0
    assert HashMatchPipeline.from_crawler(_crawler()).reference_poll_seconds == 2.0
    joined = HashMatchPipeline.from_crawler(_crawler(REPOSTWATCH_RUN_ID="42"))
    assert joined.run.join_run_id == 42
    assert pipeline.engine is None and pipeline.hasher is None  # started when the spider opens


def test_zero_hash_workers_means_one_per_core():
    import os

    assert hash_processes(3) == 3
    assert hash_processes(0) == (os.cpu_count() or 1)
