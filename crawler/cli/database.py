"""`repostwatch db`: create and migrate the database."""

from __future__ import annotations

import click

from crawler.cli.common import database_url, redact


# --- db -------------------------------------------------------------------------------------
@click.group()
def db() -> None:
    """Create and migrate the database."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Run the database migrations up to REVISION (SQLite or PostgreSQL).

    \b
    Example:
      REPOSTWATCH_DATABASE_URL=postgresql://rw@db/repostwatch repostwatch db upgrade
    """
    from crawler.db import migrate

    url = database_url()
    try:
        migrate.upgrade(url, revision)
        current = migrate.current_revision(url)
    except Exception as exc:  # alembic and drivers raise many types; show the cause
        raise click.ClickException(f"migration failed on {redact(url)}: {exc}") from exc
    click.echo(f"Database {redact(url)} is at revision {current}.")
