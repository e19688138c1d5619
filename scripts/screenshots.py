"""Screenshots of the review web app for docs/screenshots/, made from a fresh demo database.

Runs ``repostwatch demo`` in a temporary directory (the demo makes its own SQLite database and
evidence key pair there, so the flag page has sealed evidence to show, blurred), serves the
demo database with its private key with
``repostwatch web`` on 127.0.0.1 and photographs every page of the review app (SHOTS;
docs/screenshots/README.md says which page each is) in headless Chromium
(REPOSTWATCH_CHROMIUM, read by the project settings), as the demo admin. Before serving, a
domain move of the demo site is recorded so that the sites page shows one; the demo site is
served again while the notice is drafted and while the site editor's "Try" runs. Nothing
leaves 127.0.0.1. The app speaks Korean, the staff's language (``--locale en`` for
English), and shows Seoul time. Victim-like media appears only blurred.

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
    # Chromium's own words (a file input's "Choose File") in the app's language too.
    BROWSER_LOCALE[0] = {"ko": "ko-KR", "en": "en-US"}[arguments.locale]
    ARGS.append(f"--lang={BROWSER_LOCALE[0]}")
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
        _record_domain_move(env["REPOSTWATCH_DATABASE_URL"])
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
            _photograph_pages(url, DEMO_USERNAME, DEMO_PASSWORD, out, sites_dir)
        finally:
            server.terminate()
            server.wait(10)
    for name in sorted(SHOTS):
        _shrink(out / name)
        print(f"wrote {out / name}")
    return 0


#: Every screenshot the script writes (docs/screenshots/README.md lists each with its page).
SHOTS = (
    "login.png",
    "queue.png",
    "queue-new.png",
    "flag-blurred.png",
    "notices.png",
    "notice.png",
    "cases.png",
    "case.png",
    "case-references.png",
    "dashboard.png",
    "crawls.png",
    "crawl-site.png",
    "crawl-run.png",
    "checks.png",
    "sites.png",
    "site-edit.png",
    "site-try.png",
    "site-errors.png",
    "users.png",
    "audit.png",
    "digests.png",
    "account.png",
)
VIEWPORT = {"width": 1280, "height": 900}
#: The browser's language, set from --locale.
BROWSER_LOCALE = ["ko-KR"]


def _shrink(path: Path) -> None:
    """Rewrite a screenshot with Pillow's optimiser: the PNGs are committed."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
    image.save(path, optimize=True)


def _record_domain_move(database_url: str) -> None:
    """A domain move for the sites page, recorded as a crawl would when the demo site's start
    page redirected to another host (nothing is adopted: the demo database keeps its site)."""
    from crawler.db import domain_moves
    from crawler.db.session import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            domain_moves.record_move(
                session,
                "demo",
                old_domain="127.0.0.1",
                new_domain="localhost",
                kind="redirect",
                new_url="http://localhost:8931/",
                evidence="GET http://127.0.0.1:8931/ answered 301 redirecting to http://localhost:8931/",
            )
    finally:
        engine.dispose()


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
        page = browser.new_page(viewport=VIEWPORT, locale=BROWSER_LOCALE[0])
        page.goto(f"{url}/login")
        page.screenshot(path=str(out / "login.png"))
        _log_in(page, url, username, password)
        page.screenshot(path=str(out / "queue.png"), full_page=True)
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/*")
        page.fill("#note", NOTE)
        page.click("#add-note")
        page.wait_for_selector(".note-body")
        page.locator("#evidence img").wait_for()
        page.wait_for_function("() => document.querySelector('#evidence img').complete")
        page.screenshot(path=str(out / "flag-blurred.png"), full_page=True)
        page.click("#skip")  # give the claim back: the demo database stays as the demo left it
        browser.close()


#: The reviewer's note the flag page shows (notes are text only, kept with the author's name).
NOTE = "같은 게시판의 다른 글에도 같은 사진이 있는지 확인이 필요합니다."


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
        page = browser.new_page(viewport=VIEWPORT, locale=BROWSER_LOCALE[0])
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


def _photograph_pages(url: str, username: str, password: str, out: Path, sites: Path) -> None:
    """Every other page, as the demo admin (who holds every role): the cases and the demo case
    (after the notice above: flags confirmed, a notice drafted) with its reference files, the
    dashboard (charts are SVG images rendered on the server), crawls, URL check, sites with the
    domain move recorded above, the site editor with a "Try" of the demo site (served again
    here) and with inline errors, and the admin's and everyone's own pages."""
    from urllib.parse import urlsplit

    from crawler.demo.localsite import LocalSite
    from crawler.demo.site import DEMO_CASE, demo_routes
    from crawler.sites import load_site

    port = urlsplit(load_site(sites / "demo.toml").start_urls[0]).port
    with LocalSite(demo_routes(), port=port), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT, locale=BROWSER_LOCALE[0])
        page.set_default_timeout(120_000)
        _log_in(page, url, username, password)

        def shoot(path: str, name: str, *, full_page: bool = False) -> None:
            page.goto(f"{url}{path}")
            page.screenshot(path=str(out / name), full_page=full_page)

        # The queue's "N new" line, as a page made before the demo's flags came in shows it:
        # the page asks from flag id 0 instead of its newest, then polls now (as on focus).
        page.goto(f"{url}/")
        page.evaluate(
            """() => {
                const box = document.getElementById('new-flags');
                box.dataset.url = box.dataset.url.replace(/after=\\d+/, 'after=0');
                window.dispatchEvent(new Event('focus'));
            }"""
        )
        page.wait_for_selector("#new-flags.has-new")
        page.screenshot(path=str(out / "queue-new.png"))
        shoot("/cases/", "cases.png")
        shoot(f"/cases/{DEMO_CASE}", "case.png", full_page=True)
        shoot(f"/cases/{DEMO_CASE}/references", "case-references.png", full_page=True)
        page.goto(f"{url}/dashboard/")
        page.wait_for_function("[...document.querySelectorAll('img.chart')].every(i => i.complete)")
        page.screenshot(path=str(out / "dashboard.png"), full_page=True)
        shoot("/crawls/", "crawls.png", full_page=True)
        shoot("/crawls/sites/demo", "crawl-site.png", full_page=True)
        page.locator("a[href*='/crawls/runs/']").first.click()
        page.wait_for_url(f"{url}/crawls/runs/*")
        page.screenshot(path=str(out / "crawl-run.png"), full_page=True)
        page.goto(f"{url}/checks/")
        page.fill("#urls", f"http://127.0.0.1:{port}/post/1")
        page.screenshot(path=str(out / "checks.png"))
        shoot("/sites/", "sites.png", full_page=True)
        shoot("/sites/demo/edit", "site-edit.png")
        page.click("#try-site")
        page.wait_for_selector("#try-result")
        page.locator("#try-result").scroll_into_view_if_needed()
        page.screenshot(path=str(out / "site-try.png"), full_page=True)
        page.goto(f"{url}/sites/demo/edit")
        toml = page.input_value("#site-toml")
        page.fill(
            "#site-toml",
            toml.replace('start_urls = ["', 'start_urls = ["ftp:', 1) + "\nbogus = 1\n",
        )
        page.click("#save-site")
        page.wait_for_selector("#site-problems")
        page.screenshot(path=str(out / "site-errors.png"))
        shoot("/notices/", "notices.png")
        shoot("/admin/users", "users.png", full_page=True)
        shoot("/admin/audit", "audit.png")
        shoot("/admin/digests", "digests.png", full_page=True)
        shoot("/account/", "account.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
