"""A distributed worker's Redis connection (crawler/distributed: redis_client, prepare_worker): a
Redis that wants a password, one that speaks TLS only (rediss://), and one that stops answering,
each a redis-server started for the test."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
from scrapy.settings import Settings

from crawler.demo.localsite import LocalSite
from crawler.distributed import RunKeys, redis_client
from tests.distributed.workers import (
    PAGES,
    finish,
    opened_run_id,
    pages_of,
    site_file,
    site_routes,
    start_worker,
    the_run,
)
from tests.support.ports import free_port


@contextlib.contextmanager
def _redis_server(arguments: list[str], url: str, stdout=subprocess.DEVNULL):
    """A redis-server of the test's own, with ``arguments``; ready once ``url`` answers."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen([server, *arguments], stdout=stdout, text=True)
    try:
        for _ in range(50):
            if process.poll() is not None:
                said = process.stdout.read()[-2000:] if process.stdout else ""
                pytest.fail(f"redis-server would not start with {arguments}: {said}")
            try:
                with redis.Redis.from_url(url) as client:
                    client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def protected_redis(tmp_path):
    """A second redis-server, started for the test, that requires a password."""
    port = free_port()
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", "s3cret-pw",
                 "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    with _redis_server(arguments, f"redis://:s3cret-pw@127.0.0.1:{port}/0"):
        yield port


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_password_protected_redis(workers_env, protected_redis, tmp_path):
    env, sites_dir, _ = workers_env
    port = protected_redis
    with LocalSite(site_routes()) as site:
        (sites_dir / "board.toml").write_text(site_file(site.url, delay=0))
        wrong = start_worker(
            env={**env, "REPOSTWATCH_REDIS_URL": f"redis://127.0.0.1:{port}/0"}, cwd=tmp_path
        )
        _, wrong_err = wrong.outcome(timeout=120)
        assert wrong.returncode == 1
        assert "cannot use Redis at" in wrong_err and "password" in wrong_err
        url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
        out, _ = finish(start_worker(env={**env, "REPOSTWATCH_REDIS_URL": url}, cwd=tmp_path))
    assert pages_of(out) == len(PAGES)
    assert "s3cret-pw" not in out


# KEYS: a counter; ARGV: milliseconds. Counts its calls; the first keeps Redis busy that long.
_SLOW_FIRST_CALL = """
local calls = redis.call('INCR', KEYS[1])
local function micros(t) return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local start = micros(redis.call('TIME'))
while calls == 1 and micros(redis.call('TIME')) - start < tonumber(ARGV[1]) * 1000 do end
return calls
"""


def test_a_call_that_timed_out_is_not_sent_again(protected_redis):
    """Redis stops answering for a while (here busy with a script for longer than the socket
    timeout): the call fails once the timeout is up, and is not sent again. Sent again, it ran
    twice (a worker taking a request from the queue took two, and lost the one it never got) and
    stopped the worker's reactor for two timeouts. The project's REDIS_PARAMS, with a short
    timeout so that the test is quick (a second call would be sent, and answered at once,
    between the first call's 0.8 s and two timeouts)."""
    url = f"redis://:s3cret-pw@127.0.0.1:{protected_redis}/0"
    project = Settings()
    project.setmodule("settings.distributed")
    params = {**project.getdict("REDIS_PARAMS"), "socket_timeout": 0.5}
    client = redis_client(Settings({"REPOSTWATCH_REDIS_URL": url, "REDIS_PARAMS": params}))
    with pytest.raises(redis.TimeoutError):
        client.eval(_SLOW_FIRST_CALL, 1, "calls", 800)
    with redis.Redis.from_url(url) as observer:  # answered once Redis is done with the call
        assert observer.get("calls") == b"1"


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
    arguments = ["--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                 "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file",
                 str(ca), "--tls-auth-clients", "no", "--requirepass", "tls-pw", "--save", "",
                 "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    url = f"rediss://:tls-pw@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    with _redis_server(arguments, url, stdout=subprocess.PIPE):
        yield url


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
