"""Pictures turned a few degrees on a grown canvas: the turn found, the picture cut out."""

from __future__ import annotations

import pytest
from PIL import Image

from crawler.demo.samples import PHOTOS, encode, load_photo
from crawler.hashing import PHASH_MATCH_THRESHOLD, STRAIGHTENED, hamming, hash_media, open_luma
from crawler.hashing.phash import phash
from crawler.hashing.straighten import straightened, straightened_box

#: Photos whose picture fills its frame (retina is a disc on black: no rectangle to find).
RECTANGLES = [name for name in PHOTOS if name != "retina"]


def turned(image: Image.Image, degrees: float, fill: str = "black") -> Image.Image:
    """As editors turn a picture: anticlockwise, the canvas grown to hold all of it."""
    return image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def luma_of(image: Image.Image) -> Image.Image:
    return open_luma(encode(image, "PNG")).luma


@pytest.mark.parametrize("degrees", [-6, 2, 4, 8])
@pytest.mark.parametrize("name", RECTANGLES)
def test_the_turn_is_found_to_half_a_degree(name, degrees):
    found = straightened_box(luma_of(turned(load_photo(name), degrees)))
    assert found is not None
    assert found[0] == pytest.approx(degrees, abs=0.5)


@pytest.mark.parametrize("name", PHOTOS)
def test_upright_pictures_are_left_alone(name):
    assert straightened_box(luma_of(load_photo(name))) is None


@pytest.mark.parametrize("fill", ["black", "white"])
def test_padded_or_quarter_turned_pictures_are_not_straightened(fill):
    photo = load_photo("coffee")
    padded = Image.new("RGB", (photo.width + 80, photo.height + 60), fill)
    padded.paste(photo, (40, 30))
    assert straightened_box(luma_of(padded)) is None
    assert straightened_box(luma_of(turned(photo, 90, fill))) is None


@pytest.mark.parametrize("fill", ["black", "white"])
@pytest.mark.parametrize("name", ["astronaut", "brick", "grass", "page", "coffee"])
def test_the_picture_turned_back_has_the_originals_phash(name, fill):
    photo = load_photo(name)
    upright = straightened(luma_of(turned(photo, 4, fill)))
    assert upright is not None
    assert hamming(phash(upright).hex, phash(photo).hex) <= PHASH_MATCH_THRESHOLD


def test_hash_media_names_the_straightened_variants():
    hashes = hash_media(encode(turned(load_photo("chelsea"), 5), "JPEG", quality=85))
    names = {(item.variant, item.value.algorithm) for item in hashes.variants}
    assert {
        (STRAIGHTENED, "phash"),
        (STRAIGHTENED, "pdq"),
        (f"{STRAIGHTENED}+rot90", "pdq"),
    } <= names
    plain = hash_media(encode(load_photo("chelsea"), "JPEG", quality=85))
    assert not any(item.variant.startswith(STRAIGHTENED) for item in plain.variants)
