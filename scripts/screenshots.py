"""Screenshots of the review web app for docs/screenshots/, made from a fresh demo database.

Runs ``repostwatch demo`` in a temporary directory (the demo makes its own SQLite database and
evidence key pair there, so the flag page has sealed evidence to show, blurred), serves the
demo database with its private key with
``repostwatch web`` on 127.0.0.1 and photographs the queue and a flag page in headless
Chromium (REPOSTWATCH_CHROMIUM, read by the project settings). Nothing leaves 127.0.0.1. The
app speaks Korean, the staff's language (``--locale en`` for English), and shows Seoul time.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--locale ko]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from settings import REPOSTWATCH_CHROMIUM as CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))
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
    parser.add_argument("--locale", choices=("ko", "en"), default="ko")
    arguments = parser.parse_args()
    out: Path = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    from crawler.demo.site import DEMO_PASSWORD, DEMO_USERNAME

    with tempfile.TemporaryDirectory(prefix="repostwatch-screens-") as tmp:
        sites_dir = _demo_sites(Path(tmp))
        env = {
            **os.environ,
            "REPOSTWATCH_SITES_DIR": str(sites_dir),
            "REPOSTWATCH_WEB_ENV": "development",
            "REPOSTWATCH_LOCALE": arguments.locale,
            "REPOSTWATCH_TIMEZONE": "Asia/Seoul",
        }
        print("==> running the demo crawl into a temporary database", flush=True)
        subprocess.run([REPOSTWATCH, "demo"], env=env, cwd=tmp, check=True, capture_output=True)
        demo = Path(tmp) / "var" / "demo"  # where the demo keeps its database and keys
        env["REPOSTWATCH_DATABASE_URL"] = f"sqlite:///{demo / 'demo.sqlite'}"
        private_key = (demo / "evidence-private.key").read_text().strip()
        env["REPOSTWATCH_EVIDENCE_PRIVATE_KEY"] = private_key
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
            _photograph_notice(url, DEMO_USERNAME, DEMO_PASSWORD, out, sites_dir)
            _photograph_case_and_dashboard(url, DEMO_USERNAME, DEMO_PASSWORD, out)
        finally:
            server.terminate()
            server.wait(10)
    for name in ("queue.png", "flag-blurred.png", "notice.png", "case.png", "dashboard.png"):
        print(f"wrote {out / name}")
    return 0


#: The demo admin's TOTP secret, read from the enrolment page at the first login (an
#: authenticator app of our own), and the last time step whose code was used.
_AUTHENTICATOR: dict[str, object] = {}


def _log_in(page, url: str, username: str, password: str) -> None:
    """Password, then a TOTP code: the first login enrols (the page shows the key)."""
    import pyotp

    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/login/code")
    shown = page.locator("#totp-secret")
    if shown.count():
        _AUTHENTICATOR["secret"] = shown.inner_text().strip()
    step = int(time.time() // 30)
    while step <= int(_AUTHENTICATOR.get("step", -1)):  # each code is accepted once
        time.sleep(1)
        step = int(time.time() // 30)
    _AUTHENTICATOR["step"] = step
    page.fill("input[name=code]", pyotp.TOTP(str(_AUTHENTICATOR["secret"])).generate_otp(step))
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


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
        _log_in(page, url, username, password)
        page.screenshot(path=str(out / "queue.png"), full_page=True)
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/*")
        page.locator("#evidence img").wait_for()
        page.wait_for_function("() => document.querySelector('#evidence img').complete")
        page.screenshot(path=str(out / "flag-blurred.png"), full_page=True)
        page.click("#skip")  # give the claim back: the demo database stays as the demo left it
        browser.close()


def _demo_sites(tmp: Path) -> Path:
    """A sites folder holding only the demo site file (its [takedown] table gives the notice a
    language, English, and an abuse contact); the demo crawl reads the same copy."""
    sites_dir = tmp / "sites"
    sites_dir.mkdir()
    demo = (ROOT / "settings" / "sites" / "demo.toml").read_text(encoding="utf-8")
    (sites_dir / "demo.toml").write_text(demo, encoding="utf-8")
    return sites_dir


def _photograph_notice(url: str, username: str, password: str, out: Path, sites: Path) -> None:
    """Confirm two flags, draft their notice (the demo site is served again so that its pages
    can be photographed, media blurred), and photograph the draft once its screenshots are in."""
    from urllib.parse import urlsplit

    from crawler.demo.localsite import LocalSite
    from crawler.demo.site import demo_routes
    from crawler.sites import load_site

    port = urlsplit(load_site(sites / "demo.toml").start_urls[0]).port
    with LocalSite(demo_routes(), port=port), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        page.set_default_timeout(120_000)
        _log_in(page, url, username, password)
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/*")
        for _ in range(2):
            current = page.url
            page.keyboard.press("c")
            page.wait_for_url(lambda address, current=current: address != current)
        page.goto(f"{url}/notices/")
        page.click("#draft")
        page.wait_for_selector("#notice-status")
        # The screenshots are taken beside the request: reload until none is pending. The
        # notice stays a draft: the admin who confirmed its flags may not approve it too.
        deadline = time.monotonic() + 180
        while page.locator("[id^=pending-]").count() and time.monotonic() < deadline:
            time.sleep(2)
            page.reload()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.notice-item .shot img')].every(i => i.complete)"
        )
        page.screenshot(path=str(out / "notice.png"), full_page=True)
        browser.close()


def _photograph_case_and_dashboard(url: str, username: str, password: str, out: Path) -> None:
    """The demo case's page (after the notice above: flags confirmed, a notice drafted) and
    the dashboard, whose charts are SVG images rendered on the server."""
    from crawler.demo.site import DEMO_CASE

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        _log_in(page, url, username, password)
        page.goto(f"{url}/cases/{DEMO_CASE}")
        page.screenshot(path=str(out / "case.png"), full_page=True)
        page.goto(f"{url}/dashboard/")
        page.wait_for_function("[...document.querySelectorAll('img.chart')].every(i => i.complete)")
        page.screenshot(path=str(out / "dashboard.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
