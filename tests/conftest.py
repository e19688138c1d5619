"""Fixtures shared by the whole suite: a real database, on SQLite and on PostgreSQL.

``database_url`` runs a test once per backend: a fresh SQLite file (``tmp_path/repostwatch.db``)
and a fresh, uniquely named PostgreSQL database created for the test and dropped after it.
``engine`` is that database migrated to head; ``session`` is a Session on it.

Running the migrations costs half a second to a second per database, and some six hundred tests
use ``engine``. So each pytest process migrates one database per backend with
:func:`crawler.db.migrate.upgrade` (``sqlite_template``, ``postgresql_template``), and a test that
uses ``engine`` gets its database as a copy of it: the SQLite file copied, the PostgreSQL database
created with ``TEMPLATE``. ``engine`` still calls ``upgrade`` on the copy, which finds it at head.
A test that uses ``database_url`` without ``engine`` gets an empty database as before;
tests/db/test_migrate.py runs the migrations themselves.

``nginx`` is a real nginx serving files with Range requests on two local hosts, one per pytest
process (tests/support/nginx.py).

``@pytest.mark.any_database`` (on a test or a whole module) runs a test that uses them once, on
PostgreSQL, production's database: for end-to-end tests (crawls, the console script, the
browser) whose subject is not the database, which tests/db and the other tests on both backends
cover. docs/development.md ("Tests on both databases") says which tests stay on both and why.

PostgreSQL comes from ``REPOSTWATCH_TEST_POSTGRES_URL`` (a role allowed to CREATE DATABASE;
``make services`` provides it). When it cannot be reached the PostgreSQL half of the suite errors
rather than being skipped; ``-m "not postgresql"`` deselects it on purpose.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crawler.db import users
from crawler.db.migrate import upgrade
from crawler.db.session import (
    DatabaseUnavailable,
    check_connection,
    make_engine,
    make_sessionmaker,
)
from crawler.demo import samples
from tests.sites import gallery
from tests.support.cli_runner import repostwatch
from tests.support.nginx import NginxServer
from tests.support.ports import closed_port
from tests.support.settings import TEST_CLI_LANGUAGE

# Every command the suite runs (the console script, scrapyd's and the web app's children) speaks
# English unless a test says otherwise; the product's default is Korean (REPOSTWATCH_LOCALE).
for _name, _value in TEST_CLI_LANGUAGE.items():
    os.environ.setdefault(_name, _value)

POSTGRES_ADMIN_URL = os.environ.get(
    "REPOSTWATCH_TEST_POSTGRES_URL",
    "postgresql+psycopg://repostwatch_test:repostwatch_test@127.0.0.1:5432/repostwatch_test",
)
_DATABASE_PREFIX = "repostwatch_t_"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs against a real PostgreSQL server")
    config.addinivalue_line(
        "markers",
        "any_database: an end-to-end test whose subject is not the database; it runs once, "
        "on PostgreSQL (docs/development.md: Tests on both databases)",
    )


#: The one backend of ``any_database`` tests.
_ONE_BACKEND = pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql)


@pytest.hookimpl(tryfirst=True)  # before pytest reads the parametrize marks
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``any_database``: ``database_url`` (and what is built on it) takes PostgreSQL only. A
    test that chooses its backend itself (``parametrize("database_url", ...)``) keeps it."""
    if "database_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("any_database") is None:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "database_url" in names:
            return
    # As a mark, as if written on the test: pytest then applies it instead of the fixture's.
    metafunc.definition.add_marker(
        pytest.mark.parametrize("database_url", [_ONE_BACKEND], indirect=True)
    )


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit connection to the test server, for CREATE/DROP DATABASE (checked once)."""
    engine = make_engine(
        POSTGRES_ADMIN_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        check_connection(engine)
        problem = None
    except DatabaseUnavailable as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(
            f"the PostgreSQL tests cannot run: {problem}; or set REPOSTWATCH_TEST_POSTGRES_URL "
            "to a server where the role may CREATE DATABASE",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of a database of its own for this test: empty, or, when the test uses ``engine``,
    a copy of this process's migrated template (``engine`` then finds it at head)."""
    template = None
    if "engine" in request.fixturenames:
        template = request.getfixturevalue(f"{request.param}_template")
    if request.param == "sqlite":
        path = tmp_path / "repostwatch.db"
        if template is not None:
            shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    with postgres_database(request.getfixturevalue("postgres_admin"), template=template) as url:
        yield url


@contextlib.contextmanager
def postgres_database(admin: Engine, template: str | None = None) -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards (for fixtures of any scope:
    ``database_url`` and tests/scheduling/test_scrapyd.py's module-wide ``deployed``). It is
    empty, or a copy of the database named ``template``, which nobody may be connected to."""
    name = f"{_DATABASE_PREFIX}{uuid.uuid4().hex[:20]}"
    copy = f' TEMPLATE "{template}"' if template is not None else ""
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file migrated to head, which ``database_url`` copies for tests using ``engine``."""
    path = tmp_path_factory.mktemp("template") / "repostwatch.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgresql_template(postgres_admin: Engine) -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head, which ``database_url`` copies (with
    ``CREATE DATABASE ... TEMPLATE``) for tests using ``engine``; nothing stays connected to it."""
    with postgres_database(postgres_admin) as url:
        upgrade(url)
        yield make_url(url).database


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An Engine on ``database_url``, migrated to head the way the product migrates."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A Session on the migrated database; whatever the test did not commit is rolled back."""
    with make_sessionmaker(engine)() as session:
        yield session


#: argon2id at its cheapest, for the accounts and logins tests make in their own process.
QUICK_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords hashed and checked in the test's own process use ``QUICK_PASSWORD_HASHER``
    (one pass over 1 MiB) instead of argon2-cffi's defaults (three passes over 64 MiB), which
    cost 0.17 s of CPU per hash or check, several times in each of some four hundred web app
    tests. A hash made with the defaults (by a ``repostwatch`` process) is still checked by its
    own parameters. Commands and the web app run as processes keep the defaults, and
    tests/review/test_security.py checks them in-process too."""
    monkeypatch.setattr(users, "_hasher", QUICK_PASSWORD_HASHER)


@pytest.fixture
def refused_port() -> Iterator[Callable[[], int]]:
    """Gives, on each call, a port on 127.0.0.1 that refuses connections until the test ends.

    For a node, a Redis or an SMTP server that must be down: a port merely free a moment ago
    can meanwhile be given to a test site in another pytest worker, which then gets the probe.
    """
    with contextlib.ExitStack() as held:
        yield lambda: held.enter_context(closed_port())


def _worker_redis_url() -> str:
    """Database 15 for a plain run; under pytest-xdist, worker gwN takes database 15 - N."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"redis://127.0.0.1:6379/{15 - int(worker.removeprefix('gw')) % 16}"


@pytest.fixture
def redis_url() -> str:
    """The real Redis the tests use (``make services`` starts it); an error if it is down."""
    import redis

    url = os.environ.get("REPOSTWATCH_TEST_REDIS_URL") or _worker_redis_url()
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
            client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); run `make services`")
    return url


@pytest.fixture
def registered(database_url, tmp_path):
    """A migrated database with tests/sites/gallery.py's case registered (its photos, a
    reference video and a partner hash list), and the CLI environment: ``(env, sites_dir)``."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    photos = [samples.photo_path(name) for name in gallery.REFERENCES]
    reference_video = tmp_path / "reference.mp4"  # generated from ordinary photos
    reference_video.write_bytes(gallery.reference_video())
    added = repostwatch(
        "refs", "add", "--case", gallery.CASE, *photos, reference_video, env=env, cwd=tmp_path
    )
    assert "1 video(s) with frame hashes" in added.stdout
    hash_list = tmp_path / "partner.csv"
    hash_list.write_text(f"algorithm,hash,case\nsha256,{gallery.VIDEO_SHA256},{gallery.CASE}\n")
    repostwatch("refs", "import", hash_list, env=env, cwd=tmp_path)
    return env, sites_dir


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """Debian's nginx on free ports of 127.0.0.1 for this pytest process: ``nginx.site`` and
    ``nginx.embed`` serve their folders with Range requests and log every response's bytes."""
    with NginxServer.running(tmp_path_factory.mktemp("nginx")) as server:
        yield server
