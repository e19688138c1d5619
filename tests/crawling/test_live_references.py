"""References added or withdrawn while a crawl runs take effect within seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from crawler import db
from crawler.crawling.live_references import LiveReferences
from crawler.db.match_keys import reference_keys
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.hashing import hash_media
from tests.support.accounts import add_staff
from tests.support.cli_runner import REPOSTWATCH, repostwatch


def test_added_and_withdrawn_references_reach_a_loaded_index(engine):
    sessions = db.make_sessionmaker(engine)
    live = LiveReferences(sessions)
    assert live.load() == 0
    copy = hash_media(samples.reencoded_jpeg("coffee", quality=60, scale=0.5))
    assert live.matcher.match(copy) == []

    reference = hash_media(samples.photo_path("coffee").read_bytes())
    with sessions.begin() as session:
        db.add_reference_hashes(
            session,
            "case-live",
            [db.NewHash(h.algorithm, h.hex, h.quality) for h in reference.hashes],
            media_sha256=reference.sha256,
        )
    applied = live.apply(*live.fetch())
    assert applied.added == len(reference.hashes)
    assert live.matcher.match(copy)
    assert live.apply(*live.fetch()).added == 0  # the overlap does not add twice

    with sessions.begin() as session:
        db.withdraw_references(session, "case-live")
    assert live.apply(*live.fetch()).removed == len(reference.hashes)
    assert live.matcher.match(copy) == []


# Each way a change arrives once, one on each database (every database runs both ways of
# delivery in the other test): a crawl of a minute each, the database does not change the rule.
@pytest.mark.parametrize(
    ("through", "database_url"),
    [("polling", "sqlite"), ("redis", "postgresql")],
    indirect=["database_url"],
)
def test_a_running_crawl_picks_up_a_new_reference_within_five_seconds(
    through, database_url, tmp_path, redis_url
):
    """By polling the database, or, with Redis configured, by its announcement (the regular poll
    is then set to a minute, so only Redis can deliver the change in time). The site has more
    pages than the crawl can fetch in the test; it is stopped (gracefully) once it has fetched
    photos well after the reference was added, however long `refs add` took on a busy machine."""
    pages = 300
    photo = samples.reencoded_jpeg("astronaut", quality=70, scale=0.5)
    routes = {
        f"/p/{n}": html(f'<img src="/m/{n}.jpg"><a href="/p/{n + 1}">next</a>')
        for n in range(pages)
    }
    routes.update({f"/m/{n}.jpg": Route(photo, "image/jpeg") for n in range(pages)})
    env = {
        **os.environ,
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(tmp_path),
        "REPOSTWATCH_HASH_WORKERS": "1",
        "REPOSTWATCH_REDIS_URL": redis_url if through == "redis" else "",
        "REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS": "60",
    }
    repostwatch("db", "upgrade", env=env)
    with LocalSite(routes) as site:
        (tmp_path / "slow.toml").write_text(
            f'name = "slow"\nstart_urls = ["{site.url}/p/0"]\nallow_private_network = true\n'
            "download_delay = 1.0\nconcurrency = 1\n[follow]\nmax_depth = 20\n"
        )
        crawl = subprocess.Popen(
            [REPOSTWATCH, "crawl", "slow"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while "/m/2.jpg" not in site.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        adding = time.monotonic()  # the reference is committed while the command runs
        repostwatch("refs", "add", "--case", "case-live", samples.photo_path("astronaut"), env=env)
        added_at = time.monotonic()
        deadline = time.monotonic() + 60
        while len(_photos_after(site, added_at + 5)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        crawl.send_signal(signal.SIGINT)  # a graceful stop: the photos in flight are finished
        _, stderr = crawl.communicate(timeout=120)
        fetched = list(site.request_times)

    # Stopped by the test: the run closes as interrupted (exit 1), not as a crash.
    assert "Closing spider (shutdown)" in stderr and "Traceback" not in stderr, stderr[-3000:]
    flags = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)
    flagged = {flag["media_url"].removeprefix(site.url) for flag in flags}
    late = {path for when, path in fetched if path.startswith("/m/") and when > added_at + 5}
    early = {path for when, path in fetched if path.startswith("/m/") and when < adding}
    assert late, "the crawl ended too soon to show anything"
    assert late <= flagged  # every photo fetched 5 s after the reference was added is flagged
    assert not early & flagged  # nothing was flagged before the reference existed


@pytest.mark.parametrize(
    ("through", "database_url"),
    [("polling", "postgresql"), ("redis", "sqlite")],
    indirect=["database_url"],
)
def test_closing_a_case_stops_its_matches_in_a_running_crawl_within_five_seconds(
    through, database_url, tmp_path, redis_url
):
    """`cases close` withdraws the case's references; a running crawl stops flagging within
    seconds, by its poll or, with Redis (the poll set to a minute), by the announcement."""
    pages = 12
    photo = samples.reencoded_jpeg("astronaut", quality=70, scale=0.5)
    routes = {
        f"/p/{n}": html(f'<img src="/m/{n}.jpg"><a href="/p/{n + 1}">next</a>')
        for n in range(pages)
    }
    routes.update({f"/m/{n}.jpg": Route(photo, "image/jpeg") for n in range(pages)})
    env = {
        **os.environ,
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(tmp_path),
        "REPOSTWATCH_HASH_WORKERS": "1",
        "REPOSTWATCH_REDIS_URL": redis_url if through == "redis" else "",
        "REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS": "60",
    }
    repostwatch("db", "upgrade", env=env)
    repostwatch("refs", "add", "--case", "case-live", samples.photo_path("astronaut"), env=env)
    add_staff(env, "tester", "admin")  # closing a case needs an admin account
    with LocalSite(routes) as site:
        (tmp_path / "slow.toml").write_text(
            f'name = "slow"\nstart_urls = ["{site.url}/p/0"]\nallow_private_network = true\n'
            "download_delay = 1.0\nconcurrency = 1\n[follow]\nmax_depth = 20\n"
        )
        crawl = subprocess.Popen(
            [REPOSTWATCH, "crawl", "slow"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while "/m/2.jpg" not in site.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        closing = time.monotonic()
        repostwatch("cases", "close", "case-live", "--by", "tester", "--yes", env=env)
        closed_at = time.monotonic()
        _, stderr = crawl.communicate(timeout=120)
        fetched = list(site.request_times)

    assert crawl.returncode == 0, stderr[-3000:]
    flags = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)
    flagged = {flag["media_url"].removeprefix(site.url) for flag in flags}
    late = {path for when, path in fetched if path.startswith("/m/") and when > closed_at + 5}
    early = {path for when, path in fetched if path.startswith("/m/") and when < closing - 2}
    assert late and early, "the crawl ended too soon to show anything"
    assert early <= flagged  # matched while the case was open...
    assert not late & flagged  # ...and nothing fetched 5 s after it was closed


def test_matched_references_are_named_from_memory_as_the_database_names_them(engine):
    """A match found while the database is down is spilled with its reference's case, algorithm
    and hash: the crawl learns them from its index, not from the database."""
    sessions = db.make_sessionmaker(engine)
    reference = hash_media(samples.photo_path("coffee").read_bytes())
    with sessions.begin() as session:
        db.add_reference_hashes(
            session,
            "case-named",
            [db.NewHash(h.algorithm, h.hex, h.quality) for h in reference.hashes],
            media_sha256=reference.sha256,
        )
    live = LiveReferences(sessions)
    live.load()
    found = [m for m, _ in live.match(reference)]
    found += [m for m, _ in live.match(hash_media(samples.reencoded_jpeg("coffee", quality=60)))]
    algorithms = {m.algorithm for m in found}
    assert "sha256" in algorithms and algorithms & {"pdq", "phash"}
    named = live.keys_in_memory(found)
    with sessions() as session:
        expected = reference_keys(session, [m.reference_id for m in found])
    assert named == {ref_id: key for ref_id, key in expected.items() if ref_id in named}
    assert {m.reference_id for m in found if m.algorithm != "crhash"} <= named.keys()
    assert all(key.case == "case-named" for key in named.values())


def _photos_after(site: LocalSite, moment: float) -> list[str]:
    """The photos ``site`` served after ``moment`` (time.monotonic)."""
    return [
        path for when, path in list(site.request_times) if path.startswith("/m/") and when > moment
    ]


def test_a_reference_video_is_found_in_an_edited_excerpt_and_a_still_with_evidence(engine):
    from crawler.hashing.video import (
        REFERENCE_SECONDS_PER_SAMPLE,
        hash_video,
        unique_frame_hashes,
    )
    from tests.support import videos

    frames = videos.slideshow_frames(("astronaut", "coffee", "chelsea", "rocket"), seconds=20.0)
    data = videos.encode(frames)
    video = hash_video(data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False)
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as session:
        sha256 = hash_media(data).sha256
        db.add_reference_hashes(session, "case-video", [db.NewHash("sha256", sha256)])
        db.add_reference_video(
            session,
            "case-video",
            media_sha256=sha256,
            duration=video.duration,
            frames=[
                db.VideoFrame(f.seconds, f.value.hex, f.value.quality)
                for f in unique_frame_hashes(video.frames)
            ],
        )
    live = LiveReferences(sessions)
    live.load()
    # Seconds 6-18 of the reference, mirrored and played at 1.25x.
    excerpt = videos.retimed(videos.edited_frames(videos.excerpt(frames, 6, 18), "mirror"), 1.25)
    copy = hash_media(videos.encode(excerpt, quality="low"))
    [(match, evidence)] = live.match(copy)
    assert (match.algorithm, match.variant) == ("vpdq", "frames")
    found = json.loads(evidence)
    assert found["variant"] == "flipx" and found["frames_aligned"] >= 5
    assert abs(found["speed"] - 1.25) <= 0.15
    assert abs(found["reference_start"] - (6 + 1.25 * found["found_start"])) <= 1.5
    assert found["reference_end"] > found["reference_start"] + 5
    assert {"offset", "found_end", "best_distance", "reference_video"} <= set(found)
    assert live.video_candidate_times(copy.frames)
    # As a line a sampler can follow: the reference's 0 and 20 s fall 6 / 1.25 s before the
    # copy's start and (20 - 6) / 1.25 s after it.
    [line] = live.video_lines(copy.frames)
    assert (line.found_start, line.found_end) == (found["found_start"], found["found_end"])
    assert line.reference_first == pytest.approx(-6 / 1.25, abs=1.5)
    assert line.reference_last == pytest.approx((video.duration - 6) / 1.25, abs=1.5)
    # A still of second 12, posted as a JPEG.
    still = hash_media(samples.encode(frames[12 * videos.FPS], "JPEG", quality=80))
    [(match, evidence)] = live.match(still)
    assert match.variant == "still"
    assert abs(json.loads(evidence)["reference_start"] - 12) <= 1
    other = hash_media(samples.reencoded_jpeg("moon", quality=80))
    assert live.match(other) == []
    with sessions.begin() as session:
        db.withdraw_references(session, "case-video")
    live.apply(*live.fetch())
    assert live.match(copy) == [] and live.video_candidate_times(copy.frames) == []
    assert live.video_lines(copy.frames) == []


def test_the_video_alignment_rule_comes_from_the_settings():
    from scrapy.settings import Settings

    from crawler.crawling.live_references import video_matcher_from_settings

    settings = Settings()
    settings.setmodule("settings")
    settings.set("REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES", 8)
    settings.set("REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS", "20")
    matcher = video_matcher_from_settings(settings)
    assert (matcher.min_frames, matcher.min_seconds) == (8, 5.0)
    assert (matcher.sparse_frames, matcher.sparse_seconds) == (3, 20.0)
    assert LiveReferences(None, videos=matcher).videos is matcher
