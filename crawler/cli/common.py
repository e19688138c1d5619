"""Helpers every command group shares: settings, a database session, tables."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click


def load_settings(**overrides: Any):
    from crawler.crawling.process import SettingsError, project_settings

    try:
        return project_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def database_url() -> str:
    return load_settings().get("REPOSTWATCH_DATABASE_URL")


def sites_dir() -> str:
    return load_settings().get("REPOSTWATCH_SITES_DIR")


def ready_database(url: str | None = None) -> str:
    """Check that the database answers and is migrated to this code's head; return its URL.

    Every command that reads or writes the database calls this first, so that a wrong URL, a
    server that is down or a missing migration is one clear line, not a traceback.
    """
    from crawler import db
    from crawler.db import migrate

    url = url or database_url()
    try:
        current = migrate.current_revision(url)
    except (db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    head = migrate.head_revision()
    if current != head:
        state = "has no tables yet" if current is None else f"is at revision {current}"
        raise click.ClickException(
            f"the database {redact(url)} {state}; this code needs revision {head}. "
            "Run `repostwatch db upgrade`."
        )
    return url


@contextmanager
def open_session() -> Iterator[Any]:
    """A session in one transaction: committed on success, rolled back on any error."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler import db

    engine = db.make_engine(ready_database())
    try:
        with db.make_sessionmaker(engine).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise click.ClickException(f"database error at {redact(str(engine.url))}: {first}") from exc
    finally:
        engine.dispose()


def display_width(text: str) -> int:
    """Terminal columns: wide (CJK, Hangul) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            value + " " * (widths[i] - display_width(value)) for i, value in enumerate(row)
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def redact(url: str) -> str:
    from crawler.db.session import redact_url

    return redact_url(url)


def cli_username() -> str:
    """Who the audit log names for a command run here: ``(cli) <login name>``."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    return f"(cli) {name}".strip()


def audit_cli(session: Any, action: str, *, target_type: str, target_id: object, **details: Any):
    """Append an audit entry for a command (the review app's audit log sees CLI actions too)."""
    from crawler.db import audit

    audit.record(
        session,
        action,
        username=cli_username(),
        target_type=target_type,
        target_id=target_id,
        details={**details, "via": "cli"},
    )
