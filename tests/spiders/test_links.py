"""PageLinks: which links become page requests, for the site's pages and search results alike."""

from __future__ import annotations

import logging

from scrapy.utils.test import get_crawler

from spiders.links import PageLinks
from spiders.traps import TrapGuard

FULL_SIZE = "http://board.example/file/1"


def _links(max_pages: int) -> PageLinks:
    traps = TrapGuard(
        max_url_length=80, max_repeated_segments=2, max_query_variants=2, max_calendar_pages=2
    )
    return PageLinks(
        domains=["board.example"],
        max_pages=max_pages,
        traps=traps,
        is_media_link=lambda url: url == FULL_SIZE,
        stats=get_crawler().stats,
        logger=logging.getLogger(__name__),
    )


def test_a_page_is_requested_once_and_only_on_the_site():
    links = _links(max_pages=10)
    links.start("http://board.example/")
    assert not links.admit("http://board.example/")  # the start URL is requested already
    assert links.admit("http://board.example/post/1")
    assert not links.admit("http://board.example/post/1")
    assert links.admit("https://cdn.board.example/post/2")  # a subdomain is the site
    for elsewhere in ("http://other.example/post/3", "ftp://board.example/post/3", "mailto:x@y"):
        assert not links.is_on_site(elsewhere) and not links.admit(elsewhere)
    assert not links.admit(FULL_SIZE)  # a full-size media file: hashed, not crawled
    assert links.requested == {
        "http://board.example/",
        "http://board.example/post/1",
        "https://cdn.board.example/post/2",
    }
    assert links.stats.get_stats() == {}  # none of these is a counted refusal


def test_each_refusal_is_counted_by_its_reason():
    links = _links(max_pages=3)
    links.start("http://board.example/")
    assert not links.admit("http://board.example/post/1", too_deep=True)
    assert not links.admit("http://board.example/a/b/a/b/a/b/a")  # a trap
    assert links.admit("http://board.example/post/1")
    assert links.admit("http://board.example/post/2")
    assert not links.admit("http://board.example/post/3")  # max_pages: 3 requested
    assert links.stats.get_stats() == {
        "repostwatch/refused/max_depth": 1,
        "repostwatch/refused/repeated_segments": 1,
        "repostwatch/refused/max_pages": 1,
    }
