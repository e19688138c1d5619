"""VideoMatcher answers as BruteForceVideoMatcher does: the multi-index and the seeds only save
work. Made-up reference videos (random frames four a second, some sharing an intro) and queries
cut from them at other speeds and offsets, with noise, turned, cropped (found only through one of
their crops, against the references' middles) and padded with other footage."""

from __future__ import annotations

import random

import pytest

from crawler.hashing.types import FrameHash, HashValue, VariantHash
from crawler.matching.video import VideoMatcher
from crawler.matching.video_oracle import BruteForceVideoMatcher

VIDEOS = 60
#: Crops a query frame carries here (225 in a crawl: `crawler.hashing.crops.GRID`).
BOXES = 9


def _value(rng: random.Random, quality: int = 100) -> HashValue:
    return HashValue("pdq", format(rng.getrandbits(256), "064x"), quality)


def _noisy(value: HashValue, bits: int, rng: random.Random) -> HashValue:
    mask = sum(1 << bit for bit in rng.sample(range(256), bits))
    return HashValue("pdq", format(int(value.hex, 16) ^ mask, "064x"), value.quality)


def references(seed: int) -> dict[int, list[FrameHash]]:
    rng = random.Random(seed)
    intro = [FrameHash(n / 4, _value(rng)) for n in range(24)]  # 6 s shared by ten videos
    videos = {}
    for video_id in range(1, VIDEOS + 1):
        start = 6.0 if video_id <= 10 else 0.0
        seconds = rng.randint(3, 60)
        own = [FrameHash(start + n / 4, _value(rng)) for n in range(seconds * 4)]
        videos[video_id] = [*intro, *own] if video_id <= 10 else own
    return videos


def middles(seed: int) -> dict[int, list[FrameHash]]:
    """Each reference's middles: one a second, of its own frames (and of the shared intro)."""
    rng = random.Random(seed + 1000)
    return {
        video_id: [
            FrameHash(float(second), _value(rng))
            for second in range(int(frames[0].seconds), int(frames[-1].seconds) + 1)
        ]
        for video_id, frames in references(seed).items()
    }


def query(
    videos: dict[int, list[FrameHash]],
    rng: random.Random,
    max_noise: int,
    middles: dict[int, list[FrameHash]] | None = None,
) -> list:
    """Unrelated footage with pieces of two or three references at random speeds and offsets,
    each frame within ``max_noise`` bits, some pieces only as a mirrored variant and, given the
    references' ``middles``, some only in one box of their crops."""
    frames: list[FrameHash] = []
    t = 0.0
    for _ in range(rng.randint(2, 3)):
        for _ in range(rng.randint(0, 10)):  # other footage
            frames.append(FrameHash(t, _value(rng)))
            t += 1
        video_id = rng.randint(1, VIDEOS)
        source = videos[video_id]
        speed = rng.choice([0.5, 0.8, 1.0, 1.25, 2.0])
        begin = rng.uniform(0, source[-1].seconds)
        mirrored = rng.random() < 0.3
        box = rng.randrange(BOXES) if middles and rng.random() < 0.4 else None
        if box is not None:
            source = middles[video_id]
        times = [frame.seconds for frame in source]
        at = max(begin, times[0])
        while at <= times[-1] and rng.random() < 0.95:
            index = max(i for i, seconds in enumerate(times) if seconds <= at)
            value = _noisy(source[index].value, rng.randint(0, max_noise), rng)
            if box is not None:
                crops = [bytes.fromhex(_value(rng).hex) for _ in range(BOXES)]
                crops[box] = bytes.fromhex(value.hex)
                frames.append(FrameHash(t, _value(rng), crops=b"".join(crops)))
            elif mirrored:
                frames.append(FrameHash(t, _value(rng), (VariantHash("flipx", value),)))
            else:
                frames.append(FrameHash(t, value))
            t += 1
            at += speed * rng.choice([1, 1, 1, 2])  # sometimes a sample is skipped
    return frames


@pytest.fixture(scope="module")
def matchers() -> tuple[VideoMatcher, VideoMatcher, BruteForceVideoMatcher, VideoMatcher]:
    """The defaults and brute force with them; seeds at 31 bits and brute force with that (it
    finds common frames within the seed distance, as the fast one does)."""
    videos, middle = references(seed=1), middles(seed=1)
    seeded = VideoMatcher(hashed_from=0)  # the multi-index's hashed structure, at test size
    oracle = BruteForceVideoMatcher()
    full = VideoMatcher(hashed_from=0, seed_distance=31)
    full_oracle = BruteForceVideoMatcher(seed_distance=31)
    for video_id, frames in videos.items():
        for matcher in (seeded, oracle, full, full_oracle):
            # every fifth without middles, as references stored before crops were matched
            kept = None if video_id % 5 == 0 else middle[video_id]
            matcher.add(video_id, video_id * 10, frames, middles=kept)
    return seeded, oracle, full, full_oracle


@pytest.mark.parametrize("seed", range(12))
def test_seeded_at_the_match_distance_equals_brute_force(matchers, seed):
    _, _, full, oracle = matchers
    frames = query(references(seed=1), random.Random(seed), max_noise=31, middles=middles(1))
    expected = oracle.match(frames)
    assert full.match(frames) == expected
    assert full.candidate_times(frames) == oracle.candidate_times(frames)


@pytest.mark.parametrize("seed", range(12))
def test_seeded_within_23_bits_equals_brute_force_when_every_frame_is(matchers, seed):
    seeded, oracle, _, _ = matchers
    frames = query(references(seed=1), random.Random(100 + seed), 23, middles(1))
    assert seeded.match(frames) == oracle.match(frames)
    assert seeded.candidate_times(frames) == oracle.candidate_times(frames)


def test_most_queries_hold_references_to_find(matchers):
    _, oracle, _, _ = matchers
    found = [
        oracle.match(query(references(seed=1), random.Random(100 + seed), 23, middles(1)))
        for seed in range(12)
    ]
    assert sum(1 for matches in found if matches) >= 6
    assert any(m.variant == "flipx" for matches in found for m in matches)
    assert any(m.variant == "cropped" for matches in found for m in matches)
    assert any(m.speed != pytest.approx(1, abs=0.05) for matches in found for m in matches)


def test_an_intro_ten_references_share_is_found_in_none(matchers):
    seeded, oracle, _, _ = matchers
    intro = references(seed=1)[1][:24]
    frames = [FrameHash(n / 2, frame.value) for n, frame in enumerate(intro[::2])]
    assert seeded.match(frames) == oracle.match(frames) == []


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "waiting-for-the-index"])
def test_removed_references_are_gone_from_both(indexed):
    videos, middle = references(seed=1), middles(seed=1)
    frames = query(videos, random.Random(7), max_noise=10, middles=middle)
    seeded = VideoMatcher(hashed_from=0)
    oracle = BruteForceVideoMatcher()
    for video_id, video in videos.items():
        seeded.add(video_id, video_id, video, middles=middle[video_id])
        oracle.add(video_id, video_id, video, middles=middle[video_id])
    found = {m.video_id for m in oracle.match(frames)}
    assert found
    if indexed:
        assert {m.video_id for m in seeded.match(frames)} == found  # the indexes are built
    for video_id in found:
        seeded.remove(video_id)
        oracle.remove(video_id)
    assert seeded.match(frames) == oracle.match(frames)
    assert not {m.video_id for m in seeded.match(frames)} & found
