"""Picture viewers walked in real Chromium (tests/sites/viewer.py): full sizes named nowhere in
the page are found by opening the viewer and pressing next until an item repeats.

Issue #14: "in render = "browser", a bounded walk of viewers (open the first item, press next
until the first repeats or a limit) with the media each step loads".
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from tests.sites import viewer
from tests.support.cli_runner import flags_json, migrated_environment, repostwatch


def _crawl(tmp_path, browser: str = "") -> tuple[list[str], dict, list]:
    """Crawl the album and slider into a SQLite database of its own in ``tmp_path``: (paths
    Scrapy and Chromium fetched, the run's stats, flags)."""
    tmp_path.mkdir(exist_ok=True)
    env = migrated_environment(tmp_path)
    database_url = env["REPOSTWATCH_DATABASE_URL"]
    photos = [samples.photo_path(name) for name in viewer.REFERENCES]
    repostwatch("refs", "add", "--case", viewer.CASE, *photos, env=env, cwd=tmp_path)
    with LocalSite(viewer.routes()) as site:
        (tmp_path / "sites" / "viewer.toml").write_text(
            viewer.site_file("viewer", site.url, browser)
        )
        repostwatch("crawl", "viewer", env=env, cwd=tmp_path)
        gets = [path for method, path, _ in site.exchanges if method == "GET"]
    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="viewer")
    engine.dispose()
    return gets, json.loads(run.stats), flags_json(env, tmp_path)


def test_a_viewer_is_walked_until_its_first_item_repeats(tmp_path):
    gets, stats, flags = _crawl(tmp_path)

    # Every full size the viewer and the slider showed was fetched and hashed, once each.
    for path in viewer.FULL_SIZE:
        assert gets.count(path) == 1, path
    # Each item was asked for by the page while walking; the walk went round once and stopped
    # (album: open on p1, five steps to p6, two back on known items; slider: two new, two known).
    assert stats["repostwatch/browser/viewer/walks"] == 2
    assert stats["repostwatch/browser/viewer/steps"] == 7 + 4
    # New media the walks loaded: the album's six (p1 with the opening click) and the slider's
    # b and c; its first slide, which its script loads on its own, may still be on its way when
    # the walk starts, and then counts too.
    assert 6 + 2 <= stats["repostwatch/browser/viewer/media"] <= 6 + 2 + 1

    flagged = {urlsplit(flag["media_url"]).path for flag in flags}
    # The copies among the full sizes are flagged; a thumbnail that names no full size is
    # hashed too and may be flagged as its own copy, nothing else.
    assert viewer.FLAGGED <= flagged <= viewer.FLAGGED | set(viewer.THUMBNAILS)
    assert all(flag["case"] == viewer.CASE for flag in flags)


def test_the_walk_stops_at_viewer_steps_and_zero_turns_it_off(tmp_path):
    gets, stats, _ = _crawl(tmp_path / "two", "viewer_steps = 2")
    album = [path for path, _, _ in viewer.ALBUM.values()]
    # p1 on opening, then two steps: p2 and p3, not p4-p6.
    assert [path for path in album if path in gets] == album[:3]
    assert stats["repostwatch/browser/viewer/steps"] == 2 + 2

    gets, stats, _ = _crawl(tmp_path / "off", "viewer_steps = 0")
    assert not any(path in gets for path in album)
    assert "/slides/b.jpg" not in gets
    assert "/slides/a.jpg" in gets  # the slider's first slide, shown without any walk
    assert "repostwatch/browser/viewer/walks" not in stats
