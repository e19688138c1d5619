"""The edits repost sites make, on a 30-second reference: each copy matches at the right offset
and speed, through the right variant; unrelated videos and a shared intro never do."""

from __future__ import annotations

from functools import cache

import pytest

from crawler.hashing.types import FrameHash
from crawler.hashing.video import (
    REFERENCE_SECONDS_PER_SAMPLE,
    VideoHashes,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import VideoMatcher
from tests.support import videos

REFERENCE = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "camera")
OTHER = ("moon", "retina", "coins", "hubble")
SECONDS = 30.0


@cache
def reference_frames() -> tuple:
    return videos.slideshow_frames(REFERENCE, seconds=SECONDS)


@cache
def other_frames() -> tuple:
    return videos.slideshow_frames(OTHER, seconds=20.0)


@cache
def reference() -> VideoHashes:
    data = videos.encode(reference_frames())
    return hash_video(
        data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False, middles=True
    )


@cache
def crawled(name: str) -> tuple[FrameHash, ...]:
    """The copy ``name`` of `COPIES` as a crawl hashes it: re-encoded at low quality, one
    sample a second."""
    frames, fps = COPIES[name][0](), videos.FPS
    if name == "10-fps":
        fps = 10
    return hash_video(videos.encode(frames, fps=fps, quality="low")).frames


def _at_10_fps() -> list:
    frames = reference_frames()
    return [frames[int(i * 1.5)] for i in range(int(len(frames) / 1.5))]


#: Copy name -> (its frames, offset, speed, variant): at query second t it shows the reference's
#: second offset + speed * t.
COPIES = {
    "mirror": (lambda: videos.edited_frames(reference_frames(), "mirror"), 0, 1, "flipx"),
    "rot90": (lambda: videos.edited_frames(reference_frames(), "rot90"), 0, 1, "rot90"),
    "greyscale": (lambda: videos.edited_frames(reference_frames(), "greyscale"), 0, 1, None),
    "letterbox": (lambda: videos.edited_frames(reference_frames(), "letterbox"), 0, 1, "trimmed"),
    # The subtitle line sits in the bottom fifth, outside the references' middles: the crops
    # (the grid's first box) align more frames than the whole frames do.
    "subtitles": (lambda: videos.edited_frames(reference_frames(), "subtitles"), 0, 1, "cropped"),
    "banner": (lambda: videos.edited_frames(reference_frames(), "banner"), 0, 1, None),
    # A band over a fifth lies outside the references' middles: found through the grid's first
    # box, the uncut copy's.
    **{
        name: (lambda name=name: videos.edited_frames(reference_frames(), name), 0, 1, "cropped")
        for name in ("banner-top-fifth", "banner-bottom-fifth")
    },
    "240p": (lambda: videos.edited_frames(reference_frames(), "240p"), 0, 1, None),
    "10-fps": (_at_10_fps, 0, 1, None),
    "excerpt-8-20s": (lambda: videos.excerpt(reference_frames(), 8, 20), 8, 1, None),
    "compilation": (
        lambda: [
            *other_frames()[:150],
            *videos.excerpt(reference_frames(), 5, 25),
            *other_frames()[150:],
        ],
        -5,
        1,
        None,
    ),
    "speed-0.5x": (lambda: videos.retimed(reference_frames(), 0.5), 0, 0.5, None),
    "speed-1.25x": (lambda: videos.retimed(reference_frames(), 1.25), 0, 1.25, None),
    "speed-2x": (lambda: videos.retimed(reference_frames(), 2.0), 0, 2, None),
    **{
        name: (lambda name=name: videos.edited_frames(reference_frames(), name), 0, 1, "cropped")
        for name in videos.CROPS
    },
    "cropped-excerpt-at-1.25x": (
        lambda: videos.retimed(
            videos.edited_frames(videos.excerpt(reference_frames(), 8, 26), "crop-corner10"), 1.25
        ),
        8,
        1.25,
        "cropped",
    ),
    "mirrored-excerpt-at-1.25x": (
        lambda: videos.retimed(
            videos.edited_frames(videos.excerpt(reference_frames(), 10, 28), "mirror"), 1.25
        ),
        10,
        1.25,
        "flipx",
    ),
}


@pytest.fixture(scope="module")
def matcher() -> VideoMatcher:
    matcher = VideoMatcher()
    video = reference()
    matcher.add(
        1, 10, unique_frame_hashes(video.frames), video.duration, unique_frame_hashes(video.middles)
    )
    return matcher


@pytest.mark.parametrize("name", COPIES)
def test_an_edited_copy_matches_at_its_offset_and_speed(matcher, name):
    _, offset, speed, variant = COPIES[name]
    [match] = matcher.match(crawled(name))
    assert (match.video_id, match.case_id) == (1, 10)
    assert match.variant == (variant or "original")
    assert match.speed == pytest.approx(speed, rel=0.1)
    # Where the run starts in the reference: within a second and a half of the truth.
    assert match.reference_start == pytest.approx(offset + speed * match.query_start, abs=1.5)
    assert match.reference_end - match.reference_start >= 5
    assert match.frames_aligned >= 5


def test_a_compilation_reports_the_part_that_is_the_reference(matcher):
    [match] = matcher.match(crawled("compilation"))
    assert 9 <= match.query_start <= 12 and 27 <= match.query_end <= 30  # 10-30 s holds it


def test_an_unrelated_video_does_not_match(matcher):
    data = videos.encode(other_frames(), quality="low")
    assert matcher.match(hash_video(data).frames) == []


def test_an_intro_shared_by_many_references_never_matches_by_itself():
    # Nine references open on the same 6-second intro (a slow zoom over a page of text), then
    # show their own photos. A video with that intro and other footage matches none of them.
    intro = videos.slideshow_frames(("page",), seconds=6.0)[videos.FPS // 2 :]
    photos = ["astronaut", "coffee", "chelsea", "rocket", "motorcycle", "camera", "coins"]
    matcher = VideoMatcher()
    for number in range(9):
        own = videos.slideshow_frames((photos[number % 7], OTHER[number % 4]), seconds=6.0)
        video = hash_video(
            videos.encode([*intro, *own]),
            seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
            variants=False,
        )
        matcher.add(number + 1, number + 1, unique_frame_hashes(video.frames), video.duration)
    query = hash_video(videos.encode([*intro, *other_frames()[:120]], quality="low")).frames
    assert matcher.match(query) == []
    alone = VideoMatcher()
    own = videos.slideshow_frames(("astronaut", "moon"), seconds=6.0)
    video = hash_video(
        videos.encode([*intro, *own]),
        seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
        variants=False,
    )
    alone.add(1, 1, unique_frame_hashes(video.frames), video.duration)
    # The intro of one reference only is that reference's own footage: 5+ s of it matches.
    assert [m.video_id for m in alone.match(query)] == [1]


def test_a_sparsely_sampled_copy_matches_or_says_where_to_sample_more(matcher):
    # Keyframes only, every 8 s of a whole copy: four frames over 24 s of the reference.
    whole = [frame for frame in crawled("greyscale") if frame.seconds in (1, 9, 17, 25)]
    [match] = matcher.match(whole)
    assert match.frames_aligned == 4 and abs(match.speed - 1) <= 0.1
    # Every 5 s of the 12 s excerpt: three frames over 10 s are too few to tell ...
    excerpt = crawled("excerpt-8-20s")
    sparse = [frame for frame in excerpt if frame.seconds in (0, 5, 10)]
    assert matcher.match(sparse) == []
    # ... but they say where the crawler should sample densely, and then it matches.
    assert matcher.candidate_times(sparse) == [0.0, 5.0, 10.0]
    assert matcher.match(excerpt)


def test_a_cropped_copy_read_back_from_the_media_cache_still_matches(matcher):
    # The cache keeps the crops of one frame in four: the matcher probes and aligns those.
    from crawler.hashing.types import MediaHashes, media_hashes_from_json, media_hashes_to_json

    frames = crawled("crop-corner10")
    media = MediaHashes("video", "mp4", 1, 320, 240, (), frames=frames, duration=SECONDS)
    cached = media_hashes_from_json(media_hashes_to_json(media)).frames
    assert sum(1 for frame in cached if frame.crops) == (len(frames) + 3) // 4
    [match] = matcher.match(cached)
    assert match.variant == "cropped" and match.reference_end - match.reference_start >= 20
