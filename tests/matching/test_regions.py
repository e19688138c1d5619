"""A photo shown inside a screenshot or a collage matches its own case through the
``"region"`` variants, and the match says so; pages without it match nothing."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from benchmarks.photos import screenshot
from crawler.demo.samples import PHOTOS, encode, load_photo
from crawler.hashing import REGION, MediaHashes, hash_media
from crawler.matching import Matcher, Reference
from tests.support import screens

CASES = list(PHOTOS)


@cache
def matcher() -> Matcher:
    """Every photo a case (its index), with what `refs add` stores."""
    refs = []
    for case, name in enumerate(CASES):
        values = hash_media(encode(load_photo(name), "PNG")).reference_values()
        refs += [Reference(100 * case + i, case, value) for i, value in enumerate(values)]
    return Matcher(refs)


def without_regions(media: MediaHashes) -> MediaHashes:
    from dataclasses import replace

    kept = tuple(item for item in media.variants if not item.variant.startswith(REGION))
    return replace(media, variants=kept)


@pytest.mark.parametrize("name", CASES)
def test_a_forum_screenshot_matches_its_photo_by_its_region(name):
    media = hash_media(screenshot(load_photo(name), np.random.default_rng(0)))
    matches = matcher().match(media)
    assert [m.case_id for m in matches] == [CASES.index(name)]
    assert matches[0].variant == REGION
    assert matches[0].algorithm in ("pdq", "phash")


def test_without_regions_most_screenshots_are_missed():
    """What the region variants add: the whole page's hashes (and crhash) miss most of them."""
    missed = 0
    for name in CASES:
        media = hash_media(screenshot(load_photo(name), np.random.default_rng(0)))
        missed += CASES.index(name) not in [
            m.case_id for m in matcher().match(without_regions(media))
        ]
    assert missed >= len(CASES) // 2


@pytest.mark.parametrize("name", ["astronaut", "coffee", "motorcycle"])
def test_a_social_post_screenshot_in_jpeg_matches_its_photo(name):
    page, _ = screens.social_post(load_photo(name))
    matches = matcher().match(hash_media(encode(page, "JPEG", quality=80)))
    assert [(m.case_id, m.variant) for m in matches] == [(CASES.index(name), REGION)]


@pytest.mark.parametrize("name", ["coffee", "rocket"])
def test_a_photo_over_a_drop_shadow_matches_by_its_region_not_the_trimmed_page(name):
    """The trimmed page keeps the shadow, and its hashes miss; the region is the photo."""
    media = hash_media(encode(screens.shadowed(load_photo(name))[0], "JPEG", quality=70))
    assert CASES.index(name) not in [m.case_id for m in matcher().match(without_regions(media))]
    matches = matcher().match(media)
    assert [(m.case_id, m.variant) for m in matches] == [(CASES.index(name), REGION)]


def test_each_photo_of_a_collage_matches_by_its_own_region():
    names = ["chelsea", "rocket", "coins", "camera"]
    page, _ = screens.collage([load_photo(name) for name in names])
    matches = matcher().match(hash_media(encode(page, "PNG")))
    assert sorted(m.case_id for m in matches) == sorted(CASES.index(name) for name in names)
    variants = {m.variant for m in matches}
    assert variants == {REGION, f"{REGION}2", f"{REGION}3", f"{REGION}4"}


def test_a_page_of_text_matches_nothing():
    assert matcher().match(hash_media(encode(screens.text_page(), "PNG"))) == []
