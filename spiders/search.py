"""Search crawls: run case keywords through a site's own search and read the result pages.

The ``[search]`` table of a site file says how (:class:`~crawler.sites.SearchConfig`): a GET URL
template with ``{query}``, or a form on a page. The keywords themselves come from the database, read
by the crawl layer (``repostwatch crawl SITE --search``) and handed to the spider as its
``keywords`` argument, or, for ``-a search=1`` (scheduled search crawls on scrapyd, where job
arguments are stored and logged), loaded inside the crawl by
crawler/crawling/extensions/search_keywords.py on spider_opened: spiders never read the database.

Keywords are victims' names and nicknames, so they are never put into stats or INFO logs; only
the flags they lead to record them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import scrapy
from scrapy.http import FormRequest, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.statscollectors import StatsCollector
from w3lib.url import safe_url_string

from crawler.keywords import keyword_spelling
from crawler.sites import QUERY_PLACEHOLDER, SearchConfig
from crawler.stats import (
    REFUSED_MAX_RESULT_PAGES,
    SEARCH_FORM_NOT_FOUND,
    SEARCH_KEYWORDS,
    SEARCH_REQUESTS,
    SEARCH_RESULT_PAGES,
    SEARCH_RESULTS,
    SEARCH_UNENCODABLE,
)
from spiders.links import PageLinks

#: A spider method a request calls back with its response.
Callback = Callable[..., Any]

#: Request meta keys: the keyword that led to a page, and whether the page is a result page.
KEYWORD = "repostwatch_keyword"
RESULT_PAGE = "repostwatch_result_page"  # 1, 2, ...: the result page's number


class KeywordNotEncodable(ValueError):
    """The keyword has characters the site's encoding cannot express (e.g. Thai in EUC-KR)."""


def keywords_argument(value: object) -> list[str]:
    """The spider's ``keywords`` argument: a list of strings, or a JSON array of strings (as
    ``scrapy crawl site -a site=NAME -a keywords='["하늘별", "달빛고양이"]'`` passes it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(
                f'keywords must be a JSON array of strings, e.g. -a keywords=\'["a", "b"]\', '
                f"not {value!r}"
            ) from None
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | dict):
        raise ValueError("keywords must be a list of strings")
    keywords: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"keywords must be strings, not {item!r}")
        keyword = keyword_spelling(item)  # as the database keeps it
        if keyword and keyword not in keywords:
            keywords.append(keyword)
    return keywords


def search_argument(value: object) -> bool:
    """The spider's ``search`` argument (``-a search=1``): search for the active case keywords,
    which the crawl loads from the database (crawler/crawling/extensions/search_keywords.py)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("", "0", "false", "no"):
        return False
    raise ValueError(f"search must be 1 or 0 (-a search=1), not {value!r}")


def encode_keyword(keyword: str, encoding: str) -> bytes:
    try:
        return keyword.encode(encoding)
    except UnicodeEncodeError:
        raise KeywordNotEncodable(f"the keyword cannot be written in {encoding}") from None


def search_url(search: SearchConfig, keyword: str) -> str:
    """The URL template with the keyword percent-encoded (from UTF-8 unless ``encoding`` says
    otherwise): as a form value (spaces as ``+``) in the query string, as a path segment
    (``/`` encoded too) in the path."""
    template = search.url
    if template is None:
        raise ValueError("this site is searched through a form, not a URL template")
    raw = encode_keyword(keyword, search.encoding or "utf-8")
    in_query = template.find("?") != -1 and template.find("?") < template.find(QUERY_PLACEHOLDER)
    encoded = quote_plus(raw, safe="") if in_query else quote(raw, safe="")
    return template.replace(QUERY_PLACEHOLDER, encoded)


def search_meta(keyword: str) -> dict[str, Any]:
    """Meta of a page a search for ``keyword`` led to: the keyword, and no ``Referer`` on any
    request made from it (Scrapy's RefererMiddleware reads ``referrer_policy``), since a result
    page's URL holds the keyword and pages it leads to are about the victim."""
    return {KEYWORD: keyword, "referrer_policy": "no-referrer"}


def keyword_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Meta that carries a page's keyword (``meta``) on to the pages it links to."""
    return search_meta(meta[KEYWORD]) if KEYWORD in meta else {}


class SiteSearch:
    """The searches of a search crawl, owned by :class:`~spiders.site.SiteSpider`
    (``spider.search``).

    Each keyword is searched once (the URL template, or the form submitted with it); a result
    page yields its own media, its result links (followed ``follow_depth`` links deep, within
    the site's follow rules) and its next result page, up to ``max_result_pages``. Search and
    result pages are deduplicated within a run only (Scrapy's dupefilter, or a distributed
    run's own): every run searches again, and workers joining a run do not repeat its searches.
    Every page reached carries its keyword in ``meta[KEYWORD]``, and so does its MediaPage.

    The spider gives it the site's ``[search]`` table, its page rules (``links``) and result
    link extractor, the crawl's stats and its logger, and its request factory: the meta of a page
    and of a keyword's result page, and the callbacks, which stay spider methods so that a
    distributed crawl can queue the requests (crawler/distributed/serializer.py).
    """

    def __init__(
        self,
        *,
        search: SearchConfig,
        site_name: str,
        source: str,
        links: PageLinks,
        result_links: LinkExtractor,
        stats: StatsCollector,
        logger: Any,
        page_meta: Callable[[], dict[str, Any]],
        result_meta: Callable[[str, int], dict[str, Any]],
        parse: Callback,
        parse_form: Callback,
    ):
        self.config = search
        self.site_name = site_name
        self.source = source  # the site file (or the site's name), for errors
        self.links = links
        self.result_links = result_links
        self.stats = stats
        self.logger = logger
        self.page_meta = page_meta
        self.result_meta = result_meta
        self.parse = parse
        self.parse_form = parse_form

    def requests(self, keywords: list[str]) -> Iterator[scrapy.Request]:
        """The first requests of a search crawl for ``keywords``."""
        self.stats.set_value(SEARCH_KEYWORDS, len(keywords))
        if not keywords:
            self.logger.warning("No keywords to search %s for", self.site_name)
            return
        if self.config.form_url is not None:
            yield scrapy.Request(
                self.config.form_url, callback=self.parse_form, meta=self.page_meta()
            )
            return
        for number, keyword in enumerate(keywords, start=1):
            try:
                url = search_url(self.config, keyword)
            except KeywordNotEncodable as exc:
                self._not_encodable(number, len(keywords), exc)
                continue
            self.stats.inc_value(SEARCH_REQUESTS)
            yield scrapy.Request(url, callback=self.parse, meta=self.result_meta(keyword, 1))

    def form_requests(self, response: Response, keywords: list[str]) -> Iterator[scrapy.Request]:
        """Submit the search form on ``response`` once per keyword, as a browser would."""
        search = self.config
        field = search.field
        # The form asked for, or the first form with the query field.
        xpath = f"//form[.//*[@name={_xpath_literal(field)}]]"
        form = response.css(search.form_selector) if search.form_selector else response.xpath(xpath)
        if not form or not form[0].xpath(".//*[@name=$name]", name=field):
            self.stats.inc_value(SEARCH_FORM_NOT_FOUND)
            self.logger.error(
                "%s: search.form_url %s has no form %s with a field named %r; check "
                "search.form_selector and search.field",
                self.source,
                response.url,
                search.form_selector or "(any)",
                field,
            )
            return
        options: dict[str, Any] = {"encoding": search.encoding} if search.encoding else {}
        for number, keyword in enumerate(keywords, start=1):
            try:
                encode_keyword(keyword, search.encoding or response.encoding)
                request = FormRequest.from_response(
                    response,
                    formxpath=None if search.form_selector else xpath,
                    formcss=search.form_selector,
                    formdata={field: keyword},
                    callback=self.parse,
                    meta=self.result_meta(keyword, 1),
                    **options,
                )
            except KeywordNotEncodable as exc:
                self._not_encodable(number, len(keywords), exc)
                continue
            self.stats.inc_value(SEARCH_REQUESTS)
            yield request

    def follow_results(self, response: Response) -> Iterator[scrapy.Request]:
        """From a result page: its result links, then the next result page (within bounds)."""
        search = self.config
        keyword = response.meta[KEYWORD]
        number = response.meta[RESULT_PAGE]
        self.stats.inc_value(SEARCH_RESULT_PAGES)
        next_urls = [
            safe_url_string(response.urljoin(href), response.encoding)
            for href in (link.attrib.get("href") for link in response.css(search.next_page))
            if href
        ]
        if search.follow_depth > 0:
            for link in self.result_links.extract_links(response):
                url = link.url
                if url in next_urls or url == response.url:  # pagination is not a result
                    continue
                if not self.links.admit(url):
                    continue
                self.stats.inc_value(SEARCH_RESULTS)
                yield response.follow(
                    link, callback=self.parse, meta=self.page_meta() | search_meta(keyword)
                )
        if not next_urls or not self.links.is_on_site(next_urls[0]):
            return
        if number >= search.max_result_pages:
            self.stats.inc_value(REFUSED_MAX_RESULT_PAGES)
            return
        # response.follow: a link with raw non-ASCII text is encoded as the page is (EUC-KR on a
        # legacy board), as a browser does.
        yield response.follow(
            next_urls[0],
            callback=self.parse,
            meta=self.result_meta(keyword, number + 1),
        )

    def _not_encodable(self, number: int, total: int, exc: KeywordNotEncodable) -> None:
        self.stats.inc_value(SEARCH_UNENCODABLE)
        self.logger.warning(
            "Keyword %d of %d not searched on %s: %s (search.encoding)",
            number,
            total,
            self.site_name,
            exc,
        )


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    parts = text.split("'")
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in parts) + ")"
