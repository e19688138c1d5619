"""Previews of a page's videos, hashed first: posters and storyboard tiles (early evidence).

A :class:`~crawler.items.Preview` is a ``<video poster>`` or a WebVTT storyboard (a player's
seek-bar thumbnails: cues naming tiles of sprite images by ``#xywh=``). Both are cheap: a
poster is one image, a storyboard one small text file and a few sprites, where the video may
be gigabytes. The pipeline hashes them before the video (:func:`preview_hashes`) to learn early
which reference video, and which moments of it, a page's video may hold; the tiles as frames
with their cue times (:func:`preview_frames`) go to ``candidate_times`` so the video's sampler
looks there first.

A preview is never, on its own, the evidence of a video match: a poster or tile that matches a
reference video's frame creates no flag. It may join the evidence of a flag the video itself
earned.

The hook, for the pipeline (``crawler/crawling/pipeline.py``) to call per item, with the
pipeline's own downloader, media cache and hash pool::

    hashed = await preview_hashes(
        item.previews,
        media=previews,                        # a PreviewDownload: Scrapy's engine, the cache
        referer=item.url,
        hash_tiles=lambda data, boxes: loop.run_in_executor(
            hasher, functools.partial(hash_tiles, data, boxes, max_pixels=max_pixels)
        ),
    )
    early = preview_frames(hashed)             # {video URL or None: [FrameHash, ...]}

Fetching: at most :data:`MAX_STORYBOARDS` storyboards and :data:`MAX_SPRITES` sprite images per
page, :data:`MAX_TILES` tiles per storyboard spread evenly over its cues; every request goes
through the :class:`PreviewDownload` it is given. A poster is fetched as media is
(`MediaDownload.fetch`, whole): an unchanged poster costs one conditional request on a re-crawl
and its hashes come from the media cache. Storyboards (text, never hashed) and sprites (hashed
tile by tile, as their storyboard cuts them) are downloaded at each crawl.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scrapy.http import Response

from crawler import db
from crawler.crawling.media_download import CandidateTimes, MediaDownload, MediaOutcome
from crawler.extraction.previews import Cue, storyboard_cues
from crawler.hashing import MediaHashes, hash_media
from crawler.hashing.decode import DEFAULT_MAX_PIXELS, open_image
from crawler.hashing.errors import MediaError
from crawler.hashing.types import FrameHash, media_hashes_from_json
from crawler.items import POSTER, STORYBOARD, Preview
from crawler.stats import PREVIEWS_CACHE_HITS

logger = logging.getLogger(__name__)

#: Storyboards read per page, sprite images fetched per page, tiles hashed per storyboard.
MAX_STORYBOARDS = 3
MAX_SPRITES = 12
MAX_TILES = 24
#: Tiles smaller than this on a side are not hashed (too few pixels for PDQ to mean much).
MIN_TILE_SIDE = 32
#: Largest storyboard text read (bytes).
MAX_STORYBOARD_BYTES = 2_000_000

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class PreviewHash:
    """One hashed preview image: a poster (``seconds`` None) or a storyboard tile (its cue's
    start, seconds into the video)."""

    preview: Preview
    image_url: str
    seconds: float | None
    hashes: MediaHashes

    @property
    def video(self) -> str | None:
        """The video it is a preview of (None: the page does not say)."""
        return self.preview.video


def spread(cues: Sequence[Cue], count: int) -> list[Cue]:
    """At most ``count`` of ``cues``, evenly spread from the first to the last."""
    if len(cues) <= count:
        return list(cues)
    if count <= 1:
        return [cues[0]]
    step = (len(cues) - 1) / (count - 1)
    return [cues[round(index * step)] for index in range(count)]


class PreviewDownload(MediaDownload):
    """`MediaDownload` for previews: the same requests through Scrapy's engine and the same
    media cache, counted as previews and never among the media's figures (a cache hit is
    ``previews/cache_hits``); a preview that cannot be fetched is only logged: it is a hint."""

    def stale(self, url: str) -> None:
        pass  # downloaded and hashed again, as a preview is at its first crawl

    def unchanged(self, url: str) -> None:
        self.stats.inc_value(PREVIEWS_CACHE_HITS)
        self.touch(url)

    def media_downloaded(self, url: str, response: Response) -> Response | MediaOutcome:
        if response.status != 200:
            return self.media_failed(url, f"http_{response.status}", f"HTTP {response.status}")
        return response

    def media_refused(self, url: str, exc: Exception) -> MediaOutcome:
        return self.media_failed(url, "refused", str(exc) or exc.__class__.__name__)

    def media_failed(self, url: str, kind: str, why: str) -> MediaOutcome:
        logger.info("Preview not fetched: %s (%s)", url, why)
        return MediaOutcome(url=url, error=why)


def hash_tiles(
    data: bytes,
    boxes: Sequence[Box | None],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pixel_budget: int = 0,
) -> list[MediaHashes | None]:
    """Hash each box of one sprite image as an image of its own (None for a box outside the
    image or too small); a None box is the whole image, hashed as media is (``pixel_budget``:
    `hash_media`'s), for the media cache. Runs in the hash pool (a process)."""
    image = open_image(data, max_pixels=max_pixels)
    hashed: list[MediaHashes | None] = []
    for box in boxes:
        if box is None:
            hashed.append(hash_media(data, max_pixels=max_pixels, pixel_budget=pixel_budget))
            continue
        x, y, width, height = box
        if (
            width < MIN_TILE_SIDE
            or height < MIN_TILE_SIDE
            or x + width > image.width
            or y + height > image.height
        ):
            hashed.append(None)
            continue
        tile = io.BytesIO()
        image.crop((x, y, x + width, y + height)).save(tile, "PNG")
        hashed.append(hash_media(tile.getvalue(), max_pixels=max_pixels))
    return hashed


HashTiles = Callable[[bytes, list[Box | None]], Awaitable[list[MediaHashes | None]]]


async def preview_hashes(
    previews: Sequence[Preview],
    *,
    media: PreviewDownload,
    referer: str,
    hash_tiles: HashTiles,
    max_tiles: int = MAX_TILES,
) -> list[PreviewHash]:
    """Fetch and hash a page's previews: each poster whole (:func:`poster_hashes`: from the
    media cache when unchanged), each storyboard's tiles (spread over its cues, each sprite
    fetched once). ``media`` fetches; ``hash_tiles(data, boxes)`` hashes (:func:`hash_tiles`,
    in the pipeline's hash pool). A preview that cannot be fetched or hashed is logged and left
    out."""
    download, request = media.download, media.media_request
    hashed: list[PreviewHash] = []
    sprites_left = MAX_SPRITES
    storyboards = 0
    for preview in previews:
        if preview.kind == POSTER:
            if sprites_left <= 0:
                continue
            sprites_left -= 1
            hashes = await poster_hashes(media, preview.url, referer, hash_tiles)
            if hashes is not None:
                hashed.append(PreviewHash(preview, preview.url, None, hashes))
        elif preview.kind == STORYBOARD and storyboards < MAX_STORYBOARDS:
            data = await _fetch(download, request(preview.url, referer))
            text = data[:MAX_STORYBOARD_BYTES].decode("utf-8", "replace") if data else ""
            cues = spread(storyboard_cues(text, preview.url), max_tiles)
            if not cues:
                continue  # subtitles, chapters: no thumbnails
            storyboards += 1
            by_image: dict[str, list[Cue]] = {}
            for cue in cues:
                by_image.setdefault(cue.image_url, []).append(cue)
            for image_url, image_cues in by_image.items():
                if sprites_left <= 0:
                    break
                sprites_left -= 1
                sprite = await _fetch(download, request(image_url, preview.url))
                boxes = [cue.box for cue in image_cues]
                for cue, hashes in zip(
                    image_cues, await _hashed(hash_tiles, image_url, sprite, boxes), strict=False
                ):
                    if hashes is not None:
                        hashed.append(PreviewHash(preview, image_url, cue.start, hashes))
    return hashed


async def poster_hashes(
    media: PreviewDownload, url: str, referer: str, hash_tiles: HashTiles
) -> MediaHashes | None:
    """A poster's hashes, fetched as media is: the media cache's when the server says the
    poster is unchanged since it was hashed, else downloaded whole, hashed as an image and
    remembered for the next crawl. None when it cannot be fetched or hashed."""
    fetched = await media.fetch(url, referer, whole=True)
    if isinstance(fetched, MediaOutcome):  # refused or failed: logged
        return None
    if isinstance(fetched, db.CachedMedia):
        try:
            return media_hashes_from_json(fetched.hashes)
        except Exception as exc:  # an unreadable entry costs this preview, not the page
            logger.warning("Preview not hashed: %s (cache entry: %s)", url, exc)
            return None
    for hashes in await _hashed(hash_tiles, url, fetched.body, [None]):
        if hashes is not None:
            media.remember(url, fetched, hashes)
            return hashes
    return None


def preview_frames(hashed: Sequence[PreviewHash]) -> dict[str | None, list[FrameHash]]:
    """The storyboard tiles as frames of their videos (cue time, PDQ), by video URL, for
    ``candidate_times``: where to sample a video first. Posters have no time: none here."""
    frames: dict[str | None, list[FrameHash]] = {}
    for item in hashed:
        pdq = item.hashes.get("pdq")
        if item.seconds is not None and pdq is not None:
            frames.setdefault(item.video, []).append(FrameHash(item.seconds, pdq))
    for video_frames in frames.values():
        video_frames.sort(key=lambda frame: frame.seconds)
    return frames


async def _fetch(download: Callable[[Any], Awaitable[Any]], request: Any) -> bytes | None:
    try:
        response = await download(request)
    except Exception as exc:  # refused (robots, guard) or failed: a preview is only a hint
        logger.info("Preview not fetched: %s (%s)", request.url, exc.__class__.__name__)
        return None
    if getattr(response, "status", 200) != 200:
        logger.info("Preview not fetched: %s (HTTP %s)", request.url, response.status)
        return None
    return response.body


async def _hashed(
    hash_tiles: HashTiles, url: str, data: bytes | None, boxes: list[Box | None]
) -> list[MediaHashes | None]:
    if not data:
        return []
    try:
        return await hash_tiles(data, boxes)
    except MediaError as exc:
        logger.info("Preview not hashed: %s (%s)", url, exc)
        return []
    except Exception as exc:  # a dead or timed-out hashing process: the preview is a hint
        logger.warning("Preview not hashed: %s (%s)", url, exc.__class__.__name__)
        return []


@dataclass(frozen=True)
class PreviewHints:
    """What a page's previews that look like a reference video's frame say of its videos, by
    video URL (None: a preview the page ties to no video, which counts for each of them)."""

    times: dict[str | None, tuple[float, ...]]  # storyboard cue times: sample densely there
    kinds: dict[str | None, tuple[str, ...]]  # POSTER, STORYBOARD: for a flag's evidence

    def times_for(self, video: str) -> list[float]:
        return sorted({*self.times.get(video, ()), *self.times.get(None, ())})

    def kinds_for(self, video: str) -> list[str]:
        return sorted({*self.kinds.get(video, ()), *self.kinds.get(None, ())})


NO_HINTS = PreviewHints({}, {})


async def preview_hints(
    hashed: Sequence[PreviewHash], candidate_times: CandidateTimes
) -> PreviewHints:
    """Ask ``candidate_times`` (the pipeline's, on its matching thread) once for all of
    ``hashed``: each preview goes as a frame labelled by its position (a poster has no time
    in its video), and those named back looked like a reference frame."""
    usable = [(item, pdq) for item in hashed if (pdq := item.hashes.get("pdq")) is not None]
    if not usable:
        return NO_HINTS
    frames = [FrameHash(float(index), pdq) for index, (_, pdq) in enumerate(usable)]
    looked = {round(seconds) for seconds in await candidate_times(frames)}
    times: dict[str | None, set[float]] = {}
    kinds: dict[str | None, set[str]] = {}
    for index in sorted(looked):
        item = usable[index][0]
        kinds.setdefault(item.video, set()).add(item.preview.kind)
        if item.seconds is not None:
            times.setdefault(item.video, set()).add(item.seconds)
    return PreviewHints(
        {video: tuple(sorted(found)) for video, found in times.items()},
        {video: tuple(sorted(found)) for video, found in kinds.items()},
    )
