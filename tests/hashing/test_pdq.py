"""PDQ: pinned values and qualities, ThreatExchange's hex, near copies, far photos."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pdqhash
import pytest
from PIL import Image

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path, reencoded_jpeg, resized
from crawler.hashing import HashValue, hamming, open_image
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, bits_to_hex, pdq

#: Fine repetitive textures and scanned text: PDQ does not survive halving them (measured
#: distances 16-58), so the near-copy tests use scenes only.
TEXTURES = ("brick", "grass", "gravel", "page", "text")
SCENES = tuple(name for name in PHOTOS if name not in TEXTURES)


@cache
def original(name: str) -> HashValue:
    return pdq(open_image(photo_path(name).read_bytes()))


def distance_to_original(name: str, data: bytes) -> int:
    copy = pdq(open_image(data))
    assert copy.quality is not None and copy.quality >= PDQ_MIN_QUALITY
    return hamming(original(name).hex, copy.hex)


@pytest.mark.parametrize(
    ("name", "known_hash", "known_quality"),
    [
        ("astronaut", "2d6b1af3a956c529e79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724", 100),
        ("camera", "dc9c9d3b746978f888f40ce6e5c3f70f7266623e8d989cb99f21f2010841e1c7", 100),
        ("coffee", "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0", 100),
        ("moon", "131645cde366d981e1e371b264d8b25b9e4d13771d8c4f366d946ca57133d0c9", 83),
    ],
)
def test_known_hashes_of_bundled_photos(name, known_hash, known_quality):
    assert original(name) == HashValue("pdq", known_hash, known_quality)


def test_hex_matches_python_threatexchange():
    # threatexchange: join the bits as a binary string, most significant first, zero-padded hex.
    bits, _ = pdqhash.compute(np.asarray(load_photo("chelsea")))
    expected = format(int("".join(str(bit) for bit in bits), 2), "064x")
    assert pdq(load_photo("chelsea")).hex == expected


def test_first_bit_is_the_most_significant():
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = 1
    bits[255] = 1
    assert bits_to_hex(bits) == "8" + "0" * 62 + "1"


def test_bits_to_hex_refuses_the_wrong_length():
    with pytest.raises(ValueError, match="256 bits"):
        bits_to_hex(np.zeros(64, dtype=np.int64))


def test_flat_image_has_too_low_quality_to_match():
    flat = pdq(Image.new("RGB", (256, 256), (128, 128, 128)))
    assert flat.quality is not None and flat.quality < PDQ_MIN_QUALITY


@pytest.mark.parametrize("name", SCENES)
def test_jpeg_quality_50_copy_is_near(name):
    assert distance_to_original(name, reencoded_jpeg(name, quality=50)) <= PDQ_MATCH_THRESHOLD


@pytest.mark.parametrize("name", SCENES)
def test_half_size_copy_is_near(name):
    half = encode(resized(load_photo(name), 0.5), "PNG")
    assert distance_to_original(name, half) <= PDQ_MATCH_THRESHOLD


@pytest.mark.parametrize("name", SCENES)
def test_png_saved_as_jpeg_under_the_same_name_is_near(name):
    assert distance_to_original(name, encode(load_photo(name), "JPEG")) <= PDQ_MATCH_THRESHOLD


def test_quarter_turn_goes_far():
    turned = encode(load_photo("astronaut").rotate(90, expand=True), "PNG")
    assert distance_to_original("astronaut", turned) > 3 * PDQ_MATCH_THRESHOLD


def test_distinct_photos_are_far_apart():
    assert all(original(name).quality >= PDQ_MIN_QUALITY for name in PHOTOS)
    distances = {
        (a, b): hamming(original(a).hex, original(b).hex)
        for a, b in itertools.combinations(PHOTOS, 2)
    }
    too_close = {pair: d for pair, d in distances.items() if d <= PDQ_MATCH_THRESHOLD}
    assert not too_close
    assert min(distances.values()) >= 3 * PDQ_MATCH_THRESHOLD  # measured minimum: 106
