"""The video half of `benchmarks.robustness`: slideshows, their edited copies, and VideoMatcher.

Slideshows are made by ``tests/support/videos.py`` from disjoint pairs of the scikit-image
photos (`benchmarks.photos.VIDEO_PHOTOS`), hashed with `crawler.hashing.video.hash_video`
(references four samples a second, deduplicated, as `refs add` stores them) and matched with
`crawler.matching.video.VideoMatcher`.
"""

from __future__ import annotations

from benchmarks import photos
from benchmarks.robustness_report import false_positive_line, verdict
from crawler.hashing import MediaError
from crawler.hashing.types import FrameHash
from crawler.hashing.video import (
    DEFAULT_MAX_FRAMES,
    REFERENCE_SECONDS_PER_SAMPLE,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import VideoMatcher
from tests.support import videos

#: The share of each video edit's copies that should match their own video.
VIDEO_TARGET = 0.95


def hash_video_copies(names: tuple[str, ...]) -> tuple[tuple[tuple[FrameHash, ...], float], dict]:
    """Runs in a worker: a slideshow's reference frames (as `refs add` stores them) and its
    duration, and the frames of the original file and of each copy, sampled as a crawl samples
    them."""
    data = videos.slideshow(names)
    stored = hash_video(
        data,
        seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
        max_frames=4 * DEFAULT_MAX_FRAMES,
        variants=False,
    )
    reference = (unique_frame_hashes(stored.frames), stored.duration)
    copies: dict[str, tuple[FrameHash, ...] | str] = {"original": hash_video(data).frames}
    for name, transform in photos.VIDEO_TRANSFORMS.items():
        try:
            copies[name] = hash_video(transform(data)).frames
        except MediaError as error:
            copies[name] = f"{type(error).__name__}: {error}"
    return reference, copies


def score_videos(results: list[tuple[tuple, dict]]) -> tuple[list, dict, list]:
    """Rows of the video table, recall per edit, and notes (misses, false positives)."""
    matcher = VideoMatcher()
    # The loosest rule: how many frames of a missed copy aligned with its own video.
    evidence = VideoMatcher(min_frames=2, min_seconds=0, sparse_frames=2, sparse_seconds=0)
    for video_id, ((reference, duration), _) in enumerate(results):
        matcher.add(video_id, video_id, reference, duration)
        evidence.add(video_id, video_id, reference, duration)
    rows, recall, notes, flagged, pairs = [], {}, [], 0, 0
    for name in ["original", *photos.VIDEO_TRANSFORMS]:
        hits, wrong, shares, missed = 0, 0, [], []
        for video_id, (_, copies) in enumerate(results):
            frames = copies[name]
            pairs += len(results) - 1
            matches = [] if isinstance(frames, str) else matcher.match(frames)
            own = [m for m in matches if m.video_id == video_id]
            hits += bool(own)
            wrong += len(matches) - len(own)
            near = [] if isinstance(frames, str) else evidence.match(frames)
            aligned = next((m.frames_aligned for m in near if m.video_id == video_id), 0)
            shares.append(aligned)
            if not own:
                missed.append(f"{'+'.join(photos.VIDEO_PHOTOS[video_id])} ({aligned})")
        flagged += wrong
        recall[name] = hits / len(results)
        target = None if name == "original" else VIDEO_TARGET
        rows.append(
            [
                name,
                "-" if target is None else f">= {target:.0%}",
                f"{recall[name]:.1%} ({hits}/{len(results)})",
                verdict(recall[name], target),
                str(min(shares)),
                str(wrong),
            ]
        )
        if missed:
            notes.append(f"{name} missed (frames aligned with its video): {', '.join(missed)}")
    return rows, recall, [*notes, false_positive_line("VideoMatcher", flagged, pairs)]
