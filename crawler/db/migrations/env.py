"""Alembic environment for RepostWatch: the same migrations on SQLite and PostgreSQL.

The URL comes from, in order: ``crawler.db.migrate`` (``config.attributes["database_url"]``),
``alembic -x url=...``, then the project settings' ``REPOSTWATCH_DATABASE_URL`` (the environment
variable, else its default in settings/__init__.py).

Each upgrade runs in one transaction, on SQLite too (it has transactional DDL), holding a lock so
that two processes migrating at once do it one after the other: the second finds the work done.
On SQLite, foreign keys are off while migrating (batch operations recreate tables, which would
otherwise cascade or fail) and are checked before committing.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from crawler.db.models import Base, UTCDateTime
from crawler.db.session import make_engine, normalise_url
from settings import REPOSTWATCH_DATABASE_URL

config = context.config

# Only the `alembic` command line sets logging up from alembic.ini; a program that runs the
# migrations (crawler.db.migrate) keeps its own logging configuration.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Any constant shared by every RepostWatch process: pg_advisory_xact_lock(key) serialises upgrades.
_PG_MIGRATION_LOCK = 0x5245504F  # "REPO"


def database_url() -> str:
    """The database to migrate: the caller's, ``-x url=...``, else the project's."""
    return (
        config.attributes.get("database_url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or REPOSTWATCH_DATABASE_URL
    )


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as the plain SQLAlchemy types they store."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER by recreating; batch ops do that portably
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        **options,
    )


def run_migrations_offline() -> None:
    configure(url=normalise_url(database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def lock(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # waits for other writers (busy_timeout)
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")


def check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = ", ".join(sorted({str(row[0]) for row in broken}))
        raise RuntimeError(
            f"the migration left rows pointing at missing parents in: {tables}; fix the migration"
        )


def run_migrations_online() -> None:
    engine = make_engine(database_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Only takes effect outside a transaction; NullPool discards the connection after.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            configure(connection=connection, transactional_ddl=True)
            with context.begin_transaction():
                lock(connection)
                context.run_migrations()
                if sqlite:
                    check_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
