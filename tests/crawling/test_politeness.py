"""Politeness towards the sites crawled: robots.txt Crawl-delay, retries that back off.

Real crawls through the console script against sites served on 127.0.0.1; the spacing of
requests is measured where it matters, on the server.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping

import pytest

from crawler import db
from crawler.crawling.middlewares.retries import backoff_seconds, retry_after_seconds
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from tests.support.cli_runner import repostwatch

JPEG = "image/jpeg"


class Scripted(dict):
    """Routes answering in turn: path -> [first answer, second answer, ...]; the last repeats."""

    def __init__(self, script: Mapping[str, list[Route]]):
        super().__init__({path: answers[-1] for path, answers in script.items()})
        self.script = {path: list(answers) for path, answers in script.items()}
        self.lock = threading.Lock()

    def get(self, path, default=None):
        with self.lock:
            answers = self.script.get(path)
            if answers and len(answers) > 1:
                return answers.pop(0)
        return super().get(path, default)


class Slow(dict):
    """Routes that take ``seconds`` to answer, counting the most requests handled at once."""

    def __init__(self, routes: Mapping[str, Route], seconds: float):
        super().__init__(routes)
        self.seconds = seconds
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def get(self, path, default=None):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(self.seconds)
        with self.lock:
            self.in_flight -= 1
        return super().get(path, default)


def _serve(routes: Mapping[str, Route]) -> LocalSite:
    site = LocalSite({})
    site.routes = routes  # type: ignore[assignment]
    return site


#: The gaps are timed where the requests arrive, not where Scrapy sends them: on a loaded
#: machine (CI runs the suite in four processes beside Chromium) two consecutive requests can
#: take their way to the server's thread a couple of hundred milliseconds apart, which shortens
#: one gap by as much. A delay is held if no gap is shorter than this share of it.
ARRIVAL_SLACK = 0.75


def _gaps(site: LocalSite, path: str | None = None) -> list[float]:
    """Seconds between consecutive requests (to ``path``, or to any path) as the server saw them."""
    times = [when for when, asked in site.request_times if path is None or asked == path]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def _crawl(tmp_path, name: str, site: LocalSite, extra: str = "") -> tuple[dict, object]:
    """Crawl ``site`` with a site file (plus ``extra`` TOML lines); the run's stats and output."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir(exist_ok=True)
    database_url = f"sqlite:///{tmp_path}/politeness.db"
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    (sites_dir / f"{name}.toml").write_text(
        f'name = "{name}"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n{extra}'
    )
    crawl = repostwatch("crawl", name, env=env, cwd=tmp_path)
    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site=name)
        stats = json.loads(run.stats)
    engine.dispose()
    return stats, crawl


def _small_site(robots: str) -> dict[str, Route]:
    photo = samples.reencoded_jpeg("camera", quality=70, scale=0.25)
    return {
        "/robots.txt": Route(robots.encode(), "text/plain"),
        "/": html('<img src="/i/1.jpg"><img src="/i/2.jpg"><a href="/next">next</a>'),
        "/next": html('<img src="/i/3.jpg">'),
        **{f"/i/{n}.jpg": Route(photo, JPEG) for n in (1, 2, 3)},
    }


def test_robots_crawl_delay_spaces_every_request_to_the_site(tmp_path):
    with LocalSite(_small_site("User-agent: *\nCrawl-delay: 1\nAllow: /\n")) as site:
        stats, _ = _crawl(tmp_path, "slow", site)
        requested = list(site.requests)

    assert sorted(requested) == sorted(
        ["/robots.txt", "/", "/next", "/i/1.jpg", "/i/2.jpg", "/i/3.jpg"]
    )
    gaps = _gaps(site)
    assert len(gaps) == 5
    assert min(gaps) >= ARRIVAL_SLACK * 1.0, gaps  # AutoThrottle is on, never going below it
    assert stats["repostwatch/robots/crawl_delay"] == 1.0


def test_without_crawl_delay_the_same_site_is_crawled_at_full_speed(tmp_path):
    """The control for the test above: the spacing comes from Crawl-delay, nothing else."""
    with LocalSite(_small_site("User-agent: *\nAllow: /\n")) as site:
        stats, _ = _crawl(tmp_path, "fast", site)
    assert len(site.requests) == 6
    assert min(_gaps(site)) < 0.5
    assert "repostwatch/robots/crawl_delay" not in stats


def test_crawl_delay_is_ignored_with_robots_txt(tmp_path):
    with LocalSite(_small_site("User-agent: *\nCrawl-delay: 5\n")) as site:
        stats, _ = _crawl(
            tmp_path,
            "ignored",
            site,
            'obey_robots = false\nrobots_reason = "test: robots.txt is not obeyed"\n',
        )
    assert "/robots.txt" not in site.requests and len(site.requests) == 5
    assert min(_gaps(site)) < 0.5
    assert "repostwatch/robots/crawl_delay" not in stats


def test_download_delay_is_the_smallest_time_between_two_requests(tmp_path):
    """The site file's delay spaces every request (at full speed they are milliseconds apart:
    test_without_crawl_delay_the_same_site_is_crawled_at_full_speed). That Scrapy's random
    jitter, which would go down to half the delay, is off is asserted on the settings in
    test_autothrottle_is_on_unless_the_site_file_turns_it_off.
    """
    with LocalSite(_small_site("User-agent: *\nAllow: /\n")) as site:
        _crawl(tmp_path, "spaced", site, "download_delay = 1.0\n")
    gaps = _gaps(site)
    assert len(gaps) == 5
    assert min(gaps) >= ARRIVAL_SLACK * 1.0, gaps  # AutoThrottle is on, never going below it


def _site_settings(tmp_path, extra: str = ""):
    """The Scrapy settings a crawl of a site file (plus ``extra`` TOML lines) runs with."""
    from scrapy.crawler import Crawler

    from crawler.crawling.process import project_settings
    from spiders.site import SiteSpider

    path = tmp_path / "tuned.toml"
    path.write_text(f'name = "tuned"\nstart_urls = ["http://127.0.0.1:9/"]\n{extra}')
    crawler = Crawler(SiteSpider, project_settings())
    SiteSpider.from_crawler(crawler, site=str(path))
    return crawler


@pytest.mark.parametrize(("extra", "throttled"), [("", True), ("autothrottle = false\n", False)])
def test_autothrottle_is_on_unless_the_site_file_turns_it_off(tmp_path, extra, throttled):
    from scrapy.exceptions import NotConfigured
    from scrapy.extensions.throttle import AutoThrottle

    crawler = _site_settings(tmp_path, f"download_delay = 2.5\n{extra}")
    assert crawler.settings.getbool("AUTOTHROTTLE_ENABLED") is throttled
    if throttled:  # Scrapy builds the extension from these settings, or declines to
        assert AutoThrottle.from_crawler(crawler).target_concurrency > 0
    else:
        with pytest.raises(NotConfigured):
            AutoThrottle.from_crawler(crawler)
    assert crawler.settings.getfloat("DOWNLOAD_DELAY") == 2.5
    assert crawler.settings.getfloat("DOWNLOAD_DELAY_JITTER") == 0.0


@pytest.mark.parametrize("concurrency", [1, 3])
def test_site_concurrency_caps_the_requests_in_flight(tmp_path, concurrency):
    photo = samples.reencoded_jpeg("coins", quality=70, scale=0.25)
    routes = {
        "/": html("".join(f'<img src="/i/{n}.jpg">' for n in range(6))),
        **{f"/i/{n}.jpg": Route(photo, JPEG) for n in range(6)},
    }
    slow = Slow(routes, seconds=0.3)
    with _serve(slow) as site:
        _crawl(tmp_path, "busy", site, f"concurrency = {concurrency}\nautothrottle = false\n")
    assert len(site.requests) == 8  # robots.txt, the page, 6 photos
    assert slow.most_in_flight == concurrency


# --- retries ----------------------------------------------------------------------------------


def _unavailable(status: int = 503, retry_after: str | None = None) -> Route:
    headers = (("Retry-After", retry_after),) if retry_after else ()
    return Route(b"try again later", "text/plain", status, headers)


FLAKY_SITE = {
    "/": [
        html(
            '<a href="/flaky">a</a><a href="/limited">b</a><a href="/too-long">c</a>'
            '<a href="/down">d</a><img src="/img/down.jpg">'
        )
    ],
    "/flaky": [_unavailable(), _unavailable(), html("<p>back</p>")],
    "/limited": [_unavailable(429, retry_after="1"), html("<p>thanks for waiting</p>")],
    "/too-long": [_unavailable(429, retry_after="3600")],
    "/down": [_unavailable(500)],
    "/img/down.jpg": [_unavailable(503)],
}


@pytest.fixture(scope="module")
def flaky_crawl(tmp_path_factory):
    """One crawl of a site that fails in every way; each test below checks one of them."""
    tmp_path = tmp_path_factory.mktemp("flaky")
    with _serve(Scripted(FLAKY_SITE)) as site:
        stats, crawl = _crawl(
            tmp_path, "flaky", site, "retries = 2\nretry_backoff = 0.5\nretry_backoff_max = 30\n"
        )
    return site, stats, crawl


def test_a_503_twice_then_ok_is_retried_with_growing_waits(flaky_crawl):
    site, stats, _ = flaky_crawl
    assert site.requests.count("/flaky") == 3
    first, second = _gaps(site, "/flaky")
    assert first >= ARRIVAL_SLACK * 0.5  # retry_backoff
    assert second >= ARRIVAL_SLACK * 1.0  # twice that
    assert second > first
    assert stats["repostwatch/pages"] == 3  # /, /flaky and /limited in the end


def test_a_429_waits_what_retry_after_asks(flaky_crawl):
    site, _, _ = flaky_crawl
    assert site.requests.count("/limited") == 2
    (gap,) = _gaps(site, "/limited")
    assert gap >= ARRIVAL_SLACK * 1.0  # Retry-After: 1, longer than the 0.5 s backoff


def test_a_retry_after_longer_than_the_site_waits_gives_up_at_once(flaky_crawl):
    site, stats, _ = flaky_crawl
    assert site.requests.count("/too-long") == 1
    assert stats["repostwatch/errors/retry_after_too_long"] == 1


def test_what_always_fails_is_given_up_after_the_retries_and_counted_by_kind(flaky_crawl):
    site, stats, _ = flaky_crawl
    assert site.requests.count("/down") == 3  # the first try and 2 retries
    assert site.requests.count("/img/down.jpg") == 3
    first, second = _gaps(site, "/down")
    assert first >= ARRIVAL_SLACK * 0.5 and second >= ARRIVAL_SLACK * 1.0
    assert stats["repostwatch/errors/http_500"] == 1  # the page
    assert stats["repostwatch/errors/http_503"] == 1  # the image
    assert stats["repostwatch/media/failed/http_503"] == 1
    assert stats["retry/max_reached"] == 2
    assert stats["retry/count"] == 2 + 1 + 2 + 2  # /flaky, /limited, /down, /img/down.jpg


def test_retry_after_and_backoff_arithmetic():
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("Wed, 25 Nov 2026 00:01:00 GMT", now=1795564800.0) == 60.0
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
    assert [backoff_seconds(n, 0.5, 3.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
