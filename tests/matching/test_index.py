"""Reference indexes return exactly the references within a distance."""

from __future__ import annotations

import random

import numpy as np
import pytest

from crawler.demo.samples import PHOTOS, photo_path, reencoded_jpeg
from crawler.hashing import HashValue, hash_file, hash_media
from crawler.hashing.algorithms import ALGORITHMS
from crawler.matching import BruteForceIndex, ExactIndex, Reference


def random_hashes(algorithm: str, count: int, seed: int) -> list[HashValue]:
    """Random hashes plus near copies of some of them, so small distances occur too."""
    rng = random.Random(seed)
    bits = ALGORITHMS[algorithm].bits
    numbers = [rng.getrandbits(bits) for _ in range(count)]
    for i in range(count // 4):
        flips = rng.sample(range(bits), rng.randrange(0, bits // 4))
        numbers[i] = numbers[-1 - i] ^ sum(1 << flip for flip in flips)
    return [HashValue(algorithm, format(number, f"0{bits // 4}x")) for number in numbers]


def plain_distance(a: HashValue, b: HashValue) -> int:
    """Popcount the slow, obvious way: compare the binary digits one by one."""
    a_bits = bin(int(a.hex, 16))[2:].zfill(a.bits)
    b_bits = bin(int(b.hex, 16))[2:].zfill(b.bits)
    return sum(x != y for x, y in zip(a_bits, b_bits, strict=True))


@pytest.mark.parametrize("algorithm", ["phash", "pdq"])
@pytest.mark.parametrize("max_distance", [0, 5, 10, 31, 64])
def test_brute_force_returns_exactly_the_refs_within_distance(algorithm, max_distance):
    hashes = random_hashes(algorithm, 400, seed=20240611)
    refs = [Reference(id=1000 + i, case_id=i % 7, value=value) for i, value in enumerate(hashes)]
    index = BruteForceIndex(algorithm)
    index.add(refs)
    for query in random_hashes(algorithm, 40, seed=7) + hashes[:20]:
        expected = sorted(
            (plain_distance(query, ref.value), ref.id)
            for ref in refs
            if plain_distance(query, ref.value) <= max_distance
        )
        assert index.query(query, max_distance) == [(ref_id, d) for d, ref_id in expected]


def test_results_are_nearest_first_then_by_id():
    base = HashValue("phash", "0000000000000000")
    index = BruteForceIndex("phash")
    index.add(
        [
            Reference(5, 1, HashValue("phash", "0000000000000003")),  # distance 2
            Reference(9, 1, HashValue("phash", "0000000000000001")),  # distance 1
            Reference(2, 2, HashValue("phash", "0000000000000100")),  # distance 1
            Reference(7, 3, HashValue("phash", "ffffffffffffffff")),  # distance 64
        ]
    )
    assert index.query(base, 10) == [(2, 1), (9, 1), (5, 2)]


def test_remove_takes_refs_out_and_ignores_unknown_ids():
    hashes = random_hashes("pdq", 50, seed=3)
    index = BruteForceIndex("pdq")
    index.add(Reference(i, i, value) for i, value in enumerate(hashes))
    assert len(index) == 50
    index.remove([0, 1, 2, 999])
    assert len(index) == 47
    assert index.query(hashes[0], 0) == []
    assert index.query(hashes[3], 0) == [(3, 0)]
    index.remove(range(50))
    assert len(index) == 0
    assert index.query(hashes[3], 256) == []


def test_removed_id_can_be_added_again():
    value = HashValue("phash", "00000000000000ff")
    index = BruteForceIndex("phash")
    index.add([Reference(1, 1, value)])
    index.remove([1])
    index.add([Reference(1, 2, value)])
    assert index.query(value, 0) == [(1, 0)]


def test_duplicate_id_is_refused_and_nothing_is_added():
    index = BruteForceIndex("phash")
    index.add([Reference(1, 1, HashValue("phash", "0" * 16))])
    with pytest.raises(ValueError, match="reference 1 is already in the index"):
        index.add(
            [
                Reference(2, 1, HashValue("phash", "1" * 16)),
                Reference(1, 1, HashValue("phash", "2" * 16)),
            ]
        )
    assert len(index) == 1


def test_index_refuses_other_algorithms():
    index = BruteForceIndex("phash")
    pdq_value = HashValue("pdq", "0" * 64, 100)
    with pytest.raises(ValueError, match="use the pdq index"):
        index.add([Reference(1, 1, pdq_value)])
    with pytest.raises(ValueError, match="use the pdq index"):
        index.query(pdq_value, 10)
    with pytest.raises(ValueError, match="use ExactIndex"):
        BruteForceIndex("sha256")
    with pytest.raises(ValueError, match="use BruteForceIndex"):
        ExactIndex("pdq")


def test_negative_distance_is_refused():
    with pytest.raises(ValueError, match="max_distance"):
        BruteForceIndex("phash").query(HashValue("phash", "0" * 16), -1)


def test_photo_copy_finds_only_its_original():
    index = BruteForceIndex("pdq")
    names = list(PHOTOS)
    index.add(
        Reference(i, i, hash_file(photo_path(name)).get("pdq")) for i, name in enumerate(names)
    )
    copy = hash_media(reencoded_jpeg("chelsea", quality=50, scale=0.5)).get("pdq")
    hits = index.query(copy, 31)
    assert [ref_id for ref_id, _ in hits] == [names.index("chelsea")]


def test_exact_index_finds_equal_digests_only():
    data = photo_path("rocket").read_bytes()
    digest = hash_media(data).get("sha256")
    other = hash_file(photo_path("moon")).get("sha256")
    index = ExactIndex("sha256")
    index.add([Reference(1, 10, digest), Reference(2, 20, digest), Reference(3, 30, other)])
    assert len(index) == 3
    assert index.query(digest, 0) == [(1, 0), (2, 0)]
    index.remove([1, 42])
    assert index.query(digest, 0) == [(2, 0)]
    index.remove([2])
    assert index.query(digest, 0) == []
    assert index.query(other, 0) == [(3, 0)]
    assert len(index) == 1


def test_exact_index_refuses_duplicates_and_other_algorithms():
    index = ExactIndex("md5")
    value = HashValue("md5", "0" * 32)
    index.add([Reference(1, 1, value)])
    with pytest.raises(ValueError, match="already in the index"):
        index.add([Reference(1, 1, value)])
    with pytest.raises(ValueError, match="use the sha256 index"):
        index.query(HashValue("sha256", "0" * 64), 0)


def test_exact_index_answers_like_a_dict_through_adds_removes_and_rebuilds():
    rng = random.Random(7)
    digests = [format(rng.getrandbits(256), "064x") for _ in range(400)]
    # Shared digests, and digests sharing their first 8 bytes (the index's sort key).
    digests += digests[:20] + [digest[:16] + "0" * 48 for digest in digests[20:40]]
    refs = [Reference(i * 3, i % 11, HashValue("sha256", d)) for i, d in enumerate(digests)]
    index = ExactIndex("sha256")
    index.add(refs[:300])
    for start in range(300, len(refs), 7):  # the buffer, then a rebuild
        index.add(refs[start : start + 7])
    gone = {ref.id for ref in refs[::5]}
    index.remove([*gone, 10**10])
    live = [ref for ref in refs if ref.id not in gone]
    assert len(index) == len(live)
    for digest in {*digests, "f" * 64}:
        expected = sorted(ref.id for ref in live if ref.value.hex == digest)
        found = index.query(HashValue("sha256", digest), 0)
        assert found == [(ref_id, 0) for ref_id in expected]
        assert index.case_ids(expected) == [ref_id // 3 % 11 for ref_id in expected]


@pytest.mark.parametrize(
    ("algorithm", "index_class"),
    [("pdq", "MultiIndexHashIndex"), ("phash", "MultiIndexHashIndex"), ("sha256", "ExactIndex")],
)
def test_an_index_gives_back_each_live_references_hash(algorithm, index_class):
    import crawler.matching as matching

    bits = "pdq" if algorithm == "sha256" else algorithm  # sha256 and PDQ are both 256 bits
    hashes = [HashValue(algorithm, value.hex) for value in random_hashes(bits, 40, seed=11)]
    targets = [getattr(matching, index_class)(algorithm)]
    if algorithm != "sha256":
        targets.append(BruteForceIndex(algorithm))  # the oracle
    for target in targets:
        target.add(Reference(i, 0, value) for i, value in enumerate(hashes[:30]))
        target.add(Reference(i, 0, value) for i, value in enumerate(hashes[30:], start=30))
        target.remove([3, 31])
    for target in targets:
        for i, value in enumerate(hashes):
            assert target.code_hex(i) == (None if i in (3, 31) else value.hex)
        assert target.code_hex(999) is None


def test_a_range_of_ids_gives_the_same_hashes_as_the_ids_one_by_one():
    """codes_of_range reads a video's regions as one slice when they lie side by side, and
    falls back to codes_of across removed ids and rows not rebuilt yet."""
    from crawler.matching import MultiIndexHashIndex

    codes = np.random.default_rng(5).integers(0, 256, (60, 32), dtype=np.uint8)
    index = MultiIndexHashIndex("pdq", hashed_from=8)
    index.add_codes(np.arange(40), codes[:40])
    index.query(HashValue("pdq", codes[0].tobytes().hex()), 0)  # the main structure is built
    index.add_codes(np.arange(40, 60), codes[40:])  # rows waiting for the next rebuild
    index.remove([10])
    for first, count in ((0, 10), (11, 29), (30, 20), (45, 15)):
        assert np.array_equal(index.codes_of_range(first, count), codes[first : first + count])
    assert np.array_equal(index.codes_of_range(0, 5), index.codes_of(np.arange(5, dtype=np.int64)))
    with pytest.raises(KeyError):
        index.codes_of_range(5, 10)  # holds the removed id 10
