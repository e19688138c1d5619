"""SiteSpider owns its helpers as objects, made when it opens, each given what it needs."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.sites import parse_site
from spiders.full_size import link_kind
from spiders.search import KEYWORD, RESULT_PAGE
from spiders.site import SiteSpider
from tests.sites import search as board

BASE = "http://127.0.0.1:9"


def _opened(spider: SiteSpider) -> SiteSpider:
    spider.crawler = get_crawler(SiteSpider)
    spider.spider_opened()
    return spider


def test_the_helpers_are_made_when_the_spider_opens():
    spider = SiteSpider(config=parse_site(board.site_file("board", BASE)))
    assert (spider.links, spider.full_size, spider.search) == (None, None, None)
    _opened(spider)
    stats = spider.crawler.stats
    assert spider.links.stats is spider.full_size.stats is spider.search.stats is stats
    assert spider.links.traps is spider.traps
    assert spider.search.links is spider.links  # one max_pages for pages and results
    assert spider.links.is_media_link == spider.full_size.is_media_link
    plain = _opened(SiteSpider(config=parse_site(f'name = "plain"\nstart_urls = ["{BASE}/"]\n')))
    assert plain.search is None and plain.links is not None  # no [search] table


def test_search_requests_call_back_spider_methods_so_that_they_can_be_queued():
    """A distributed crawl queues requests as JSON: their callbacks travel by method name."""
    spider = _opened(SiteSpider(config=parse_site(board.site_file("board", BASE))))
    (request,) = spider.search.requests([board.SKY_KEYWORD])
    assert request.callback == spider.parse
    assert (request.meta[KEYWORD], request.meta[RESULT_PAGE]) == (board.SKY_KEYWORD, 1)
    data = request.to_dict(spider=spider)
    assert data["callback"] == "parse"
    assert request_from_dict(data, spider=spider).callback == spider.parse
    assert spider.crawler.stats.get_value("repostwatch/search/requests") == 1

    form = parse_site(
        board.site_file("board", BASE).replace(
            f'url = "{BASE}/search?q={{query}}"', f'form_url = "{BASE}/bbs/search.php"'
        )
        + 'field = "stx"\n'
    )
    spider = _opened(SiteSpider(config=form, keywords=[board.SKY_KEYWORD]))
    (request,) = spider.search.requests(spider.keywords)
    assert request.callback == spider.parse_search_form
    assert request.to_dict(spider=spider)["callback"] == "parse_search_form"
    page = HtmlResponse(
        f"{BASE}/bbs/search.php",
        body=b'<form action="/bbs/search.php"><input name="stx"></form>',
        encoding="utf-8",
        request=request,
    )
    (search,) = spider.parse_search_form(page)
    assert search.callback == spider.parse and search.meta[KEYWORD] == board.SKY_KEYWORD


def test_full_size_links_ask_through_the_download_they_are_given():
    spider = _opened(SiteSpider(config=parse_site(board.site_file("board", BASE))))
    asked: list[Request] = []

    async def download(request: Request) -> Response:
        asked.append(request)
        return Response(request.url, headers={"Content-Type": "image/jpeg"})

    spider.full_size.download = download
    linked = [(f"{BASE}/file/1", [f"{BASE}/t/1.jpg"]), (f"{BASE}/file/2", [f"{BASE}/t/2.jpg"])]
    media = [f"{BASE}/t/1.jpg", f"{BASE}/t/2.jpg", f"{BASE}/other.jpg"]
    settled = asyncio.run(spider.full_size.settle(f"{BASE}/post/1", media, linked))
    assert settled == [f"{BASE}/file/1", f"{BASE}/file/2", f"{BASE}/other.jpg"]
    assert [(r.method, r.url) for r in asked] == [("HEAD", f"{BASE}/file/1")]  # one per kind
    assert spider.full_size.link_kinds == {link_kind(f"{BASE}/file/1"): True}
    assert not spider.links.admit(f"{BASE}/file/3")  # a media file now, not a page
    assert spider.links.admit(f"{BASE}/post/3")
    stats = spider.crawler.stats
    assert stats.get_value("repostwatch/full_size/media_links") == 1
    assert stats.get_value("repostwatch/full_size/replaced") == 2


def test_media_urls_on_an_euc_kr_board_are_what_a_browser_requests():
    """Path in UTF-8, query in the page's encoding (EUC-KR): the URL the board's server knows,
    and the one a re-check finds on the page again (tests/takedown/test_recheck.py)."""
    from crawler.items import MediaPage

    spider = _opened(SiteSpider(config=parse_site(f'name = "board"\nstart_urls = ["{BASE}/"]\n')))
    body = (
        '<html><head><meta charset="euc-kr"></head><body>'
        '<img src="/data/하늘별 사진.jpg?name=원본&amp;size=큰"></body></html>'
    ).encode("euc-kr")
    page = HtmlResponse(f"{BASE}/bbs/1", body=body, request=Request(f"{BASE}/bbs/1"))

    async def items() -> list[object]:
        return [item async for item in spider.parse(page)]

    (item,) = [i for i in asyncio.run(items()) if isinstance(i, MediaPage)]
    assert item.media_urls == [
        f"{BASE}/data/%ED%95%98%EB%8A%98%EB%B3%84%20%EC%82%AC%EC%A7%84.jpg"
        "?name=%BF%F8%BA%BB&size=%C5%AB"
    ]


def test_a_check_handed_over_as_arguments_crawls_exactly_its_pages(tmp_path):
    """How scrapyd runs a manual check: -a site=NAME -a check=URLS (one a line)."""
    (tmp_path / "board.toml").write_text(
        f'name = "board"\nstart_urls = ["{BASE}/"]\ndownload_delay = 2.5\n'
    )
    urls = [f"{BASE}/post/1", f"{BASE}/post/2"]
    spider = SiteSpider(site="board", check="\n".join(urls) + "\n", sites=str(tmp_path))
    assert (spider.site_name, spider.config.start_urls) == ("board", urls)
    assert spider.config.follow.max_depth == 0 and spider.config.schedule is None
    assert spider.config.download_delay == 2.5  # the site's own rules
    manual = SiteSpider(site="manual", check=urls[0], sites=str(tmp_path))
    assert (manual.site_name, manual.config.start_urls) == ("manual", urls[:1])
    for bad in ({"site": "board", "check": " \n"}, {"check": urls[0]}):
        with pytest.raises(ValueError):
            SiteSpider(sites=str(tmp_path), **bad)
