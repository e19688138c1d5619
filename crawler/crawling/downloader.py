"""Scrapy's downloader, holding each site to its concurrency (``concurrency`` in a site file).

Scrapy 2.19's downloader hands a queued request to an asyncio task and counts it as
"transferring" only once that task first runs. When several requests for one host wait in its
slot (a page with many images), the loop that dispatches them sees no transfer yet and starts
them all at once: ``CONCURRENT_REQUESTS_PER_DOMAIN`` (our per-site ``concurrency``) is not held
while the download delay is 0. tests/crawling/test_politeness.py measured 3 and 4 requests in flight
with ``concurrency = 1``. Counting the request the moment it is dispatched fixes that; the
rest is Scrapy's own code (its task adds the request again, a set, and removes it when done).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.http import Response
from twisted.internet.defer import Deferred


class SiteConcurrencyDownloader(Downloader):
    """Downloader whose slots never have more requests in flight than their concurrency."""

    def _wait_for_download(
        self, slot: Slot, request: Request, queue_dfd: Deferred[Response]
    ) -> Coroutine[Any, Any, None]:
        slot.transferring.add(request)  # now, while the dispatch loop still counts
        return super()._wait_for_download(slot, request, queue_dfd)
