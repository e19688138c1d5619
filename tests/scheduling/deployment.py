"""A scrapyd started by scripts/scrapyd.sh, with the project deployed by scrapyd-deploy, a
migrated database with the gallery case's references and the gallery served on 127.0.0.1: what
tests/scheduling/test_scrapyd.py's ``deployed`` fixture holds; and waiting on scrapyd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from crawler.scheduling import ScrapydClient
from crawler.scheduling.scrapyd import Node
from tests.scheduling.helpers import SCRAPYD_PROJECT
from tests.sites import gallery
from tests.support.cli_runner import repostwatch
from tests.support.ports import free_port
from tests.support.project import ROOT

REPO = ROOT
VENV_BIN = Path(sys.executable).parent
#: scrapyd always asks for credentials (scripts/scrapyd.sh).
USERNAME, PASSWORD = "ops", "s3cret"


def deployment(tmp: Path, database_url: str):
    """Set it all up in ``tmp``; yields what the tests use, and stops scrapyd after."""
    sites_dir = tmp / "sites"
    sites_dir.mkdir()
    port = free_port()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_SCRAPYD_URLS": f"http://{USERNAME}:{PASSWORD}@127.0.0.1:{port}/",
        "REPOSTWATCH_SPILL_FILE": str(tmp / "spill.jsonl"),
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp)
    photos = [samples.photo_path(name) for name in gallery.REFERENCES]
    reference_video = tmp / "reference.mp4"
    reference_video.write_bytes(gallery.reference_video())
    repostwatch("refs", "add", "--case", gallery.CASE, *photos, reference_video, env=env, cwd=tmp)
    hash_list = tmp / "partner.csv"
    hash_list.write_text(f"algorithm,hash,case\nsha256,{gallery.VIDEO_SHA256},{gallery.CASE}\n")
    repostwatch("refs", "import", hash_list, env=env, cwd=tmp)

    scrapyd_env = {
        **os.environ,
        **env,
        "REPOSTWATCH_HASH_WORKERS": "1",
        "REPOSTWATCH_SCRAPYD_DIR": str(tmp / "scrapyd"),
        "REPOSTWATCH_SCRAPYD_PORT": str(port),
        "REPOSTWATCH_SCRAPYD_MAX_PROC": "2",
        "REPOSTWATCH_SCRAPYD_POLL_SECONDS": "0.5",
        "REPOSTWATCH_SCRAPYD_BIN": str(VENV_BIN / "scrapyd"),
        "REPOSTWATCH_SCRAPYD_USERNAME": USERNAME,
        "REPOSTWATCH_SCRAPYD_PASSWORD": PASSWORD,
    }
    log = (tmp / "scrapyd.out").open("w")
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "scrapyd.sh")],
        env=scrapyd_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    site = LocalSite(gallery.routes()).start()
    try:
        client = ScrapydClient(Node.parse(env["REPOSTWATCH_SCRAPYD_URLS"]), SCRAPYD_PROJECT)
        wait(lambda: answers(client), 30, f"scrapyd did not start: {tmp / 'scrapyd.out'}")
        # Deploy as an operator does: a target in the user's scrapy.cfg, scrapyd-deploy TARGET.
        (tmp / "xdg").mkdir()
        (tmp / "xdg" / "scrapy.cfg").write_text(
            f"[deploy:test]\nurl = http://127.0.0.1:{port}/\n"
            f"username = {USERNAME}\npassword = {PASSWORD}\n"
        )
        deploy = subprocess.run(
            [str(VENV_BIN / "scrapyd-deploy"), "test", "--version", "r1"],
            cwd=REPO,
            env={**os.environ, "XDG_CONFIG_HOME": str(tmp / "xdg")},
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert deploy.returncode == 0, deploy.stderr + deploy.stdout
        assert json.loads(deploy.stdout)["spiders"] == 1
        site_text = gallery.site_file("gallery", site.url) + '[schedule]\nevery = "6h"\n'
        (sites_dir / "gallery.toml").write_text(site_text)
        yield {
            "env": env,
            "tmp": tmp,
            "client": client,
            "database_url": database_url,
            "scrapyd_dir": tmp / "scrapyd",
            "sites_dir": sites_dir,
        }
    finally:
        site.stop()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def answers(client: ScrapydClient) -> bool:
    try:
        client.daemon_status()
    except Exception:
        return False
    return True


def wait(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.3)


def run_status(sessions, run_id: int) -> str:
    with sessions() as session:
        return db.get_run(session, run_id).status
