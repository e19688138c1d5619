"""KeypointIndex screens exactly the crhash references that a plain count over every reference
screens (the brute-force oracle), whatever was added or removed, and drops none that
`crop_evidence` would match."""

from __future__ import annotations

import random

import numpy as np
import pytest

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import HashValue, hash_file, hash_media
from crawler.hashing.crhash import DESCRIPTOR_THRESHOLD, MAX_KEYPOINTS, codes_of, crop_evidence
from crawler.matching.keypoint_index import SCREEN_BATCH, KeypointIndex, keypoint_codes

Row = tuple[int, int, HashValue]  # reference id, case, crhash


def planted(seed: int, count: int) -> tuple[list[Row], list[int]]:
    """``count`` crhash references of 1-8 keypoints, some of whose descriptors are planted at
    0, 1, the threshold, one past it or far from one of the probe's; and the probe's codes.
    Random 48-bit descriptors are about 24 bits apart: rarely near (the oracle counts any)."""
    rng = random.Random(seed)
    probe = [rng.getrandbits(64) for _ in range(40)]
    rows = []
    ids = rng.sample(range(1, 10 * count), count)  # unsorted, with gaps
    near = [0, 1, DESCRIPTOR_THRESHOLD]
    for ref_id in ids:
        keypoints = rng.randint(1, MAX_KEYPOINTS)
        # Unrelated, partly planted (within the threshold or just past it), or a copy.
        planted_share, distances = rng.choice(
            [(0.0, near), (0.6, [*near, DESCRIPTOR_THRESHOLD + 1, 20]), (1.0, near)]
        )
        codes = []
        for _ in range(keypoints):
            descriptor = rng.getrandbits(48)
            if rng.random() < planted_share:
                flips = rng.sample(range(48), rng.choice(distances))
                descriptor = (rng.choice(probe) >> 16) ^ sum(1 << flip for flip in flips)
            codes.append(descriptor << 16 | rng.getrandbits(16))
        value = HashValue("crhash", "".join(format(code, "016x") for code in codes))
        rows.append((ref_id, ref_id % 7, value))
    return rows, probe


def oracle(rows: list[Row], probe: list[int], min_inliers: int) -> list[tuple[int, int, list]]:
    """The screen, counted with Python integers over every reference, by id."""
    found = []
    for ref_id, case_id, value in sorted(rows, key=lambda row: row[0]):
        codes = [int(value.hex[i : i + 16], 16) for i in range(0, len(value.hex), 16)]
        near = sum(
            any(
                ((code >> 16) ^ (other >> 16)).bit_count() <= DESCRIPTOR_THRESHOLD
                for other in probe
            )
            for code in codes
        )
        if near >= min_inliers:
            found.append((ref_id, case_id, codes))
    return found


def add(index: KeypointIndex, rows: list[Row]) -> None:
    codes, counts = keypoint_codes([value for _, _, value in rows])
    ids = np.array([ref_id for ref_id, _, _ in rows], dtype=np.int64)
    cases = np.array([case_id for _, case_id, _ in rows], dtype=np.int64)
    index.add(ids, cases, codes, counts)


def screened(index: KeypointIndex, probe: list[int], min_inliers: int) -> list[tuple]:
    probe_codes = np.array(probe, dtype=np.uint64)
    return [(i, c, codes.tolist()) for i, c, codes in index.screen(probe_codes, min_inliers)]


@pytest.mark.parametrize("screen_batch", [1, 7, SCREEN_BATCH])
@pytest.mark.parametrize("min_inliers", [2, 4, 8])
def test_screen_matches_a_plain_count_over_every_reference(screen_batch, min_inliers):
    rows, probe = planted(seed=min_inliers, count=400)
    index = KeypointIndex(screen_batch=screen_batch)
    for part in (rows[:150], rows[150:151], rows[151:]):  # merged from several parts
        add(index, part)
    expected = oracle(rows, probe, min_inliers)
    assert 0 < len(expected) < len(rows)  # the planted keypoints make the case non-trivial
    assert screened(index, probe, min_inliers) == expected


def test_added_and_removed_references_are_screened_as_the_oracle_says():
    rows, probe = planted(seed=11, count=300)
    index = KeypointIndex(screen_batch=16)
    add(index, rows[:200])
    gone = [ref_id for ref_id, _, _ in rows[:200:3]]
    assert index.remove(np.array([*gone, 10**9], dtype=np.int64)) == len(gone)  # unknown ignored
    add(index, rows[200:])
    live = [row for row in rows if row[0] not in gone]
    assert len(index) == len(live)
    ids = np.array([ref_id for ref_id, _, _ in rows], dtype=np.int64)
    assert index.contains(ids).tolist() == [ref_id not in gone for ref_id, _, _ in rows]
    assert screened(index, probe, 3) == oracle(live, probe, 3)
    assert index.remove(np.array(gone, dtype=np.int64)) == 0


def test_the_keypoints_of_a_case_follow_additions_and_removals():
    rows, _ = planted(seed=12, count=300)
    index = KeypointIndex()

    def of_case(case_id: int) -> list[list[int]]:
        return [codes.tolist() for codes in index.of_case(case_id)]

    def expected(live: list[Row], case_id: int) -> list[list[int]]:
        return [codes_of(value).tolist() for _, case, value in sorted(live) if case == case_id]

    add(index, rows[:200])
    assert of_case(3) == expected(rows[:200], 3)  # asked once: the rows by case are kept
    gone = [ref_id for ref_id, case_id, _ in rows[:200] if case_id == 3][::2]
    index.remove(np.array(gone, dtype=np.int64))
    add(index, rows[200:])
    live = [row for row in rows if row[0] not in gone]
    for case_id in range(7):
        assert of_case(case_id) == expected(live, case_id)
    assert of_case(99) == [] and of_case(2**40) == []


def test_keypoint_codes_pad_each_crhash_to_max_keypoints():
    one = HashValue("crhash", "0123456789abcdef")
    full = HashValue("crhash", "fedcba9876543210" * MAX_KEYPOINTS)
    codes, counts = keypoint_codes([one, full])
    assert codes.shape == (2, MAX_KEYPOINTS) and codes.dtype == np.uint64
    assert counts.tolist() == [1, MAX_KEYPOINTS]
    assert codes[0, :1].tolist() == codes_of(one).tolist() and not codes[0, 1:].any()
    assert codes[1].tolist() == codes_of(full).tolist()


def test_screening_keeps_every_reference_crop_evidence_matches():
    """On real photos: a crop of one, against every bundled photo's crhash."""
    names = list(PHOTOS)
    rows = [(n, n, hash_file(photo_path(name)).get("crhash")) for n, name in enumerate(names)]
    photo = load_photo("coffee")
    width, height = photo.size
    crop = photo.crop((width // 10, height // 10, width, height))
    keypoints = hash_media(encode(crop, "JPEG")).keypoints
    probe = np.frombuffer(keypoints, dtype=">u8").astype(np.uint64)
    matched = {
        ref_id
        for ref_id, _, value in rows
        if crop_evidence(probe, codes_of(value)).is_match(min_inliers=4)
    }
    index = KeypointIndex()
    add(index, rows)
    assert names.index("coffee") in matched
    assert matched <= {ref_id for ref_id, _, _ in index.screen(probe, min_inliers=4)}
