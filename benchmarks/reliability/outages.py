"""A service down for a minute in the middle of a crawl: matches lost, and what it costs.

- PostgreSQL: the crawl's database connections go through a :class:`Relay` that is cut for
  ``--outage`` seconds once a quarter of the board's requests are made. Matches found meanwhile
  are retried, then spilled to the spill file; ``repostwatch flags replay`` (which the next
  crawl runs first) writes them.
- Redis: the same for a distributed run of two workers (the queue, the dupefilter and the
  worker registry live in Redis).
- A scrapyd node down: the scheduler has two nodes, one of which refuses connections; the
  crawl goes to the other.

Each is compared with the same crawl undisturbed: flags lost (after the crawl, and after the
replay), what was spilled, and the seconds it cost.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url

from benchmarks.reliability import board as boards
from benchmarks.reliability.relay import Relay
from crawler.demo.localsite import LocalSite

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Outcome:
    scenario: str
    expected: int
    lost_after_crawl: int
    spilled: int
    lost_after_replay: int
    duplicated: int
    seconds: float
    undisturbed_seconds: float
    note: str


def _spilled(env: dict[str, str]) -> int:
    path = Path(env["REPOSTWATCH_SPILL_FILE"])
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def _outage(relay: Relay, server: LocalSite, process: subprocess.Popen, seconds: float) -> None:
    """Cut ``relay`` for ``seconds`` once a quarter of the site's routes were asked for (or
    ``process`` ended), then put it back."""
    while len(server.requests) < len(server.routes) // 4 and process.poll() is None:
        time.sleep(0.1)
    relay.down()
    time.sleep(seconds)
    relay.up()


def _site_file(env: dict[str, str], server: LocalSite, args, extra: str = "") -> None:
    path = Path(env["REPOSTWATCH_SITES_DIR"]) / f"{boards.SITE}.toml"
    path.write_text(boards.site_file(server.url, args.pages, args.outage_delay) + extra)


def _crawl(env, log: Path, *extra: str) -> subprocess.Popen:
    return boards.start([boards.REPOSTWATCH, "crawl", boards.SITE, *extra], env, log)


def _keep_logs(args, name: str, finished: list[tuple[int, str]]) -> None:
    """With ``--logs DIR``: each worker's log (INFO) as DIR/NAME-worker-N.log."""
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
        for n, (_, err) in enumerate(finished):
            (args.logs / f"{name}-worker-{n}.log").write_text(err)


def _finish(process: subprocess.Popen, log: Path, timeout: float = 1800) -> tuple[int, str]:
    """Wait for a crawl :func:`_crawl` started: its exit status and its log."""
    process.wait(timeout=timeout)
    return process.returncode, log.read_text(errors="replace")


class _PostgresDatabase:
    """A new database on the test server, reached through a relay; dropped at the end."""

    def __init__(self, admin_url: str):
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"repostwatch_rel_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        url = make_url(admin_url)
        self.relay = Relay(url.port or 5432)
        self.url = url.set(port=self.relay.port, database=self.name).render_as_string(
            hide_password=False
        )

    def close(self) -> None:
        self.relay.down()
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def database_down(args, site: boards.Board, base: Path) -> Outcome:
    seconds = {}
    outcome = None
    for disturbed in (False, True):
        database = _PostgresDatabase(args.postgres)
        try:
            with tempfile.TemporaryDirectory(dir=base) as tmp, LocalSite(site.routes) as server:
                env = boards.environment(Path(tmp), database.url)
                boards.prepare(env)
                _site_file(env, server, args)
                started = time.monotonic()
                log = Path(tmp) / "crawl.log"
                process = _crawl(env, log)
                if disturbed:
                    _outage(database.relay, server, process, args.outage)
                code, err = _finish(process, log)
                seconds[disturbed] = time.monotonic() - started
                if not disturbed:
                    continue
                after_crawl = boards.flags(env)
                spilled = _spilled(env)
                boards.run("flags", "replay", env=env)
                after_replay = boards.flags(env)
                lost_crawl, _, _ = boards.count(site.matches, after_crawl)
                lost, duplicated, _ = boards.count(site.matches, after_replay)
                outcome = Outcome(
                    f"PostgreSQL down {args.outage:.0f} s",
                    len(site.matches),
                    lost_crawl,
                    spilled,
                    lost,
                    duplicated,
                    seconds[True],
                    seconds[False],
                    f"crawl exit {code}"
                    + (
                        " (it spilled matches, as documented)"
                        if code == 1 and spilled
                        else (f"; {_last_error(err)}" if code else "")
                    ),
                )
        finally:
            database.close()
    return outcome


def _last_error(err: str) -> str:
    lines = [line for line in err.splitlines() if "Error" in line or "error" in line]
    return (lines[-1] if lines else err.strip().splitlines()[-1:] or [""])[0][:160]


def redis_down(args, site: boards.Board, base: Path) -> Outcome:
    redis_url = make_url(args.redis.replace("redis://", "redis+x://"))
    seconds = {}
    outcome = None
    for disturbed in (False, True):
        relay = Relay(redis_url.port or 6379)
        try:
            with tempfile.TemporaryDirectory(dir=base) as tmp, LocalSite(site.routes) as server:
                env = boards.environment(
                    Path(tmp),
                    REPOSTWATCH_REDIS_URL=f"redis://127.0.0.1:{relay.port}/{redis_url.database}",
                    **({"REPOSTWATCH_LOG_LEVEL": "INFO"} if args.logs else {}),
                )
                boards.prepare(env)
                _site_file(env, server, args)
                run_id = str(boards.open_distributed_run(env))
                started = time.monotonic()
                logs = [Path(tmp) / f"worker-{n}.log" for n in range(2)]
                workers = [_crawl(env, log, "--distributed", "--run-id", run_id) for log in logs]
                if disturbed:
                    _outage(relay, server, workers[0], args.outage)
                codes = [_finish(worker, log) for worker, log in zip(workers, logs, strict=True)]
                seconds[disturbed] = time.monotonic() - started
                _keep_logs(args, f"redis-down-{'disturbed' if disturbed else 'undisturbed'}", codes)
                if not disturbed:
                    continue
                after_run = boards.flags(env)
                spilled = _spilled(env)
                boards.run("crawl", boards.SITE, env=env)  # the next crawl of the site
                after_next = boards.flags(env)
                lost_run, _, _ = boards.count(site.matches, after_run)
                lost, duplicated, _ = boards.count(site.matches, after_next)
                outcome = Outcome(
                    f"Redis down {args.outage:.0f} s (distributed, 2 workers)",
                    len(site.matches),
                    lost_run,
                    spilled,
                    lost,
                    duplicated,
                    seconds[True],
                    seconds[False],
                    "worker exits "
                    + ", ".join(str(code) for code, _ in codes)
                    + "; 'after replay' is after the site's next crawl",
                )
        finally:
            relay.down()
    return outcome


def scrapyd_node_down(args, site: boards.Board, base: Path) -> Outcome:
    """Two scrapyd nodes configured, one refusing connections: the crawl goes to the other."""
    with tempfile.TemporaryDirectory(dir=base) as tmp_dir, LocalSite(site.routes) as server:
        tmp = Path(tmp_dir)
        dead = socket.socket()  # bound, never listening: connections are refused
        dead.bind(("127.0.0.1", 0))
        port = _free_port()
        user, password = "bench", uuid.uuid4().hex
        nodes = f"http://{user}:{password}@127.0.0.1:{dead.getsockname()[1]}/," + (
            f"http://{user}:{password}@127.0.0.1:{port}/"
        )
        env = boards.environment(tmp, REPOSTWATCH_SCRAPYD_URLS=nodes)
        boards.prepare(env)
        _site_file(env, server, args, '[schedule]\nevery = "6h"\n')
        scrapyd = _start_scrapyd(env, tmp, port, user, password)
        try:
            _deploy(tmp, port, user, password)
            started = time.monotonic()
            scheduled = boards.run("scheduler", "--once", env=env)
            handed = time.monotonic() - started
            run = _wait_for_run(env, timeout=1800)
            seconds = time.monotonic() - started
            lost, duplicated, _ = boards.count(site.matches, boards.flags(env))
            return Outcome(
                "a scrapyd node down (1 of 2)",
                len(site.matches),
                lost,
                _spilled(env),
                lost,
                duplicated,
                seconds,
                float("nan"),
                f"scheduler pass {handed:.1f} s; run {run['status']}; "
                + _first_line(scheduled.stdout, "down"),
            )
        finally:
            os.killpg(scrapyd.pid, signal.SIGTERM)
            scrapyd.wait(timeout=30)
            dead.close()


def _first_line(text: str, word: str) -> str:
    return next((line.strip() for line in text.splitlines() if word in line), "")[:120]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_scrapyd(env, tmp: Path, port: int, user: str, password: str) -> subprocess.Popen:
    scrapyd_env = {
        **env,
        "REPOSTWATCH_SCRAPYD_DIR": str(tmp / "scrapyd"),
        "REPOSTWATCH_SCRAPYD_PORT": str(port),
        "REPOSTWATCH_SCRAPYD_MAX_PROC": "1",
        "REPOSTWATCH_SCRAPYD_POLL_SECONDS": "0.5",
        "REPOSTWATCH_SCRAPYD_BIN": str(VENV_BIN / "scrapyd"),
        "REPOSTWATCH_SCRAPYD_USERNAME": user,
        "REPOSTWATCH_SCRAPYD_PASSWORD": password,
    }
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "scrapyd.sh")],
        env=scrapyd_env,
        stdout=(tmp / "scrapyd.out").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                log = (tmp / "scrapyd.out").read_text()
                raise RuntimeError(f"scrapyd did not start: {log}") from None
            time.sleep(0.3)


def _deploy(tmp: Path, port: int, user: str, password: str) -> None:
    (tmp / "xdg").mkdir()
    (tmp / "xdg" / "scrapy.cfg").write_text(
        f"[deploy:bench]\nurl = http://127.0.0.1:{port}/\n"
        f"username = {user}\npassword = {password}\n"
    )
    deploy = subprocess.run(
        [str(VENV_BIN / "scrapyd-deploy"), "bench", "--version", "r1"],
        cwd=ROOT,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp / "xdg")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if deploy.returncode != 0:
        raise RuntimeError(f"scrapyd-deploy failed: {deploy.stderr}{deploy.stdout}")


def _wait_for_run(env, timeout: float) -> dict:
    from crawler import db

    engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
    sessions = db.make_sessionmaker(engine)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with sessions() as session:
                ended = [r for r in db.list_runs(session, boards.SITE) if r.status != "running"]
            if ended:
                return {"status": ended[0].status, "pages": ended[0].pages}
            time.sleep(1)
    finally:
        engine.dispose()
    raise RuntimeError("the scheduled crawl did not end in time")


def measure(args) -> list[str]:
    site = boards.board(args.pages)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="reliability-") as base_dir:
        base = Path(base_dir)
        for scenario in (database_down, redis_down, scrapyd_node_down):
            if args.only and not any(name in scenario.__name__ for name in args.only):
                continue
            print(f"outages: {scenario.__name__} ...", flush=True)
            outcome = scenario(args, site, base)
            print(f"outages: {outcome}", flush=True)
            outcomes.append(outcome)
    lines = [
        f"Board: {args.pages} pages, {site.media} images, {len(site.matches)} known matches, "
        f"download_delay {args.outage_delay} s; the outage starts once a quarter of the board's "
        "requests are made.\n",
        "| outage | flags expected | lost after the crawl | spilled | lost after replay "
        "| duplicated | crawl seconds (undisturbed) | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        undisturbed = (
            ""
            if o.undisturbed_seconds != o.undisturbed_seconds
            else (f" ({o.undisturbed_seconds:.0f})")
        )
        lines.append(
            f"| {o.scenario} | {o.expected} | {o.lost_after_crawl} | {o.spilled} "
            f"| {o.lost_after_replay} | {o.duplicated} | {o.seconds:.0f}{undisturbed} | {o.note} |"
        )
    return lines
