"""Screenshots of the review web app for docs/screenshots/, made from a fresh demo database.

Runs ``repostwatch demo`` into a temporary SQLite database with a temporary evidence key (so
the flag page has encrypted evidence to show, blurred), serves the app with
``repostwatch web`` on 127.0.0.1 and photographs the queue and a flag page in headless
Chromium (Debian's /usr/bin/chromium or REPOSTWATCH_CHROMIUM). Nothing leaves 127.0.0.1.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))
CHROMIUM = os.environ.get("REPOSTWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    *(["--no-sandbox"] if os.geteuid() == 0 else []),
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    from crawler.demo import DEMO_PASSWORD, DEMO_USERNAME

    with tempfile.TemporaryDirectory(prefix="repostwatch-screens-") as tmp:
        env = {
            **os.environ,
            "REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp}/demo.db",
            "REPOSTWATCH_EVIDENCE_KEY": Fernet.generate_key().decode(),
            "REPOSTWATCH_WEB_ENV": "development",
            "REPOSTWATCH_MEDIA_CACHE": "0",
        }
        print("==> running the demo crawl into a temporary database", flush=True)
        subprocess.run([REPOSTWATCH, "demo"], env=env, cwd=tmp, check=True, capture_output=True)
        server = subprocess.Popen(
            [REPOSTWATCH, "web", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = _wait_for_url(server)
            print(f"==> serving on {url}; taking screenshots", flush=True)
            _photograph(url, DEMO_USERNAME, DEMO_PASSWORD, out)
        finally:
            server.terminate()
            server.wait(10)
    for name in ("queue.png", "flag-blurred.png"):
        print(f"wrote {out / name}")
    return 0


def _wait_for_url(server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if line.startswith("Serving the review app on "):
            return line.split(" on ", 1)[1].split()[0].rstrip("/")
        if server.poll() is not None:
            break
    raise SystemExit("repostwatch web did not start")


def _photograph(url: str, username: str, password: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        page.goto(f"{url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        page.screenshot(path=str(out / "queue.png"), full_page=True)
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/*")
        page.locator("#evidence img").wait_for()
        page.wait_for_function("document.querySelector('#evidence img').complete")
        page.screenshot(path=str(out / "flag-blurred.png"), full_page=True)
        page.click("#skip")  # give the claim back: the demo database stays as the demo left it
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
