"""VideoFetch.deliver on canned responses: what is fetched whole, what is sampled, within what.

The server is a function over the bytes of an ffmpeg-made video that answers Range requests as
nginx does; the hashing pool is a thread. The crawl tests on nginx are in test_video_fetch.py.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from scrapy import Request
from scrapy.http import Response

from crawler.crawling.media_download import AlignedLine, MediaDownload, MediaOutcome
from crawler.crawling.stream_fetch import StreamOptions
from crawler.crawling.video_fetch import Sampled, VideoFetch, Whole
from crawler.stats import (
    VIDEO_DENSE_WINDOWS,
    VIDEO_FOLLOWED,
    VIDEO_RANGED,
    VIDEO_RANGED_BYTES,
    VIDEO_SAMPLING_LIMITED,
)
from tests.delivery.test_sparse import _video
from tests.support.segments import stream_files

PROBE = 64 * 1024
URL = "http://site.test/v.mp4"


class Stats(Counter):
    def inc_value(self, key, count=1, start=0):
        self[key] += count


class Server:
    """Answers media requests for ``data`` with 206 and Content-Range, or 200 when asked whole;
    ``data`` by URL: those files, and 404 for others."""

    def __init__(self, data: bytes | dict[str, bytes]):
        self.files = data if isinstance(data, dict) else None
        self.data = data
        self.ranges: list[str] = []
        self.urls: list[str] = []

    async def download(self, request: Request) -> Response:
        asked = request.headers.get("Range", b"").decode()
        self.ranges.append(asked)
        self.urls.append(request.url)
        data = self.data if self.files is None else self.files.get(request.url)
        if data is None:
            return Response(request.url, status=404, request=request)
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", asked)
        if found is None:
            return Response(request.url, status=200, body=data, request=request)
        start = int(found.group(1))
        end = min(len(data) - 1, int(found.group(2) or len(data) - 1))
        headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        body = data[start : end + 1]
        return Response(request.url, status=206, headers=headers, body=body, request=request)


def _deliver(data: bytes | dict[str, bytes], candidates=(), hints=(), url=URL, **options) -> tuple:
    server, stats = Server(data), Stats()
    asked: list = []

    async def candidate_times(frames):
        asked.append(frames)
        return list(candidates)

    async def run():
        media = MediaDownload(
            download=server.download, stats=stats, maxsize=64 * 1024 * 1024, probe_bytes=PROBE,
            cache=None, cache_pool=pool, rehash_after=timedelta(days=1),
        )  # fmt: skip
        videos = VideoFetch(
            media=media, hasher=pool, candidate_times=candidate_times,
            maxsize=64 * 1024 * 1024, max_pixels=10**8,
            **{"whole_maxsize": 100_000, "samples": 8, "dense_seconds": 2.0,
               "byte_share": 0.9, "seconds": 60.0, **options},
        )  # fmt: skip
        first = await server.download(media.probe_request(url, ""))
        return await videos.deliver(url, "", first, hints)

    with ThreadPoolExecutor(2) as pool:
        return asyncio.run(run()), server, stats, asked


def test_a_large_video_is_sampled_by_ranges_and_denser_where_it_looked_like_a_reference():
    data = _video("mp4")
    result, server, stats, asked = _deliver(data, candidates=[16.0])
    assert isinstance(result, Sampled)
    hashes = result.hashes
    assert hashes.sha256 is None and hashes.delivery.form == "ranged"
    assert hashes.delivery.bytes_total == len(data)
    assert hashes.delivery.bytes_fetched == stats[VIDEO_RANGED_BYTES] < len(data)
    assert len(asked) == 1 and len(asked[0]) >= 6  # asked once, with the sparse frames
    assert stats[VIDEO_RANGED] == 1 and stats[VIDEO_DENSE_WINDOWS] == 1
    assert len(hashes.frames) > len(asked[0])  # the dense window added frames
    assert all(r.startswith("bytes=") for r in server.ranges)


def test_times_a_preview_hinted_at_are_sampled_densely_from_the_first_pass():
    data = _video("mp4")
    plain, _, _, _ = _deliver(data)
    hinted, _, stats, asked = _deliver(data, hints=[16.0])
    # Nothing sampled looked like a reference (no candidate times): the hint alone made the
    # window, a frame a second around 16 s.
    assert stats[VIDEO_DENSE_WINDOWS] == 1 and len(asked) == 1
    assert len(hinted.hashes.frames) >= len(plain.hashes.frames) + 3
    # A hint past the end (a storyboard longer than the file) costs nothing.
    past, _, _, _ = _deliver(data, hints=[500.0])
    assert past.hashes.frames == plain.hashes.frames


def test_a_match_is_followed_along_its_line_and_a_candidate_probed_once_without_one():
    """The 32 s video, 8 samples, a candidate at 16 s. Unmatched, keyframes either side of the
    candidate are sampled once; matched 14-18 s of a reference that would run 4-28 s, the line
    is followed to the reference's ends (with slack), every frame hashed once."""
    data = _video("mp4")
    asked: list[int] = []

    async def nothing(frames):
        asked.append(len(frames))
        return []

    probed, _, stats, _ = _deliver(data, candidates=[16.0], aligned_lines=nothing)
    assert stats[VIDEO_FOLLOWED] == 8  # 4-16 and 16-28 s, a keyframe every 3 s
    assert len(asked) == 2  # after the dense window, and once after the probe: then no more
    seconds = [frame.seconds for frame in probed.hashes.frames]
    assert len(seconds) == len(set(seconds))

    async def one_line(frames):
        found = [f.seconds for f in frames if 12 <= f.seconds <= 20] or [16.0]
        return [AlignedLine(3, min(found), max(found), reference_first=4.0, reference_last=28.0)]

    followed, _, stats, _ = _deliver(data, candidates=[16.0], aligned_lines=one_line)
    seconds = [frame.seconds for frame in followed.hashes.frames]
    assert stats[VIDEO_FOLLOWED] > 0
    assert min(seconds) < 6 and max(seconds) > 26  # out to the reference's ends
    assert len(seconds) == len(set(seconds))


def test_the_byte_budget_stops_sampling_and_says_so():
    data = _video("mp4")
    result, _server, stats, _ = _deliver(data, byte_share=0.0, whole_maxsize=PROBE + 1000)
    # The budget (just over the probe) leaves no room for the index: nothing decodes.
    assert isinstance(result, MediaOutcome) and "byte budget" in result.error
    assert stats[VIDEO_SAMPLING_LIMITED] == 1
    assert stats[VIDEO_RANGED_BYTES] <= PROBE + 1000


@pytest.mark.parametrize("size", [PROBE // 2, PROBE * 3])
def test_media_up_to_the_whole_size_is_fetched_whole(size):
    data = _video("mp4", faststart=True)
    result, server, _stats, _ = _deliver(data[:size], whole_maxsize=10**9)
    assert isinstance(result, Whole) and result.body == data[:size] and result.delivery is None
    expected = [f"bytes=0-{PROBE - 1}"] + ([f"bytes={PROBE}-{size - 1}"] if size > PROBE else [])
    assert server.ranges == expected


@pytest.mark.parametrize(
    ("first_bytes", "form"),
    [
        (b"\xef\xbb\xbf \r\n#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg.ts\n", "hls"),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<MPD xmlns="urn:mpeg:dash">', "dash"),
    ],
)
def test_a_playlist_or_manifest_is_read_as_a_stream_by_its_content(first_bytes, form):
    """Served from a URL that names no stream (``v.mp4``): the stream sampler reads it (its
    segments here are the playlist again, so none decodes), never the whole-file hasher."""
    result, _server, stats, _ = _deliver(first_bytes)
    assert isinstance(result, MediaOutcome) and result.error
    failed = f"repostwatch/video/{form}/failed/"
    assert sum(count for key, count in stats.items() if key.startswith(failed)) == 1


def test_a_streams_hint_times_join_its_candidate_times():
    """A 12 s HLS stream of 1 s segments, 3 sampled: with nothing like a reference, no segment
    more is fetched; hinted at 7 s by a preview, the segments around it are, a frame a second."""
    folder = stream_files() / "hls-ts"
    files = {f"http://site.test/s/{path.name}": path.read_bytes() for path in folder.iterdir()}
    options = StreamOptions(
        samples=3, min_lines=360, dense_seconds=1.0, dense_segments=4, concurrency=2,
        maxsize=64 * 1024 * 1024, max_pixels=10**8, segment_prefix=30_000, seconds=60.0,
    )  # fmt: skip
    playlist = "http://site.test/s/index.m3u8"
    plain, server, _, _ = _deliver(files, url=playlist, stream_options=options)
    hinted, hinted_server, _, _ = _deliver(files, hints=[7.0], url=playlist, stream_options=options)
    assert isinstance(plain, Sampled) and isinstance(hinted, Sampled)

    def segments(urls):
        return {url.rsplit("/", 1)[1] for url in urls if url.endswith(".ts")}

    assert segments(hinted_server.urls) - segments(server.urls) >= {"index7.ts"}
    assert len(hinted.hashes.frames) > len(plain.hashes.frames)
