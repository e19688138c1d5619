"""Domain moves seen by a real crawl (`repostwatch crawl`) of sites served on 127.0.0.1, the
"new domain" being another loopback address (127.0.0.2: another registrable domain, as an IP
address is its own)."""

from __future__ import annotations

import pytest

from crawler import db
from crawler.db import domain_moves
from crawler.demo.localsite import LocalSite, html, redirect
from tests.support.cli_runner import repostwatch


@pytest.fixture
def migrated(database_url, tmp_path):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    return env, sites_dir


def _moves(database_url):
    engine = db.make_engine(database_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            return domain_moves.moves(session)
    finally:
        engine.dispose()


@pytest.mark.any_database
def test_a_redirect_off_the_site_or_an_answering_successor_is_proposed_never_followed(
    migrated, database_url, tmp_path
):
    env, sites_dir = migrated
    # A page redirects to another domain: refused, recorded.
    with LocalSite({}, host="127.0.0.2") as new:
        new.routes["/"] = html("<p>the new home</p>")
        with LocalSite({"/": redirect(f"{new.url}/")}) as old:
            text = (
                f'name = "moving"\nstart_urls = ["{old.url}/"]\nallow_private_network = true\n'
                f'private_hosts = ["127.0.0.2:{new.url.rsplit(":", 1)[1]}"]\n'
            )
            (sites_dir / "moving.toml").write_text(text)
            crawl = repostwatch("crawl", "moving", env=env, cwd=tmp_path, check=False)
        assert new.requests == []  # never followed, not even robots.txt
    assert "may have moved from 127.0.0.1 to 127.0.0.2" in crawl.stderr + crawl.stdout
    (move,) = _moves(database_url)
    assert (move.site, move.old_domain, move.new_domain) == ("moving", "127.0.0.1", "127.0.0.2")
    assert (move.kind, move.state, move.new_url) == ("redirect", "proposed", f"{new.url}/")
    assert "answered 302" in move.evidence and move.run_id is not None

    # Every start URL 404s and the site's "{n}" successor (the next loopback address) answers.
    with LocalSite({}) as old:
        port = old.url.rsplit(":", 1)[1]
        with LocalSite({"/": html("<p>moved here</p>")}, host="127.0.0.2", port=int(port)) as new:
            text = (
                f'name = "numbered"\nstart_urls = ["{old.url}/"]\nallow_private_network = true\n'
                f'private_hosts = ["127.0.0.2:{port}"]\n'
                f'successor_urls = ["http://127.0.0.{{n}}:{port}/"]\n'
            )
            (sites_dir / "numbered.toml").write_text(text)
            repostwatch("crawl", "numbered", env=env, cwd=tmp_path, check=False)
        assert "/" in new.requests
    move = next(move for move in _moves(database_url) if move.site == "numbered")
    assert (move.old_domain, move.new_domain, move.kind) == ("127.0.0.1", "127.0.0.2", "successor")
    assert "answered 404" in move.evidence and f"{new.url}/" in move.evidence
