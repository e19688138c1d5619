"""Staff accounts for command-line tests: `--by` names an enabled account, as in production."""

from __future__ import annotations

from crawler.db import make_engine, make_sessionmaker, users

PASSWORD = "correct horse battery"


def add_staff(env: dict[str, str], username: str, role: str = "reviewer") -> int:
    """Create an enabled account in the database of ``env`` (migrated); returns its id."""
    engine = make_engine(env["REPOSTWATCH_DATABASE_URL"])
    try:
        with make_sessionmaker(engine).begin() as session:
            return users.create_user(session, username, PASSWORD, role).id
    finally:
        engine.dispose()
