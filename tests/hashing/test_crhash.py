"""crhash: its stored form, and keypoints that find a crop of the picture and nothing else."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest

from crawler.hashing import CRHASH_MIN_INLIERS, HashFormatError, HashValue, open_luma
from crawler.hashing.crhash import (
    MAX_KEYPOINTS,
    codes_of,
    inliers,
    keypoint_features,
    probe_codes,
)
from crawler.samples import PHOTOS, encode, load_photo, photo_path


@cache
def features(name: str) -> tuple[HashValue | None, bytes]:
    return keypoint_features(open_luma(photo_path(name).read_bytes()).luma)


def test_crhash_size_rule():
    assert HashValue("crhash", "0" * 16).bits == 64
    assert HashValue("crhash", "ab" * 64).bits == 512
    for digits in (0, 15, 24, 144):
        with pytest.raises(HashFormatError, match=r"16 to 128 \(a multiple of 16\)"):
            HashValue("crhash", "0" * digits)


@pytest.mark.parametrize("name", PHOTOS)
def test_every_bundled_photo_has_a_crhash(name):
    crhash, probe = features(name)
    assert crhash is not None
    assert len(crhash.hex) == 16 * MAX_KEYPOINTS or name == "rocket"  # rocket: 7 (a plain sky)
    assert len(probe) % 8 == 0 and len(probe) // 8 >= 100


def test_keypoints_lie_in_the_middle_and_apart():
    crhash, _ = features("astronaut")
    positions = (codes_of(crhash) & np.uint64(0xFFFF)).astype(np.int64)
    x, y = positions >> 8, positions & 255
    assert ((x > 0.2 * 255) & (x < 0.8 * 255) & (y > 0.2 * 255) & (y < 0.8 * 255)).all()
    assert len(set(zip(x.tolist(), y.tolist(), strict=True))) == MAX_KEYPOINTS


def test_a_picture_finds_all_its_own_keypoints():
    crhash, probe = features("coffee")
    assert inliers(probe_codes(probe), codes_of(crhash)) == MAX_KEYPOINTS


def test_a_crop_of_the_picture_finds_enough_keypoints():
    photo = load_photo("chelsea")
    cropped = photo.crop((photo.width // 5, photo.height // 5, photo.width, photo.height))
    _, probe = keypoint_features(open_luma(encode(cropped, "JPEG", quality=70)).luma)
    assert inliers(probe_codes(probe), codes_of(features("chelsea")[0])) >= CRHASH_MIN_INLIERS


def test_distinct_photos_find_too_few_keypoints_of_each_other():
    counts = {
        (a, b): inliers(probe_codes(features(a)[1]), codes_of(features(b)[0]))
        for a, b in itertools.permutations(PHOTOS, 2)
    }
    assert max(counts.values()) < CRHASH_MIN_INLIERS  # measured maximum: 2


def test_flat_picture_has_no_crhash():
    from PIL import Image

    crhash, _ = keypoint_features(Image.new("L", (300, 200), 128))
    assert crhash is None
