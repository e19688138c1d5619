"""A WordPress-like blog: the full-size upload (or the largest size offered) is what is hashed.

Runs the real console script against tests/sites/wordpress.py on 127.0.0.1 (on PostgreSQL:
the database is not its subject): every size WordPress generates is served and is the same
photo, so fetching a thumbnail besides the full-size file would show up as an extra request and
an extra flag.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from tests.sites import wordpress
from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def test_wordpress_blog_hashes_the_full_size_uploads_and_flags_the_reposts(database_url, tmp_path):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    photos = [samples.photo_path(name) for name in wordpress.REFERENCES]
    repostwatch("refs", "add", "--case", wordpress.CASE, *photos, env=env, cwd=tmp_path)

    with LocalSite(wordpress.routes()) as site:
        (sites_dir / "blog.toml").write_text(wordpress.site_file("blog", site.url))
        crawl = repostwatch("crawl", "blog", env=env, cwd=tmp_path)
        exchanges = list(site.exchanges)

    requested = [path for method, path, _ in exchanges if method == "GET"]
    uploads = [path for path in requested if path.startswith("/wp-content/")]
    assert sorted(uploads) == sorted(wordpress.HASHED)  # each once, nothing else
    assert wordpress.PLACEHOLDER not in requested
    assert sorted(path for path in requested if not path.startswith("/wp-content/")) == sorted(
        ["/robots.txt", *wordpress.PAGES]
    )
    assert sorted(path for method, path, _ in exchanges if method == "HEAD") == sorted(
        wordpress.PROBED
    )

    flags = json.loads(repostwatch("flags", "list", "--json", env=env, cwd=tmp_path).stdout)
    assert {(urlsplit(f["media_url"]).path, f["case"]) for f in flags} == {
        (path, wordpress.CASE) for path in wordpress.FLAGGED
    }
    by_path = {urlsplit(f["media_url"]).path: f for f in flags}
    assert urlsplit(by_path["/wp-content/uploads/2026/08/rocket.png"]["page_url"]).path == (
        "/page/2/"
    )
    assert f"{len(wordpress.FLAGGED)} new" in crawl.stdout

    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="blog")
    engine.dispose()
    stats = json.loads(run.stats)
    assert run.pages == len(wordpress.PAGES)
    assert run.media == len(wordpress.HASHED)
    assert stats["repostwatch/media/hashed"] == len(wordpress.HASHED)
    # photo.jpg again on its post page (figure and og:image): matched once per run, not refetched.
    assert stats["repostwatch/media/seen_again"] == 1
