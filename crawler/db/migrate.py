"""Run the Alembic migrations from code, from any working directory.

The configuration is built here, pointing at the migrations shipped inside this package; the
repository's alembic.ini is only for developers writing new revisions. Logging is left as the
caller configured it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from crawler.db.session import check_connection, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic Config for ``url`` that needs no alembic.ini (for ``alembic.command``)."""
    config = Config()
    # ConfigParser interpolates "%": escape it in the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; a database already there is left as is.

    Safe to call from several processes at once: upgrades take a lock and run one at a time.
    Raises :class:`crawler.db.session.DatabaseUnavailable` when the database cannot be reached.
    """
    engine = make_engine(url, poolclass=NullPool)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` before the first migration."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        check_connection(engine)
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head
