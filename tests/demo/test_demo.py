"""`repostwatch demo` (what `make demo` runs) flags exactly the reposts, in a database of its own
made afresh each run, never the configured one; its notices have a recipient; the web command it
prints never shows a database password; the web app refuses a database with the demo account
outside development; `make clean` deletes no data."""

import json
import shutil
import subprocess

import pytest
from sqlalchemy import text

from crawler.db import make_engine, make_sessionmaker
from crawler.db.evidence import load_evidence, new_key_pair, opener
from crawler.db.users import authenticate, create_user, set_disabled
from crawler.demo.site import DEMO_PASSWORD, DEMO_USERNAME, REFERENCE_PHOTOS, web_instructions
from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT
from tests.takedown.conftest import smtp_server  # noqa: F401  (a fixture)

FLAGGED = [
    "/media/flipped.jpg",
    "/media/framed.jpg",
    "/media/a1.jpg",
    "/media/lazy/x9.jpg",
    "/media/thumb/launch_t.jpg",
    "/media/c.png",
    "/media/full/launch.png",
]
NOT_FLAGGED = [
    "/media/p/camera.jpg",
    "/media/s/coins_800.jpg",
    "/media/og/cover.jpg",
    "/media/hubble.jpg",
    "/media/moto.jpg",
]


def test_demo_works_in_its_own_fresh_database_never_the_configured_one(
    tmp_path,
    smtp_server,  # noqa: F811
):
    configured = f"sqlite:///{tmp_path}/staff.db"  # what REPOSTWATCH_DATABASE_URL names
    repostwatch("db", "upgrade", env={"REPOSTWATCH_DATABASE_URL": configured})
    engine = make_engine(configured)
    with make_sessionmaker(engine).begin() as session:
        create_user(session, "kim", "a long staff password", "admin")
    engine.dispose()
    env = {
        "REPOSTWATCH_DATABASE_URL": configured,
        "REPOSTWATCH_EVIDENCE_PUBLIC_KEY": new_key_pair()[0],  # the deployment's: not used
    }
    first = repostwatch("demo", env=env, cwd=tmp_path).stdout
    assert f"{len(REFERENCE_PHOTOS)} added" in first
    assert "flags           7 new, 0 seen again" in first
    table = first.split("4/4 Flagged URLs waiting for review:")[1]
    for path in FLAGGED:
        assert f"http://127.0.0.1:8931{path} " in table
    for path in NOT_FLAGGED:
        assert path not in table
    assert len([line for line in table.splitlines() if " pending " in line]) == 7

    # Made afresh at every run: nothing of the first run is left.
    second = repostwatch("demo", env=env, cwd=tmp_path).stdout
    assert f"{len(REFERENCE_PHOTOS)} added, 0 already registered" in second
    assert "flags           7 new, 0 seen again" in second

    # The configured database got nothing: no references, flags, evidence or demo account.
    engine = make_engine(configured)
    with engine.connect() as connection:
        for table_name in ("reference_hashes", "flags", "evidence", "crawl_runs"):
            count = connection.execute(text(f"select count(*) from {table_name}")).scalar_one()
            assert count == 0, table_name
        names = connection.execute(text("select username from users")).scalars().all()
        assert names == ["kim"]
    engine.dispose()

    # It ends with how to serve the review web app on the demo database, and its account.
    demo_db = tmp_path / "var" / "demo" / "demo.sqlite"
    url = f"sqlite:///{demo_db}"
    key_file = tmp_path / "var" / "demo" / "evidence-private.key"
    serve = (
        f"  REPOSTWATCH_DATABASE_URL={url} REPOSTWATCH_WEB_ENV=development "
        f'REPOSTWATCH_EVIDENCE_PRIVATE_KEY="$(cat {key_file})" '
        "repostwatch web --host 127.0.0.1 --port 8000"
    )
    for output in (first, second):
        assert output.rstrip().splitlines()[-2:] == [
            serve,
            f"  then open http://127.0.0.1:8000/ and log in as {DEMO_USERNAME} / "
            f"{DEMO_PASSWORD} (demo database only)",
        ]
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        assert authenticate(session, DEMO_USERNAME, DEMO_PASSWORD).role == "admin"
        # The 7 matched media are kept as evidence, sealed to the demo's own key pair (0600).
        assert session.execute(text("select count(*) from evidence")).scalar_one() == 7
        flag_id = session.execute(text("select min(id) from flags")).scalar_one()
        assert load_evidence(session, flag_id, opener(key_file.read_text())) is not None
    assert key_file.stat().st_mode & 0o777 == 0o600
    engine.dispose()
    env = {"REPOSTWATCH_DATABASE_URL": url}

    # A notice of the demo can be drafted, approved and sent: the demo site file names a
    # (made-up, never resolving) abuse contact and a language.
    flag_id = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)[0]["id"]
    add_staff(env, "kim")  # --by names an account; the approver is another person
    add_staff(env, "park", "approver")
    repostwatch("flags", "decide", str(flag_id), "confirm", "--by", "kim", env=env)
    drafted = repostwatch("notices", "draft", "--no-screenshots", env=env, cwd=tmp_path).stdout
    assert "Drafted 1 notice(s): 1." in drafted
    repostwatch("notices", "approve", "1", "--by", "park", env=env)
    mail = {
        **env,
        "REPOSTWATCH_SMTP_URL": smtp_server.url,
        "REPOSTWATCH_NOTICE_FROM": "Support Centre <takedown@centre.example>",
    }
    sent = repostwatch("notices", "send", "1", env=mail).stdout
    assert "Notice 1 sent to abuse@demo.invalid (1 time(s))" in sent
    (message,) = smtp_server.messages
    assert message["To"] == "abuse@demo.invalid" and message["Subject"].isascii()  # English


def test_the_printed_web_command_hides_a_database_password():
    url = "postgresql://demo:s3cret-pw@127.0.0.1:5432/repostwatch"
    printed = web_instructions(url, account=False)
    assert "s3cret-pw" not in printed
    assert "postgresql://demo:***@127.0.0.1:5432/repostwatch" in printed
    assert 'REPOSTWATCH_DATABASE_URL="$REPOSTWATCH_DATABASE_URL" ' in printed
    assert "web --host 127.0.0.1 --port 8000" in printed
    plain = web_instructions("sqlite:///var/demo.db", account=True)
    assert "  REPOSTWATCH_DATABASE_URL=sqlite:///var/demo.db REPOSTWATCH_WEB_ENV=" in plain


@pytest.mark.parametrize("account", [True, False])
def test_every_printed_command_acts_on_the_demo_database(account):
    """Copied from the demo's output, a command acts on the demo database, never on
    REPOSTWATCH_DATABASE_URL as configured (the staff's)."""
    url = "sqlite:////home/kim/my demo/var/demo/demo.sqlite"
    on_demo = "REPOSTWATCH_DATABASE_URL='sqlite:////home/kim/my demo/var/demo/demo.sqlite' "
    printed = web_instructions(url, account, ".venv/bin/repostwatch")
    commands = printed.count(".venv/bin/repostwatch ")
    assert commands == 2 and printed.count(on_demo + ".venv/bin/repostwatch ") == 1
    assert printed.count(on_demo + "REPOSTWATCH_WEB_ENV=development .venv/bin/repostwatch ") == 1
    if account:
        assert f"`{on_demo}.venv/bin/repostwatch users totp-reset {DEMO_USERNAME}`" in printed
    else:
        assert f"`{on_demo}.venv/bin/repostwatch users add NAME --role admin`" in printed
    hidden = web_instructions("postgresql://demo:pw@127.0.0.1/demo", account)
    from_env = 'REPOSTWATCH_DATABASE_URL="$REPOSTWATCH_DATABASE_URL" '
    assert hidden.count("repostwatch ") == hidden.count(from_env) == 2


def test_the_web_app_refuses_a_database_with_the_demo_account_outside_development(
    engine, database_url
):
    from crawler.review import ConfigError, create_app
    from tests.support.settings import default_web_config

    with make_sessionmaker(engine).begin() as session:
        create_user(session, DEMO_USERNAME, DEMO_PASSWORD, "admin")  # an old demo's leftover
    production = default_web_config(
        REPOSTWATCH_DATABASE_URL=database_url, REPOSTWATCH_SECRET_KEY="s" * 48
    )
    with pytest.raises(ConfigError, match="repostwatch users disable demo-admin"):
        create_app(production)
    development = create_app({**production, "REPOSTWATCH_WEB_ENV": "development"})
    development.extensions["repostwatch"].engine.dispose()
    with make_sessionmaker(engine).begin() as session:
        set_disabled(session, DEMO_USERNAME)
    create_app(production).extensions["repostwatch"].engine.dispose()  # starts now


def test_make_clean_keeps_the_databases_and_the_spill_file(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    data = [
        tmp_path / "var" / "repostwatch.db",
        tmp_path / "var" / "unrecorded-matches.jsonl",
        tmp_path / "var" / "demo" / "demo.sqlite",
        tmp_path / "var" / "bench" / "photo.jpg",
    ]
    caches = [
        tmp_path / ".pytest_cache" / "v",
        tmp_path / ".ruff_cache" / "x",
        tmp_path / "crawler" / "__pycache__" / "x.pyc",
        tmp_path / "build" / "lib",
    ]
    for path in data + caches:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"keep" if path in data else b"")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert [path for path in data if not path.exists()] == []
    assert [path for path in caches if path.exists()] == []
