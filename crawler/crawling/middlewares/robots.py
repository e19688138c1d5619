"""Scrapy's robots.txt middleware, with refusals that say what they are.

Scrapy's RobotsTxtMiddleware refuses a request robots.txt forbids with a plain ``IgnoreRequest``,
the exception other middlewares raise for other reasons too (too many redirects, an offsite
request, a response that decompresses too large). This one raises :class:`RobotsTxtRefused`, a
subclass, so that whoever catches the refusal can tell it by its type: the pipeline counts media
refused by robots.txt as ``repostwatch/refused/robots_txt``. Everything else is Scrapy's, the
``robotstxt/forbidden`` stat and its log line included.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest


class RobotsTxtRefused(IgnoreRequest):
    """A request that robots.txt forbids."""


class RobotsTxtRefusalMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware whose refusals are :class:`RobotsTxtRefused`."""

    async def process_request(self, request: Request) -> None:
        try:
            await super().process_request(request)
        except IgnoreRequest as exc:  # Scrapy refuses only what robots.txt forbids here
            raise RobotsTxtRefused(*exc.args) from None
