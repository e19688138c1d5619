"""The application's own PostgreSQL role: everything it needs, and on the audit log only
INSERT and SELECT.

The append-only triggers of the audit log stop UPDATE and DELETE, but the table's owner (and a
superuser) can TRUNCATE it, DROP the triggers or disable them. So in production the migrations
run as one role, which owns the tables, and the web app, crawlers and scheduler connect as
another that owns nothing and is granted what they use: :func:`grant_app_role`, run as the
owner after every migration (`repostwatch db grant-app-role ROLE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from crawler.db.session import check_connection, make_engine

#: The append-only table and the table the app only reads (the schema's revision).
AUDIT_TABLE = "audit_log"
READ_ONLY_TABLES = ("alembic_version",)
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class RoleError(ValueError):
    """The role cannot be set up as the application role; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Granted:
    role: str
    schema: str
    tables: int  # tables granted SELECT, INSERT, UPDATE, DELETE
    statements: tuple[str, ...]


def grant_app_role(url: str, role: str) -> Granted:
    """Grant ``role`` what the application needs on the database at ``url`` (connect as the
    tables' owner): read and write on every table but the audit log, INSERT and SELECT there
    (no UPDATE, DELETE or TRUNCATE), read-only on the schema revision, and the sequences.
    Raises :class:`RoleError` for a role that owns the tables, is a superuser or does not exist:
    it would be able to rewrite the audit log anyway."""
    if not _ROLE.match(role):
        raise RoleError(
            f"{role!r} is not a plain role name: letters, digits and '_', starting with a letter"
        )
    engine = make_engine(url, poolclass=NullPool)
    try:
        check_connection(engine)
        if engine.dialect.name != "postgresql":
            raise RoleError(
                "grant-app-role is for PostgreSQL: SQLite has no roles (keep its file readable "
                "by the application's user only)"
            )
        with engine.begin() as connection:
            return _grant(connection, role)
    finally:
        engine.dispose()


def _grant(connection, role: str) -> Granted:
    found = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if found is None:
        raise RoleError(
            f"no role {role!r}: create it first, e.g. "
            f"CREATE ROLE {role} LOGIN PASSWORD '...' (as a database administrator)"
        )
    if found.rolsuper:
        raise RoleError(f"{role!r} is a superuser: it bypasses every grant; use a plain role")
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    owner = connection.execute(
        text("SELECT tableowner FROM pg_tables WHERE schemaname = :schema AND tablename = :t"),
        {"schema": schema, "t": AUDIT_TABLE},
    ).scalar()
    if owner is None:
        raise RoleError("the database has no audit log yet: run `repostwatch db upgrade` first")
    if connection.execute(
        text("SELECT pg_has_role(:role, :owner, 'USAGE')"), {"role": role, "owner": owner}
    ).scalar_one():
        raise RoleError(
            f"{role!r} owns the tables (or acts as their owner {owner!r}): an owner can "
            "TRUNCATE the audit log or drop its triggers. Run the migrations as one role and "
            "the application as another, and grant that one"
        )
    tables = list(
        connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
            {"schema": schema},
        ).scalars()
    )
    quote = connection.dialect.identifier_preparer.quote
    who, where = quote(role), quote(schema)
    written = [t for t in tables if t != AUDIT_TABLE and t not in READ_ONLY_TABLES]
    statements = [
        f"GRANT USAGE ON SCHEMA {where} TO {who}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}",
        *(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(t)} TO {who}" for t in written),
        *(f"GRANT SELECT ON {quote(t)} TO {who}" for t in READ_ONLY_TABLES if t in tables),
        f"GRANT SELECT, INSERT ON {quote(AUDIT_TABLE)} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return Granted(role, schema, len(written), tuple(statements))
