"""Helpers every command group shares: settings, a database session, tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click


def load_settings():
    from crawler.crawl import project_settings

    return project_settings()


def database_url() -> str:
    return load_settings().get("REPOSTWATCH_DATABASE_URL")


def sites_dir() -> str:
    return load_settings().get("REPOSTWATCH_SITES_DIR")


@contextmanager
def open_session() -> Iterator[Any]:
    """A session in one transaction: committed on success, rolled back on any error."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler import db

    engine = db.make_engine(database_url())
    try:
        with db.make_sessionmaker(engine).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise click.ClickException(
            f"database error at {engine.url!r}: {first}\n"
            "Is the database created and up to date? Run `repostwatch db upgrade`."
        ) from exc
    finally:
        engine.dispose()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
