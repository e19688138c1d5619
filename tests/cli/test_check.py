"""`repostwatch check URL...`: pages found by hand crawled once, now, with their site's settings
(issue 15, "Manual URL check"): exactly those pages, no link followed, flags as any crawl makes,
and who asked in the audit log."""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler import db
from crawler.db import audit
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from tests.support.cli_runner import flags_json, migrated_environment, repostwatch

CASE = "case-check"


def _routes() -> dict[str, Route]:
    def jpeg(name: str) -> Route:
        return Route(samples.reencoded_jpeg(name, quality=80, scale=0.5), "image/jpeg")

    return {
        "/post/1": html('<img src="/m/1.jpg"><img src="/m/other.jpg"><a href="/post/2">next</a>'),
        "/post/2": html('<img src="/m/2.jpg">'),
        "/m/1.jpg": jpeg("astronaut"),  # a copy of the reference
        "/m/2.jpg": jpeg("coffee"),  # a copy too, but only on the page the check must not follow
        "/m/other.jpg": jpeg("camera"),
    }


def _register(env, cwd) -> None:
    photos = [samples.photo_path(name) for name in ("astronaut", "coffee")]
    repostwatch("refs", "add", "--case", CASE, *photos, env=env, cwd=cwd)


def _runs_and_audit(database_url: str) -> tuple[list, list]:
    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        runs = db.list_runs(session)
        entries, _ = audit.list_entries(session, action="manual_check")
    engine.dispose()
    return runs, entries


def test_a_check_crawls_exactly_the_urls_with_their_sites_settings(tmp_path):
    env = migrated_environment(tmp_path)
    _register(env, tmp_path)
    with LocalSite(_routes()) as site:
        (tmp_path / "sites" / "board.toml").write_text(
            f'name = "board"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        )
        done = repostwatch("check", f"{site.url}/post/1", env=env, cwd=tmp_path)
        gets = [path for method, path, _ in site.exchanges if method == "GET"]

    assert "Checking 1 URL(s) with the settings of board" in done.stdout
    assert sorted(gets) == ["/m/1.jpg", "/m/other.jpg", "/post/1", "/robots.txt"]
    flags = flags_json(env, tmp_path)
    assert [(urlsplit(f["media_url"]).path, f["site"]) for f in flags] == [("/m/1.jpg", "board")]
    runs, entries = _runs_and_audit(env["REPOSTWATCH_DATABASE_URL"])
    (run,) = runs
    assert run.site == "board"
    (entry,) = entries
    assert entry.target_id == str(run.id)
    assert entry.details["urls"] == 1 and entry.details["flags"] == 1


def test_urls_of_no_site_use_the_default_profile_and_bad_input_is_refused(tmp_path):
    env = migrated_environment(tmp_path)
    _register(env, tmp_path)
    with LocalSite(_routes()) as site:
        refused = repostwatch("check", f"{site.url}/post/1", env=env, cwd=tmp_path, check=False)
        repostwatch(
            "check",
            "--allow-private-network",
            f"{site.url}/post/1",
            f"{site.url}/post/2",
            env=env,
            cwd=tmp_path,
        )
    # Without the opt-in the default profile keeps to public addresses: nothing fetched.
    assert refused.returncode != 0
    flags = flags_json(env, tmp_path)
    assert sorted(urlsplit(f["media_url"]).path for f in flags) == ["/m/1.jpg", "/m/2.jpg"]
    assert {f["site"] for f in flags} == {"manual"}

    bad = repostwatch("check", "ftp://board.example/x", env=env, cwd=tmp_path, check=False)
    assert bad.returncode != 0 and "ftp://board.example/x" in bad.stderr
    # Sites are read where crawls read them: once in the database, a's file is no longer needed.
    (tmp_path / "sites" / "a.toml").write_text('name = "a"\nstart_urls = ["https://a.example/"]\n')
    repostwatch("sites", "import", str(tmp_path / "sites" / "a.toml"), env=env, cwd=tmp_path)
    (tmp_path / "sites" / "a.toml").unlink()
    mixed = repostwatch(
        "check", "https://a.example/1", "https://b.example/2", env=env, cwd=tmp_path, check=False
    )
    assert mixed.returncode != 0
    assert (
        "belong to different sites" in mixed.stderr
        and "no site: https://b.example/2" in mixed.stderr
    )
