"""`repostwatch sites`, through the real console script."""

from __future__ import annotations

import pytest

from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def test_sites_check_names_file_key_and_problem(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nstart_urls = ["nope"]\nrender = 3\n')
    listing = repostwatch("sites", "list", env=env).stdout
    assert "good" in listing and "INVALID" in listing
    assert "good.toml: ok" in repostwatch("sites", "check", "good", env=env).stdout
    result = repostwatch("sites", "check", env=env, check=False)
    assert result.returncode == 1
    assert "bad.toml: start_urls[0]: 'nope' is not an absolute http(s) URL" in result.stderr
    assert "bad.toml: render:" in result.stderr
    assert "1 of 2 site(s) have problems" in result.stderr


def test_sites_check_fails_a_private_start_url_without_the_opt_in(env, tmp_path):
    (tmp_path / "lan.toml").write_text(
        'name = "lan"\nstart_urls = ["https://a.example/", "http://127.0.0.1:8080/"]\n'
    )
    (tmp_path / "box.toml").write_text(
        'name = "box"\nstart_urls = ["http://box.localhost/", "http://[::1]/"]\n'
        '[search]\nform_url = "http://box.localhost/search"\nfield = "q"\n'
    )
    result = repostwatch("sites", "check", env=env, check=False)
    assert result.returncode == 1
    assert (
        "lan.toml: start_urls[1]: http://127.0.0.1:8080/ is on a private network (127.0.0.1); "
        "crawls refuse it unless the site file sets allow_private_network = true"
    ) in result.stderr
    assert "box.toml: start_urls[0]: http://box.localhost/ is on a private network" in result.stderr
    assert "box.toml: start_urls[1]: http://[::1]/ is on a private network (::1)" in result.stderr
    assert "box.toml: search.form_url: http://box.localhost/search is on a private" in (
        result.stderr
    )
    assert "2 of 2 site(s) have problems" in result.stderr

    # With the opt-in, a local site (the demo's, a test's) is fine.
    text = (tmp_path / "lan.toml").read_text().replace("\n", "\nallow_private_network = true\n", 1)
    (tmp_path / "lan.toml").write_text(text)
    assert "lan.toml: ok" in repostwatch("sites", "check", "lan", env=env).stdout


GOOD = """# A hand-written site file: comments, spacing and key order survive the database.
name = "good"
start_urls = [ "https://good.example/" ]   # the front page

[follow]
max_depth   = 2
"""


def test_import_validates_saves_and_export_gives_the_file_back(env, tmp_path, monkeypatch):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (tmp_path / "lan.toml").write_text('name = "lan"\nstart_urls = ["https://lan.example/"]\n')
    (incoming / "good.toml").write_text(GOOD)
    (incoming / "bad.toml").write_text('name = "bad"\nstart_urls = ["nope"]\n')
    result = repostwatch(
        "sites", "import", incoming / "good.toml", incoming / "bad.toml", env=env, check=False
    )
    assert result.returncode == 1
    assert "good: saved as version 1" in result.stdout
    assert "bad.toml: start_urls[0]: 'nope' is not an absolute http(s) URL" in result.stderr
    assert "1 of 2 file(s) not imported" in result.stderr
    assert "no longer crawled: lan" in result.stderr  # a site file the database lacks

    # The database is now the one source: a site file beside it is no longer read.
    listing = repostwatch("sites", "list", env=env).stdout
    assert "Sites from the database:" in listing and "database:good" in listing
    assert "lan" not in listing

    assert repostwatch("sites", "export", "good", env=env).stdout == GOOD
    out = tmp_path / "out"
    repostwatch("sites", "export", "--dir", out, env=env)
    assert (out / "good.toml").read_text() == GOOD
    again = repostwatch("sites", "import", out / "good.toml", env=env).stdout
    assert "good: unchanged" in again

    # `db upgrade` imports the bundled site files the database lacks, never an edited site.
    monkeypatch.delenv("REPOSTWATCH_SITES_DIR", raising=False)
    bundled_env = {"REPOSTWATCH_DATABASE_URL": env["REPOSTWATCH_DATABASE_URL"]}
    first = repostwatch("db", "upgrade", env=bundled_env, cwd=tmp_path).stdout
    assert "Imported 1 site(s) from " in first and first.rstrip().endswith(": demo")
    bundled = (ROOT / "settings" / "sites" / "demo.toml").read_text()
    edited = tmp_path / "demo.toml"
    edited.write_text(bundled.replace("max_pages = 50", "max_pages = 5"))
    assert "demo: saved as version 2" in repostwatch("sites", "import", edited, env=env).stdout
    assert "Imported" not in repostwatch("db", "upgrade", env=bundled_env, cwd=tmp_path).stdout
    assert "max_pages = 5\n" in repostwatch("sites", "export", "demo", env=env).stdout


def test_domain_moves_are_listed_adopted_and_dismissed(env):
    from crawler import db
    from crawler.db import domain_moves, sites
    from crawler.site_store import Who, save_text

    engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as session:
        save_text(
            session, 'name = "hop"\nstart_urls = ["https://hop1.example/"]\n', Who("t", "cli")
        )
        adopt, dismiss = (
            domain_moves.record_move(
                session,
                "hop",
                old_domain="hop1.example",
                new_domain=new,
                kind="redirect",
                new_url=f"https://{new}/",
                evidence=f"GET https://hop1.example/ answered 301 redirecting to https://{new}/",
            )[0]
            for new in ("hop2.example", "nowhere.example")
        )
    listing = repostwatch("sites", "moves", env=env).stdout
    assert "hop1.example" in listing and "hop2.example" in listing and "answered 301" in listing
    assert repostwatch("sites", "adopt-move", adopt, env=env).stdout == (
        "hop: moved from hop1.example to hop2.example, saved as version 2\n"
    )
    assert "dismissed" in repostwatch("sites", "dismiss-move", dismiss, env=env).stdout
    again = repostwatch("sites", "dismiss-move", dismiss, env=env, check=False)
    assert again.returncode == 1 and "was dismissed already" in again.stderr
    with sessions() as session:
        assert sites.stored_site(session, "hop").toml.endswith('["https://hop2.example/"]\n')
    engine.dispose()
