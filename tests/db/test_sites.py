"""Site definitions stored in the database, on SQLite and PostgreSQL: versions, conflicts, the
audit log, and the database as the source of sites once it holds any."""

from __future__ import annotations

import pytest

from crawler.db import audit
from crawler.db.runs import start_run
from crawler.db.session import make_sessionmaker
from crawler.db.sites import (
    SITE_SAVED,
    DatabaseSites,
    SiteVersionConflict,
    save_site,
    site_version,
    stored_site,
    stored_sites,
)

BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n'
BOARD_2 = BOARD + "download_delay = 2.0\n"


def _save(session, text, **options):
    return save_site(session, "board", text, by="(cli) ops", via="cli", **options)


def test_every_save_is_a_new_version_kept_and_audited(session):
    assert _save(session, BOARD).version == 1
    assert _save(session, BOARD).changed is False  # the same text saves nothing
    saved = _save(session, BOARD_2, expected_version=1)
    session.commit()
    assert (saved.version, saved.changed) == (2, True)
    site = stored_site(session, "board")
    assert (site.toml, site.version, site.updated_by) == (BOARD_2, 2, "(cli) ops")
    assert site.updated_at is not None
    assert site_version(session, "board", 1) == BOARD and site_version(session, "board", 3) is None
    entries, total = audit.list_entries(session, action=SITE_SAVED)
    assert total == 2
    assert (entries[0].target_id, entries[0].details["version"]) == ("board", 2)
    assert entries[0].details["via"] == "cli" and len(entries[0].details["sha256"]) == 64


def test_a_save_from_an_older_version_is_refused(session):
    _save(session, BOARD)
    _save(session, BOARD_2)
    with pytest.raises(SiteVersionConflict, match=r"changed to version 2 by \(cli\) ops since"):
        _save(session, BOARD + "concurrency = 2\n", expected_version=1)
    assert stored_site(session, "board").toml == BOARD_2


def test_only_if_absent_never_overwrites_a_stored_site(session):
    _save(session, BOARD_2)
    assert _save(session, BOARD, only_if_absent=True).changed is False
    assert stored_site(session, "board").toml == BOARD_2


def test_a_site_known_only_from_its_crawls_has_no_definition_until_saved(session):
    run_id = start_run(session, "board")  # crawled from a site file before 0021
    assert stored_sites(session) == [] and stored_site(session, "board") is None
    _save(session, BOARD, expected_version=0)
    session.commit()
    assert [site.name for site in stored_sites(session)] == ["board"]
    assert run_id  # its runs stay the site's: the same row gained its text


def test_the_database_is_the_source_only_once_it_holds_a_site(database_url, engine, tmp_path):
    source = DatabaseSites(database_url, tmp_path)
    assert source.site_texts() is None  # no site yet: the site files are read
    with make_sessionmaker(engine).begin() as session:
        _save(session, BOARD)
    assert source.site_texts() == {"board": BOARD}
    assert source.origin("board") == "database:board"
    shared = DatabaseSites("", tmp_path, sessions=make_sessionmaker(engine))
    assert shared.site_texts() == {"board": BOARD}


def test_no_database_or_one_not_migrated_reads_the_site_files(tmp_path, database_url):
    assert DatabaseSites("", tmp_path).site_texts() is None
    assert DatabaseSites(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path).site_texts() is None
    assert not (tmp_path / "missing.db").exists()  # asking made no empty database
    assert DatabaseSites(database_url, tmp_path).site_texts() is None  # exists, no tables
