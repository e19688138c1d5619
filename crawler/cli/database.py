"""`repostwatch db`: create and migrate the database."""

from __future__ import annotations

import click

from crawler.cli.common import (
    cli_username,
    database_url,
    login_name,
    open_session,
    redact,
    sites_dir,
)


# --- db -------------------------------------------------------------------------------------
@click.group()
def db() -> None:
    """Create and migrate the database."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Run the database migrations up to REVISION (SQLite or PostgreSQL).

    At the newest revision, the site files of REPOSTWATCH_SITES_DIR (by default the bundled
    settings/sites/) whose site the database has no definition of are imported; a site already
    in the database is never overwritten (`sites import` replaces one on purpose).

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
    if current == migrate.head_revision():
        _import_bundled_sites()


def _import_bundled_sites() -> None:
    """Import the site files the database lacks; a file with problems is named, not imported."""
    from crawler.site_store import Who, import_bundled

    directory = sites_dir()
    who = Who(cli_username(), via="db upgrade", os_user=login_name() or None)
    with open_session() as session:
        report = import_bundled(session, directory, who)
    if report.saved:
        names = ", ".join(saved.name for saved in report.saved)
        click.echo(f"Imported {len(report.saved)} site(s) from {directory}: {names}")
    for error in report.refused:
        click.echo(f"not imported: {error}", err=True)


@db.command("grant-app-role")
@click.argument("role")
def db_grant_app_role(role: str) -> None:
    """Grant the application's PostgreSQL ROLE what it needs, and on the audit log only INSERT
    and SELECT (no UPDATE, DELETE or TRUNCATE; it owns nothing, so it cannot drop the log's
    triggers). Run it as the role that owns the tables, after every `db upgrade`; the web app,
    crawlers and scheduler then connect as ROLE.

    \b
    Example:
      REPOSTWATCH_DATABASE_URL=postgresql://rw_owner@db/repostwatch repostwatch db upgrade
      REPOSTWATCH_DATABASE_URL=postgresql://rw_owner@db/repostwatch \\
        repostwatch db grant-app-role rw_app
    """
    from crawler.db import DatabaseUnavailable, DatabaseURLError
    from crawler.db.roles import RoleError, grant_app_role

    url = database_url()
    try:
        granted = grant_app_role(url, role)
    except (RoleError, DatabaseURLError, DatabaseUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{granted.role} may read and write {granted.tables} table(s) of {redact(url)} and only "
        f"INSERT and SELECT on the audit log; connect the application as {granted.role}."
    )
