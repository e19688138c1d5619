"""Distributed crawls: worker processes share one crawl run of a site through a real Redis.

The workers are the real console script (``repostwatch crawl SITE --distributed``) or ``scrapy
crawl``, on a real database (SQLite and PostgreSQL) and a local site that records every request.
Each test has Redis keys of its own (``REPOSTWATCH_DISTRIBUTED_PREFIX``).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from scrapy.settings import Settings

from crawler import db
from crawler.demo.localsite import LocalSite, html
from crawler.distributed import (
    RunKeys,
    WorkerRegistry,
    close_abandoned_runs,
    open_run,
    run_outcome,
)
from tests.crawling.test_end_to_end import EXPECTED_FLAGS, registered  # noqa: F401 (a fixture)
from tests.sites import gallery
from tests.support.cli_runner import REPOSTWATCH
from tests.support.ports import free_port
from tests.support.project import ROOT

#: Listing pages besides the gallery's six, so that two workers both get work.
LISTINGS = 40
GALLERY_PAGES = {"/", "/page/1", "/page/2", "/page/3", "/page/4", "/post/99"}
PAGES = GALLERY_PAGES | {f"/list/{i}" for i in range(LISTINGS)}


def site_routes() -> dict:
    routes = gallery.routes()
    routes["/"] = html(
        routes["/"].body.decode().replace("</body>", '<a href="/list/0">listings</a></body>')
    )
    for i in range(LISTINGS):
        links = {
            f"/list/{(i + 1) % LISTINGS}",
            f"/list/{(i * 7 + 3) % LISTINGS}",
            f"/page/{i % 4 + 1}",
        }
        anchors = "".join(f'<a href="{link}">{link}</a>' for link in sorted(links))
        routes[f"/list/{i}"] = html(f"<!doctype html><title>List {i}</title>{anchors}")
    return routes


def site_file(base_url: str, *, delay: float = 0.3, max_pages: int = 1000) -> str:
    return (
        f'name = "board"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f"download_delay = {delay}\nconcurrency = 2\nautothrottle = false\n"
        f"[follow]\nallow = ['/page/\\d+', '/post/', '/list/\\d+']\nmax_depth = 60\n"
        f"max_pages = {max_pages}\n"
    )


@pytest.fixture
def workers_env(registered, redis_url):  # noqa: F811 (the fixture imported above)
    env, sites_dir = registered
    prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
    env = {
        **env,
        "REPOSTWATCH_REDIS_URL": redis_url,
        "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
        "REPOSTWATCH_HASH_WORKERS": "1",
    }
    yield env, sites_dir, prefix
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def start_worker(*args: object, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [REPOSTWATCH, "crawl", "board", "--distributed", *map(str, args)],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str], timeout: float = 240) -> tuple[str, str]:
    out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, f"worker exited {worker.returncode}\n{out}\n{err[-6000:]}"
    return out, err


def opened_run_id(worker: subprocess.Popen[str]) -> int:
    """The id the first worker prints as soon as it has opened the run."""
    assert worker.stdout is not None
    line = worker.stdout.readline()
    match = re.match(r"Opened crawl run (\d+) of board", line)
    assert match, f"expected the run id first, got {line!r}; stderr: {worker.stderr.read()[-3000:]}"
    return int(match.group(1))


def pages_of(summary: str) -> int:
    return int(re.search(r"^\s*pages\s+(\d+)$", summary, re.M).group(1))


def the_run(env: dict[str, str], run_id: int) -> db.RunView:
    engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
    with db.make_sessionmaker(engine)() as session:
        run = db.get_run(session, run_id)
    engine.dispose()
    return run


def flags(env: dict[str, str], cwd: Path) -> list[dict]:
    listed = subprocess.run(
        [REPOSTWATCH, "flags", "list", "--json"],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(listed.stdout)


def test_two_workers_share_one_crawl_run(workers_env, redis_url, tmp_path):
    env, sites_dir, prefix = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url))
        first = start_worker(env=env, cwd=tmp_path)
        run_id = opened_run_id(first)
        second = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
        (first_out, _), (second_out, second_err) = finish(first), finish(second)
        requested = collections.Counter(site.requests)

    # Every page was fetched exactly once across both workers, and both fetched pages.
    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 1)
    fetched = [pages_of(first_out), pages_of(second_out)]
    assert min(fetched) > 0 and sum(fetched) == len(PAGES), fetched
    assert f"Crawl run {run_id} of board" in second_out
    # Hash matching and flag writing are unchanged in each worker: every repost, once.
    found = flags(env, tmp_path)
    assert sorted((urlsplit(f["media_url"]).path, f["case"]) for f in found) == sorted(
        EXPECTED_FLAGS
    )
    assert {f["last_run_id"] for f in found} == {run_id}
    # The run adds up both workers' figures; the last worker out closed it.
    run = the_run(env, run_id)
    assert (run.status, run.finish_reason) == ("finished", "finished")
    assert run.pages == len(PAGES)
    assert run.flags == len(EXPECTED_FLAGS)
    stats = json.loads(run.stats)
    assert stats["repostwatch/workers"] == 2
    assert stats["repostwatch/pages"] == len(PAGES)
    assert stats["repostwatch/run_id"] == run_id  # not summed
    assert "ERROR" not in second_err.replace("log_count/ERROR", "")
    # Its keys are gone but "closed", which expires and turns late workers away.
    with redis.Redis.from_url(redis_url) as client:
        keys = RunKeys(prefix, run_id)
        assert sorted(k.decode() for k in client.keys(f"{prefix}:*")) == [keys.key("closed")]
        assert 0 < client.ttl(keys.key("closed")) <= 6 * 3600
    late = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
    late_out, late_err = late.communicate(timeout=120)
    assert late.returncode != 0
    assert f"crawl run {run_id} is already finished" in late_err + late_out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_next_run_visits_every_page_again(workers_env, tmp_path):
    env, sites_dir, _ = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0))
        outs = [finish(start_worker(env=env, cwd=tmp_path))[0] for _ in range(2)]
        requested = collections.Counter(site.requests)

    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 2)
    first, second = (int(re.search(r"Opened crawl run (\d+)", out).group(1)) for out in outs)
    assert first != second
    assert [pages_of(out) for out in outs] == [len(PAGES)] * 2
    assert f"0 new, {len(EXPECTED_FLAGS)} seen again" in outs[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_max_pages_holds_across_workers(workers_env, tmp_path):
    env, sites_dir, _ = workers_env
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, max_pages=12))
        first = start_worker(env=env, cwd=tmp_path)
        run_id = opened_run_id(first)
        second = start_worker("--run-id", run_id, env=env, cwd=tmp_path)
        finish(first), finish(second)
        pages = [path for path in site.requests if path in PAGES]

    assert len(pages) == 12 and len(set(pages)) == 12
    run = the_run(env, run_id)
    assert run.pages == 12 and run.status == "finished"
    assert json.loads(run.stats)["repostwatch/refused/max_pages"] > 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_scrapy_crawl_joins_with_settings(workers_env, tmp_path):
    """`scrapy crawl site -a site=NAME -s REPOSTWATCH_DISTRIBUTED=1 -s REPOSTWATCH_RUN_ID=N`."""
    env, sites_dir, _ = workers_env
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    settings = Settings({**_settings_of(env), "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 600})
    run_id = open_run(settings, "board")
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0.05))
        command = [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"]
        command += ["-s", f"REPOSTWATCH_RUN_ID={run_id}"]
        workers = [
            subprocess.Popen(
                command, cwd=project, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        logs = [worker.communicate(timeout=240)[1] for worker in workers]
        requested = collections.Counter(site.requests)
    assert [worker.returncode for worker in workers] == [0, 0], logs[0][-3000:]
    assert {path: requested[path] for path in PAGES} == dict.fromkeys(PAGES, 1)
    run = the_run(env, run_id)
    assert (run.status, run.pages, run.flags) == ("finished", len(PAGES), len(EXPECTED_FLAGS))
    assert sum("Last worker out" in log for log in logs) == 1

    # Without a run id, or without Redis, it says what is missing.
    bad = subprocess.run(
        [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "-s REPOSTWATCH_RUN_ID=N" in bad.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_worker_is_given_up_and_the_run_closes(workers_env, tmp_path):
    """A worker killed mid-crawl: the other stops waiting for it after the worker timeout,
    finishes the crawl, and closes the run as failed (some pages were taken and never read)."""
    env, sites_dir, _ = workers_env
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    settings = Settings(_settings_of(env))
    run_id = open_run(settings, "board")
    command = [scrapy, "crawl", "site", "-a", "site=board", "-s", "REPOSTWATCH_DISTRIBUTED=1"]
    command += ["-s", f"REPOSTWATCH_RUN_ID={run_id}", "-s", "LOG_LEVEL=INFO"]
    command += ["-s", "REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS=0.5"]
    command += ["-s", "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT=3"]
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0.3))
        run = {"cwd": project, "env": {**os.environ, **env}, "text": True}
        survivor = subprocess.Popen(command, stderr=subprocess.PIPE, **run)
        victim = subprocess.Popen(command, stderr=subprocess.DEVNULL, **run)
        deadline = time.monotonic() + 120
        while sum(path in PAGES for path in site.requests) < 12 and time.monotonic() < deadline:
            time.sleep(0.2)
        victim.kill()
        victim.wait(timeout=30)
        _, log = survivor.communicate(timeout=240)
        requested = collections.Counter(path for path in site.requests if path in PAGES)

    assert survivor.returncode == 0, log[-3000:]
    assert max(requested.values()) == 1  # never a page twice, even with a worker lost
    result = the_run(env, run_id)
    assert result.status == "failed"
    assert result.finish_reason == "worker_lost (1 of 2 workers)"
    assert 0 < result.pages <= len(PAGES)
    assert "Last worker out" in log


def _settings_of(env: dict[str, str]) -> dict:
    return {
        "REPOSTWATCH_DATABASE_URL": env["REPOSTWATCH_DATABASE_URL"],
        "REPOSTWATCH_REDIS_URL": env["REPOSTWATCH_REDIS_URL"],
        "REPOSTWATCH_DISTRIBUTED_PREFIX": env["REPOSTWATCH_DISTRIBUTED_PREFIX"],
        "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT": 300,
        "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 3600,
    }


# --- a shared run in the database -----------------------------------------------------------
def test_workers_add_their_figures_and_the_last_closes_the_run(session):
    run_id = db.start_run(session, "board")
    figures = {"pages": 3, "media": 5, "bytes": 100, "errors": 1, "flags": 2}
    db.add_to_run(
        session,
        run_id,
        **figures,
        stats=json.dumps({"repostwatch/pages": 3, "repostwatch/run_id": run_id, "x": "a"}),
        unsummed=("repostwatch/run_id",),
    )
    db.add_to_run(
        session,
        run_id,
        **{**figures, "pages": 4},
        stats=json.dumps({"repostwatch/pages": 4, "repostwatch/run_id": run_id, "x": "b"}),
        unsummed=("repostwatch/run_id",),
    )
    run = db.get_run(session, run_id)
    assert (run.status, run.pages, run.media, run.bytes, run.errors, run.flags) == (
        "running",
        7,
        10,
        200,
        2,
        4,
    )
    assert json.loads(run.stats) == {"repostwatch/pages": 7, "repostwatch/run_id": run_id, "x": "b"}
    assert db.close_run(session, run_id, status="finished", finish_reason="finished")
    assert not db.close_run(session, run_id, status="failed", finish_reason="workers_lost")
    run = db.get_run(session, run_id)
    assert (run.status, run.finish_reason, run.pages) == ("finished", "finished", 7)
    assert run.finished_at is not None
    with pytest.raises(ValueError, match=f"crawl run {run_id} is already finished"):
        db.add_to_run(session, run_id, **figures)


# --- the registry, against the real Redis --------------------------------------------------
@pytest.fixture
def client(redis_url):
    with redis.Redis.from_url(redis_url) as client:
        prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
        yield client, prefix
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def _registry(client, prefix: str, worker: str, timeout: int = 300) -> WorkerRegistry:
    return WorkerRegistry(client, RunKeys(prefix, 7), worker, ttl=600, worker_timeout=timeout)


def test_a_worker_waits_while_another_is_busy(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a"), _registry(server, prefix, "b")
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"request": 0})
    assert a.pop_request() == b"request"  # a is busy: it may queue more
    assert not b.all_done()
    assert a.pop_request() is None
    assert a.all_done()  # queue empty, nobody busy
    assert b.all_done()


def test_the_last_worker_out_gets_every_reason(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a"), _registry(server, prefix, "b")
    a.join(), b.join()
    server.sadd(a.keys.key("seen"), "fingerprint")
    server.zadd(a.keys.key("requests"), {b"request": 0})
    a.heartbeat()
    for name in ("workers", "seen", "requests"):  # every key expires unless heartbeats go on
        assert 0 < server.ttl(a.keys.key(name)) <= 600
    server.delete(a.keys.key("requests"))
    assert a.leave("finished") is None
    assert b.leave("shutdown") == {"a": "finished", "b": "shutdown"}
    assert run_outcome({"a": "finished", "b": "shutdown"}) == (
        "failed",
        "shutdown (1 of 2 workers)",
    )
    with pytest.raises(RuntimeError, match="start a new run"):
        _registry(server, prefix, "c").join()


def test_a_silent_worker_counts_as_lost(client):
    server, prefix = client
    a, b = _registry(server, prefix, "a", timeout=1), _registry(server, prefix, "b", timeout=1)
    a.join(), b.join()
    server.zadd(a.keys.key("requests"), {b"request": 0})
    a.pop_request()  # a takes a request, then dies without a word
    server.hset(a.keys.key("workers"), "a", 0)  # its last heartbeat: long ago
    b.heartbeat()
    assert b.all_done()  # a dead worker does not keep the others waiting
    assert b.leave("finished") == {"a": "worker_lost", "b": "finished"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_whose_workers_all_died_is_closed_as_failed(client, engine, database_url, redis_url):
    server, prefix = client
    settings = Settings(
        {
            "REPOSTWATCH_DATABASE_URL": database_url,
            "REPOSTWATCH_REDIS_URL": redis_url,
            "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
            "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT": 2,
            "REPOSTWATCH_DISTRIBUTED_KEY_TTL": 600,
        }
    )
    dead, alive = open_run(settings, "board"), open_run(settings, "board")
    WorkerRegistry(server, RunKeys(prefix, dead), "w", ttl=600, worker_timeout=2).join()
    server.zadd(f"{prefix}:runs", {str(dead): server.time()[0] - 10})  # last heard of 10 s ago
    assert close_abandoned_runs(server, prefix, settings) == [dead]
    with db.make_sessionmaker(engine)() as session:
        closed, running = db.get_run(session, dead), db.get_run(session, alive)
    assert (closed.status, closed.finish_reason) == ("failed", "workers_lost")
    assert running.status == "running"
    assert server.exists(RunKeys(prefix, dead).key("workers")) == 0


# --- a password-protected Redis --------------------------------------------------------------
@pytest.fixture
def protected_redis(tmp_path):
    """A second redis-server, started for the test, that requires a password."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", "s3cret-pw",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_password_protected_redis(workers_env, protected_redis, tmp_path):
    env, sites_dir, _ = workers_env
    port = protected_redis
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0))
        wrong = start_worker(
            env={**env, "REPOSTWATCH_REDIS_URL": f"redis://127.0.0.1:{port}/0"}, cwd=tmp_path
        )
        _, wrong_err = wrong.communicate(timeout=120)
        assert wrong.returncode == 1
        assert "cannot use Redis at" in wrong_err and "password" in wrong_err
        url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
        out, _ = finish(start_worker(env={**env, "REPOSTWATCH_REDIS_URL": url}, cwd=tmp_path))
    assert pages_of(out) == len(PAGES)
    assert "s3cret-pw" not in out


# --- TLS: rediss:// --------------------------------------------------------------------------
def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject, issuer, public_key, signing_key, *, ca: bool, ip: bool = False):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ip:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RepostWatch test CA")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    ca = certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    cert = certificate(name, ca_name, key.public_key(), ca_key, ca=False, ip=True)
    paths = directory / "ca.pem", directory / "redis.pem", directory / "redis.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_redis(tmp_path):
    """A redis-server started for the test that speaks TLS only, with a password: its URL."""
    ca, cert, key = _certificates(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
         "--tls-auth-clients", "no", "--requirepass", "tls-pw", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"rediss://:tls-pw@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    for _ in range(50):
        if process.poll() is not None:
            pytest.fail(f"redis-server would not start with TLS: {process.stdout.read()[-2000:]}")
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_tls_redis_by_url(workers_env, tls_redis, tmp_path):
    env, sites_dir, _ = workers_env
    env = {**env, "REPOSTWATCH_REDIS_URL": tls_redis}
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0))
        first = start_worker(env=env, cwd=tmp_path)
        run_id = opened_run_id(first)
        out, _ = finish(first)
    assert pages_of(out) == len(PAGES)
    assert the_run(env, run_id).status == "finished"
    with redis.Redis.from_url(tls_redis) as client:  # the run's keys were in this Redis
        assert client.exists(RunKeys(env["REPOSTWATCH_DISTRIBUTED_PREFIX"], run_id).key("closed"))
