"""The application's PostgreSQL role (`repostwatch db grant-app-role`): it reads and writes
what the app uses, but can only add to the audit log: no UPDATE, DELETE, TRUNCATE, and no
DROP TRIGGER (it owns nothing). On a real PostgreSQL server, with a role the test creates."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from crawler.db import audit, make_engine, make_sessionmaker
from crawler.db.migrate import upgrade
from tests.conftest import postgres_database
from tests.support.cli_runner import repostwatch

pytestmark = pytest.mark.postgresql


@pytest.fixture
def app_role(postgres_admin):
    """A login role of the test's own (dropped after), and a database owned by the test role."""
    name = f"rw_app_{uuid.uuid4().hex[:12]}"
    password = uuid.uuid4().hex
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    try:
        with postgres_database(postgres_admin) as owner_url:
            upgrade(owner_url)
            app_url = (
                make_url(owner_url)
                .set(username=name, password=password)
                .render_as_string(hide_password=False)
            )
            yield name, owner_url, app_url
    finally:
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")


def _refused(engine, statement: str, match: str) -> None:
    with pytest.raises(DBAPIError, match=match), engine.begin() as connection:
        connection.exec_driver_sql(statement)


def test_the_app_role_can_only_append_to_the_audit_log(app_role):
    role, owner_url, app_url = app_role
    out = repostwatch(
        "db", "grant-app-role", role, env={"REPOSTWATCH_DATABASE_URL": owner_url}
    ).stdout
    assert f"only INSERT and SELECT on the audit log; connect the application as {role}" in out
    engine = make_engine(app_url, poolclass=NullPool)
    try:
        with make_sessionmaker(engine).begin() as session:  # what the app does, it can do
            audit.record(session, "login", username="kim", os_user="ops")
            session.execute(text("INSERT INTO cases (name, created_at) VALUES ('c', now())"))
            session.execute(text("UPDATE cases SET name = 'c2'"))
            session.execute(text("DELETE FROM cases"))
        with make_sessionmaker(engine)() as session:
            assert [e.action for e in audit.list_entries(session)[0]] == ["login"]
        _refused(engine, "UPDATE audit_log SET action = 'forged'", "permission denied")
        _refused(engine, "DELETE FROM audit_log", "permission denied")
        _refused(engine, "TRUNCATE audit_log", "permission denied")
        _refused(engine, "DROP TRIGGER audit_log_append_only ON audit_log", "must be owner")
        _refused(engine, "ALTER TABLE audit_log DISABLE TRIGGER ALL", "must be owner")
        _refused(engine, "UPDATE alembic_version SET version_num = '0001'", "permission denied")
    finally:
        engine.dispose()
    owner = make_engine(owner_url, poolclass=NullPool)
    try:  # even the owner cannot TRUNCATE it without dropping a trigger first
        _refused(owner, "TRUNCATE audit_log", "append-only")
    finally:
        owner.dispose()


def test_the_owner_or_an_unknown_role_is_refused(app_role):
    _, owner_url, _ = app_role
    env = {"REPOSTWATCH_DATABASE_URL": owner_url}
    owner = make_url(owner_url).username
    refused = repostwatch("db", "grant-app-role", owner, env=env, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "owns the tables" in refused.stderr and "TRUNCATE the audit log" in refused.stderr
    unknown = repostwatch("db", "grant-app-role", "no_such_role_x", env=env, check=False)
    assert unknown.returncode == 1 and "no role 'no_such_role_x': create it first" in unknown.stderr
