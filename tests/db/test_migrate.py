"""Migrations on SQLite and PostgreSQL: upgrade, idempotence, revisions, models in step."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from crawler.db.migrate import alembic_config, current_revision, head_revision, upgrade
from crawler.db.models import Base
from crawler.db.session import DatabaseUnavailable, DatabaseURLError, make_engine

TABLES = {
    "cases",
    "reference_hashes",
    "sites",
    "crawl_runs",
    "flags",
    "media_sightings",
    "reference_videos",
    "reference_video_frames",
    "reference_video_middles",
    "media_cache",
    # search by case keywords
    "case_keywords",
    "case_notes",
    # review web app
    "users",
    "audit_log",
    "evidence",
    # takedown notices
    "notices",
    "notice_items",
    # removal re-checks: every observation of a flag
    "recheck_observations",
    # operations: schedule state and crawl health
    "site_schedules",
    "site_health",
    # cases: opt-in pixelated reference thumbnails
    "reference_thumbnails",
    # reviewers' notes on flags
    "flag_notes",
    # sites defined in the database: every saved version of a site
    "site_versions",
    # digests of new flags for reviewer groups, and which flags each one counted
    "digest_subscriptions",
    "digest_deliveries",
    # domain moves proposed to staff
    "domain_moves",
    # spelling variants of case keywords that staff rejected
    "keyword_variant_rejections",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_to_head_creates_every_table(database_url):
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert _tables(database_url) == TABLES | {"alembic_version"}
    assert current_revision(database_url) == head_revision() == "0024"


def test_upgrading_twice_is_a_no_op(database_url):
    upgrade(database_url)
    engine = make_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO cases (name, created_at) VALUES ('kept', CURRENT_TIMESTAMP)")
        )
    upgrade(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM cases")).scalars().all() == ["kept"]
    engine.dispose()
    assert current_revision(database_url) == head_revision()


def test_0017_deletes_the_middles_of_the_older_region_and_keeps_the_frames(database_url):
    """Middles stored before 0017 are 10% off each edge; the crops are now hashed where a middle
    without the top and bottom fifths lies, so those would never match: they go, and the
    videos and their frames stay for ``refs add`` to fill the middles in again."""
    from crawler.db import NewHash, VideoFrame, add_reference_hashes, add_reference_video
    from crawler.db.session import make_sessionmaker

    upgrade(database_url, "0016")  # 0017 changes no table: today's code can store as 0016 did
    engine = make_engine(database_url, poolclass=NullPool)
    with make_sessionmaker(engine).begin() as session:
        add_reference_hashes(session, "case-0015", [NewHash("sha256", "f" * 64)])
        two = [VideoFrame(0.0, "a" * 64, 90), VideoFrame(1.0, "b" * 64, 80)]
        add_reference_video(
            session, "case-0015", media_sha256="f" * 64, duration=3.0, frames=two, middles=two
        )

    def count(table: str) -> int:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()

    assert count("reference_video_middles") == 2
    upgrade(database_url, "0017")
    assert current_revision(database_url) == "0017"
    assert count("reference_video_middles") == 0
    assert count("reference_video_frames") == 2 and count("reference_videos") == 1
    engine.dispose()


def test_0023_admits_the_monitor_role_and_downgrades_only_without_monitors(database_url):
    upgrade(database_url, "0022")
    engine = make_engine(database_url, poolclass=NullPool)
    insert = (
        "INSERT INTO users (username, password_hash, role, created_at, session_version) "
        "VALUES (:name, 'x', :role, CURRENT_TIMESTAMP, 0)"
    )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(insert), {"name": "mo", "role": "monitor"})
    with engine.begin() as connection:
        connection.execute(text(insert), {"name": "kim", "role": "reviewer"})
    upgrade(database_url)
    with engine.begin() as connection:
        connection.execute(text(insert), {"name": "mo", "role": "monitor"})
    with pytest.raises(RuntimeError, match="monitor role"):
        command.downgrade(alembic_config(database_url), "0022")
    with engine.begin() as connection:
        connection.execute(text("UPDATE users SET role = 'reviewer' WHERE username = 'mo'"))
        names = connection.execute(text("SELECT username FROM users ORDER BY username")).scalars()
        assert names.all() == ["kim", "mo"]
    command.downgrade(alembic_config(database_url), "0022")
    assert current_revision(database_url) == "0022"
    engine.dispose()


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_revision_check_reads_what_alembic_reads(database_url, tmp_path, monkeypatch):
    """Every command compares current_revision with head_revision without loading Alembic;
    both give Alembic's own answers: no version table, an older revision, the head."""
    from alembic.script import ScriptDirectory

    from crawler.db import migrate

    def alembic_current() -> str | None:
        engine = make_engine(database_url, poolclass=NullPool)
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        engine.dispose()
        return revision

    assert head_revision() == ScriptDirectory(str(migrate.MIGRATIONS_DIR)).get_current_head()
    assert current_revision(database_url) is None
    upgrade(database_url, "0005")
    assert current_revision(database_url) == alembic_current() == "0005"
    upgrade(database_url)
    assert current_revision(database_url) == alembic_current() == head_revision()
    # A revision file whose header is not plain literals: Alembic is asked instead.
    odd = tmp_path / "versions"
    odd.mkdir()
    (odd / "0001_x.py").write_text('revision = "0001"\ndown_revision = None\n')
    (odd / "0002_x.py").write_text('revision = REVISION\ndown_revision = "0001"\n')
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    monkeypatch.setattr(migrate, "_alembic_head", lambda: "asked alembic")
    migrate._head_revision.cache_clear()
    try:
        assert head_revision() == "asked alembic"
    finally:
        migrate._head_revision.cache_clear()


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(database_url):
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "base")
    assert _tables(database_url) == {"alembic_version"}
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert _tables(database_url) >= TABLES


def test_processes_upgrading_at_once_migrate_once(database_url):
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(upgrade, [database_url] * 3))
    assert results == [None, None, None]
    assert current_revision(database_url) == head_revision()


def test_upgrade_creates_the_sqlite_directory_and_sets_pragmas(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'repostwatch.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_unreachable_postgres_says_how_to_start_it():
    with pytest.raises(DatabaseUnavailable, match="make services") as caught:
        upgrade("postgresql://someone:secret@127.0.0.1:9/nowhere")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@localhost/db"])
def test_unusable_url_is_refused_with_examples(url):
    with pytest.raises(DatabaseURLError, match="sqlite:///"):
        make_engine(url)


def test_plain_postgresql_url_uses_psycopg():
    engine = make_engine("postgresql://u:p@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()
