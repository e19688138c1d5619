"""Search crawls started with ``-a search=1`` read the case keywords here, inside the crawl.

Keywords are victims' names and nicknames. A crawl on scrapyd gets its spider arguments from
the job, and scrapyd keeps job arguments in its job storage and writes them to its logs, so the
scheduler never passes keywords: it passes ``search=1`` and this extension loads every active
keyword of every case from REPOSTWATCH_DATABASE_URL when the spider opens. Scrapy sends
``spider_opened`` before it starts iterating the spider's ``start()`` (Scrapy 2.19:
``ExecutionEngine.open_spider_async`` sends the signal, ``start_async`` then reads ``start()``),
so the spider searches exactly the keywords active when its crawl began. Only the number of
keywords is logged and counted (stat ``repostwatch/search/keywords``), never the keywords.

While a search crawl runs (``search=1`` or ``keywords``), every record its log handlers write
has the keywords, raw and percent-encoded as they appear in URLs, replaced by ``[keyword]``:
Scrapy logs some URLs at INFO and above (``Ignoring response <404 .../search?q=...>``, retries
given up), and scrapyd keeps each job's log.

A spider that asked for ``search=1`` and got no keywords (the database was unreachable, or
this extension is not enabled) closes with ``search_keywords_unavailable`` rather than crawl
something else. Spiders may not import the database layer (import-linter), hence an extension.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError

from crawler import db

logger = logging.getLogger(__name__)


class RedactKeywords(logging.Filter):
    """Replaces the keywords in log records, raw and in the encodings URLs carry them in."""

    def __init__(self, keywords: Iterable[str], encodings: Iterable[str] = ("utf-8",)):
        super().__init__()
        forms: set[str] = set()
        for keyword in keywords:
            forms |= {keyword, json.dumps(keyword)[1:-1]}
            for encoding in encodings:
                try:
                    raw = keyword.encode(encoding)
                except UnicodeEncodeError:
                    continue
                for encoded in (quote_plus(raw, safe=""), quote(raw, safe="")):
                    forms |= {encoded, encoded.lower()}
        # Longest first: a keyword inside a longer one is not half replaced.
        self.forms = sorted((form for form in forms if form), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTED = "[keyword]"


class SearchKeywords:
    """Loads the active case keywords into a spider that has ``search_from_database`` set, and
    keeps the keywords of every search crawl out of its log."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.redact: RedactKeywords | None = None
        self.handlers: list[logging.Handler] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SearchKeywords:
        extension = cls(crawler.settings.get("REPOSTWATCH_DATABASE_URL"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        if getattr(spider, "search_from_database", False) and spider.keywords is None:
            self._load_into(spider)
        keywords = getattr(spider, "keywords", None)
        if keywords:
            self._redact_logs(spider, keywords)

    def _load_into(self, spider: Spider) -> None:
        try:
            keywords = self.load()
        except (SQLAlchemyError, db.DatabaseURLError) as exc:
            logger.error(
                "Cannot read the case keywords from the database (REPOSTWATCH_DATABASE_URL): "
                "%s: %s",
                exc.__class__.__name__,
                (str(exc).splitlines() or [""])[0],
            )
            return  # the spider closes: search_keywords_unavailable
        count = spider.use_keywords(keywords)
        if count:
            logger.info("Searching %s for %d active case keyword(s)", _site(spider), count)
        else:
            logger.warning(
                "No active case keywords to search %s for; add some with `repostwatch cases "
                "keywords add CASE KEYWORD...`",
                _site(spider),
            )

    def _redact_logs(self, spider: Spider, keywords: Iterable[str]) -> None:
        config = getattr(spider, "config", None)
        search = getattr(config, "search", None)
        encodings = {"utf-8", (getattr(search, "encoding", None) or "utf-8").lower()}
        self.redact = RedactKeywords(keywords, sorted(encodings))
        self.handlers = list(logging.getLogger().handlers)
        for handler in self.handlers:
            handler.addFilter(self.redact)

    def spider_closed(self, spider: Spider) -> None:
        if self.redact is None:
            return
        for handler in self.handlers:
            handler.removeFilter(self.redact)
        self.redact, self.handlers = None, []

    def load(self) -> list[str]:
        engine = db.make_engine(self.database_url)
        try:
            with db.make_sessionmaker(engine)() as session:
                return db.search_keywords(session)
        finally:
            engine.dispose()


def _site(spider: Spider) -> str:
    return getattr(spider, "site_name", None) or spider.name
