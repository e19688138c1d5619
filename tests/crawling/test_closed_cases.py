"""A case closed while a crawl runs gets no new flags from it: the pipeline's recording is
refused by the database and counted under its own stat, and no evidence is kept."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from scrapy import Spider

from crawler import db
from crawler.crawling.pipeline import HashMatchPipeline
from crawler.db.cases import close_case
from tests.crawling.test_pipeline import _crawler


def test_matches_of_a_case_closed_mid_crawl_are_refused_with_a_stat(engine, database_url, tmp_path):
    with db.make_sessionmaker(engine).begin() as session:
        db.add_reference_hashes(session, "case-1", [db.NewHash("phash", "8" * 16, None)])
        (reference,) = db.load_references(session)
    crawler = _crawler(
        REPOSTWATCH_DATABASE_URL=database_url,
        REPOSTWATCH_HASH_WORKERS=1,
        REPOSTWATCH_SPILL_FILE=str(tmp_path / "spill.jsonl"),
    )
    pipeline = HashMatchPipeline.from_crawler(crawler)
    spider = Spider(name="closing")
    asyncio.run(pipeline.open_spider(spider))
    try:
        with db.make_sessionmaker(engine).begin() as session:
            close_case(session, "case-1", by="park.admin")
        outcome = SimpleNamespace(
            url="http://127.0.0.1:1/m/1.jpg",
            sha256="a" * 64,
            pdq=None,
            sealed=None,
            reference_keys=(),
        )
        match = SimpleNamespace(
            case_id=reference.case_id,
            reference_id=reference.id,
            algorithm="phash",
            distance=0,
            variant="original",
        )
        pipeline.match_writer.record("http://127.0.0.1:1/post/1", [(outcome, match, None)])
    finally:
        pipeline.close_spider(spider)
        pipeline.spider_closed(spider, "finished")
    stats = crawler.stats.get_stats()
    assert stats.get("repostwatch/flags/refused/case_closed") == 1
    assert "repostwatch/flags/recorded" not in stats
    assert "repostwatch/flags/spilled" not in stats  # refused for good, not kept for a retry
    with db.make_sessionmaker(engine)() as session:
        assert db.count_flags(session) == 0
    assert not (tmp_path / "spill.jsonl").exists() or not (tmp_path / "spill.jsonl").read_text()
