"""The stream budget ends a probe's download: a video kept at its budget, other media failed."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import StopDownload

from crawler.crawling.media_download import READING, Reading
from crawler.crawling.stream_budget import StreamBudget

#: The first bytes of an MP4.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(40)


def test_the_stream_budget_stops_a_video_and_keeps_it_and_fails_other_media():
    budget = StreamBudget(maxsize=1000, budget_bytes=500, budget_seconds=60)
    video = Request("http://a.test/v.mp4", meta={READING: Reading()})
    budget.bytes_received(MP4_HEAD, video)
    with pytest.raises(StopDownload) as stopped:
        budget.bytes_received(bytes(500), video)
    assert stopped.value.fail is False and video.meta[READING].stopped
    page = Request("http://a.test/p.html", meta={READING: Reading()})
    budget.bytes_received(b"<html>" + bytes(600), page)  # over the video budget: not a video
    with pytest.raises(StopDownload) as failed:
        budget.bytes_received(bytes(500), page)
    assert failed.value.fail is True and page.meta[READING].too_large
    budget.bytes_received(bytes(5000), Request("http://a.test/other"))  # not a probe: ignored


def test_a_slow_video_stops_at_the_time_budget():
    budget = StreamBudget(maxsize=1000, budget_bytes=10**9, budget_seconds=5)
    video = Request("http://a.test/v.mp4", meta={READING: Reading()})
    video.meta[READING].started -= 6  # began six seconds ago
    with pytest.raises(StopDownload) as stopped:
        budget.bytes_received(
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(40), video
        )
    assert stopped.value.fail is False
