"""`repostwatch demo` (what `make demo` runs) flags exactly the reposts, and only once; its
notices have a recipient; the web command it prints never shows a database password."""

import json

from sqlalchemy import text

from crawler.db import make_engine, make_sessionmaker
from crawler.db.users import authenticate
from crawler.demo.site import DEMO_PASSWORD, DEMO_USERNAME, REFERENCE_PHOTOS, web_instructions
from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch
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


def test_demo_prints_the_flagged_reposts_and_reruns_without_duplicates(
    tmp_path,
    smtp_server,  # noqa: F811
):
    env = {"REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    first = repostwatch("demo", env=env, cwd=tmp_path).stdout
    assert f"{len(REFERENCE_PHOTOS)} added" in first
    assert "flags           7 new, 0 seen again" in first
    table = first.split("4/4 Flagged URLs waiting for review:")[1]
    for path in FLAGGED:
        assert f"http://127.0.0.1:8931{path} " in table
    for path in NOT_FLAGGED:
        assert path not in table
    assert len([line for line in table.splitlines() if " pending " in line]) == 7

    second = repostwatch("demo", env=env, cwd=tmp_path).stdout
    assert f"0 added, {len(REFERENCE_PHOTOS)} already registered" in second
    assert "flags           0 new, 7 seen again" in second

    # It ends with how to serve the review web app and a demo account that can log in.
    url = env["REPOSTWATCH_DATABASE_URL"]
    key_file = tmp_path / "var" / "demo-evidence.key"
    serve = (
        f"  REPOSTWATCH_DATABASE_URL={url} REPOSTWATCH_WEB_ENV=development "
        f'REPOSTWATCH_EVIDENCE_KEY="$(cat {key_file})" '
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
        # The 7 matched media are kept as evidence, encrypted with the demo's key (0600).
        assert session.execute(text("select count(*) from evidence")).scalar_one() == 7
    assert key_file.stat().st_mode & 0o777 == 0o600
    engine.dispose()

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
