"""Trying a site before saving it (crawler/sites/trying.py and its worker,
crawler/crawling/site_try.py): the start pages crawled once through the crawl's guard, their
media shown by kind and the links the follow rules would take, nothing else fetched or stored.
The private-network refusal is tested through the CLI and the web app (tests/cli/test_sites_try.py,
tests/review/test_sites_web.py)."""

from __future__ import annotations

import time

from crawler.demo.localsite import LocalSite, Route, html
from crawler.sites import parse_site, trying
from crawler.sites.trying import TriedMedia, try_site, worker_environment

PAGE = (
    '<img src="/m/1.jpg"><video src="/v/a.mp4" poster="/m/poster.png"></video>'
    '<a href="/post/2">next</a><a href="/post/3">hidden</a><a href="https://else.example/">x</a>'
)


def _routes() -> dict[str, Route]:
    return {"/": html(PAGE), "/post/2": html('<img src="/m/2.jpg">')}


def _site(url: str, *, top: str = "") -> str:
    return (
        f'name = "board"\nstart_urls = ["{url}/"]\nallow_private_network = true\n{top}'
        '[follow]\nmax_depth = 2\ndeny = ["/post/3"]\n'
    )


def test_a_try_shows_media_by_kind_and_the_links_it_would_follow_and_fetches_nothing_else():
    with LocalSite(_routes()) as site:
        result = try_site(parse_site(_site(site.url)), time_limit=20)
        gets = [path for method, path, _ in site.exchanges if method == "GET"]
    assert result.ok and result.problem is None and not result.warnings
    (page,) = result.pages
    assert page.url == f"{site.url}/"
    assert page.media == [
        TriedMedia(f"{site.url}/m/1.jpg", "image"),
        TriedMedia(f"{site.url}/v/a.mp4", "video"),
    ]
    assert page.previews == [TriedMedia(f"{site.url}/m/poster.png", "poster")]
    assert page.follow == [f"{site.url}/post/2"]  # deny and other domains left out
    # The start page and robots.txt only: no link followed, no media downloaded.
    assert sorted(gets) == ["/", "/robots.txt"]


def test_a_browser_site_is_tried_in_the_browser():
    script = (
        '<div id="g"></div><script>document.getElementById("g").innerHTML = '
        '\'<img src="/m/js.jpg"><a href="/p/2">n</a>\';</script>'
    )
    with LocalSite({"/": html(script)}) as site:
        text = _site(site.url, top='render = "browser"\n')
        result = try_site(parse_site(text), time_limit=30)
    assert result.ok
    (page,) = result.pages
    # Written by the page's script: only a rendered page has them.
    assert page.media == [TriedMedia(f"{site.url}/m/js.jpg", "image")]
    assert page.follow == [f"{site.url}/p/2"]


def test_a_try_that_outlasts_its_time_limit_is_stopped(monkeypatch):
    monkeypatch.setattr(trying, "GRACE_SECONDS", 0.0)
    config = parse_site('name = "board"\nstart_urls = ["https://board.example/"]\n')
    started = time.monotonic()
    result = try_site(config, time_limit=0.2)
    assert time.monotonic() - started < 5
    assert result.problem == "the try did not end within 0.2 seconds and was stopped"
    assert not result.ok


def test_the_worker_gets_neither_the_database_nor_a_secret():
    env = worker_environment(
        {
            "PATH": "/bin",
            "REPOSTWATCH_DATABASE_URL": "postgresql://x",
            "REPOSTWATCH_SECRET_KEY": "s",
            "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": "k",
            "REPOSTWATCH_USER_AGENT_NOTE": "kept",
        },
        REPOSTWATCH_CHROMIUM="/opt/chromium",
    )
    assert env == {
        "PATH": "/bin",
        "REPOSTWATCH_USER_AGENT_NOTE": "kept",
        "REPOSTWATCH_SITES_SOURCE": "",
        "REPOSTWATCH_DISTRIBUTED": "0",
        "REPOSTWATCH_CHROMIUM": "/opt/chromium",
    }
