"""The project on a real scrapyd: started by scripts/scrapyd.sh, deployed with scrapyd-deploy,
crawls handed over by the scheduler (two real crawls of the gallery on 127.0.0.1).

One scrapyd and one database serve the tests of ``deployed`` (tests/scheduling/deployment.py), once
on SQLite and once on PostgreSQL; the crawls run in scrapyd's job processes from the deployed egg
and write to that database, as in production. The tests share them in file order: the scheduler's
first test expects a database no crawl has written to yet. Also here: scrapyd node URLs
(crawler/scheduling/scrapyd.py); tests/scheduling/test_scrapyd_script.py starts scrapyd alone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest

from crawler import db
from crawler.db import schedules
from crawler.db.session import make_sessionmaker
from crawler.demo.localsite import LocalSite
from crawler.scheduling import Scheduler
from crawler.scheduling.scrapyd import parse_nodes
from tests.conftest import postgres_database
from tests.scheduling.deployment import deployment, run_status, wait
from tests.scheduling.helpers import Clock
from tests.sites import gallery
from tests.support.cli_runner import REPOSTWATCH, repostwatch


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ],
)
def deployed(request, tmp_path_factory):
    """scrapyd on a free port with the project deployed, a migrated database (SQLite, then a
    PostgreSQL database of its own) with the gallery case's references, the gallery served on
    127.0.0.1 and its site file."""
    tmp = tmp_path_factory.mktemp("scrapyd")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{tmp / 'repostwatch.db'}"
        else:
            admin = request.getfixturevalue("postgres_admin")
            database_url = stack.enter_context(postgres_database(admin))
        yield from deployment(tmp, database_url)


def test_deployed_egg_carries_the_site_files_migrations_and_settings(deployed):
    (egg,) = (deployed["scrapyd_dir"] / "eggs" / "repostwatch").glob("r1.egg")
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]\nsettings = settings" in entry_points
    assert "settings/sites/demo.toml" in names
    assert {"crawler/db/migrations/env.py", "crawler/db/migrations/script.py.mako"} <= names
    assert any(name.startswith("crawler/db/migrations/versions/0006_") for name in names)
    # Inside the egg, the site files it ships are found without REPOSTWATCH_SITES_DIR.
    code = (
        f"import sys; sys.path.insert(0, {str(egg)!r}); import settings; "
        "from crawler.sites import find_site, site_files; "
        "print(settings.__file__); d = settings.REPOSTWATCH_SITES_DIR; "
        "print([p.name for p in site_files(d)], find_site('demo', d).name)"
    )
    env = {k: v for k, v in os.environ.items() if k != "REPOSTWATCH_SITES_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=deployed["tmp"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == f"{egg}/settings/__init__.py"
    assert out[1] == "['demo.toml'] demo"

    # A job's spider looks its site up by name through the egg's REPOSTWATCH_SITES_SOURCE: once
    # the database holds sites, the saved version, not the egg's file (a database of its own
    # here: the scheduler's tests below expect one holding no site).
    from crawler.db.sites import save_site

    other = f"sqlite:///{deployed['tmp'] / 'sites-in-database.db'}"
    db.upgrade(other)
    engine = db.make_engine(other)
    with make_sessionmaker(engine).begin() as session:
        saved = 'name = "demo"\nstart_urls = ["https://moved.example/"]\n'
        save_site(session, "demo", saved, by="(cli) ops", via="cli")
    engine.dispose()
    code = (
        f"import sys; sys.path.insert(0, {str(egg)!r}); "
        "from scrapy.utils.project import get_project_settings; "
        "from crawler.sites import configured_sites, find_site; "
        "print(find_site('demo', configured_sites(get_project_settings())).start_urls)"
    )
    moved = subprocess.run(
        [sys.executable, "-c", code],
        cwd=deployed["tmp"],
        env={**env, "REPOSTWATCH_DATABASE_URL": other, "SCRAPY_SETTINGS_MODULE": "settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert moved.strip() == "['https://moved.example/']"


@pytest.mark.timeout(600)  # two real crawls in scrapyd job processes
def test_scheduler_hands_crawls_to_scrapyd_once_at_a_time_and_catches_up_once(deployed):
    env, tmp = deployed["env"], deployed["tmp"]
    engine = db.make_engine(deployed["database_url"])
    sessions = make_sessionmaker(engine)
    client = deployed["client"]
    clock = Clock()
    scheduler = Scheduler(sessions, deployed["sites_dir"], [client], clock=clock)
    try:
        # The first pass of the real service: the site was never crawled, so it is due.
        first = repostwatch("scheduler", "--once", env=env, cwd=tmp)
        run_id = int(first.stdout.split("crawl run ")[1].split(",")[0])
        assert first.stdout.startswith(
            f"scheduled gallery: crawl run {run_id}, job gallery.{run_id} on {client.name}"
        )
        # While it runs, neither the scheduler (even with the site due) nor run-now starts another.
        clock.now += timedelta(hours=7)
        busy = scheduler.run_pass()
        assert busy.scheduled == []
        assert busy.skipped["gallery"] in {
            f"gallery has scrapyd job gallery.{run_id} on {client.name} already",
            f"gallery has crawl run {run_id} still running",
        }
        again = repostwatch("crawls", "run-now", "gallery", env=env, cwd=tmp, check=False)
        assert again.returncode == 1 and "gallery has" in again.stderr

        wait(lambda: run_status(sessions, run_id) != "running", 180, "crawl 1 never ended")
        with sessions() as session:
            run = db.get_run(session, run_id)
            assert schedules.run_job(session, run_id) == (
                "schedule",
                client.name,
                f"gallery.{run_id}",
            )
            flags = db.list_flags(session, site="gallery")
        assert run.status == "finished" and run.pages == 6
        # The crawl in scrapyd's job process recorded its flags on the run the scheduler opened.
        assert {(urlsplit(f.media_url).path, f.case) for f in flags} == gallery.EXPECTED_FLAGS
        assert {f.first_run_id for f in flags} == {run_id}
        assert run.flags == len(gallery.EXPECTED_FLAGS)

        # Paused: nothing happens, however due the site is.
        clock.now += timedelta(hours=30)  # five slots missed since the first crawl
        repostwatch("crawls", "pause", "gallery", env=env, cwd=tmp)
        assert scheduler.run_pass().skipped == {"gallery": "paused"}
        repostwatch("crawls", "resume", "gallery", env=env, cwd=tmp)
        # Resumed after "downtime": one crawl catches up, not one per missed slot.
        caught_up = scheduler.run_pass()
        (handover,) = caught_up.scheduled
        assert handover.triggered_by == "schedule" and handover.node == client.name
        assert scheduler.run_pass().scheduled == []
        jobs = client.list_jobs()
        assert len([j for j in jobs.pending + jobs.running if j["id"].startswith("gallery.")]) == 1

        status = repostwatch("status", env=env, cwd=tmp)
        # The node's load and its jobs: the caught-up crawl is pending or already running.
        assert re.search(rf"^  {client.name}  up: [01] running, [01] pending$", status.stdout, re.M)
        job_line = rf"^    (running|pending) gallery\.{handover.run_id}$"
        assert re.search(job_line, status.stdout, re.M), status.stdout
        backend = deployed["database_url"].split(":")[0]
        assert f"Database  {backend}://" in status.stdout and "(up to date)" in status.stdout
        assert f"Flags     {len(gallery.EXPECTED_FLAGS)} pending review" in status.stdout
        due = (clock.now + timedelta(hours=6)).strftime("%Y-%m-%d %H:%M UTC")
        assert f"gallery  every 6h  {due}" in status.stdout
        assert "Redis     not configured" in status.stdout
        assert status.stdout.endswith("\nUnhealthy sites\n  none\n")

        second = handover.run_id
        wait(lambda: run_status(sessions, second) != "running", 180, "crawl 2 never ended")
        clock.now += timedelta(minutes=1)
        after = scheduler.run_pass()
        assert (after.scheduled, after.skipped, after.closed, after.health) == ([], {}, [], [])
        with sessions() as session:
            flags = db.list_flags(session, site="gallery")
            assert {f.last_run_id for f in flags} == {second}  # seen again, not duplicated
            assert len(flags) == len(gallery.EXPECTED_FLAGS)
            assert schedules.health_states(session)["gallery"].state == "healthy"
        # scrapyd keeps the job history (in SQLite: it survives a restart).
        wait(
            lambda: (
                {f"gallery.{run_id}", f"gallery.{second}"}
                <= {job["id"] for job in client.list_jobs().finished}
            ),
            60,
            "scrapyd does not list both jobs as finished",
        )
        assert (deployed["scrapyd_dir"] / "dbs").is_dir()
        assert (
            deployed["scrapyd_dir"] / "logs" / "repostwatch" / "site" / f"gallery.{second}.log"
        ).is_file()
        assert not (deployed["scrapyd_dir"] / "items").exists()  # no item feeds, ever
        listing = repostwatch("crawls", "list", env=env, cwd=tmp).stdout
        assert f"gallery  every 6h  scheduled  {due}  {second} finished  healthy" in listing
    finally:
        engine.dispose()


def test_run_whose_job_vanished_from_scrapyd_is_closed_as_failed(deployed):
    engine = db.make_engine(deployed["database_url"])
    sessions = make_sessionmaker(engine)
    client = deployed["client"]
    clock = Clock()
    try:
        with sessions.begin() as session:
            lost = schedules.open_scheduled_run(
                session, "ghost", triggered_by="manual", at=clock.now
            )
            schedules.record_scrapyd_job(session, lost, node=client.name, job=f"ghost.{lost}")
        scheduler = Scheduler(sessions, deployed["tmp"] / "no-sites", [client], clock=clock)
        assert scheduler.run_pass().closed == []  # just handed over: its job may be on its way
        clock.now += timedelta(minutes=2)
        reason = (
            f"scheduler: scrapyd job ghost.{lost} on {client.name} ended without closing the run "
            "(see the job's log on the node)"
        )
        assert scheduler.run_pass().closed == [(lost, reason)]
        with sessions() as session:
            run = db.get_run(session, lost)
        assert (run.status, run.finish_reason) == ("failed", reason)
    finally:
        engine.dispose()


def test_status_says_which_node_is_down_and_exits_1(deployed, refused_port):
    down = f"http://127.0.0.1:{refused_port()}/"
    up = deployed["env"]["REPOSTWATCH_SCRAPYD_URLS"]
    env = {
        **deployed["env"],
        "REPOSTWATCH_SCRAPYD_URLS": f"{up},{down.replace('http://', 'http://ops:s3cret@')}",
        "REPOSTWATCH_REDIS_URL": f"redis://127.0.0.1:{refused_port()}/0",
    }
    result = repostwatch("status", env=env, cwd=deployed["tmp"], check=False)
    assert result.returncode == 1
    assert f"{deployed['client'].name}  up: " in result.stdout
    assert f"{down}  DOWN: {down} is unreachable: [Errno 111] Connection refused" in result.stdout
    assert "Redis     redis://127.0.0.1:" in result.stdout and "UNREACHABLE" in result.stdout
    listing = Request(f"{deployed['client'].name}listprojects.json")
    listing.add_header("Authorization", "Basic " + base64.b64encode(b"ops:s3cret").decode())
    with urlopen(listing, timeout=10) as response:
        assert json.loads(response.read())["projects"] == ["repostwatch"]


@pytest.mark.timeout(300)  # one real search crawl in a scrapyd job process
def test_scheduled_search_crawl_reads_its_keywords_inside_the_job(deployed):
    """`search_every`: the job gets `site` and `search=1` only; the crawl in scrapyd's job
    process reads the keywords from the database, and no keyword reaches scrapyd's job storage,
    logs or items (victims' names)."""
    from tests.sites import search as board

    env, tmp, client = deployed["env"], deployed["tmp"], deployed["client"]
    repostwatch("cases", "keywords", "add", board.SKY, board.SKY_KEYWORD, env=env, cwd=tmp)
    repostwatch("cases", "keywords", "add", board.MOON, board.MOON_KEYWORD, env=env, cwd=tmp)
    only_board = tmp / "search-sites"  # what this scheduler schedules: the board only
    only_board.mkdir()
    engine = db.make_engine(deployed["database_url"])
    sessions = make_sessionmaker(engine)
    crawl_sites = deployed["sites_dir"] / "board.toml"  # where the job reads the site file
    try:
        with LocalSite(board.routes()) as site:
            text = board.site_file("board", site.url) + '[schedule]\nsearch_every = "1d"\n'
            crawl_sites.write_text(text)
            (only_board / "board.toml").write_text(text)
            report = Scheduler(sessions, only_board, [client]).run_pass()
            assert report.skipped_searches == {}, report
            (handover,) = report.scheduled
            assert (handover.triggered_by, handover.search) == ("schedule-search", True)
            wait(lambda: run_status(sessions, handover.run_id) != "running", 180, "no end")
            got = {path for method, path, _ in site.exchanges if method == "GET"}
        with sessions() as session:
            run = db.get_run(session, handover.run_id)
    finally:
        crawl_sites.unlink(missing_ok=True)
        engine.dispose()
    sky, moon = board.q(board.SKY_KEYWORD), board.q(board.MOON_KEYWORD)
    assert {p for p in got if p.startswith("/search")} == {
        f"/search?q={sky}",
        f"/search?q={sky}&page=2",
        f"/search?q={moon}",
    }
    assert (run.status, run.pages) == ("finished", 7)
    assert json.loads(run.stats)["repostwatch/search/keywords"] == 2
    job = f"board.{handover.run_id}"
    assert (deployed["scrapyd_dir"] / "logs" / "repostwatch" / "site" / f"{job}.log").is_file()
    assert not (deployed["scrapyd_dir"] / "items" / "repostwatch" / "site" / f"{job}.jl").exists()
    secrets = [
        form.encode()
        for keyword in (board.SKY_KEYWORD, board.MOON_KEYWORD)
        for form in (keyword, board.q(keyword), json.dumps(keyword)[1:-1])
    ]
    files = [tmp / "scrapyd.out", *(p for p in deployed["scrapyd_dir"].rglob("*") if p.is_file())]
    leaks = [str(path) for path in files for secret in secrets if secret in path.read_bytes()]
    assert leaks == []


@pytest.mark.timeout(300)  # one short check in a scrapyd job process
def test_a_manual_check_handed_to_scrapyd_crawls_exactly_its_pages(deployed):
    """The web app's URL check with scrapyd configured: the job gets `site` and `check` (the
    URLs, one a line) and crawls those pages only, with the site's rules, on the run opened
    for it (trigger "check")."""
    if not deployed["database_url"].startswith("sqlite"):
        pytest.skip("one check through scrapyd is enough; the run rows are the database tests'")
    engine = db.make_engine(deployed["database_url"])
    sessions = make_sessionmaker(engine)
    site_file = deployed["sites_dir"] / "spot.toml"  # where the job reads the site file
    try:
        with LocalSite(gallery.routes()) as site:
            site_file.write_text(gallery.site_file("spot", site.url))
            service = Scheduler(sessions, deployed["sites_dir"], [deployed["client"]])
            page = f"{site.url}/page/1"
            handover = service.start_crawl("spot", triggered_by="check", check_urls=[page])
            wait(lambda: run_status(sessions, handover.run_id) != "running", 180, "no end")
            pages = {p for m, p, _ in site.exchanges if m == "GET" and p.startswith("/page/")}
        with sessions() as session:
            run = db.get_run(session, handover.run_id)
            flags = db.list_flags(session, site="spot")
            trigger = schedules.run_job(session, handover.run_id)[0]
    finally:
        site_file.unlink(missing_ok=True)
        engine.dispose()
    assert (run.status, run.pages, trigger) == ("finished", 1, "check")
    assert pages == {"/page/1"}  # no link followed
    assert {urlsplit(f.media_url).path for f in flags} == {"/img/2024/05/a-large.jpg"}
    assert {f.first_run_id for f in flags} == {handover.run_id}


@pytest.mark.timeout(300)  # two short jobs in scrapyd
def test_scheduler_service_hands_over_a_due_crawl_and_stops_on_sigterm(deployed, refused_port):
    """`repostwatch scheduler` as systemd runs it: passes every second until SIGTERM. Then
    `crawls run-now` by hand, and `status` lists the site whose crawls found nothing."""
    env, tmp, client = deployed["env"], deployed["tmp"], deployed["client"]
    only_svc = tmp / "svc-sites"  # what this scheduler schedules: one site of its own
    only_svc.mkdir()
    dead = f"http://127.0.0.1:{refused_port()}/"  # nothing listens: the crawl gets no page
    text = (
        f'name = "svc"\nstart_urls = ["{dead}"]\nallow_private_network = true\nretries = 0\n'
        '[schedule]\nevery = "1h"\n'
    )
    (only_svc / "svc.toml").write_text(text)
    crawl_sites = deployed["sites_dir"] / "svc.toml"  # where the jobs read the site file
    crawl_sites.write_text(text)
    env = {**env, "REPOSTWATCH_SITES_DIR": str(only_svc)}
    engine = db.make_engine(deployed["database_url"])
    sessions = make_sessionmaker(engine)
    log_path = tmp / "scheduler-service.log"
    try:
        with log_path.open("w") as log:
            service = subprocess.Popen(
                [REPOSTWATCH, "scheduler", "--interval", "1"],
                env={**os.environ, **env},
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait(lambda: "job svc." in log_path.read_text(), 60, "nothing handed over")
                time.sleep(2.5)  # two more passes: the site is not handed over again
            finally:
                service.send_signal(signal.SIGTERM)
                returncode = service.wait(timeout=60)
        output = log_path.read_text()
        assert returncode == 0, output
        assert "Scheduler started: a pass every 1 s on " + client.name in output
        assert output.rstrip().endswith("Scheduler stopped"), output
        (first,) = {int(run) for run in re.findall(r"job svc\.(\d+)", output)}  # handed once
        with sessions() as session:
            assert schedules.run_job(session, first) == ("schedule", client.name, f"svc.{first}")
        wait(lambda: run_status(sessions, first) != "running", 120, "job 1 never ended")

        # By hand, through the scheduler's rules: a manual run on the node.
        now = repostwatch("crawls", "run-now", "svc", env=env, cwd=tmp)
        manual = int(re.match(r"Crawl run (\d+) of svc", now.stdout).group(1))
        assert now.stdout.strip() == (
            f"Crawl run {manual} of svc handed to {client.name} as job svc.{manual}."
        )
        with sessions() as session:
            assert schedules.run_job(session, manual) == ("manual", client.name, f"svc.{manual}")
        wait(lambda: run_status(sessions, manual) != "running", 120, "job 2 never ended")

        # The next pass judges the runs: no page at all, so the site is unhealthy, and status
        # (which exits 0: every service is up) says so.
        Scheduler(sessions, only_svc, [client]).run_pass()
        with sessions() as session:
            health = schedules.health_states(session)["svc"]
        assert health.state == "unhealthy"
        status = repostwatch("status", env=env, cwd=tmp)
        unhealthy = status.stdout.split("\nUnhealthy sites\n", 1)[1].splitlines()
        line = f"  svc  since {health.since:%Y-%m-%d %H:%M} UTC: {health.reason}"
        assert line in unhealthy and "no_page_crawled" in line, status.stdout
    finally:
        crawl_sites.unlink(missing_ok=True)
        engine.dispose()


def test_node_urls_keep_credentials_out_of_the_name():
    nodes = parse_nodes("http://ops:s%40cret@10.0.0.2:6800, https://a:b@crawler2.example/scrapyd/")
    assert [n.name for n in nodes] == ["http://10.0.0.2:6800/", "https://crawler2.example/scrapyd/"]
    assert (nodes[0].username, nodes[0].password) == ("ops", "s@cret")
    assert "s@cret" not in repr(nodes[0])
    with pytest.raises(ValueError, match="not a scrapyd URL"):
        parse_nodes("ftp://host/")


@pytest.mark.parametrize(
    "urls",
    [
        "http://127.0.0.1:6800/",
        "http://ops@127.0.0.1:6800/",
        "http://a:b@h.example/,http://127.0.0.1:6800/",
    ],
)
def test_a_node_without_credentials_is_refused_with_what_to_set(urls):
    with pytest.raises(ValueError) as refused:
        parse_nodes(urls)
    message = str(refused.value)
    assert "http://127.0.0.1:6800/ has no user name and password" in message
    assert "REPOSTWATCH_SCRAPYD_USERNAME and REPOSTWATCH_SCRAPYD_PASSWORD" in message
    assert "http://USER:PASSWORD@host:6800/" in message
