"""JavaScript sites (render = "browser"): real Chromium, real crawls through the console script.

The site (tests/sites/jsgallery.py) builds its gallery with JavaScript, appends photos on
scroll and hides some behind an age gate; an HTML crawl of it finds nothing. The request guard
and the page's report are also tested on their own, without a browser.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import pickle
import re
import threading
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from crawler.demo import samples
from crawler.sites import DEFAULT_BLOCK_HOSTS, parse_site
from spiders import browser
from tests.sites import jsgallery
from tests.support.cli_runner import repostwatch
from tests.support.processes import command_line, descendants


# --- a crawl and the processes it starts -----------------------------------------------------
class ProcessWatcher:
    """Records the command lines of every process started below this one, while active."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.seen: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ProcessWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for pid in descendants(os.getpid()):
                if pid not in self.seen and (command := command_line(pid)):
                    self.seen[pid] = command
            self._stop.wait(self.interval)

    def matching(self, word: str) -> dict[int, str]:
        return {pid: cmd for pid, cmd in self.seen.items() if word in cmd}


def _alive(pid: int, command: str) -> bool:
    return command_line(pid) == command


def _final_stats(stderr: str) -> dict[str, object]:
    """The stats Scrapy dumps when the crawl closes."""
    dump = stderr.rsplit("Dumping Scrapy stats:", 1)[1]
    text = dump[dump.index("{") : dump.index("}") + 1]
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", text)
    return ast.literal_eval(text)


@pytest.fixture
def dead_url(refused_port) -> str:
    """A page URL on 127.0.0.1 that refuses connections for the whole test."""
    return f"http://127.0.0.1:{refused_port()}/mirror"


@pytest.fixture
def workdir(tmp_path):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    return tmp_path, sites_dir


def _register(env: dict[str, str], cwd: Path) -> None:
    repostwatch("db", "upgrade", env=env, cwd=cwd)
    photos = [samples.photo_path(name) for name in jsgallery.REFERENCES]
    repostwatch("refs", "add", "--case", jsgallery.CASE, *photos, env=env, cwd=cwd)


@pytest.mark.any_database
def test_javascript_gallery_scroll_and_age_gate_are_crawled(database_url, workdir, dead_url):
    tmp_path, sites_dir = workdir
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    _register(env, tmp_path)
    with jsgallery.RecordingSite(jsgallery.routes(dead_url)) as site:
        (sites_dir / "jsgallery.toml").write_text(jsgallery.site_file("jsgallery", site.url))
        with ProcessWatcher() as watcher:
            crawl = repostwatch("crawl", "jsgallery", env=env, cwd=tmp_path)

    flags = json.loads(repostwatch("flags", "list", "--json", env=env, cwd=tmp_path).stdout)
    flagged = {urlsplit(f["media_url"]).path: urlsplit(f["page_url"]).path for f in flags}
    # Every repost was found: built by script, set as a CSS background (seen only in the
    # browser's network traffic), appended by the 2nd and 3rd scroll, behind the age gate.
    assert flagged == {
        "/img/js/a.jpg": "/",
        "/img/bg/wall.jpg": "/",
        "/img/s/2.jpg": "/scroll",
        "/img/s/3.jpg": "/scroll",
        "/img/g/behind.jpg": "/gate",
    }
    assert all(f["case"] == jsgallery.CASE and f["site"] == "jsgallery" for f in flags)
    # Scrapy's downloader (not the browser) fetched every media file exactly once, unrelated
    # ones too, and nothing else but robots.txt: pages are the browser's.
    by_scrapy = Counter(site.fetched_by_scrapy())
    assert by_scrapy == Counter(["/robots.txt", *jsgallery.MEDIA])
    by_browser = set(site.fetched_by_browser())
    assert by_browser >= jsgallery.PAGES | {"/missing", "/api/more?page=3"}
    assert by_browser.isdisjoint(jsgallery.NEVER_REQUESTED)  # a font, a blocked host
    assert by_browser.isdisjoint(jsgallery.MEDIA)  # recorded and stopped: Scrapy fetches them
    assert jsgallery.NEVER_REQUESTED.isdisjoint(path for path, _ in site.fetches)
    assert "pages           4" in crawl.stdout
    assert "media hashed    10 " in crawl.stdout and "5 new" in crawl.stdout

    stats = _final_stats(crawl.stderr)
    assert stats["repostwatch/browser/pages"] == 4
    assert stats["repostwatch/browser/clicked"] == 1  # the gate, once: the cookie stays
    # The preload is seen only in network traffic; the inline CSS background is read from the
    # rendered DOM too.
    assert stats["repostwatch/browser/media_from_network"] == 1
    assert stats["repostwatch/browser/wait_for_timeout"] == 1  # /stuck
    assert stats["repostwatch/browser/blocked/host"] == 1
    assert stats["repostwatch/browser/blocked/font"] >= 4
    assert stats["repostwatch/browser/media_not_loaded"] >= len(jsgallery.MEDIA)
    # Every page was closed: rendered, 404, timed out waiting. The dead link is on another port
    # of this machine, outside the site's private opt-in (its own host and port): refused
    # before Chromium is asked.
    assert stats["repostwatch/refused/private_network"] >= 1
    assert stats["playwright/page_count"] == 5
    assert stats["playwright/page_count/closed"] == 5
    assert stats["playwright/browser_count"] == 1
    chromium = watcher.matching("chromium")
    assert chromium, "the crawl ran Chromium"
    assert not [pid for pid, cmd in chromium.items() if _alive(pid, cmd)], "Chromium outlived it"


@pytest.mark.any_database
@pytest.mark.parametrize("load_media", [False, True])
def test_a_recrawl_of_an_unchanged_browser_site_costs_one_conditional_request_per_media(
    database_url, workdir, load_media, dead_url
):
    tmp_path, sites_dir = workdir
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    _register(env, tmp_path)
    extra = "load_media = true" if load_media else ""
    with jsgallery.RecordingSite(jsgallery.routes(dead_url)) as site:
        (sites_dir / "jsgallery.toml").write_text(
            jsgallery.site_file("jsgallery", site.url, browser=extra)
        )
        repostwatch("crawl", "jsgallery", env=env, cwd=tmp_path)
        first_fetches, first_exchanges = len(site.fetches), len(site.exchanges)
        again = repostwatch("crawl", "jsgallery", env=env, cwd=tmp_path)
        fetches = site.fetches[first_fetches:]
        exchanges = site.exchanges[first_exchanges:]

    assert "media hashed    0, 10 unchanged (from cache)" in again.stdout
    assert "0 new, 5 seen again" in again.stdout
    by_scrapy = Counter(path for path, by_browser in fetches if not by_browser)
    by_browser = Counter(path for path, by_browser in fetches if by_browser)
    # The crawler: one conditional request per media, answered 304.
    assert {path: by_scrapy[path] for path in jsgallery.MEDIA} == dict.fromkeys(jsgallery.MEDIA, 1)
    media_statuses = [status for _, path, status in exchanges if path in jsgallery.MEDIA]
    if load_media:  # what a site file opting in costs: Chromium fetches each one again
        assert set(by_browser) >= set(jsgallery.MEDIA)
        assert len(media_statuses) >= 2 * len(jsgallery.MEDIA)
    else:  # the browser asked for none of them: only the crawler's 304s
        assert not set(by_browser) & set(jsgallery.MEDIA)
        assert media_statuses == [304] * len(jsgallery.MEDIA)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_distributed_crawl_renders_pages_queued_as_json_in_redis(
    database_url, workdir, redis_url, dead_url
):
    # The page requests (their browser callbacks and page method) go through the Redis queue
    # as JSON (crawler/distributed/serializer.py) and still render and scroll.
    tmp_path, sites_dir = workdir
    prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_REDIS_URL": redis_url,
        "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
    }
    _register(env, tmp_path)
    try:
        with jsgallery.RecordingSite(jsgallery.routes(dead_url)) as site:
            (sites_dir / "jsgallery.toml").write_text(jsgallery.site_file("jsgallery", site.url))
            crawl = repostwatch("crawl", "jsgallery", "--distributed", env=env, cwd=tmp_path)
    finally:
        with redis.Redis.from_url(redis_url) as client:
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)

    flags = json.loads(repostwatch("flags", "list", "--json", env=env, cwd=tmp_path).stdout)
    flagged = {urlsplit(f["media_url"]).path for f in flags}
    # Built by script, and seen only in the browser's network traffic (init_page's recording):
    # the (timing-bound) scroll and gate pages are the lone crawl's test above.
    assert flagged >= {"/img/js/a.jpg", "/img/bg/wall.jpg"}
    stats = _final_stats(crawl.stderr)
    assert stats["scheduler/dequeued/redis"] >= 4
    assert stats["repostwatch/browser/pages"] == 4
    # The preload exists only in the browser's network traffic: Scrapy fetched it all the same.
    # (How many more network-only media a page shows depends on when its scripts ran, here
    # with the scroll and the gate: at least the preload.)
    assert stats["repostwatch/browser/media_from_network"] >= 1
    assert "/img/preload/next.jpg" in site.fetched_by_scrapy()
    assert stats["repostwatch/browser/scrolls"] >= 1  # prepare_page ran with the site's options
    assert "repostwatch/refused/unserializable" not in stats


def test_html_crawl_of_a_javascript_site_starts_no_browser(workdir, dead_url):
    tmp_path, sites_dir = workdir
    env = {
        "REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'repostwatch.db'}",
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    with jsgallery.RecordingSite(jsgallery.routes(dead_url)) as site:
        text = jsgallery.site_file("plain", site.url, render="html")
        (sites_dir / "plain.toml").write_text(text)
        with ProcessWatcher() as watcher:
            crawl = repostwatch("crawl", "plain", env=env, cwd=tmp_path)

    assert "pages           4" in crawl.stdout  # /, /scroll, /gate, /stuck (/missing: 404)
    # The photos only exist after JavaScript runs, but for the one a script names ('/img/s/0.jpg'
    # on /scroll), which the page's own scripts are read for.
    assert "media hashed    1 " in crawl.stdout
    assert [p for p in site.fetched_by_scrapy() if p.startswith("/img/")] == ["/img/s/0.jpg"]
    assert site.fetched_by_browser() == []
    assert watcher.seen, "the watcher saw the crawl's processes"
    assert watcher.matching("chromium") == {}
    assert watcher.matching("playwright") == {}  # not even Playwright's driver
    assert not any(key.startswith("playwright/") for key in _final_stats(crawl.stderr))


def test_missing_chromium_ends_the_crawl_with_a_clear_error(workdir, dead_url):
    tmp_path, sites_dir = workdir
    env = {
        "REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'repostwatch.db'}",
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
        "REPOSTWATCH_CHROMIUM": str(tmp_path / "no-chromium"),
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    with jsgallery.RecordingSite(jsgallery.routes(dead_url)) as site:
        (sites_dir / "js.toml").write_text(jsgallery.site_file("js", site.url))
        crawl = repostwatch("crawl", "js", env=env, cwd=tmp_path, check=False)
    assert crawl.returncode == 1
    assert "the crawl ended with 'browser_unavailable'" in crawl.stderr
    assert f'render = "browser" needs Chromium, and {tmp_path / "no-chromium"}' in crawl.stderr
    assert "make services" in crawl.stderr
    assert site.fetches == []


# --- the request guard, without a browser ----------------------------------------------------
def _site_options(extra: str = ""):
    text = 'name = "js"\nstart_urls = ["https://js.example/"]\nrender = "browser"\n' + extra
    return parse_site(text, "js.toml").browser_options


def _options(**overrides: object) -> dict[str, object]:
    meta = browser.page_meta(_site_options(), settle_seconds=1)
    return {**meta[browser.OPTIONS_KEY], **overrides}


def _refusal(url: str, resource_type: str = "image", *, public: bool = True, **options: object):
    async def check(host: str, port: int) -> str | None:
        return None if public else "refused/private_network"

    return asyncio.run(browser.refusal(url, resource_type, _options(**options), check))


def test_fonts_and_analytics_hosts_are_blocked_by_default():
    assert _refusal("https://js.example/f.woff2", "font") == "browser/blocked/font"
    assert _refusal("https://www.google-analytics.com/g/collect", "fetch") == (
        "browser/blocked/host"
    )
    assert _refusal("https://stats.g.doubleclick.net/x.gif") == "browser/blocked/host"
    assert "googletagmanager.com" in DEFAULT_BLOCK_HOSTS
    # Images, videos, scripts and the page itself load.
    for resource_type in ("image", "media", "script", "document", "xhr"):
        assert _refusal("https://cdn.js.example/a.jpg", resource_type) is None
    # A site file can change both lists.
    assert _refusal("https://js.example/f.woff2", "font", block=[]) is None
    assert _refusal("https://ads.js.example/x.js", "script", block_hosts=["js.example"]) == (
        "browser/blocked/host"
    )


def test_the_browser_never_reaches_private_addresses_or_other_schemes():
    assert _refusal("http://intranet.js.example/a.jpg", public=False) == ("refused/private_network")
    assert _refusal("file:///etc/passwd", "document") == "refused/scheme"
    assert _refusal("ftp://js.example/a.jpg") == "refused/scheme"
    assert _refusal("data:image/gif;base64,R0lGOD", public=False) is None  # no network


def test_addresses_are_judged_like_the_downloader_guard():
    from crawler import network
    from crawler.crawling.middlewares import private_network as middlewares

    # One rule for both: the browser guard and the downloader middleware use crawler.network.
    assert browser.checked_addresses is middlewares.checked_addresses is network.checked_addresses
    assert network.is_public_address(asyncio.run(network.resolve("93.184.215.14", 80))[0])
    assert not network.is_public_address(
        asyncio.run(network.resolve("[::ffff:192.168.0.1]", 80))[0]
    )


def test_the_page_guard_refuses_names_and_other_private_ports():
    """init_page's check: the site's own host and port only, never a loopback name."""

    class Page:
        async def route(self, pattern, handler):
            self.guard = handler

        def on(self, event, handler):
            pass

    class Route:
        aborted = continued = False

        async def abort(self, code):
            self.aborted = True

        async def fallback(self):
            self.continued = True

    class BrowserRequest:
        def __init__(self, url):
            self.url, self.resource_type = url, "fetch"

    meta = browser.page_meta(
        _site_options(), private_origins=[("127.0.0.1", 8080)], settle_seconds=1
    )

    class Request:
        pass

    request = Request()
    request.meta = meta
    page = Page()

    async def guard(url: str) -> bool:
        route = Route()
        await page.guard(route, BrowserRequest(url))
        return route.continued

    async def run() -> list[bool]:
        await browser.init_page(page, request)
        return [
            await guard(url)
            for url in (
                "http://127.0.0.1:8080/api",
                "http://127.0.0.1:6800/schedule.json",
                "http://x.localhost:8080/",
                "http://nothing-here.invalid/",
            )
        ]

    assert asyncio.run(run()) == [True, False, False, False]
    assert meta[browser.REFUSED_KEY] == {
        "refused/private_network": 1,
        "refused/host_name": 1,
        "refused/unresolvable": 1,
    }


def test_page_requests_stay_serializable_for_disk_and_redis_queues():
    options = _site_options("[browser]\nscroll = 3\nclick = '#enter'\n")
    meta = browser.page_meta(options, settle_seconds=2.0)
    copy = pickle.loads(pickle.dumps(meta))
    assert copy["playwright"] is True
    assert copy["playwright_page_init_callback"] is browser.init_page
    assert copy[browser.OPTIONS_KEY]["click"] == ["#enter"]
    assert copy[browser.OPTIONS_KEY]["scroll"] == 3
    assert "playwright_include_page" not in copy  # scrapy-playwright closes every page


def test_page_report_reads_what_the_page_recorded():
    meta = browser.page_meta(_site_options(), settle_seconds=0.5)
    meta["playwright_page_methods"][0].result = {
        "clicked": ["#enter"],
        "wait_for": "timeout",
        "scrolls": 2,
    }
    meta[browser.NETWORK_MEDIA_KEY] = ["https://js.example/a.jpg"]
    meta[browser.REFUSED_KEY] = Counter({"browser/blocked/font": 2})
    report = browser.page_report(meta)
    assert report == browser.PageReport(
        network_media=["https://js.example/a.jpg"],
        refused={"browser/blocked/font": 2},
        clicked=["#enter"],
        wait_for="timeout",
        scrolls=2,
        guarded=True,
    )
    assert browser.page_report({}).guarded is False


def test_chromium_problem_names_the_path_and_the_fix(tmp_path):
    assert browser.chromium_problem({"executable_path": "/usr/bin/chromium"}) is None
    problem = browser.chromium_problem({"executable_path": str(tmp_path / "nope")})
    assert str(tmp_path / "nope") in problem and "make services" in problem
