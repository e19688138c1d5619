"""Engines and sessions for the embedded SQLite default and production PostgreSQL.

SQLite connections get foreign keys, WAL (readers do not block the writer) and a 30 s busy timeout
so that several crawler processes can write to one file. Transactions keep the standard library's
behaviour: a transaction opens at the first write, so every upsert waits for the write lock instead
of failing on a stale read snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

_EXAMPLES = "sqlite:///var/repostwatch.db or postgresql://user:password@host:5432/repostwatch"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseURLError(ValueError):
    """The database URL cannot be used (malformed, or a backend RepostWatch does not support)."""


class DatabaseUnavailable(RuntimeError):
    """The database server cannot be reached or refused the connection."""


def normalise_url(url: str) -> URL:
    """Parse ``url``; plain ``postgresql://`` and ``postgres://`` URLs get the psycopg driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseURLError(f"{_redact(url)!r} is not a database URL; use {_EXAMPLES}") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise DatabaseURLError(
        f"unsupported database {parsed.drivername!r} in {parsed.render_as_string()!r}; "
        f"use {_EXAMPLES}"
    )


def refuse_missing_sqlite_file(url: str) -> None:
    """Raise DatabaseUnavailable when ``url`` names a SQLite file that does not exist.

    Connecting would create it, empty, wherever a mistyped URL points: commands that only use
    an existing database call this first; `repostwatch db upgrade` is the one that creates it.
    """
    parsed = normalise_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:") or Path(database).exists():
        return
    raise DatabaseUnavailable(
        f"the database {database} does not exist; check REPOSTWATCH_DATABASE_URL, or run "
        "`repostwatch db upgrade` to create it"
    )


def make_engine(url: str, **options: Any) -> Engine:
    """An Engine for ``url``; ``options`` go to :func:`sqlalchemy.create_engine`.

    For a SQLite file the parent directory is created. Nothing connects until first use: call
    :func:`check_connection` for a clear error when the server is down.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            directory = Path(database).parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create {directory} for the database {url}: {exc.strerror}; "
                    "choose a writable path"
                ) from exc
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``. Objects stay readable after commit (expire_on_commit=False)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def check_connection(engine: Engine) -> None:
    """Connect once; raise :class:`DatabaseUnavailable` saying what to do if that fails."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig if exc.orig is not None else exc).split())
        hint = (
            "is PostgreSQL running and the URL right? `make services` starts it"
            if engine.dialect.name == "postgresql"
            else "check that the path is writable"
        )
        raise DatabaseUnavailable(f"cannot connect to {where}: {reason}; {hint}") from exc


def dialect_insert(session: Session, entity: Any) -> Any:
    """``INSERT`` for the session's backend, with ``on_conflict_do_nothing/do_update``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(entity)
    if name == "sqlite":
        return sqlite.insert(entity)
    raise DatabaseURLError(f"unsupported database backend {name!r}; use {_EXAMPLES}")


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``, for messages and printed commands."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _redact(url)


def _redact(url: str) -> str:
    """Hide a password in a URL SQLAlchemy could not parse (``user:secret@`` -> ``user:***@``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"
