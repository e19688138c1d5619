"""crawler.crawling.previews: posters and storyboard tiles fetched over real HTTP and hashed
as images, each tile with its cue's time; and what the pipeline is handed for early sampling."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from scrapy import Request
from scrapy.http import Response

from crawler.crawling.media_cache import RedisMediaCache
from crawler.crawling.previews import (
    NO_HINTS,
    PreviewDownload,
    PreviewHash,
    hash_tiles,
    preview_frames,
    preview_hashes,
    preview_hints,
    spread,
)
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route
from crawler.extraction.previews import Cue
from crawler.hashing import hash_media
from crawler.hashing.phash import hamming
from crawler.items import POSTER, STORYBOARD, Preview
from tests.sites import players as tube

PHOTOS = ("astronaut", "coffee", "chelsea")


async def _download(request: Request) -> Response:
    """``request`` over real HTTP, with its headers (a conditional request gets its 304)."""

    def get() -> Response:
        headers = {k.decode(): v[0].decode() for k, v in request.headers.items()}
        asked = urllib.request.Request(request.url, headers=headers, method=request.method)
        try:
            with urllib.request.urlopen(asked, timeout=10) as answer:
                status, got, body = answer.status, answer.headers.items(), answer.read()
        except urllib.error.HTTPError as exc:  # 304, 404
            status, got, body = exc.code, exc.headers.items(), b""
        return Response(request.url, status=status, headers=dict(got), body=body, request=request)

    return await asyncio.to_thread(get)


class _Stats:
    def __init__(self):
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def _previews(cache=None, pool=None) -> PreviewDownload:
    return PreviewDownload(
        download=_download,
        stats=_Stats(),
        maxsize=10_000_000,
        probe_bytes=100_000,
        cache=cache,
        cache_pool=pool or ThreadPoolExecutor(max_workers=1),
        rehash_after=timedelta(days=7),
    )


async def _tiles(data, boxes):
    return hash_tiles(data, boxes)


def _pdq(data: bytes) -> str:
    return hash_media(data).get("pdq").hex


def test_storyboard_tiles_and_posters_are_hashed_with_their_times():
    routes = {
        "/thumbs.vtt": Route(tube.STORYBOARD.encode(), "text/vtt"),
        "/subs.vtt": Route(b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n", "text/vtt"),
        "/img/sprite.jpg": Route(tube.sprite(), "image/jpeg"),
        "/img/poster.jpg": Route(samples.encode(samples.load_photo("camera")), "image/jpeg"),
    }
    with LocalSite(routes) as site:
        video = f"{site.url}/hls/master.m3u8"
        previews = [
            Preview(f"{site.url}/img/poster.jpg", POSTER, video),
            Preview(f"{site.url}/subs.vtt", STORYBOARD, video),  # subtitles: no tiles
            Preview(f"{site.url}/thumbs.vtt", STORYBOARD, video),
            Preview(f"{site.url}/missing.jpg", POSTER, None),  # 404: left out
        ]

        media = _previews()
        hashed = asyncio.run(
            preview_hashes(previews, media=media, referer=site.url, hash_tiles=_tiles)
        )
        requested = list(site.requests)

    assert [(h.preview.kind, h.seconds) for h in hashed] == [
        (POSTER, None),
        (STORYBOARD, 0.0),
        (STORYBOARD, 1.0),
    ]
    assert requested.count("/img/sprite.jpg") == 1  # one sprite, fetched once for its tiles
    assert media.stats.values == {}  # a preview is no media: the 404 is no media failure
    # Each tile is the photo it was cut from (64x48 of it), far from the other one.
    astronaut, coffee = (_pdq(samples.encode(samples.load_photo(n))) for n in tube.TILE_PHOTOS)
    first, second = (h.hashes.get("pdq").hex for h in hashed[1:])
    assert hamming(first, astronaut) < 70 < hamming(first, coffee)
    assert hamming(second, coffee) < 70 < hamming(second, astronaut)
    # For early sampling: the tiles as frames of their video, by time; posters have no time.
    frames = preview_frames(hashed)
    assert list(frames) == [video]
    assert [frame.seconds for frame in frames[video]] == [0.0, 1.0]


def test_an_unchanged_poster_costs_one_conditional_request_and_comes_from_the_cache(redis_url):
    """Posters go through the media cache as media does: the second time, the server's 304
    stands for the download and the cache's hashes for the hashing."""
    poster = samples.encode(samples.load_photo("camera"))
    cache = RedisMediaCache(redis_url)  # keyed by URL: this site's port is its own
    pool = ThreadPoolExecutor(max_workers=1)  # one thread: the first put lands before the get
    hashed_in_pool = []

    async def tiles(data, boxes):
        hashed_in_pool.append(boxes)
        return hash_tiles(data, boxes)

    with LocalSite({"/img/poster.jpg": Route(poster, "image/jpeg")}) as site:
        previews = [Preview(f"{site.url}/img/poster.jpg", POSTER, f"{site.url}/v.mp4")]
        runs = []
        for _ in range(2):
            media = _previews(cache, pool)
            found = asyncio.run(
                preview_hashes(previews, media=media, referer=site.url, hash_tiles=tiles)
            )
            runs.append((found, media.stats.values))
        exchanges = list(site.exchanges)
    pool.shutdown(wait=True)
    cache.client.delete(cache._key(previews[0].url))

    assert exchanges == [("GET", "/img/poster.jpg", 200), ("GET", "/img/poster.jpg", 304)]
    assert hashed_in_pool == [[None]]  # hashed the first time only
    (first,), (second,) = (found for found, _ in runs)
    assert second.hashes.get("pdq").hex == first.hashes.get("pdq").hex == _pdq(poster)
    assert (second.preview.kind, second.seconds) == (POSTER, None)
    assert [values for _, values in runs] == [{}, {"repostwatch/previews/cache_hits": 1}]


def test_a_box_outside_the_sprite_or_too_small_is_not_hashed():
    sprite = tube.sprite()
    hashed = hash_tiles(sprite, [(0, 0, 64, 48), (100, 0, 64, 48), (0, 0, 8, 8), None])
    assert [h is not None for h in hashed] == [True, False, False, True]
    assert hashed[3].width == 128  # None: the whole image


def test_tiles_are_spread_over_the_whole_storyboard():
    cues = [Cue(float(i), float(i + 1), "https://x.example/s.jpg") for i in range(100)]
    assert [c.start for c in spread(cues, 5)] == [0.0, 25.0, 50.0, 74.0, 99.0]
    assert spread(cues[:3], 5) == cues[:3]


def test_previews_that_look_like_a_reference_give_their_video_times_and_kinds():
    """`preview_hints` asks the candidate-times callable once, each preview a frame named by its
    position; a tile named back gives its cue time to its video, a poster only its kind, and a
    preview tied to no video counts for every video of the page."""
    photos = {name: hash_media(samples.encode(samples.load_photo(name))) for name in PHOTOS}
    hashed = [
        PreviewHash(Preview("https://t.test/p.jpg", POSTER, "https://t.test/a.mp4"),
                    "https://t.test/p.jpg", None, photos["astronaut"]),
        PreviewHash(Preview("https://t.test/a.vtt", STORYBOARD, "https://t.test/a.mp4"),
                    "https://t.test/s.jpg", 40.0, photos["coffee"]),
        PreviewHash(Preview("https://t.test/a.vtt", STORYBOARD, "https://t.test/a.mp4"),
                    "https://t.test/s.jpg", 50.0, photos["chelsea"]),  # not like a reference
        PreviewHash(Preview("https://t.test/b.vtt", STORYBOARD, None),
                    "https://t.test/t.jpg", 5.0, photos["coffee"]),
    ]  # fmt: skip
    reference = {photos[name].get("pdq").hex for name in ("astronaut", "coffee")}
    asked = []

    async def candidate_times(frames):
        asked.append([frame.seconds for frame in frames])
        return [frame.seconds for frame in frames if frame.value.hex in reference]

    hints = asyncio.run(preview_hints(hashed, candidate_times))
    assert asked == [[0.0, 1.0, 2.0, 3.0]]
    assert hints.times_for("https://t.test/a.mp4") == [5.0, 40.0]
    assert hints.kinds_for("https://t.test/a.mp4") == [POSTER, STORYBOARD]
    assert hints.times_for("https://t.test/other.mp4") == [5.0]
    assert hints.kinds_for("https://t.test/other.mp4") == [STORYBOARD]
    assert asyncio.run(preview_hints([], candidate_times)) == NO_HINTS
