"""VideoMatcher: vPDQ's frame shares decide; repost copies match, unrelated videos never do."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache

import pytest

import crawler.matching.video as video_matching
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD
from crawler.hashing.phash import hamming
from crawler.hashing.types import HashValue
from crawler.hashing.video import (
    REFERENCE_SECONDS_PER_SAMPLE,
    VideoHashes,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import (
    DEFAULT_MIN_QUERY_SHARE,
    DEFAULT_MIN_REFERENCE_SHARE,
    VideoMatch,
    VideoMatcher,
)
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

#: What repost sites do to a video, applied to a reference's photos.
TRANSFORMS: dict[str, Callable[[tuple[str, ...]], bytes]] = {
    "reencoded-low-quality": lambda p: videos.transcoded(videos.slideshow(p), quality="low"),
    "resized-to-half": lambda p: videos.transcoded(videos.slideshow(p), scale=0.5),
    "first-20%-cut": lambda p: videos.transcoded(videos.slideshow(p), keep=(0.2, 1.0)),
    "last-20%-cut": lambda p: videos.transcoded(videos.slideshow(p), keep=(0.0, 0.8)),
    "both-ends-20%-cut": lambda p: videos.transcoded(videos.slideshow(p), keep=(0.2, 0.8)),
    "15-to-10-fps": lambda p: videos.transcoded(videos.slideshow(p), fps=10),
    "remuxed-to-matroska": lambda p: videos.remuxed(videos.slideshow(p), "matroska"),
    "webm-low-quality": lambda p: videos.transcoded(videos.slideshow(p), "webm", quality="low"),
    "avi": lambda p: videos.transcoded(videos.slideshow(p), "avi"),
    "avi-remuxed-to-mp4": lambda p: videos.remuxed(videos.slideshow(p, "avi"), "mp4"),
    "stored-sideways": videos.stored_sideways,
    "all-at-once": lambda p: videos.transcoded(
        videos.slideshow(p), "webm", quality="low", scale=0.5, fps=10, keep=(0.2, 1.0)
    ),
}
COPIED = [name for name in VIDEOS if name != "sky"]


@cache
def hashed(data: bytes) -> VideoHashes:
    """A crawled video's hashes: one sample a second."""
    return hash_video(data)


@cache
def reference(
    name: str, container: str = "mp4", zoom: float = videos.ZOOM
) -> tuple[HashValue, ...]:
    """A reference video's frames as registration should store them: sampled four times a
    second, repeats of still shots dropped."""
    data = videos.slideshow(VIDEOS[name], container, zoom=zoom)
    return _unique(hash_video(data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE))


@pytest.fixture(scope="module")
def matcher() -> VideoMatcher:
    matcher = VideoMatcher()
    for name, video_id in VIDEO_IDS.items():
        matcher.add(video_id, case_id=video_id * 10, frames=reference(name))
    return matcher


@pytest.fixture(scope="module")
def every_second_matcher() -> VideoMatcher:
    """References sampled like the copies, once a second, every frame kept: vPDQ as published."""
    matcher = VideoMatcher()
    for name, video_id in VIDEO_IDS.items():
        matcher.add(video_id, video_id * 10, hashed(videos.slideshow(VIDEOS[name])).values)
    return matcher


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", COPIED)
def test_every_copy_matches_its_reference_and_no_other(
    matcher, every_second_matcher, name, transform
):
    copy = hashed(TRANSFORMS[transform](VIDEOS[name]))
    for references in (matcher, every_second_matcher):
        found = references.match(copy.values)
        assert [match.video_id for match in found] == [VIDEO_IDS[name]]
        match = found[0]
        assert match.case_id == VIDEO_IDS[name] * 10
        assert match.query_match_share >= DEFAULT_MIN_QUERY_SHARE
        assert match.reference_match_share >= DEFAULT_MIN_REFERENCE_SHARE
        assert 0 <= match.best_distance <= PDQ_MATCH_THRESHOLD


@pytest.mark.parametrize("container", ["webm", "avi", "matroska"])
def test_reference_registered_from_any_container_finds_an_mp4_copy(container):
    matcher = VideoMatcher()
    matcher.add(1, 1, reference("portrait", container))
    copy = hashed(TRANSFORMS["reencoded-low-quality"](VIDEOS["portrait"]))
    assert [match.video_id for match in matcher.match(copy.values)] == [1]


def test_copies_deduplicated_like_references_match_too(matcher):
    for name in COPIED:
        copy = hashed(TRANSFORMS["all-at-once"](VIDEOS[name]))
        assert [match.video_id for match in matcher.match(_unique(copy))] == [VIDEO_IDS[name]]


@pytest.mark.parametrize(
    ("query", "other"),
    [(a, b) for a in VIDEOS for b in VIDEOS if a != b],
)
def test_unrelated_videos_never_match(query, other):
    # Even with every threshold at its lowest, not one usable frame of one is near the other:
    # the black lead-in they all share is too featureless to count.
    anything = VideoMatcher(min_query_share=1e-9, min_reference_share=1e-9)
    anything.add(1, 1, reference(other))
    crawled = hashed(videos.slideshow(VIDEOS[query]))
    assert anything.match(crawled.values) == []
    assert crawled.values[0] == reference(other)[0]  # the black lead-in hashes the same


@pytest.mark.parametrize("name", ["portrait", "studio"])
@pytest.mark.parametrize(
    ("keep", "scale"), [((0.2, 1.0), 1.0), ((0.2, 0.8), 0.5)], ids=["start-cut", "ends-cut-half"]
)
def test_fast_motion_matches_only_references_sampled_four_times_a_second(name, keep, scale):
    # Zooming a quarter into each photo: samples a second apart differ by 40-100 bits, so a copy
    # whose samples fall 0.6 s off the reference's grid misses 1-second references.
    fast = videos.slideshow(VIDEOS[name], zoom=0.25)
    copy = hashed(videos.transcoded(fast, keep=keep, scale=scale))
    every_second = VideoMatcher()
    every_second.add(1, 1, hashed(fast).values)
    assert every_second.match(copy.values) == []
    dense = VideoMatcher()
    dense.add(1, 1, reference(name, zoom=0.25))
    [match] = dense.match(copy.values)
    assert match.query_match_share == 1.0


# The rules, on made-up hashes.


def test_identical_frames_match_in_full():
    frames = _random_frames(10, seed=1)
    matcher = _matcher_with(frames)
    assert matcher.match(frames) == [VideoMatch(1, 100, 1.0, 1.0, 10, 0)]


def test_a_frame_matches_within_31_bits_and_not_beyond():
    frames = _random_frames(5, seed=2)
    matcher = _matcher_with(frames)
    near = [_flipped(value, PDQ_MATCH_THRESHOLD, seed=n) for n, value in enumerate(frames)]
    far = [_flipped(value, PDQ_MATCH_THRESHOLD + 1, seed=n) for n, value in enumerate(frames)]
    assert matcher.match(near)[0].best_distance == PDQ_MATCH_THRESHOLD
    assert matcher.match(far) == []


def test_shares_count_each_side_s_frames():
    frames = _random_frames(10, seed=3)
    matcher = _matcher_with(frames, min_query_share=0.1, min_reference_share=0.1)
    query = frames[:4] + _random_frames(4, seed=4)
    [match] = matcher.match(query)
    assert (match.query_match_share, match.reference_match_share) == (0.5, 0.4)
    assert match.frames_matched == 4


def test_a_trimmed_copy_matches_while_30_percent_of_the_reference_remains():
    frames = _random_frames(10, seed=5)
    matcher = _matcher_with(frames)
    assert matcher.match(frames[2:8])[0].reference_match_share == 0.6  # 20% cut at each end
    assert matcher.match(frames[:3])[0].reference_match_share == 0.3
    assert matcher.match(frames[:2]) == []  # a 20% clip is not enough by default


def test_a_compilation_needs_a_lower_query_share():
    frames = _random_frames(10, seed=6)
    compilation = _random_frames(15, seed=7) + frames + _random_frames(5, seed=8)
    assert _matcher_with(frames).match(compilation) == []
    [match] = _matcher_with(frames, min_query_share=0.3).match(compilation)
    assert (match.query_match_share, match.reference_match_share) == (pytest.approx(1 / 3), 1.0)


def test_low_quality_frames_do_not_count_on_either_side():
    frames = _random_frames(4, seed=9)
    black = HashValue("pdq", "0" * 64, 0)
    matcher = _matcher_with([*frames, black, black, black])
    [match] = matcher.match([*frames, black])
    assert (match.query_match_share, match.reference_match_share) == (1.0, 1.0)
    assert matcher.match([black, black]) == []
    assert matcher.match([]) == []


def test_missing_quality_counts_as_good_enough():
    frames = [HashValue("pdq", value.hex) for value in _random_frames(3, seed=10)]
    assert _matcher_with(frames).match(frames)[0].frames_matched == 3


def test_reference_without_usable_frames_never_matches():
    black = HashValue("pdq", "0" * 64, 0)
    matcher = _matcher_with([black] * 3)
    assert len(matcher) == 1 and 1 in matcher
    assert matcher.match([HashValue("pdq", "0" * 64, 100)]) == []


def test_results_are_sorted_by_share_and_carry_their_case():
    frames = _random_frames(10, seed=11)
    matcher = VideoMatcher(min_query_share=0.5, min_reference_share=0.5)
    matcher.add(3, 30, frames)
    matcher.add(2, 20, frames[:6] + _random_frames(4, seed=12))
    matcher.add(1, 10, frames)
    found = matcher.match(frames)
    assert [(m.video_id, m.case_id) for m in found] == [(1, 10), (3, 30), (2, 20)]


def test_add_and_remove():
    frames = _random_frames(5, seed=13)
    matcher = _matcher_with(frames)
    with pytest.raises(ValueError, match="already in the matcher"):
        matcher.add(1, 100, frames)
    matcher.remove(1)
    matcher.remove(99)  # unknown: ignored
    assert len(matcher) == 0 and matcher.match(frames) == []
    matcher.add(1, 100, frames)
    assert [m.video_id for m in matcher.match(frames)] == [1]


def test_only_pdq_frames_and_sensible_thresholds_are_accepted():
    with pytest.raises(ValueError, match="frame 0 is a phash hash"):
        VideoMatcher().add(1, 1, [HashValue("phash", "0" * 16)])
    with pytest.raises(ValueError, match="min_query_share"):
        VideoMatcher(min_query_share=0)
    with pytest.raises(ValueError, match="min_reference_share"):
        VideoMatcher(min_reference_share=1.5)
    with pytest.raises(ValueError, match="distance"):
        VideoMatcher(distance=-1)


def test_vectorised_shares_equal_a_plain_double_loop(monkeypatch):
    monkeypatch.setattr(video_matching, "_BLOCK_BYTES", 4096)  # force many query blocks
    rng = random.Random(14)
    refs = {video_id: _random_frames(rng.randint(1, 30), seed=video_id) for video_id in range(20)}
    anything = VideoMatcher(min_query_share=1e-9, min_reference_share=1e-9)
    for video_id, frames in refs.items():
        anything.add(video_id, video_id, frames)
    for trial in range(5):
        query = [
            _flipped(value, rng.randint(0, 40), seed=trial)
            for frames in rng.sample(list(refs.values()), 3)
            for value in frames
            if rng.random() < 0.7
        ] + _random_frames(10, seed=100 + trial)
        expected = {
            video_id: _brute(query, frames)
            for video_id, frames in refs.items()
            if _brute(query, frames)[2]
        }
        found = {
            m.video_id: (m.query_match_share, m.reference_match_share, m.frames_matched)
            for m in anything.match(query)
        }
        assert found == {video_id: shares[:3] for video_id, shares in expected.items()}
        bests = {m.video_id: m.best_distance for m in anything.match(query)}
        assert bests == {video_id: shares[3] for video_id, shares in expected.items()}


def _brute(
    query: Sequence[HashValue], frames: Sequence[HashValue]
) -> tuple[float, float, int, int]:
    """vPDQ's brute-force match, written out: (query share, reference share, matched, best)."""
    distances = [[hamming(q.hex, r.hex) for r in frames] for q in query]
    matched = sum(1 for row in distances if min(row) <= PDQ_MATCH_THRESHOLD)
    reference_matched = sum(
        1 for column in zip(*distances, strict=True) if min(column) <= PDQ_MATCH_THRESHOLD
    )
    best = min(d for row in distances for d in row if d <= PDQ_MATCH_THRESHOLD) if matched else 0
    return matched / len(query), reference_matched / len(frames), matched, best


def _matcher_with(frames: Sequence[HashValue], **options: float) -> VideoMatcher:
    matcher = VideoMatcher(**options)
    matcher.add(1, 100, frames)
    return matcher


def _random_frames(count: int, *, seed: int) -> list[HashValue]:
    rng = random.Random(seed)
    return [HashValue("pdq", format(rng.getrandbits(256), "064x"), 100) for _ in range(count)]


def _flipped(value: HashValue, bits: int, *, seed: int) -> HashValue:
    """``value`` with exactly ``bits`` of its bits inverted."""
    mask = sum(1 << bit for bit in random.Random(seed).sample(range(256), bits))
    return HashValue("pdq", format(int(value.hex, 16) ^ mask, "064x"), value.quality)


def _unique(video: VideoHashes) -> list[HashValue]:
    return [frame.value for frame in unique_frame_hashes(video.frames)]
