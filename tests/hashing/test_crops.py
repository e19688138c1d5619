"""Crops of a frame in one pass: exact to pdqhash on the whole picture, and a copy cut by a crop
of the grid hashes, in that crop's box, to what the original's middle hashes to."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from crawler.demo.samples import load_photo
from crawler.hashing.crops import (
    CROP_INNER,
    GRID,
    MIDDLE,
    box_codes,
    crop_luma,
    grid_boxes,
)
from crawler.hashing.pdq import pdq

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "page", "moon")


def bits(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.bitwise_xor(a, b)).sum())


@pytest.mark.parametrize("name", PHOTOS)
def test_the_whole_box_of_a_64_pixel_picture_is_pdqhash_s_hash(name):
    small = load_photo(name).convert("RGB").resize((64, 64), Image.Resampling.BOX)
    [code] = box_codes(crop_luma(small, 64), np.array([[0.0, 0.0, 1.0, 1.0]]))
    assert code.tobytes().hex() == pdq(small).hex


def test_the_grid_is_every_crop_of_up_to_a_tenth_on_2_5_percent_steps():
    assert (
        len(GRID) == 15 * 15
    )  # per axis: (left, right) shares, 0-10% each, summing to 10% at most
    assert np.allclose(GRID[0], MIDDLE[0])  # the uncut copy's box is the middle itself
    assert (GRID[:, :2] >= 0).all() and (GRID[:, 2:] <= 1 + 1e-9).all()
    with pytest.raises(ValueError, match="inner"):
        grid_boxes(inner=0.6)


@pytest.mark.parametrize("name", PHOTOS[:4])
def test_a_copy_cut_by_a_grid_crop_hashes_in_its_box_to_the_original_s_middle(name):
    photo = load_photo(name).convert("RGB")
    width, height = photo.size
    middle = box_codes(crop_luma(photo), MIDDLE)[0]
    # 10% off the left and 5% off the bottom: the grid box of (left 0.1, right 0), (top 0,
    # bottom 0.05).
    copy = photo.crop((round(0.1 * width), 0, width, round(0.95 * height))).resize(photo.size)
    codes = box_codes(crop_luma(copy), GRID)
    box = (CROP_INNER - 0.1) / 0.9, CROP_INNER / 0.95, (1 - CROP_INNER - 0.1) / 0.9
    [index] = [i for i, b in enumerate(GRID) if np.allclose(b[[0, 1, 2]], box)]
    assert bits(codes[index], middle) <= 12
    # The whole copy is far from the middle: plain PDQ does not survive the crop.
    assert bits(box_codes(crop_luma(copy), np.array([[0.0, 0, 1, 1]]))[0], middle) > 40


def test_unrelated_pictures_stay_far_from_a_middle_in_every_box():
    middles = {name: box_codes(crop_luma(load_photo(name)), MIDDLE)[0] for name in PHOTOS}
    for name in PHOTOS:
        codes = box_codes(crop_luma(load_photo(name)), GRID)
        for other, middle in middles.items():
            if other != name:
                assert min(bits(code, middle) for code in codes) > 60, (name, other)


def test_boxes_outside_the_picture_are_refused():
    with pytest.raises(ValueError, match="inside the picture"):
        box_codes(np.zeros((8, 8)), np.array([[0.5, 0.0, 0.4, 1.0]]))
