"""Captioned copies match through the references' stored "centre" hashes; unrelated photos,
captioned or not, match nothing else."""

from __future__ import annotations

from functools import cache

import pytest

from crawler.demo.samples import PHOTOS, encode, load_photo
from crawler.hashing import CENTRE, MediaHashes, hash_media
from crawler.matching import Matcher, Reference
from tests.hashing.test_centre import captioned


@cache
def media(name: str, edit: str) -> MediaHashes:
    image = load_photo(name)
    return hash_media(encode(captioned(image) if edit == "captioned" else image, "PNG"))


@cache
def matcher(stored: str) -> Matcher:
    """Every photo a case (its index), with what `refs add` stores, or its plain hashes only."""
    refs = []
    for case, name in enumerate(PHOTOS):
        original = media(name, "original")
        values = original.reference_values() if stored == "with centre" else original.hashes
        refs += [Reference(100 * case + i, case, value) for i, value in enumerate(values)]
    return Matcher(refs)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_captioned_copy_matches_its_own_case_and_no_other(name):
    case = list(PHOTOS).index(name)
    matches = matcher("with centre").match(media(name, "captioned"))
    assert [m.case_id for m in matches] == [case]


def test_the_captioned_brick_is_found_by_the_centre_hashes_only():
    """The texture's captions move pHash and PDQ past their thresholds and hide its keypoints
    (it was a miss of the robustness benchmark); its middle band still matches exactly."""
    case = list(PHOTOS).index("brick")
    copy = media("brick", "captioned")
    assert [m.case_id for m in matcher("plain").match(copy)] == []
    (found,) = matcher("with centre").match(copy)
    assert (found.case_id, found.variant, found.algorithm) == (case, CENTRE, "pdq")
    assert found.distance <= 4


@pytest.mark.parametrize("name", PHOTOS)
def test_an_original_matches_only_its_own_case(name):
    case = list(PHOTOS).index(name)
    matches = matcher("with centre").match(media(name, "original"))
    assert [m.case_id for m in matches] == [case]
    assert (matches[0].algorithm, matches[0].distance) == ("sha256", 0)
