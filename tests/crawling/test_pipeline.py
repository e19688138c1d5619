"""HashMatchPipeline: wired from the project's settings, opened without blocking the event loop
the reactor runs on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler import db
from crawler.crawling.live_references import LiveReferences
from crawler.crawling.pipeline import HashMatchPipeline, hash_processes
from crawler.crawling.process import project_settings
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.demo.samples import encode, load_photo
from crawler.hashing import hash_media
from crawler.hashing.algorithms import CRPDQ
from crawler.matching import Match, Matcher, Reference
from crawler.stats import CROPS_REFUSED, CROPS_UNCHECKED
from tests.support import media_bombs, videos
from tests.support.cli_runner import REPOSTWATCH, flags_json, migrated_environment, repostwatch


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
    # The video alignment rule comes from the settings, not the matcher's own defaults.
    strict = HashMatchPipeline.from_crawler(
        _crawler(
            REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES="9", REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS="12"
        )
    )
    assert (strict.video_matcher.min_frames, strict.video_matcher.min_seconds) == (9, 12.0)


def test_zero_hash_workers_means_one_per_core():
    import os

    assert hash_processes(3) == 3
    assert hash_processes(0) == (os.cpu_count() or 1)


@pytest.mark.any_database
def test_a_match_is_recorded_while_slow_media_of_its_page_is_still_hashing(database_url, tmp_path):
    """One fast matching photo and one GIF built to take minutes of a worker on the same page:
    the photo's flag is in the database long before the GIF is done, and the GIF is given up
    at the task deadline with its worker killed, under a named stat."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_SPILL_FILE": str(tmp_path / "spill.jsonl"),
        "REPOSTWATCH_HASH_WORKERS": "2",
        "REPOSTWATCH_HASH_TASK_SECONDS": "15",
        "REPOSTWATCH_HASH_PIXEL_BUDGET": "0",  # no budget: only the deadline stops the GIF
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    photo = samples.photo_path("astronaut")
    repostwatch("refs", "add", "--case", "case-slow", photo, env=env, cwd=tmp_path)
    routes = {
        "/": html('<img src="/slow.gif"><img src="/photo.png">'),
        "/slow.gif": Route(media_bombs.huge_canvas_gif(3000, 6000), "image/gif"),
        "/photo.png": Route(photo.read_bytes(), "image/png"),
    }
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    with LocalSite(routes) as site:
        (sites_dir / "slow.toml").write_text(
            f'name = "slow"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        )
        crawl = subprocess.Popen(
            [REPOSTWATCH, "crawl", "slow"],
            env={**os.environ, **env},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            flags = []
            while not flags and time.monotonic() < deadline and crawl.poll() is None:
                time.sleep(0.5)
                with sessions() as session:
                    flags = db.list_flags(session)
            flagged_at = time.monotonic()
            assert crawl.poll() is None, "the crawl ended before its photo was flagged"
            assert [f.media_url for f in flags] == [f"{site.url}/photo.png"]
            (gif_fetched_at,) = [t for t, path in site.request_times if path == "/slow.gif"]
            # Well inside the GIF's 15 s deadline (and the minutes it would take in full).
            assert flagged_at - gif_fetched_at < 10
            output, _ = crawl.communicate(timeout=120)
        finally:
            crawl.kill()
    with sessions() as session:
        (run,) = db.list_runs(session, site="slow")
    engine.dispose()
    stats = json.loads(run.stats)
    assert stats["repostwatch/media/failed/hash_timeout"] == 1, output[-3000:]
    assert stats["repostwatch/flags/new"] == 1


def test_a_poster_joins_its_videos_flag_and_never_flags_alone(tmp_path):
    """Two pages whose posters are frames of the reference video: one page's video is a repost
    (flagged once, by the video, its evidence naming the poster), the other's is unrelated
    (nothing flagged: the poster alone is no evidence)."""
    env = migrated_environment(tmp_path)
    reference = videos.slideshow(("astronaut", "coffee", "chelsea"))
    (tmp_path / "reference.mp4").write_bytes(reference)
    repostwatch("refs", "add", "--case", "case-poster", tmp_path / "reference.mp4", env=env)
    images, times, _ = videos.decode(reference)
    posters = [  # stills of the reference: in its first and its last photo
        samples.encode(images[next(i for i, t in enumerate(times) if t >= moment)])
        for moment in (2.0, 7.0)
    ]
    routes = {
        "/": html('<a href="/watch/1">one</a> <a href="/watch/2">two</a>'),
        "/watch/1": html('<video src="/v/repost.mp4" poster="/p/1.jpg"></video>'),
        "/watch/2": html('<video src="/v/other.mp4" poster="/p/2.jpg"></video>'),
        "/v/repost.mp4": Route(videos.transcoded(reference, quality="low"), "video/mp4"),
        "/v/other.mp4": Route(videos.slideshow(("rocket", "moon", "hubble")), "video/mp4"),
        "/p/1.jpg": Route(posters[0], "image/jpeg"),
        "/p/2.jpg": Route(posters[1], "image/jpeg"),
    }
    with LocalSite(routes) as site:
        (tmp_path / "sites" / "posters.toml").write_text(
            f'name = "posters"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        )
        crawl = repostwatch("crawl", "posters", env=env, cwd=tmp_path)

    flags = flags_json(env, tmp_path)
    found = [(urlsplit(f["media_url"]).path, urlsplit(f["page_url"]).path) for f in flags]
    assert found == [("/v/repost.mp4", "/watch/1")], crawl.stderr[-3000:]
    assert flags[0]["algorithm"] == "vpdq"
    assert json.loads(flags[0]["evidence"])["previews"] == ["poster"]
    assert "'repostwatch/previews/hashed': 2" in crawl.stderr
    assert "'repostwatch/previews/matched_hint': 2" in crawl.stderr  # both posters looked alike


def test_a_flag_found_in_an_embedded_player_names_the_page_that_embeds_it(tmp_path):
    env = migrated_environment(tmp_path)
    reference = videos.slideshow(("astronaut", "coffee", "chelsea"))
    (tmp_path / "reference.mp4").write_bytes(reference)
    repostwatch("refs", "add", "--case", "case-embed", tmp_path / "reference.mp4", env=env)
    player = {
        "/embed/3": html('<video src="/v/3.mp4"></video>'),
        "/v/3.mp4": Route(videos.transcoded(reference, quality="low"), "video/mp4"),
    }
    with LocalSite(player) as embed_host:
        pages = {"/": html(f'<p>watch</p><iframe src="{embed_host.url}/embed/3"></iframe>')}
        with LocalSite(pages) as site:
            (tmp_path / "sites" / "embeds.toml").write_text(
                f'name = "embeds"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
                f'private_hosts = ["127.0.0.1:{embed_host.port}"]\n'
                '[embeds]\nallow = ["127.0.0.1"]\n'
            )
            crawl = repostwatch("crawl", "embeds", env=env, cwd=tmp_path)

    (flag,) = flags_json(env, tmp_path)
    assert flag["page_url"] == f"{embed_host.url}/embed/3", crawl.stderr[-3000:]
    assert flag["embedded_in"] == f"{site.url}/"


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def test_crop_matches_are_kept_or_refused_by_their_region_check(tmp_path):
    """`_region_checked` on a real crop match: kept with its distance in the evidence on the
    crop's own bytes, refused (and counted) on another picture's, kept unchecked (and counted)
    without bytes, while a global match is never touched."""
    photo = load_photo("coffee")
    crop = encode(photo.crop((photo.width // 5, photo.height // 5, *photo.size)), "JPEG")
    elsewhere = encode(
        load_photo("camera").resize((photo.width * 4 // 5, photo.height * 4 // 5)), "JPEG"
    )
    reference = hash_media(samples.photo_path("coffee").read_bytes())
    matcher = Matcher(Reference(n, 1, v) for n, v in enumerate(reference.reference_values()))
    (crop_match,) = matcher.match(hash_media(crop))
    assert crop_match.algorithm == "crhash"
    global_match = Match(100, 2, "pdq", 3)
    found = [(global_match, None), (crop_match, '{"inliers": 6}')]
    checks = [matcher.region_check(match) for match, _ in found]

    with ThreadPoolExecutor(1) as hasher:
        pipeline = SimpleNamespace(stats=_Stats(), hasher=hasher, max_pixels=10**8)

        def checked(body):
            return asyncio.run(
                HashMatchPipeline._region_checked(pipeline, "http://x/a.jpg", found, checks, body)
            )

        kept = checked(crop)
        assert [match for match, _ in kept] == [global_match, crop_match]
        evidence = json.loads(kept[1][1])
        assert evidence["inliers"] == 6 and 0 <= evidence["region_bits"] <= CRPDQ.threshold
        assert checked(elsewhere) == [(global_match, None)]
        assert pipeline.stats.values == {CROPS_REFUSED: 1}
        assert checked(None) == found
        assert pipeline.stats.values == {CROPS_REFUSED: 1, CROPS_UNCHECKED: 1}
