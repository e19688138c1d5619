"""`repostwatch demo` (what `make demo` runs) flags exactly the reposts, and only once."""

from sqlalchemy import text

from crawler.db import make_engine, make_sessionmaker
from crawler.db.users import authenticate
from crawler.demo import DEMO_PASSWORD, DEMO_USERNAME, REFERENCE_PHOTOS
from tests.cli_runner import repostwatch

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


def test_demo_prints_the_flagged_reposts_and_reruns_without_duplicates(tmp_path):
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

    # It ends with how to serve the review web app and a demo account that can log in (#6).
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
