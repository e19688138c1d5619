"""VideoMatcher: one offset and one speed decide; copies, excerpts and compilations match, and
unrelated videos, shared cards and still shots never do. Real videos in the first half, the rule
on made-up hashes in the second (`test_video_edits` holds the edits repost sites make)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import pytest

from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD
from crawler.hashing.types import FrameHash, HashValue, VariantHash
from crawler.hashing.video import (
    REFERENCE_SECONDS_PER_SAMPLE,
    VideoHashes,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import VideoMatcher
from tests.support import videos

#: Reference videos (photos shown in turn) and their ids; the last one only as an outsider.
VIDEOS: dict[str, tuple[str, ...]] = {
    "portrait": ("astronaut", "coffee"),
    "street": ("chelsea", "rocket"),
    "studio": ("camera", "motorcycle"),
    "lab": ("ihc", "coins"),
    "sky": ("retina", "hubble", "moon"),
}
VIDEO_IDS = {name: number for number, name in enumerate(VIDEOS, start=1)}

#: What repost sites do to a video, applied to a reference's photos, and the second of the
#: reference the copy starts at (the slideshows are 8 s long).
TRANSFORMS: dict[str, tuple[Callable[[tuple[str, ...]], bytes], float]] = {
    "reencoded-low-quality": (lambda p: videos.transcoded(videos.slideshow(p), quality="low"), 0),
    "resized-to-half": (lambda p: videos.transcoded(videos.slideshow(p), scale=0.5), 0),
    "first-20%-cut": (lambda p: videos.transcoded(videos.slideshow(p), keep=(0.2, 1.0)), 1.6),
    "last-20%-cut": (lambda p: videos.transcoded(videos.slideshow(p), keep=(0.0, 0.8)), 0),
    # 15% off each end, not 20%: a 4.8 s copy is sampled over 4 s, exactly the rule's floor for
    # an 8 s reference (half of it), and losing one end sample to an encoder's choices failed it.
    "both-ends-15%-cut": (lambda p: videos.transcoded(videos.slideshow(p), keep=(0.15, 0.85)), 1.2),
    "15-to-10-fps": (lambda p: videos.transcoded(videos.slideshow(p), fps=10), 0),
    "remuxed-to-matroska": (lambda p: videos.remuxed(videos.slideshow(p), "matroska"), 0),
    "webm-low-quality": (
        lambda p: videos.transcoded(videos.slideshow(p), "webm", quality="low"),
        0,
    ),
    "avi": (lambda p: videos.transcoded(videos.slideshow(p), "avi"), 0),
    "avi-remuxed-to-mp4": (lambda p: videos.remuxed(videos.slideshow(p, "avi"), "mp4"), 0),
    "stored-sideways": (videos.stored_sideways, 0),
    "all-at-once": (
        lambda p: videos.transcoded(
            videos.slideshow(p), "webm", quality="low", scale=0.5, fps=10, keep=(0.2, 1.0)
        ),
        1.6,
    ),
}
COPIED = [name for name in VIDEOS if name != "sky"]


@cache
def hashed(data: bytes) -> VideoHashes:
    """A crawled video's hashes: one sample a second, with the frames' variants."""
    return hash_video(data)


@cache
def reference(name: str, container: str = "mp4", zoom: float = videos.ZOOM) -> VideoHashes:
    """A reference video as registration hashes it: four samples a second, no variants."""
    data = videos.slideshow(VIDEOS[name], container, zoom=zoom)
    return hash_video(data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False)


def add(matcher: VideoMatcher, video_id: int, case_id: int, video: VideoHashes) -> None:
    """Add a reference as `refs add` stores it: repeats of still shots dropped."""
    matcher.add(video_id, case_id, unique_frame_hashes(video.frames), video.duration)


@pytest.fixture(scope="module")
def matcher() -> VideoMatcher:
    matcher = VideoMatcher()
    for name, video_id in VIDEO_IDS.items():
        add(matcher, video_id, video_id * 10, reference(name))
    return matcher


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", COPIED)
def test_every_copy_matches_its_reference_and_no_other_at_the_right_time(matcher, name, transform):
    make, starts_at = TRANSFORMS[transform]
    copy = hashed(make(VIDEOS[name]))
    found = matcher.match(copy.frames)
    assert [match.video_id for match in found] == [VIDEO_IDS[name]]
    match = found[0]
    assert match.case_id == VIDEO_IDS[name] * 10 and match.variant == "original"
    assert 0 <= match.best_distance <= PDQ_MATCH_THRESHOLD
    assert match.frames_aligned >= 4
    # Six to eight samples of slow zooms, each close to a second of reference frames: speed 1
    # agrees with them all and is taken (other speeds did too, and were, at 0.75-0.88x).
    assert match.speed == 1.0
    assert abs(match.reference_start - (starts_at + match.query_start)) <= 0.5


@pytest.mark.parametrize("container", ["webm", "avi", "matroska"])
def test_reference_registered_from_any_container_finds_an_mp4_copy(container):
    matcher = VideoMatcher()
    add(matcher, 1, 1, reference("portrait", container))
    copy = hashed(TRANSFORMS["reencoded-low-quality"][0](VIDEOS["portrait"]))
    assert [match.video_id for match in matcher.match(copy.frames)] == [1]


@pytest.mark.parametrize(("query", "other"), [(a, b) for a in VIDEOS for b in VIDEOS if a != b])
def test_unrelated_videos_never_match(query, other):
    # Even with the rule at its loosest, no usable frame of one is near the other: the black
    # lead-in they all share is too featureless to count.
    anything = VideoMatcher(min_frames=2, min_seconds=0, sparse_frames=2, sparse_seconds=0)
    add(anything, 1, 1, reference(other))
    crawled = hashed(videos.slideshow(VIDEOS[query]))
    assert anything.match(crawled.frames) == []
    assert anything.candidate_times(crawled.frames) == []
    assert crawled.frames[0].value == reference(other).frames[0].value  # the black lead-in


@pytest.mark.parametrize("name", ["portrait", "studio"])
@pytest.mark.parametrize(
    ("keep", "scale"), [((0.2, 1.0), 1.0), ((0.2, 0.8), 0.5)], ids=["start-cut", "ends-cut-half"]
)
def test_fast_motion_matches_references_sampled_four_times_a_second(name, keep, scale):
    # Zooming a quarter into each photo: samples a second apart differ by 40-100 bits, so only
    # references sampled densely have a frame near each of the copy's.
    fast = videos.slideshow(VIDEOS[name], zoom=0.25)
    copy = hashed(videos.transcoded(fast, keep=keep, scale=scale))
    dense = VideoMatcher()
    add(dense, 1, 1, reference(name, zoom=0.25))
    [match] = dense.match(copy.frames)
    assert match.frames_aligned >= 4 and abs(match.offset - 1.6) <= 1.0


def test_candidate_times_are_the_query_seconds_near_a_reference(matcher):
    copy = hashed(TRANSFORMS["first-20%-cut"][0](VIDEOS["street"]))
    times = matcher.candidate_times(copy.frames)
    usable = [frame.seconds for frame in copy.frames if frame.value.quality >= 50]
    assert times and set(times) <= set(usable) and len(times) >= len(usable) - 1


# The rule, on made-up hashes: reference frames every 0.25 s, query frames every second.


def test_a_whole_copy_aligns_at_offset_0_and_speed_1():
    reference = _random_video(60, seed=1)
    [match] = _matcher_with(reference).match(_sampled(reference, start=0, end=60))
    # Reference frames stand for a quarter second each: the line is placed in their middle.
    assert match.offset == pytest.approx(0, abs=0.25) and match.speed == pytest.approx(1)
    assert match.reference_start == pytest.approx(0, abs=0.25)
    assert match.reference_end == pytest.approx(59, abs=0.25)
    assert (match.query_start, match.query_end, match.best_distance) == (0, 59, 0)
    assert match.frames_aligned == 60


@pytest.mark.parametrize("speed", [0.5, 0.8, 1.25, 1.5, 2.0])
def test_an_excerpt_at_another_speed_aligns_at_its_offset_and_speed(speed):
    reference = _random_video(60, seed=2)
    query = _sampled(reference, start=20, end=40, speed=speed)
    [match] = _matcher_with(reference).match(query)
    assert match.speed == pytest.approx(speed, abs=0.02)
    assert match.offset == pytest.approx(20, abs=0.5)
    assert match.reference_start == pytest.approx(20, abs=0.5)
    assert match.reference_end == pytest.approx(40, abs=1 + speed)


def test_a_compilation_matches_on_the_part_that_is_the_reference():
    reference = _random_video(60, seed=3)
    part = _sampled(reference, start=10, end=25)
    compilation = [
        *_random_query(100, seed=4),
        *(FrameHash(frame.seconds + 100, frame.value) for frame in part),
        *_random_query(200, seed=5, start=115),
    ]
    [match] = _matcher_with(reference).match(compilation)
    assert (match.query_start, match.query_end) == (100, 114)
    assert match.offset == pytest.approx(10 - 100, abs=0.5)
    assert match.speed == pytest.approx(1, abs=0.01)
    assert match.reference_start == pytest.approx(10, abs=0.25)
    assert match.reference_end == pytest.approx(24, abs=0.25)


def test_a_re_edit_matches_on_its_longest_scene_in_order():
    reference = _random_video(60, seed=6)
    late = _sampled(reference, start=30, end=45)
    early = _sampled(reference, start=0, end=8)
    query = [*late, *(FrameHash(frame.seconds + 15, frame.value) for frame in early)]
    [match] = _matcher_with(reference).match(query)
    assert match.offset == pytest.approx(30, abs=0.5) and match.frames_aligned == 15
    assert (match.query_start, match.query_end) == (0, 14)


def test_five_frames_over_five_seconds_of_the_reference_are_needed():
    reference = _random_video(60, seed=8)
    matcher = _matcher_with(reference)
    assert matcher.match(_sampled(reference, start=10, end=16))  # 6 frames over 5 s
    assert not matcher.match(_sampled(reference, start=10, end=15))  # 5 frames over 4 s
    assert not matcher.match(_sampled(reference, start=10, end=14, step=0.5))  # 8 over 3.5 s


def test_a_sparsely_sampled_query_needs_three_frames_over_fifteen_seconds():
    reference = _random_video(60, seed=9)
    matcher = _matcher_with(reference)
    assert matcher.match(_sampled(reference, start=10, end=31, step=8))  # 10, 18, 26 s
    assert not matcher.match(_sampled(reference, start=10, end=29, step=10))  # 2 frames
    assert not matcher.match(_sampled(reference, start=10, end=24, step=6))  # over 12 s


def test_a_short_reference_needs_half_its_length():
    reference = _random_video(4, seed=10)
    matcher = _matcher_with(reference)
    assert matcher.match(_sampled(reference, start=0, end=4, step=0.5))  # 3.5 s of 4
    assert not matcher.match(_sampled(reference, start=0, end=1.5, step=0.25))  # 1.25 s


def test_a_still_shot_never_matches_by_itself():
    # A card held for 20 s is one stored frame standing for 20 s: twenty query frames agree
    # with it, but all with the same reference frame, 0 s of the reference.
    card = HashValue("pdq", format(random.Random(11).getrandbits(256), "064x"), 100)
    reference = [FrameHash(0.0, card), *_random_video(40, seed=12, start=20)]
    matcher = _matcher_with(reference, duration=60)
    held = [FrameHash(float(t), card) for t in range(20)]
    assert matcher.match(held) == []
    assert matcher.candidate_times(held) == [float(t) for t in range(20)]


def test_frames_many_references_share_never_count():
    # An animated intro (8 s) opens nine reference videos, then each goes its own way. A query
    # of the intro and unrelated footage matches none of them; the intro of just one reference
    # is that reference's own footage, and matches.
    intro = _random_video(8, seed=13)
    matcher = VideoMatcher()
    for video_id in range(1, 10):
        own = _random_video(30, seed=100 + video_id, start=8)
        matcher.add(video_id, video_id * 10, [*intro, *own])
    query = [*_sampled(intro, start=0, end=8), *_random_query(20, seed=14, start=8)]
    assert matcher.match(query) == []
    assert matcher.candidate_times(query) == []
    alone = _matcher_with([*intro, *_random_video(30, seed=101, start=8)])
    assert [m.video_id for m in alone.match(query)] == [1]


def test_a_frame_counts_within_31_bits_once_seeded_within_23():
    reference = _random_video(30, seed=15)
    query = _sampled(reference, start=0, end=30)
    near = [
        _flipped(frame, PDQ_MATCH_THRESHOLD if n % 3 else 20, n) for n, frame in enumerate(query)
    ]
    far = [
        _flipped(frame, PDQ_MATCH_THRESHOLD + 1 if n % 3 else 20, n)
        for n, frame in enumerate(query)
    ]
    [match] = _matcher_with(reference).match(near)
    assert match.frames_aligned == 30 and match.best_distance == 20
    assert _matcher_with(reference).match(far)[0].frames_aligned == 10  # only the seeds
    unseeded = [_flipped(frame, 24, n) for n, frame in enumerate(query)]
    assert _matcher_with(reference).match(unseeded) == []


def test_low_quality_frames_do_not_count_on_either_side():
    reference = _random_video(20, seed=16)
    black = HashValue("pdq", "0" * 64, 0)
    dark = [FrameHash(20 + t / 4, black) for t in range(40)]
    matcher = _matcher_with([*reference, *dark])
    [match] = matcher.match([*_sampled(reference, start=0, end=20), *dark[::4]])
    assert match.frames_aligned == 20
    assert matcher.match(dark) == [] and matcher.match([]) == []


def test_a_turned_or_mirrored_query_matches_through_its_variant():
    reference = _random_video(20, seed=17)
    query = [
        FrameHash(frame.seconds, _random_value(1000 + n), (VariantHash("rot90", frame.value),))
        for n, frame in enumerate(_sampled(reference, start=0, end=20))
    ]
    [match] = _matcher_with(reference).match(query)
    assert match.variant == "rot90" and match.frames_aligned == 20


def test_results_are_sorted_by_frames_aligned_and_carry_their_case():
    reference = _random_video(30, seed=18)
    matcher = VideoMatcher()
    matcher.add(3, 30, reference)
    matcher.add(2, 20, reference[: 4 * 12])  # the first 12 s only
    matcher.add(1, 10, reference)
    found = matcher.match(_sampled(reference, start=0, end=30))
    assert [(m.video_id, m.case_id) for m in found] == [(1, 10), (3, 30), (2, 20)]


def test_add_and_remove():
    reference = _random_video(10, seed=19)
    matcher = _matcher_with(reference)
    query = _sampled(reference, start=0, end=10)
    assert [m.video_id for m in matcher.match(query)] == [1]  # now in the index
    with pytest.raises(ValueError, match="already in the matcher"):
        matcher.add(1, 100, reference)
    matcher.remove(1)
    matcher.remove(99)  # unknown: ignored
    assert len(matcher) == 0 and matcher.match(query) == []
    matcher.add(1, 100, reference)
    assert [m.video_id for m in matcher.match(query)] == [1]


def test_reference_without_usable_frames_never_matches():
    black = HashValue("pdq", "0" * 64, 0)
    matcher = _matcher_with([FrameHash(t, black) for t in range(3)])
    assert len(matcher) == 1 and 1 in matcher
    assert matcher.match([FrameHash(0, HashValue("pdq", "0" * 64, 100))]) == []


def test_only_pdq_frames_and_sensible_settings_are_accepted():
    with pytest.raises(ValueError, match="phash hash"):
        VideoMatcher().add(1, 1, [FrameHash(0, HashValue("phash", "0" * 16))])
    with pytest.raises(ValueError, match="distance"):
        VideoMatcher(distance=-1)
    with pytest.raises(ValueError, match="seed_distance 32 is over distance 31"):
        VideoMatcher(seed_distance=32)
    with pytest.raises(ValueError, match="crop_seed_distance 40 is over distance 31"):
        VideoMatcher(crop_seed_distance=40)
    with pytest.raises(ValueError, match="min_frames"):
        VideoMatcher(min_frames=1)
    with pytest.raises(ValueError, match="crop_probe_every must be 1 or more, got 0"):
        VideoMatcher(crop_probe_every=0)
    assert VideoMatcher(probe_every=3).crop_probe_every == 8  # not the frames' step
    assert VideoMatcher(crop_probe_every=6).crop_probe_every == 6


def _matcher_with(frames: Sequence[FrameHash], duration: float | None = None) -> VideoMatcher:
    matcher = VideoMatcher()
    matcher.add(1, 100, frames, duration)
    return matcher


def _random_value(seed: int) -> HashValue:
    return HashValue("pdq", format(random.Random(seed).getrandbits(256), "064x"), 100)


def _random_video(seconds: float, *, seed: int, start: float = 0.0) -> list[FrameHash]:
    """A reference's frames, four a second, each unlike the others."""
    return [
        FrameHash(start + n / 4, _random_value(seed * 100_000 + n)) for n in range(int(seconds * 4))
    ]


def _random_query(seconds: float, *, seed: int, start: float = 0.0) -> list[FrameHash]:
    """Unrelated footage sampled once a second."""
    return [FrameHash(start + n, _random_value(seed * 100_000 + n)) for n in range(int(seconds))]


def _sampled(
    reference: Sequence[FrameHash],
    *,
    start: float,
    end: float,
    speed: float = 1.0,
    step: float = 1.0,
) -> list[FrameHash]:
    """A copy of the reference's seconds ``start`` to ``end`` played at ``speed``, sampled every
    ``step`` seconds of its own: each sample is the reference frame showing at that moment."""
    times = [frame.seconds for frame in reference]
    found = []
    t = 0.0
    while start + t * speed < end - 1e-9:
        at = start + t * speed
        index = max(i for i, seconds in enumerate(times) if seconds <= at + 1e-9)
        found.append(FrameHash(t, reference[index].value))
        t += step
    return found


def _flipped(frame: FrameHash, bits: int, seed: int) -> FrameHash:
    """``frame`` with exactly ``bits`` of its hash's bits inverted."""
    mask = sum(1 << bit for bit in random.Random(seed).sample(range(256), bits))
    value = frame.value
    return FrameHash(
        frame.seconds, HashValue("pdq", format(int(value.hex, 16) ^ mask, "064x"), value.quality)
    )


def test_coarse_crops_from_a_cache_are_looked_up_wider_than_the_whole_grids():
    """A media cache entry keeps a frame's crops in the coarse grid's boxes only: they are looked
    up within ``coarse_crop_seed_distance`` (15) on every frame that has them, as all crops were
    before the grid was made finer; the whole grid's within ``crop_seed_distance`` (11), one
    frame in ``crop_probe_every``. A copy whose best box is 13 bits from the middles is found
    from its cache entry, and from fresh crops only by a matcher seeding at 13 bits."""
    from crawler.hashing.crops import COARSE_BOXES, GRID

    rng = np.random.default_rng(7)

    def value(code: np.ndarray) -> HashValue:
        return HashValue("pdq", code.tobytes().hex(), 90)

    def noisy(code: np.ndarray, bits: int) -> np.ndarray:
        unpacked = np.unpackbits(code)
        unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
        return np.packbits(unpacked)

    seconds = 30
    frames = rng.integers(0, 256, (4 * seconds, 32), dtype=np.uint8)
    middles = rng.integers(0, 256, (seconds, 32), dtype=np.uint8)
    reference = [FrameHash(n / 4, value(code)) for n, code in enumerate(frames)]
    reference_middles = [FrameHash(float(n), value(code)) for n, code in enumerate(middles)]

    def copy(boxes: int, box: int) -> list[FrameHash]:
        """The reference cut: each second's frame random as a whole, its middle 13 bits off in
        ``box`` of its ``boxes`` crops."""
        out = []
        for t in range(seconds):
            crops = rng.integers(0, 256, (boxes, 32), dtype=np.uint8)
            crops[box] = noisy(middles[t], 13)
            whole = rng.integers(0, 256, 32, dtype=np.uint8)
            out.append(FrameHash(float(t), value(whole), crops=crops.tobytes()))
        return out

    def found(matcher: VideoMatcher, query: list[FrameHash]) -> list[str]:
        matcher.add(1, 1, reference, 30.0, reference_middles)
        return [m.variant for m in matcher.match(query)]

    fine_box = int(np.flatnonzero(~np.isin(np.arange(len(GRID)), COARSE_BOXES))[5])
    assert found(VideoMatcher(), copy(len(COARSE_BOXES), 17)) == ["cropped"]
    assert found(VideoMatcher(coarse_crop_seed_distance=11), copy(len(COARSE_BOXES), 17)) == []
    assert found(VideoMatcher(), copy(len(GRID), fine_box)) == []
    assert found(VideoMatcher(crop_seed_distance=13), copy(len(GRID), fine_box)) == ["cropped"]
