"""Run the Alembic migrations from code, from any working directory.

The configuration is built here, pointing at the migrations shipped inside this package; the
repository's alembic.ini is only for developers writing new revisions. Logging is left as the
caller configured it.

Every command checks the database's revision against this code's before it starts
(:func:`current_revision`, :func:`head_revision`); those two read the version table and the
revision files' headers without importing Alembic or running the migration scripts, which
would cost each command a fifth of a second. tests/db/test_migrate.py holds them equal to
Alembic's answers.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.pool import NullPool

from crawler.db.session import check_connection, make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Alembic's table of the revision a database is at (its default name).
VERSION_TABLE = "alembic_version"
# `revision: str = "0013"` and `down_revision: ... = "0012"` at the top of a revision file.
_HEADER = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    """An Alembic Config for ``url`` that needs no alembic.ini (for ``alembic.command``)."""
    from alembic.config import Config

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
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` before the first migration."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        check_connection(engine)
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    finally:
        engine.dispose()
    if len(rows) > 1:  # this code's migrations are one line: never two heads at once
        raise ValueError(
            f"{VERSION_TABLE} holds {len(rows)} revisions ({', '.join(r[0] for r in rows)}); "
            "RepostWatch's migrations are one line: this database was migrated by other code"
        )
    return rows[0][0] if rows else None


def head_revision() -> str:
    """The newest revision shipped with this code: the one no other revision revises."""
    return _head_revision()


@cache
def _head_revision() -> str:
    revises: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        header = {}
        for name, value in _HEADER.findall(path.read_text(encoding="utf-8")):
            header.setdefault(name, value)
        try:
            revision = ast.literal_eval(header["revision"])
            down = ast.literal_eval(header["down_revision"])
        except (KeyError, SyntaxError, ValueError):  # not a plain header: ask Alembic
            return _alembic_head()
        revises[revision] = (down,) if isinstance(down, str) else tuple(down or ())
    revised = {parent for parents in revises.values() for parent in parents}
    heads = [revision for revision in revises if revision not in revised]
    return heads[0] if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str:
    """Alembic's own answer (it loads every revision script; an error if there are two heads)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head
