"""Pictures inside pictures: `picture_regions` finds the photo in a screenshot or a collage,
and `hash_media` hashes each one found as a ``"region"`` variant."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.photos import screenshot
from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import REGION, hash_media, open_luma
from crawler.hashing.pdq import pdq_luma
from crawler.hashing.phash import phash
from crawler.hashing.regions import MAX_REGIONS, picture_regions
from tests.support import screens


def regions_of(data: bytes) -> tuple[list[tuple[int, int, int, int]], float]:
    """The boxes found in the decoded picture, and its scale against the picture as made (the
    decoder may reduce a large picture for hashing)."""
    luma = open_luma(data).luma
    return picture_regions(luma), luma.width / _width(data)


def _width(data: bytes) -> int:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data)) as image:
        return image.width


def close(found: tuple[int, ...], expected: tuple[int, ...], scale: float, slack: int = 2):
    return all(abs(a - round(b * scale)) <= slack for a, b in zip(found, expected, strict=True))


@pytest.mark.parametrize("name", PHOTOS)
def test_the_picture_in_a_forum_screenshot_is_found(name):
    """The robustness benchmark's screenshot: the photo at (270, 108), up to 760x520."""
    image = load_photo(name)
    scale = min(760 / image.width, 520 / image.height)
    expected = (270, 108, 270 + round(image.width * scale), 108 + round(image.height * scale))
    found, _ = regions_of(screenshot(image, np.random.default_rng(0)))
    assert len(found) == 1
    assert close(found[0], expected, 1.0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coins", "hubble", "page"])
def test_the_photo_in_a_social_post_screenshot_is_found(name, fmt):
    page, expected = screens.social_post(load_photo(name))
    data = encode(page, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    found, scale = regions_of(data)
    assert len(found) == 1
    assert close(found[0], expected, scale)


@pytest.mark.parametrize("name", ["camera", "coffee", "rocket"])
def test_a_photo_over_a_drop_shadow_is_found_without_the_shadow(name):
    """The blurred shadow joins the photo's blob; the sides snap to the photo's edges."""
    page, expected = screens.shadowed(load_photo(name))
    found, scale = regions_of(encode(page, "JPEG", quality=70))
    assert len(found) == 1
    assert close(found[0], expected, scale)


def test_each_photo_of_a_collage_is_found_largest_first():
    names = ["astronaut", "camera", "chelsea", "coffee"]
    page, expected = screens.collage([load_photo(name) for name in names])
    found, _ = regions_of(encode(page, "PNG"))
    assert len(found) == 4
    for box in expected:
        assert any(close(item, box, 1.0) for item in found), box
    areas = [(right - left) * (bottom - top) for left, top, right, bottom in found]
    assert areas == sorted(areas, reverse=True)
    assert len(picture_regions(open_luma(encode(page, "PNG")).luma, limit=2)) == 2
    assert MAX_REGIONS == 4


@pytest.mark.parametrize("name", PHOTOS)
def test_an_ordinary_photo_has_no_region(name):
    assert picture_regions(open_luma(photo_path(name).read_bytes()).luma) == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_page_of_text_has_no_region(fmt):
    """Its bordered text panel is a flat-surrounded rectangle too, but flat inside its sides."""
    data = encode(screens.text_page(), fmt, **({"quality": 75} if fmt == "JPEG" else {}))
    assert regions_of(data)[0] == []


def test_pictures_too_small_to_hold_a_region_have_none():
    tiny = load_photo("coffee").resize((90, 60))
    assert picture_regions(open_luma(encode(tiny, "PNG")).luma) == []


def test_hash_media_hashes_each_region_as_its_own_variant():
    names = ["astronaut", "camera", "chelsea", "coffee"]
    data = encode(screens.collage([load_photo(name) for name in names])[0], "PNG")
    media = hash_media(data)
    luma = open_luma(data).luma
    boxes = picture_regions(luma)
    expected = []
    for number, box in enumerate(boxes, start=1):
        name = REGION if number == 1 else f"{REGION}{number}"
        crop = luma.crop(box)
        expected += [(name, phash(crop)), (name, pdq_luma(np.asarray(crop)))]
    found = [
        (item.variant, item.value) for item in media.variants if item.variant.startswith(REGION)
    ]
    assert found == expected
    assert [name for name, _ in found[::2]] == ["region", "region2", "region3", "region4"]
    # query side only: references store none of them
    assert {value for _, value in found}.isdisjoint(media.reference_values())


def test_an_ordinary_photo_gets_no_region_variant():
    media = hash_media(photo_path("chelsea").read_bytes())
    assert not any(item.variant.startswith(REGION) for item in media.variants)
