"""End a media probe's download at its budget, on Scrapy's ``bytes_received`` signal.

A probe (`MediaDownload.probe_request`) asks for the first bytes with ``Range``; a server that
ignores Range answers 200 with the whole file. Scrapy lets a ``bytes_received`` handler stop a
download and keep what came (``StopDownload(fail=False)``, the response flagged
``download_stopped``): a video is read up to ``REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES`` or
``_SECONDS`` and its prefix hashed (`crawler.crawling.video_fetch`); other media fail past
``REPOSTWATCH_MEDIA_MAXSIZE`` as before. Probes carry no ``download_maxsize`` of their own, so that
a video served whole with a large Content-Length is read up to the budget instead of refused.
"""

from __future__ import annotations

import time

from scrapy import Request
from scrapy.exceptions import StopDownload

from crawler.crawling.media_download import READING, Reading
from crawler.hashing.errors import UnsupportedMedia
from crawler.hashing.sniff import sniff

#: Bytes sniffed to tell a video from other media while it downloads.
_SNIFF_BYTES = 64


class StreamBudget:
    """Ends a probe's download: a video at ``budget_bytes`` or ``budget_seconds`` (keeping what
    came), other media past ``maxsize`` (as a failure)."""

    def __init__(self, *, maxsize: int, budget_bytes: int, budget_seconds: float):
        self.maxsize = maxsize
        self.budget_bytes = budget_bytes
        self.budget_seconds = budget_seconds

    def bytes_received(self, data: bytes, request: Request, spider=None) -> None:
        reading: Reading | None = request.meta.get(READING)
        if reading is None:
            return
        reading.received += len(data)
        if reading.video is None:
            reading.head += data[: _SNIFF_BYTES - len(reading.head)]
            if len(reading.head) >= _SNIFF_BYTES:
                reading.video = _is_video(reading.head)
        if reading.video:
            over_time = time.monotonic() - reading.started > self.budget_seconds
            if reading.received >= self.budget_bytes or over_time:
                reading.stopped = True
                raise StopDownload(fail=False)
        elif self.maxsize and reading.received > self.maxsize:
            reading.too_large = True
            raise StopDownload(fail=True)


def _is_video(head: bytes) -> bool:
    try:
        return sniff(head).kind == "video"
    except UnsupportedMedia:
        return False
