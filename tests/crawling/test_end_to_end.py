"""The whole product on a local repost site: site file → spider → hashes → match → flag queue.

Runs the real console script (real Scrapy crawl, real process pool, real database) against a
gallery served on 127.0.0.1 by the test. The crawl itself runs on SQLite (the embedded default)
and PostgreSQL; the tests of what else a crawl does run on PostgreSQL only (any_database).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from crawler import db
from crawler.demo.localsite import LocalSite
from crawler.hashing.algorithms import CRPDQ
from crawler.hashing.crhash import CRHASH_MIN_INLIERS, CRHASH_MIN_SCORE
from tests.sites import gallery, traps
from tests.support.accounts import add_staff
from tests.support.cli_runner import flags_json, repostwatch
from tests.support.project import ROOT


def test_crawl_flags_exactly_the_reposts(registered, database_url, tmp_path):
    env, sites_dir = registered
    with LocalSite(gallery.routes()) as site:
        (sites_dir / "gallery.toml").write_text(gallery.site_file("gallery", site.url))
        crawl = repostwatch("crawl", "gallery", env=env, cwd=tmp_path)
        requested = set(site.requests)

    flags = flags_json(env, tmp_path)
    assert {(urlsplit(f["media_url"]).path, f["case"]) for f in flags} == gallery.EXPECTED_FLAGS
    assert all(f["status"] == "pending" and f["site"] == "gallery" for f in flags)
    by_path = {urlsplit(f["media_url"]).path: f for f in flags}
    assert by_path["/v/clip.mp4"]["algorithm"] == "sha256"
    assert by_path["/v/clip.mp4"]["distance"] == 0
    assert by_path["/v/clip.mp4"]["media_sha256"] == gallery.VIDEO_SHA256
    assert urlsplit(by_path["/full/rocket-full.png"]["page_url"]).path == "/page/3"
    for f in flags:
        assert f["algorithm"] in {"pdq", "phash", "sha256", "md5", "crhash", "vpdq"}
        limit = {"pdq": 31, "phash": 10, "vpdq": 31, "crhash": 8}.get(f["algorithm"], 0)
        assert 0 <= f["distance"] <= limit

    # Unrelated photos were downloaded and hashed, and not flagged.
    assert requested >= gallery.UNRELATED_MEDIA
    assert "/img/uploads/lazy-orig.jpg" in requested  # the redirect's target
    # Only the largest srcset candidate is fetched; robots.txt is obeyed for media too.
    assert "/img/2024/05/a-small.jpg" not in requested
    # A thumbnail linked to its full-size file is not fetched: the full-size one is hashed.
    assert "/thumbs/rocket-t.jpg" not in requested
    assert "/members/hidden.jpg" not in requested
    assert "robots_txt 1" in crawl.stdout
    assert "Crawl run" in crawl.stdout and f"{len(gallery.EXPECTED_FLAGS)} new" in crawl.stdout
    # Each edited repost says how it matched.
    assert by_path["/img/e/mirror.jpg"]["variant"] == "flipx"
    assert by_path["/img/e/turned.jpg"]["variant"] in {"rot90", "rot270"}
    assert by_path["/img/e/padded.jpg"]["variant"].startswith("trimmed")
    cropped = by_path["/img/e/cropped.jpg"]
    assert (cropped["algorithm"], cropped["variant"]) == ("crhash", "crop")
    crop = json.loads(cropped["evidence"])
    assert crop["inliers"] >= CRHASH_MIN_INLIERS and crop["score"] >= CRHASH_MIN_SCORE
    assert crop["inliers"] + cropped["distance"] == crop["keypoints"]
    assert 0 <= crop["region_bits"] <= CRPDQ.threshold  # checked on its pixels in the crawl
    video = by_path["/v/repost.webm"]
    assert video["algorithm"] == "vpdq"
    evidence = json.loads(video["evidence"])
    assert evidence["frames_aligned"] >= 5 and evidence["variant"] == "original"
    assert abs(evidence["speed"] - 1) <= 0.3 and evidence["best_distance"] <= 31
    assert evidence["reference_end"] - evidence["reference_start"] >= 4

    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="gallery")
    engine.dispose()
    assert run.status == "finished"
    assert run.pages == 6  # /, /page/1-4, /post/99
    # Every media URL but the HTML one and the thumbnail, once each (a poster is a preview).
    assert run.media == 16
    assert run.flags == len(gallery.EXPECTED_FLAGS)
    assert run.bytes > 0
    assert run.finished_at is not None
    stats = json.loads(run.stats)  # every counter, by name
    assert stats["repostwatch/refused/robots_txt"] == 1
    assert stats["repostwatch/media/skipped/UnsupportedMedia"] == 1  # the HTML served as .jpg
    assert stats["repostwatch/flags/new"] == len(gallery.EXPECTED_FLAGS)
    assert stats["downloader/response_bytes"] == run.bytes


@pytest.mark.any_database
def test_private_address_is_refused_without_opt_in(registered, tmp_path):
    env, sites_dir = registered
    with LocalSite(gallery.routes()) as site:
        text = gallery.site_file("guarded", site.url).replace("allow_private_network = true\n", "")
        (sites_dir / "guarded.toml").write_text(text)
        crawl = repostwatch("crawl", "guarded", env=env, cwd=tmp_path, check=False)
        requested = list(site.requests)

    assert requested == []  # not even robots.txt left the crawler
    assert "private_network" in crawl.stdout
    assert "pages           0" in crawl.stdout
    assert crawl.returncode == 1 and "no page could be crawled" in crawl.stderr
    assert flags_json(env, tmp_path) == []


@pytest.mark.any_database
def test_reviewer_decisions_move_flags_out_of_pending(registered, tmp_path):
    env, sites_dir = registered
    with LocalSite(gallery.routes()) as site:
        (sites_dir / "gallery.toml").write_text(gallery.site_file("gallery", site.url))
        repostwatch("crawl", "gallery", "-L", "WARNING", env=env, cwd=tmp_path)
    first, second, *_ = flags_json(env, tmp_path)
    add_staff(env, "kim")
    add_staff(env, "lee")
    out = repostwatch("flags", "decide", first["id"], "confirm", "--by", "kim", env=env)
    assert f"Flag {first['id']} is confirmed (by kim)" in out.stdout
    repostwatch("flags", "decide", second["id"], "reject", "--by", "lee", env=env)
    pending = json.loads(
        repostwatch("flags", "list", "--status", "pending", "--json", env=env).stdout
    )
    assert {f["id"] for f in pending}.isdisjoint({first["id"], second["id"]})
    assert len(pending) == len(gallery.EXPECTED_FLAGS) - 2
    confirmed = json.loads(
        repostwatch("flags", "list", "--status", "confirmed", "--json", env=env).stdout
    )
    assert [(f["id"], f["decided_by"]) for f in confirmed] == [(first["id"], "kim")]
    table = repostwatch("flags", "list", env=env).stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "STATUS", "CASE"]


@pytest.mark.any_database
def test_scrapy_crawl_command_works_too(registered, tmp_path):
    """`scrapy list` and `scrapy crawl site -a site=NAME`, run from the project directory."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env, sites_dir = registered
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    full_env = {**os.environ, **env, "REPOSTWATCH_HASH_WORKERS": "1"}
    listed = subprocess.run(
        [scrapy, "list"], cwd=project, env=full_env, capture_output=True, text=True, check=True
    )
    assert listed.stdout.split() == ["site"]
    # The run is opened beforehand (as the scheduler does) and the crawl joins it.
    engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
    with db.make_sessionmaker(engine).begin() as session:
        run_id = db.start_run(session, "gallery")
    with LocalSite(gallery.routes()) as site:
        (sites_dir / "gallery.toml").write_text(gallery.site_file("gallery", site.url))
        subprocess.run(
            [scrapy, "crawl", "site", "-a", "site=gallery", "-s", f"REPOSTWATCH_RUN_ID={run_id}"],
            cwd=project,
            env=full_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=240,
        )
    flags = flags_json(env, tmp_path)
    assert len(flags) == len(gallery.EXPECTED_FLAGS)
    with db.make_sessionmaker(engine)() as session:
        runs = db.list_runs(session)
    engine.dispose()
    assert [(run.id, run.status) for run in runs] == [(run_id, "finished")]
    assert runs[0].pages > 0 and runs[0].flags == len(gallery.EXPECTED_FLAGS)


@pytest.mark.any_database
def test_a_trap_site_is_crawled_to_an_end_with_each_refusal_counted(registered, tmp_path):
    """An endless calendar, ever-nesting relative links, a listing with endless sort orders, a
    chain deeper than max_depth and a too long link: each ends at its limit with its refusal
    counted, while a board of ?wr_id=N posts and dated WordPress posts are crawled in full."""
    env, sites_dir = registered
    with LocalSite(traps.routes()) as site:
        (sites_dir / "trap.toml").write_text(traps.site_file(site.url))
        crawl = repostwatch("crawl", "trap", env=env, cwd=tmp_path)
        requested = set(site.requests)

    engine = db.make_engine(registered[0]["REPOSTWATCH_DATABASE_URL"])
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="trap")
    engine.dispose()
    stats = json.loads(run.stats)
    assert run.pages == traps.PAGES, crawl.stdout
    refused = {
        key.removeprefix("repostwatch/refused/"): value
        for key, value in stats.items()
        if key.startswith("repostwatch/refused/")
    }
    assert refused == traps.REFUSED
    # Scrapy's own depth limit never had to drop a request; the 404 page is kept by status.
    assert "depth/request_ignored_count" not in stats
    assert stats["httperror/response_ignored_status_count/404"] == 1
    assert "/gone" in requested and "/deep/7" not in requested
    assert "/calendar/2026/06/" not in requested and "/list?sort=s4" not in requested
    # Exactly these media were hashed (once each), and exactly the reposts among them flagged.
    media = {path for path in requested if path.startswith("/img/")}
    assert media == traps.HASHED
    assert not media & traps.NEVER_FETCHED
    assert stats["repostwatch/media/hashed"] == len(traps.HASHED)
    assert run.media == len(traps.HASHED)
    flags = flags_json(env, tmp_path)
    assert {(urlsplit(f["media_url"]).path, f["case"]) for f in flags} == {
        (path, gallery.CASE) for path in traps.FLAGGED
    }
    assert run.flags == len(traps.FLAGGED)


@pytest.mark.any_database
def test_a_site_may_skip_robots_with_a_reason_and_its_own_user_agent(registered, tmp_path):
    env, sites_dir = registered
    with LocalSite(gallery.routes()) as site:
        (sites_dir / "gallery.toml").write_text(
            gallery.site_file(
                "gallery",
                site.url,
                obey_robots="false",
                robots_reason='"takedown order 17: media behind /members/"',
                user_agent='"RepostWatch-Test/1.0"',
            )
        )
        crawl = repostwatch("crawl", "gallery", env=env, cwd=tmp_path)
        requested = set(site.requests)
        agents = set(site.user_agents)
    assert "/members/hidden.jpg" in requested and "/robots.txt" not in requested
    assert agents == {"RepostWatch-Test/1.0"}
    assert "robots_txt" not in crawl.stdout
