"""pHash: pinned values, near for repost-style copies, far for different photos."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path, reencoded_jpeg, resized
from crawler.hashing import HashValue, open_image
from crawler.hashing.phash import (
    PHASH_MATCH_THRESHOLD,
    PHASH_MIN_QUALITY,
    hamming,
    is_plain,
    phash,
    phash_is_usable,
    phash_quality,
    phash_variants,
)

#: Fine repetitive textures and scanned text, kept apart from photos of scenes.
TEXTURES = ("brick", "grass", "gravel", "page", "text")
SCENES = tuple(name for name in PHOTOS if name not in TEXTURES)


@cache
def original(name: str) -> HashValue:
    return phash(open_image(photo_path(name).read_bytes()))


def distance_to_original(name: str, data: bytes) -> int:
    return hamming(original(name).hex, phash(open_image(data)).hex)


@pytest.mark.parametrize(
    ("name", "known_hash"),
    [
        ("astronaut", "c2924c5532bddfc8"),
        ("camera", "bff1c1c0434e8cbc"),
        ("coffee", "bb8320376c0f3637"),
        ("moon", "a3d9765014369c77"),
    ],
)
def test_known_hashes_of_bundled_photos(name, known_hash):
    assert original(name).hex == known_hash


def test_photos_have_a_high_quality_but_a_galaxy_on_black():
    """Quality is the share of the 32x32 reduction neither near black nor near white: the
    Hubble deep field is 72% black, so its pHash is held to the strict limit (its copies are
    PDQ's to find)."""
    low = {name for name in PHOTOS if original(name).quality < PHASH_MIN_QUALITY}
    assert low == {"hubble"}


@pytest.mark.parametrize("ground", ["black", "white"])
def test_a_subject_on_a_plain_ground_has_a_low_quality(ground):
    picture = Image.new("RGB", (400, 300), ground)
    ImageDraw.Draw(picture).ellipse((150, 100, 250, 200), fill="orange")  # 1/15 of the picture
    value = phash(picture)
    assert value.quality < PHASH_MIN_QUALITY
    assert value.quality == pytest.approx(100 / 15, abs=4)


def test_every_turn_and_mirror_has_the_quality_of_the_picture():
    luma = open_image(photo_path("coffee").read_bytes()).convert("L")
    qualities = {value.quality for value in phash_variants(luma).values()}
    assert qualities == {original("coffee").quality}


def test_quality_counts_plain_black_and_white_only():
    small = np.full((32, 32), 128, dtype=np.uint8)
    assert phash_quality(small) == 100
    small[:8] = 0  # a quarter black
    small[8:16] = 255  # a quarter white
    small[16:24] = 20  # dark grey, not plain black
    assert phash_quality(small) == 50


def test_hamming_counts_differing_bits():
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    assert hamming("c2924c5532bddfc8", "bff1c1c0434e8cbc") == hamming(
        "bff1c1c0434e8cbc", "c2924c5532bddfc8"
    )


def test_hamming_refuses_hashes_of_different_sizes():
    with pytest.raises(ValueError, match="same algorithm"):
        hamming("00", "0000")


@pytest.mark.parametrize("name", SCENES)
def test_jpeg_quality_50_copy_is_near(name):
    assert distance_to_original(name, reencoded_jpeg(name, quality=50)) <= PHASH_MATCH_THRESHOLD


@pytest.mark.parametrize("name", PHOTOS)
def test_half_size_copy_is_near(name):
    # Textures included: pHash still matches them where PDQ does not (see test_pdq).
    half = encode(resized(load_photo(name), 0.5), "PNG")
    assert distance_to_original(name, half) <= PHASH_MATCH_THRESHOLD


@pytest.mark.parametrize("name", SCENES)
def test_png_saved_as_jpeg_under_the_same_name_is_near(name):
    assert distance_to_original(name, encode(load_photo(name), "JPEG")) <= PHASH_MATCH_THRESHOLD


def test_quarter_turn_goes_far():
    turned = encode(load_photo("astronaut").rotate(90, expand=True), "PNG")
    assert distance_to_original("astronaut", turned) > 2 * PHASH_MATCH_THRESHOLD


def test_distinct_photos_are_far_apart():
    distances = {
        (a, b): hamming(original(a).hex, original(b).hex)
        for a, b in itertools.combinations(PHOTOS, 2)
    }
    too_close = {pair: d for pair, d in distances.items() if d <= PHASH_MATCH_THRESHOLD}
    assert not too_close
    assert min(distances.values()) >= 2 * PHASH_MATCH_THRESHOLD  # measured minimum: 20


@pytest.mark.parametrize("name", PHOTOS)
def test_every_photo_phash_sets_half_its_bits(name):
    """Bits are set above the median of 64 coefficients: 32 for any picture with detail."""
    assert int(original(name).hex, 16).bit_count() == 32
    assert phash_is_usable(original(name))


def test_flat_pictures_phash_is_unusable():
    from PIL import Image

    flat = [Image.new("L", (64, 48), level) for level in (0, 128, 255)]
    flat.append(Image.linear_gradient("L"))
    for image in flat:
        assert not phash_is_usable(phash(image))


def test_only_phash_and_crhash_qualities_say_plain():
    """PDQ's quality measures something else: a PDQ of quality 10 is not a plain picture."""
    assert is_plain(HashValue("phash", "0" * 16, PHASH_MIN_QUALITY - 1))
    assert is_plain(HashValue("crhash", "0" * 16, PHASH_MIN_QUALITY - 1))
    assert not is_plain(HashValue("phash", "0" * 16, PHASH_MIN_QUALITY))
    assert not is_plain(HashValue("phash", "0" * 16))  # hashed before pHash had a quality
    assert not is_plain(HashValue("pdq", "0" * 64, 10))
