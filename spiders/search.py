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
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import scrapy
from scrapy.http import FormRequest, Response
from w3lib.url import safe_url_string

from crawler.keywords import keyword_spelling
from crawler.sites import QUERY_PLACEHOLDER, SearchConfig

STATS = "repostwatch"

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


class SearchCrawl:
    """The search half of :class:`~spiders.site.SiteSpider` (a mixin: it uses the spider's
    config, link rules, trap guard and page meta).

    Each keyword is searched once (the URL template, or the form submitted with it); a result
    page yields its own media, its result links (followed ``follow_depth`` links deep, within
    the site's follow rules) and its next result page, up to ``max_result_pages``. Search and
    result pages are deduplicated within a run only (Scrapy's dupefilter, or a distributed
    run's own): every run searches again, and workers joining a run do not repeat its searches.
    Every page reached carries its keyword in ``meta[KEYWORD]``, and so does its MediaPage.
    """

    keywords: list[str] | None

    def use_keywords(self, keywords: Iterable[str]) -> int:
        """Give a ``search=1`` crawl its keywords (normalised, each once); how many.

        The spider's documented hook for the crawl's own component
        (crawler/crawling/extensions/search_keywords.py), called before start() runs."""
        self.keywords = keywords_argument(list(keywords))
        return len(self.keywords)

    def search_requests(self) -> Iterator[scrapy.Request]:
        search = self.config.search
        stats = self.crawler.stats
        stats.set_value(f"{STATS}/search/keywords", len(self.keywords or ()))
        if not self.keywords:
            self.logger.warning("No keywords to search %s for", self.site_name)
            return
        if search.form_url is not None:
            yield scrapy.Request(
                search.form_url,
                callback=self.parse_search_form,
                meta=self._page_meta(),
            )
            return
        for number, keyword in enumerate(self.keywords, start=1):
            try:
                url = search_url(search, keyword)
            except KeywordNotEncodable as exc:
                self._not_encodable(number, exc)
                continue
            stats.inc_value(f"{STATS}/search/requests")
            yield scrapy.Request(url, callback=self.parse, meta=self._result_meta(keyword, 1))

    def parse_search_form(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        """Submit the search form once per keyword, as a browser would."""
        search = self.config.search
        stats = self.crawler.stats
        field = search.field
        # The form asked for, or the first form with the query field.
        xpath = f"//form[.//*[@name={_xpath_literal(field)}]]"
        form = response.css(search.form_selector) if search.form_selector else response.xpath(xpath)
        if not form or not form[0].xpath(".//*[@name=$name]", name=field):
            stats.inc_value(f"{STATS}/search/form_not_found")
            self.logger.error(
                "%s: search.form_url %s has no form %s with a field named %r; check "
                "search.form_selector and search.field",
                self.config.source or self.site_name,
                response.url,
                search.form_selector or "(any)",
                field,
            )
            return
        options: dict[str, Any] = {"encoding": search.encoding} if search.encoding else {}
        for number, keyword in enumerate(self.keywords or (), start=1):
            try:
                encode_keyword(keyword, search.encoding or response.encoding)
                request = FormRequest.from_response(
                    response,
                    formxpath=None if search.form_selector else xpath,
                    formcss=search.form_selector,
                    formdata={field: keyword},
                    callback=self.parse,
                    meta=self._result_meta(keyword, 1),
                    **options,
                )
            except KeywordNotEncodable as exc:
                self._not_encodable(number, exc)
                continue
            stats.inc_value(f"{STATS}/search/requests")
            yield request

    def follow_results(self, response: Response) -> Iterator[scrapy.Request]:
        """From a result page: its result links, then the next result page (within bounds)."""
        search = self.config.search
        stats = self.crawler.stats
        keyword = response.meta[KEYWORD]
        number = response.meta[RESULT_PAGE]
        stats.inc_value(f"{STATS}/search/result_pages")
        next_urls = [
            safe_url_string(response.urljoin(href), response.encoding)
            for href in (link.attrib.get("href") for link in response.css(search.next_page))
            if href
        ]
        if search.follow_depth > 0:
            for link in self.result_link_extractor.extract_links(response):
                url = link.url
                if url in next_urls or url == response.url:  # pagination is not a result
                    continue
                if url in self.requested or not self.is_on_site(url):
                    continue
                if self.is_media_link_kind(url):
                    continue  # a full-size file (hashed as media), not a page
                if len(self.requested) >= self.config.follow.max_pages:
                    stats.inc_value(f"{STATS}/refused/max_pages")
                    continue
                if reason := self.traps.refusal(url):
                    stats.inc_value(f"{STATS}/refused/{reason}")
                    continue
                self.requested.add(url)
                stats.inc_value(f"{STATS}/search/results")
                yield response.follow(
                    link, callback=self.parse, meta=self._page_meta() | {KEYWORD: keyword}
                )
        if not next_urls or not self.is_on_site(next_urls[0]):
            return
        if number >= search.max_result_pages:
            stats.inc_value(f"{STATS}/refused/max_result_pages")
            return
        # response.follow: a link with raw non-ASCII text is encoded as the page is (EUC-KR on a
        # legacy board), as a browser does.
        yield response.follow(
            next_urls[0],
            callback=self.parse,
            meta=self._result_meta(keyword, number + 1),
        )

    def follows_links(self, response: Response) -> bool:
        """Whether the links of this (non-result) page are followed."""
        if KEYWORD in response.meta:
            return response.meta.get("depth", 0) < self.config.search.follow_depth
        return self.config.follow.enabled

    @staticmethod
    def keyword_meta(response: Response) -> dict[str, Any]:
        """Meta that carries a page's keyword on to the pages it links to."""
        return {KEYWORD: response.meta[KEYWORD]} if KEYWORD in response.meta else {}

    def _result_meta(self, keyword: str, number: int) -> dict[str, Any]:
        # depth_reset: result pages are depth 0, their result links depth 1, ... so the site's
        # follow.max_depth never cuts pagination short.
        return self._page_meta() | {KEYWORD: keyword, RESULT_PAGE: number, "depth_reset": True}

    def _not_encodable(self, number: int, exc: KeywordNotEncodable) -> None:
        self.crawler.stats.inc_value(f"{STATS}/search/unencodable")
        self.logger.warning(
            "Keyword %d of %d not searched on %s: %s (search.encoding)",
            number,
            len(self.keywords or ()),
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
