"""Matcher: one match per case, exact before perceptual, PDQ quality and thresholds honoured."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest

from crawler.hashing import HashValue, MediaHashes, hash_file, hash_media
from crawler.matching import Match, Matcher, Reference
from crawler.samples import encode, load_photo, photo_path, reencoded_jpeg, resized

#: Scenes only: see tests/hashing/test_pdq.py for why textures are kept out.
CASE_PHOTOS = {101: "astronaut", 102: "coffee", 103: "chelsea", 104: "motorcycle", 105: "rocket"}


@cache
def original(name: str) -> MediaHashes:
    return hash_file(photo_path(name))


def references(case_id: int, name: str, first_id: int) -> list[Reference]:
    """One reference per algorithm, as the database would hold them for a reported photo."""
    return [
        Reference(first_id + i, case_id, value) for i, value in enumerate(original(name).hashes)
    ]


@pytest.fixture
def matcher() -> Matcher:
    refs = []
    for n, (case_id, name) in enumerate(CASE_PHOTOS.items()):
        refs += references(case_id, name, first_id=10 * n)
    return Matcher(refs)


def with_hashes(media: MediaHashes, *values: HashValue) -> MediaHashes:
    """``media`` with only the given hashes (an outside hash list might carry just one)."""
    return replace(media, hashes=values)


def flipped(value: HashValue, bits: int, quality: int | None = None) -> HashValue:
    """``value`` with its lowest ``bits`` bits inverted: exactly ``bits`` away."""
    number = int(value.hex, 16) ^ ((1 << bits) - 1)
    return HashValue(value.algorithm, format(number, f"0{len(value.hex)}x"), quality)


def test_original_file_matches_its_case_exactly(matcher):
    assert matcher.match(original("coffee")) == [Match(10, 102, "sha256", 0)]


def test_repost_copy_matches_its_case_once(matcher):
    copy = hash_media(reencoded_jpeg("chelsea", quality=50, scale=0.5))
    (found,) = matcher.match(copy)
    assert found.case_id == 103
    assert (found.algorithm, found.reference_id) in {("phash", 22), ("pdq", 23)}
    assert found.variant == "original"


def test_unrelated_photo_matches_nothing(matcher):
    assert matcher.match(hash_media(encode(load_photo("camera"), "JPEG"))) == []


def test_one_match_per_case_even_with_several_references():
    lower_quality = hash_media(reencoded_jpeg("rocket", quality=40)).get("pdq")
    half_size = hash_media(encode(resized(load_photo("rocket"), 0.5), "PNG")).get("pdq")
    refs = [
        *references(7, "rocket", first_id=1),
        Reference(50, 7, lower_quality),
        Reference(51, 7, half_size),
    ]
    matcher = Matcher(refs)
    found = matcher.match(hash_media(reencoded_jpeg("rocket", quality=70)))
    assert len(found) == 1
    assert found[0].case_id == 7


def test_same_photo_in_two_cases_matches_both():
    matcher = Matcher(references(1, "astronaut", first_id=1) + references(2, "astronaut", 11))
    found = matcher.match(original("astronaut"))
    assert [(m.case_id, m.algorithm) for m in found] == [(1, "sha256"), (2, "sha256")]


def test_exact_hit_beats_a_perceptual_distance_of_zero():
    media = original("coffee")
    pdq = media.get("pdq")
    matcher = Matcher([Reference(1, 9, pdq), Reference(2, 9, media.get("md5"))])
    assert matcher.match(media) == [Match(2, 9, "md5", 0)]


def test_smallest_share_of_the_threshold_wins():
    media = original("coffee")
    phash, pdq = media.get("phash"), media.get("pdq")
    refs = [Reference(1, 9, flipped(phash, 2)), Reference(2, 9, flipped(pdq, 10, quality=100))]
    # pHash 2/10 of its threshold beats PDQ 10/31.
    assert Matcher(refs).match(media) == [Match(1, 9, "phash", 2)]
    refs = [Reference(1, 9, flipped(phash, 6)), Reference(2, 9, flipped(pdq, 10, quality=100))]
    assert Matcher(refs).match(media) == [Match(2, 9, "pdq", 10)]


def test_tie_goes_to_pdq():
    media = original("coffee")
    refs = [Reference(1, 9, media.get("phash")), Reference(2, 9, media.get("pdq"))]
    assert Matcher(refs).match(with_hashes(media, media.get("phash"), media.get("pdq"))) == [
        Match(2, 9, "pdq", 0)
    ]


@pytest.mark.parametrize(("algorithm", "threshold"), [("phash", 10), ("pdq", 31)])
def test_default_thresholds_are_inclusive(algorithm, threshold):
    value = original("motorcycle").get(algorithm)
    matcher = Matcher([Reference(1, 1, flipped(value, threshold, value.quality))])
    media = with_hashes(original("motorcycle"), value)
    assert matcher.match(media) == [Match(1, 1, algorithm, threshold)]
    matcher = Matcher([Reference(1, 1, flipped(value, threshold + 1, value.quality))])
    assert matcher.match(media) == []


def test_thresholds_can_be_overridden():
    copy = hash_media(reencoded_jpeg("astronaut", quality=60, scale=0.5))  # pdq 12, phash 0 away
    refs = [Reference(1, 1, original("astronaut").get("pdq"))]
    assert [m.distance for m in Matcher(refs).match(copy)] == [12]
    assert Matcher(refs, thresholds={"pdq": 11}).match(copy) == []
    strict = Matcher(refs, thresholds={"pdq": 11})
    assert strict.thresholds == {"phash": 10, "pdq": 11}


def test_unknown_or_impossible_thresholds_are_refused():
    with pytest.raises(ValueError, match="no threshold for sha256"):
        Matcher(thresholds={"sha256": 3})
    with pytest.raises(ValueError, match="outside 0-64"):
        Matcher(thresholds={"phash": 65})


def test_low_quality_query_pdq_is_ignored():
    pdq = original("chelsea").get("pdq")
    matcher = Matcher([Reference(1, 1, pdq)])
    assert matcher.match(with_hashes(original("chelsea"), replace(pdq, quality=50))) != []
    assert matcher.match(with_hashes(original("chelsea"), replace(pdq, quality=49))) == []


@pytest.mark.parametrize(("quality", "matches"), [(None, True), (50, True), (49, False)])
def test_reference_pdq_quality_is_checked(quality, matches):
    pdq = original("chelsea").get("pdq")
    matcher = Matcher([Reference(1, 1, replace(pdq, quality=quality))])
    assert bool(matcher.match(with_hashes(original("chelsea"), pdq))) is matches


def test_low_quality_pdq_can_still_match_by_phash():
    media = original("chelsea")
    weak_pdq = replace(media.get("pdq"), quality=10)
    matcher = Matcher([Reference(1, 1, weak_pdq), Reference(2, 1, media.get("phash"))])
    assert matcher.match(with_hashes(media, weak_pdq, media.get("phash"))) == [
        Match(2, 1, "phash", 0)
    ]


def test_add_and_remove(matcher):
    assert len(matcher) == 4 * len(CASE_PHOTOS)
    matcher.remove([10, 11, 12, 13])  # every reference of the coffee case
    assert len(matcher) == 4 * (len(CASE_PHOTOS) - 1)
    assert matcher.match(original("coffee")) == []
    matcher.add(references(102, "coffee", first_id=500))
    assert matcher.match(original("coffee")) == [Match(500, 102, "sha256", 0)]


def test_duplicate_reference_is_refused_and_nothing_is_added(matcher):
    before = len(matcher)
    fresh = Reference(900, 1, original("camera").get("phash"))
    taken = Reference(0, 101, original("astronaut").get("sha256"))
    with pytest.raises(ValueError, match="sha256 reference 0 is already in the matcher"):
        matcher.add([fresh, taken])
    assert len(matcher) == before
    assert matcher.match(original("camera")) == []
