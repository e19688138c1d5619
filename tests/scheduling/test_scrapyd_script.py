"""scrapyd as scripts/scrapyd.sh starts it (a password on the network, job history kept over a
restart) and scrapyd-deploy's credentials as scrapy.cfg reads them."""

from __future__ import annotations

import os
import signal
import stat
import subprocess

import pytest

from crawler.scheduling import ScrapydClient, ScrapydError
from crawler.scheduling.scrapyd import Node
from tests.scheduling.deployment import REPO, VENV_BIN, answers, wait
from tests.scheduling.helpers import SCRAPYD_PROJECT
from tests.support.ports import free_port


def _client(url: str, **options) -> ScrapydClient:
    return ScrapydClient(Node.parse(url), SCRAPYD_PROJECT, **options)


def _script(env: dict[str, str], output=subprocess.PIPE):
    return subprocess.Popen(
        ["bash", str(REPO / "scripts" / "scrapyd.sh")],
        env={**os.environ, "REPOSTWATCH_SCRAPYD_BIN": str(VENV_BIN / "scrapyd"), **env},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_make_scrapyd_asks_for_a_password_and_keeps_job_history_over_a_restart(tmp_path):
    port = free_port()
    env = {
        "REPOSTWATCH_SCRAPYD_DIR": str(tmp_path / "scrapyd"),
        "REPOSTWATCH_SCRAPYD_PORT": str(port),
        "REPOSTWATCH_SCRAPYD_USERNAME": "ops",
        "REPOSTWATCH_SCRAPYD_PASSWORD": "s3cret pass",
    }
    log = (tmp_path / "scrapyd.out").open("a")
    process = _script(env, log)
    try:
        anonymous = _client(f"http://127.0.0.1:{port}/", timeout=2)
        wrong = _client(f"http://ops:guess@127.0.0.1:{port}/", timeout=2)
        right = _client(f"http://ops:s3cret%20pass@127.0.0.1:{port}/")
        wait(lambda: answers(right), 30, "scrapyd with basic auth did not start")
        assert right.daemon_status() == {"pending": 0, "running": 0, "finished": 0}
        for refused in (anonymous, wrong):
            with pytest.raises(ScrapydError, match=r"HTTP 401 \(wrong or missing credentials"):
                refused.daemon_status()
        config = (tmp_path / "scrapyd" / "scrapyd.conf").read_text()
        assert "jobstorage       = scrapyd.jobstorage.SqliteJobStorage" in config
        assert f"http_port        = {port}" in config and "bind_address     = 127.0.0.1" in config
        assert f"max_proc         = {len(os.sched_getaffinity(0))}" in config  # usable CPUs
        assert "s3cret" not in config
        state = tmp_path / "scrapyd"
        assert {p.name for p in state.iterdir()} >= {"eggs", "dbs", "logs", "scrapyd.conf"}
        # No item feeds (every page and media URL, in plain text); everything private.
        assert "items_dir        =\n" in config and not (state / "items").exists()
        assert stat.S_IMODE((state / "logs").stat().st_mode) == 0o700
        # scrapyd-deploy takes the credentials from the environment (scrapy.cfg's [deploy]).
        (tmp_path / "xdg").mkdir()
        (tmp_path / "xdg" / "scrapy.cfg").write_text(
            f"[deploy:auth]\nurl = http://127.0.0.1:{port}\n"
        )
        deploy = subprocess.run(
            [str(VENV_BIN / "scrapyd-deploy"), "auth"],
            cwd=REPO,
            env={**os.environ, **env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert deploy.returncode == 0, deploy.stderr + deploy.stdout
        # A job that ends at once (no such site), then a restart: the job history is kept.
        right.schedule("site", job="nosuch.1", args={"site": "nosuch"}, settings={})
        wait(lambda: right.list_jobs().finished, 120, "the job never finished")
        [job_log] = (state / "logs").rglob("nosuch.1.log")
        assert stat.S_IMODE(job_log.stat().st_mode) == 0o600
        assert not (state / "items").exists()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process = _script(env, log)
        wait(lambda: answers(right), 30, "scrapyd did not start again")
        assert [job["id"] for job in right.list_jobs().finished] == ["nosuch.1"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
@pytest.mark.parametrize(
    "credentials",
    [{}, {"REPOSTWATCH_SCRAPYD_USERNAME": "ops"}, {"REPOSTWATCH_SCRAPYD_PASSWORD": "s3cret"}],
)
def test_scrapyd_without_a_password_is_refused_even_on_loopback(tmp_path, bind, credentials):
    env = {
        **{key: "" for key in ("REPOSTWATCH_SCRAPYD_USERNAME", "REPOSTWATCH_SCRAPYD_PASSWORD")},
        "REPOSTWATCH_SCRAPYD_DIR": str(tmp_path),
        "REPOSTWATCH_SCRAPYD_BIND": bind,
        "REPOSTWATCH_SCRAPYD_PORT": "6899",
        # Were it not refused, nothing would start either (no stray scrapyd on a failure).
        "REPOSTWATCH_SCRAPYD_BIN": "/bin/true",
        **credentials,
    }
    process = _script(env)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    said = " ".join(output.split())
    assert "scrapyd without a password would let any local process or crawled page run code" in said
    assert f"on {bind}:6899: set" in said
    assert "set REPOSTWATCH_SCRAPYD_USERNAME and REPOSTWATCH_SCRAPYD_PASSWORD" in output
    assert not (tmp_path / "scrapyd.conf").exists()


@pytest.mark.parametrize(
    ("username", "sent"),
    [
        (None, "${REPOSTWATCH_SCRAPYD_USERNAME}:${REPOSTWATCH_SCRAPYD_PASSWORD}"),  # unset
        ("", "netrc-user:netrc-pass"),  # empty: ~/.netrc
        ("ops", "ops:s3cret"),
    ],
)
def test_scrapyd_deploy_credentials_are_as_the_readme_says(tmp_path, username, sent):
    """README, Deploying: scrapy.cfg's ${REPOSTWATCH_SCRAPYD_USERNAME} stays as text when the
    variable is unset, so ~/.netrc is read only when it is set to the empty string."""
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login netrc-user password netrc-pass\n")
    (tmp_path / ".netrc").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPOSTWATCH_SCRAPYD_")} | {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }
    if username is not None:
        env |= {"REPOSTWATCH_SCRAPYD_USERNAME": username, "REPOSTWATCH_SCRAPYD_PASSWORD": "s3cret"}
    code = (
        "from scrapyd_client.utils import _get_targets, get_auth; t = _get_targets()['local']; "
        "a = get_auth(t['url'], t.get('username'), t.get('password', '')); "
        "print(f'{a.username}:{a.password}')"
    )
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == sent
