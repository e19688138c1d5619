"""Retries that wait: Scrapy's RetryMiddleware with exponential backoff and ``Retry-After``.

Scrapy retries a failed request (5xx, 408, 429, timeouts, dropped connections) at once, up to
``RETRY_TIMES``. A site that is overloaded or rate-limiting us only gets worse from that. This
middleware keeps Scrapy's decisions (which statuses and exceptions, how many times, its
``retry/...`` stats and give-up log) and waits before each retry: ``REPOSTWATCH_RETRY_BACKOFF``
seconds before the first, doubling each time, at most ``REPOSTWATCH_RETRY_BACKOFF_MAX``. A 429
or 503 with ``Retry-After`` (seconds or an HTTP date) waits at least that long; when it asks for
more than ``REPOSTWATCH_RETRY_BACKOFF_MAX`` the request is given up at once instead of hammering
the site or stalling the crawl. The wait is an ``asyncio`` sleep: the reactor keeps serving the
other requests meanwhile.

A site file sets ``retries``, ``retry_backoff`` and ``retry_backoff_max`` (the spider applies them
as RETRY_TIMES and the two settings above). Every request that is given up is counted under
``repostwatch/errors/<kind>`` (``http_503``, ``retry_after_too_long``, ``TimeoutError``, ...).

A page (or robots.txt) that cannot be fetched is one ERROR line, ``Could not fetch URL: reason``,
and nothing else: this middleware logs it, Scrapy's give-up line for it goes to DEBUG, and the
failure reaches Scrapy as :class:`PageUnreachable` (an ``IgnoreRequest``), which Scrapy's scraper
and robots.txt middleware do not log again with a traceback. A site that is down thus logs one
line per URL it was asked for. Media keeps its exception: the pipeline names each media failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_status_message

from crawler.stats import error

logger = logging.getLogger(__name__)

#: Statuses whose Retry-After header is honoured (RFC 9110: 503, and 429 of RFC 6585).
RETRY_AFTER_STATUSES = (429, 503)


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: ``"120"`` or an HTTP date; None if absent or
    unreadable (then the ordinary backoff applies)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(retry: int, base: float, ceiling: float) -> float:
    """Wait before retry number ``retry`` (1, 2, ...): ``base``, ``2 * base``, ... at most
    ``ceiling``."""
    return min(base * 2 ** (retry - 1), ceiling)


class PageUnreachable(IgnoreRequest):
    """A page that could not be fetched (after its retries); its log line is written."""


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits (exponential backoff, Retry-After) before each retry."""

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff = settings.getfloat("REPOSTWATCH_RETRY_BACKOFF")
        self.backoff_max = settings.getfloat("REPOSTWATCH_RETRY_BACKOFF_MAX")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = None
        if response.status in RETRY_AFTER_STATUSES:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.backoff_max:
            logger.error(
                "Gave up %s: HTTP %s with Retry-After %.0fs, more than the %.0fs this site "
                "waits at most (retry_backoff_max in its site file)",
                request,
                response.status,
                asked,
                self.backoff_max,
            )
            self._count_error("retry_after_too_long")
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            self._count_error(f"http_{response.status}")
            return response
        await self._wait(retry, asked)
        return retry

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, IgnoreRequest):  # refused on purpose: counted where refused
            return None
        page = not request.meta.get("repostwatch_media")
        attempts = request.meta.get("retry_times", 0) + 1
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
            if page:  # the one line for a page is the one below
                request.meta["give_up_log_level"] = logging.DEBUG
            retry = self._retry(request, exception)
            if retry is not None:
                await self._wait(retry, None)
                return retry
            self._count_error(exception.__class__.__name__)
        if not page:
            return None
        logger.error(
            "Could not fetch %s (%d attempt%s): %s",
            request.url,
            attempts,
            "" if attempts == 1 else "s",
            _reason(exception),
        )
        raise PageUnreachable(str(exception)) from None

    async def _wait(self, retry: Request, asked: float | None) -> None:
        seconds = backoff_seconds(retry.meta["retry_times"], self.backoff, self.backoff_max)
        if asked is not None:
            seconds = max(seconds, asked)
        if seconds > 0:
            logger.debug("Retrying %s in %.2fs", retry, seconds)
            await asyncio.sleep(seconds)

    def _count_error(self, kind: str) -> None:
        self.crawler.stats.inc_value(error(kind))


def _reason(exception: Exception) -> str:
    """An exception as one short line: its message, or its type when it has none."""
    text = " ".join(str(exception).split())
    return text or exception.__class__.__name__
