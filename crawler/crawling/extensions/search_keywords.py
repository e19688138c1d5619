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
has the keywords replaced by ``[keyword]``: raw, and as URLs carry them in every encoding a
request of the crawl used (a form is submitted in its page's encoding) and the legacy encodings
boards use, with either hex case, ``+`` or ``%20`` for spaces, and encoded twice. Scrapy logs
URLs at INFO and above (``Ignoring response <404 .../search?q=...>``, retries given up) and in
tracebacks, and scrapyd keeps each job's log.

A spider that asked for ``search=1`` and got no keywords (the database was unreachable, or
this extension is not enabled) closes with ``search_keywords_unavailable`` rather than crawl
something else. Spiders may not import the database layer (import-linter), hence an extension.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Iterable

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from sqlalchemy.exc import SQLAlchemyError

from crawler import db

logger = logging.getLogger(__name__)


#: Encodings a keyword is redacted in besides UTF-8 and those the crawl's requests use: the
#: legacy encodings boards still serve (Korean, Japanese, Chinese, Cyrillic, Western).
LEGACY_ENCODINGS = (
    "cp949",
    "euc_kr",
    "shift_jis",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5",
    "cp1251",
    "koi8_r",
    "cp1252",
)


class RedactKeywords(logging.Filter):
    """Replaces the keywords in log records: raw, JSON-escaped, and as the bytes of every
    encoding the crawl may use, percent-encoded (either hex case, ``+`` or ``%20`` for spaces,
    encoded again as ``%25XX``), mixed with plain ASCII, or as ``\\xNN`` escapes."""

    def __init__(self, keywords: Iterable[str], encodings: Iterable[str] = ("utf-8",)):
        super().__init__()
        self.keywords = [keyword for keyword in dict.fromkeys(keywords) if keyword]
        self.encodings: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.add_encodings(["utf-8", *LEGACY_ENCODINGS, *encodings])

    def add_encodings(self, encodings: Iterable[str]) -> None:
        """Redact the keywords in ``encodings`` too (a request used one not seen before)."""
        known = {_codec_name(encoding) for encoding in encodings} - {None}
        if known <= self.encodings:
            return
        self.encodings |= known  # type: ignore[arg-type]
        forms: set[str] = set()
        for keyword in self.keywords:
            forms.add(_text_pattern(keyword))
            forms.add(_text_pattern(json.dumps(keyword)[1:-1]))
            for encoding in self.encodings:
                try:
                    raw = keyword.encode(encoding)
                except UnicodeEncodeError:
                    continue
                forms.add("".join(_byte_pattern(byte) for byte in raw))
        # Longest first: a keyword inside a longer one is not half replaced.
        ordered = sorted(forms, key=len, reverse=True)
        self.pattern = re.compile("|".join(ordered), re.IGNORECASE) if ordered else None

    def redact(self, text: str) -> str:
        return text if self.pattern is None else self.pattern.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:  # the traceback names URLs too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _codec_name(encoding: str | None) -> str | None:
    try:
        return codecs.lookup(encoding).name if encoding else None
    except LookupError:
        return None


#: Characters URLs carry as they are (RFC 3986 unreserved); any of them may be percent-encoded.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _percent(byte: int) -> str:
    """``byte`` percent-encoded, once or more (``%ED``, ``%25ED``, ``%2525ED``...)."""
    return f"%(?:25)*{byte:02X}"


def _byte_pattern(byte: int) -> str:
    if byte == 0x20:
        return rf"(?:\s|\+|{_percent(0x20)}|{_percent(0x2B)})"
    if byte >= 0x80:
        return rf"(?:{_percent(byte)}|\\x{byte:02x})"
    return f"(?:{re.escape(chr(byte))}|{_percent(byte)})"


def _text_pattern(text: str) -> str:
    """``text`` as written, any run of spaces matching any whitespace or ``+``."""
    return r"(?:\s|\+)+".join(re.escape(part) for part in text.split(" "))


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
        crawler.signals.connect(extension.request_scheduled, signal=signals.request_scheduled)
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

    def request_scheduled(self, request: Request, spider: Spider | None = None) -> None:
        """A form submitted in the page's encoding (EUC-KR on an old board) carries the keyword
        in that encoding: redact it in that one too, before the request is ever logged."""
        if self.redact is not None:
            self.redact.add_encodings([request.encoding])

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
