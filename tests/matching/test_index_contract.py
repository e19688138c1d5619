"""Every perceptual index answers exactly as BruteForceIndex does, whatever was added or removed.

Each index runs the same tests; BruteForceIndex runs them too, and is itself checked against
distances counted with Python integers. Planted near-duplicates sit at every distance from 0 to
40 around the query: with flips at random bits, and spread evenly over the hash, which is the
hard case for indexes that cut hashes into chunks.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

import numpy as np
import pytest

from crawler.hashing.algorithms import ALGORITHMS
from crawler.hashing.types import HashValue
from crawler.matching.index import BruteForceIndex, Reference, ReferenceIndex
from crawler.matching.multi_index import MultiIndexHashIndex

#: MultiIndexHashIndex hashes only from HASHED_FROM references on: "hashed" forces its hashed
#: structure at test sizes, "small" keeps the scan it uses below that.
FAST_INDEXES = {
    "MultiIndexHashIndex-hashed": functools.partial(MultiIndexHashIndex, hashed_from=0),
    "MultiIndexHashIndex-small": MultiIndexHashIndex,
}
INDEXES = {"BruteForceIndex": BruteForceIndex, **FAST_INDEXES}
every_index = pytest.mark.parametrize("cls", INDEXES.values(), ids=INDEXES.keys())
fast_indexes = pytest.mark.parametrize("cls", FAST_INDEXES.values(), ids=FAST_INDEXES.keys())
MAX_DISTANCES = [0, 1, 5, 10, 11, 12, 23, 24, 30, 31, 32, 35, 40, 47, 64, 100, 256]


def as_hash(algorithm: str, number: int) -> HashValue:
    return HashValue(algorithm, format(number, f"0{ALGORITHMS[algorithm].hex_digits}x"))


def near(number: int, bits: int, distance: int, rng: random.Random, spread: bool) -> int:
    """``number`` with exactly ``distance`` bits flipped: evenly spaced, or at random."""
    if spread:
        flips = [i * bits // distance for i in range(distance)] if distance else []
    else:
        flips = rng.sample(range(bits), distance)
    return number ^ sum(1 << flip for flip in flips)


def planted_refs(algorithm: str, count: int, seed: int) -> tuple[list[Reference], list[int]]:
    """``count`` random references, plus around each of a few centres one reference at every
    distance 0-40 twice (random and spread flips) and a second copy of the centre itself.
    Returns the references and the centres."""
    rng = random.Random(seed)
    bits = ALGORITHMS[algorithm].bits
    numbers = [rng.getrandbits(bits) for _ in range(count)]
    centres = numbers[:6]
    for centre in centres:
        numbers.append(centre)  # same hash, another id: ties go by id
        for distance in range(41):
            numbers.append(near(centre, bits, distance, rng, spread=False))
            numbers.append(near(centre, bits, distance, rng, spread=True))
    ids = rng.sample(range(1, 10 * len(numbers)), len(numbers))  # unsorted, with gaps
    refs = [
        Reference(ref_id, ref_id % 5, as_hash(algorithm, n))
        for ref_id, n in zip(ids, numbers, strict=True)
    ]
    return refs, centres


def queries(algorithm: str, centres: list[int], seed: int) -> list[HashValue]:
    """The centres, points near them at 0-40 bits, and unrelated hashes."""
    rng = random.Random(seed)
    bits = ALGORITHMS[algorithm].bits
    values = [*centres]
    for centre in centres[:2]:
        for distance in (1, 10, 20, 30, 31, 32, 40):
            values.append(near(centre, bits, distance, rng, spread=distance % 2 == 0))
    values += [rng.getrandbits(bits) for _ in range(5)]
    return [as_hash(algorithm, value) for value in values]


class Mirrored:
    """An index under test and a BruteForceIndex, given the same calls."""

    def __init__(self, cls: Callable[[str], ReferenceIndex], algorithm: str) -> None:
        self.index = cls(algorithm)
        self.oracle = BruteForceIndex(algorithm)

    def add(self, refs: list[Reference]) -> None:
        self.oracle.add(refs)
        self.index.add(refs)

    def remove(self, ids: list[int]) -> None:
        self.oracle.remove(ids)
        self.index.remove(ids)

    def check(self, values: list[HashValue], max_distances: list[int]) -> None:
        assert len(self.index) == len(self.oracle)
        for value in values:
            for max_distance in max_distances:
                expected = self.oracle.query(value, max_distance)
                assert self.index.query(value, max_distance) == expected, (value, max_distance)
                ids = [ref_id for ref_id, _ in expected]
                assert self.index.case_ids(ids) == self.oracle.case_ids(ids)
        probe = [*range(0, 15_000, 7), 10**9, -1]
        assert (self.index.contains(probe) == self.oracle.contains(probe)).all()


def python_distance(a: HashValue, b: HashValue) -> int:
    return (int(a.hex, 16) ^ int(b.hex, 16)).bit_count()


@every_index
@pytest.mark.parametrize("algorithm", ["pdq", "phash"])
def test_finds_exactly_the_refs_within_distance(cls, algorithm):
    refs, centres = planted_refs(algorithm, 2000, seed=20240611)
    index = cls(algorithm)
    index.add(refs)
    for value in queries(algorithm, centres, seed=5):
        by_distance = sorted((python_distance(value, ref.value), ref.id) for ref in refs)
        for max_distance in MAX_DISTANCES:
            expected = [(ref_id, d) for d, ref_id in by_distance if d <= max_distance]
            assert index.query(value, max_distance) == expected, (value, max_distance)


@every_index
def test_planted_near_duplicates_are_found_up_to_the_threshold_only(cls):
    refs, centres = planted_refs("pdq", 500, seed=11)
    index = cls("pdq")
    index.add(refs)
    hits = index.query(as_hash("pdq", centres[0]), 31)
    # The centre twice, then two planted references at each distance 1-31.
    assert [d for _, d in hits] == [0, 0, 0, 0] + [d for d in range(1, 32) for _ in range(2)]


@every_index
@pytest.mark.parametrize("algorithm", ["pdq", "phash"])
def test_add_remove_and_add_again_match_brute_force(cls, algorithm):
    refs, centres = planted_refs(algorithm, 1500, seed=3)
    rng = random.Random(4)
    values = queries(algorithm, centres, seed=6)[:12]
    checked = [0, 10, 31, 40]
    mirror = Mirrored(cls, algorithm)
    mirror.add(refs[:1200])  # one large batch
    mirror.check(values, checked)
    mirror.add(refs[1200:1210])  # a few more, then single ones
    for ref in refs[1210:1230]:
        mirror.add([ref])
    mirror.check(values, checked)
    ids = [ref.id for ref in refs[:1230]]
    removed = rng.sample(ids[:1200], 40) + ids[1200:1205] + [10**9, -1]  # unknown ids too
    mirror.remove(removed)
    mirror.check(values, checked)
    # Removed ids come back with other hashes (those of references never added).
    again = [
        Reference(i, 99, ref.value) for i, ref in zip(removed[:40], refs[1300:1340], strict=True)
    ]
    mirror.add(again)
    mirror.check(values, checked)
    mirror.remove(ids[:900])  # enough to rebuild
    mirror.check(values, checked)
    for start in range(1340, len(refs), 37):  # many small batches
        mirror.add(refs[start : start + 37])
    mirror.check(values, checked)
    mirror.remove([ref.id for ref in refs] + [ref.id for ref in again])
    assert len(mirror.index) == 0
    mirror.check(values, [0, 31, 256])


@every_index
def test_each_reference_keeps_its_case_and_unknown_ids_have_none(cls):
    refs, _ = planted_refs("pdq", 3000, seed=12)
    index = cls("pdq")
    index.add(refs[:2990])
    index.add(refs[2990:])  # some in the buffer of new references, if the index has one
    index.remove([refs[0].id])
    ids = [ref.id for ref in refs[1:]]
    assert index.case_ids(ids) == [ref.case_id for ref in refs[1:]]
    assert index.contains([refs[0].id, refs[1].id, refs[-1].id]).tolist() == [False, True, True]
    with pytest.raises(KeyError, match=f"pdq reference {refs[0].id} is not in the index"):
        index.case_ids([refs[1].id, refs[0].id])


@every_index
def test_the_codes_of_a_case_are_its_live_references(cls):
    """Where the references sit (built structure, buffer of new ones) and removals do not
    change which hashes a case has."""
    refs, _ = planted_refs("pdq", 3000, seed=13)
    refs = [Reference(ref.id, ref.id % 7, ref.value) for ref in refs]
    index = cls("pdq")
    index.add(refs[:2990])
    index.add(refs[2990:])
    index.remove([ref.id for ref in refs[::5]])
    live = [ref for i, ref in enumerate(refs) if i % 5]

    def codes(case_id: int) -> list[str]:
        return sorted(row.tobytes().hex() for row in index.codes_of_case(case_id))

    for case_id in range(7):
        assert codes(case_id) == sorted(ref.value.hex for ref in live if ref.case_id == case_id)
    assert codes(99) == []
    more = [Reference(10**6 + i, 3, as_hash("pdq", i)) for i in range(500)]  # a rebuild's worth
    index.add(more)
    assert codes(3) == sorted(ref.value.hex for ref in [*live, *more] if ref.case_id == 3)


@every_index
def test_empty_index_finds_nothing(cls):
    index = cls("pdq")
    index.add([])
    index.remove([1, 2])
    assert len(index) == 0
    for max_distance in (0, 31, 256):
        assert index.query(as_hash("pdq", 12345), max_distance) == []


@every_index
def test_ties_are_ordered_by_id(cls):
    index = cls("phash")
    index.add(
        [
            Reference(5, 1, as_hash("phash", 0b11)),  # distance 2
            Reference(9, 1, as_hash("phash", 0b1)),  # distance 1
            Reference(2, 2, as_hash("phash", 0b100000000)),  # distance 1
            Reference(7, 3, as_hash("phash", 2**64 - 1)),  # distance 64
        ]
    )
    assert index.query(as_hash("phash", 0), 10) == [(2, 1), (9, 1), (5, 2)]


def bad_batches() -> list[list[Reference]]:
    """Batches a PDQ index holding ids 1 and 2 must refuse; which error comes first matters."""
    value, other = as_hash("pdq", 1), as_hash("phash", 1)
    return [
        [Reference(3, 1, value), Reference(1, 1, value)],  # 1 is already present
        [Reference(3, 1, value), Reference(3, 1, value)],  # 3 twice in one batch
        [Reference(4, 1, value), Reference(5, 1, other), Reference(1, 1, value)],
        [Reference(4, 1, value), Reference(1, 1, value), Reference(5, 1, other)],
        [Reference(6, 1, other)],
    ]


@fast_indexes
@pytest.mark.parametrize("batch", range(5))
def test_bad_batches_are_refused_like_brute_force_and_add_nothing(cls, batch):
    index, oracle = cls("pdq"), BruteForceIndex("pdq")
    for target in (index, oracle):
        target.add([Reference(1, 1, as_hash("pdq", 0)), Reference(2, 1, as_hash("pdq", 7))])
    refs = bad_batches()[batch]
    with pytest.raises(ValueError) as expected:
        oracle.add(refs)
    with pytest.raises(ValueError) as refused:
        index.add(refs)
    assert str(refused.value) == str(expected.value)
    assert len(index) == 2
    assert index.query(as_hash("pdq", 1), 256) == [(1, 1), (2, 2)]


@every_index
def test_duplicate_id_is_refused_and_nothing_is_added(cls):
    index = cls("phash")
    index.add([Reference(1, 1, as_hash("phash", 0))])
    with pytest.raises(ValueError, match="reference 1 is already in the index"):
        index.add([Reference(2, 1, as_hash("phash", 1)), Reference(1, 1, as_hash("phash", 2))])
    with pytest.raises(ValueError, match="reference 8 is already in the index"):
        index.add([Reference(8, 1, as_hash("phash", 1)), Reference(8, 1, as_hash("phash", 2))])
    assert len(index) == 1


@every_index
def test_wrong_algorithms_and_distances_are_refused(cls):
    index = cls("phash")
    pdq_value = HashValue("pdq", "0" * 64, 100)
    with pytest.raises(ValueError, match="use the pdq index"):
        index.add([Reference(1, 1, pdq_value)])
    with pytest.raises(ValueError, match="use the pdq index"):
        index.query(pdq_value, 10)
    with pytest.raises(ValueError, match="max_distance"):
        index.query(as_hash("phash", 0), -1)
    with pytest.raises(ValueError, match="use ExactIndex"):
        cls("sha256")


@fast_indexes
def test_rows_added_as_arrays_answer_like_references(cls):
    refs, centres = planted_refs("pdq", 800, seed=8)
    from_refs, from_rows = cls("pdq"), cls("pdq")
    from_refs.add(refs)
    ids = np.array([ref.id for ref in refs])
    codes = np.array([list(bytes.fromhex(ref.value.hex)) for ref in refs], dtype=np.uint8)
    from_rows.add_codes(ids, codes)
    codes[:] = 0  # the index keeps its own copy
    assert len(from_rows) == len(refs)
    for value in queries("pdq", centres, seed=9):
        assert from_rows.query(value, 31) == from_refs.query(value, 31)
    with pytest.raises(ValueError, match=r"reference \d+ is already in the index"):
        from_rows.add_codes(ids[:1], codes[:1])
    with pytest.raises(ValueError, match=r"shape \(n, 32\)"):
        from_rows.add_codes(np.array([10**8]), np.zeros((1, 8), dtype=np.uint8))


@every_index
def test_many_queries_at_once_answer_as_one_at_a_time(cls):
    refs, centres = planted_refs("pdq", 1500, seed=21)
    index = cls("pdq")
    index.add(refs[:1400])
    index.remove([ref.id for ref in refs[:50]])  # tombstones in the main structure
    index.add(refs[1400:1410])  # and a few waiting in the buffer
    values = queries("pdq", centres, seed=22)[:20]
    codes = np.array([list(bytes.fromhex(value.hex)) for value in values], dtype=np.uint8)
    for max_distance in (0, 10, 23, 31, 40):
        rows, ids, distances = index.query_codes(codes, max_distance)
        found = [
            (row, ref_id, distance)
            for row, ref_id, distance in zip(
                rows.tolist(), ids.tolist(), distances.tolist(), strict=True
            )
        ]
        expected = [
            (row, ref_id, distance)
            for row, value in enumerate(values)
            for ref_id, distance in index.query(value, max_distance)
        ]
        assert found == expected, max_distance
    assert [len(part) for part in index.query_codes(codes[:0], 31)] == [0, 0, 0]
