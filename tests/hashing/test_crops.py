"""Crops of a frame in one pass: exact to pdqhash on the whole picture, a copy cut by a crop of
the grid hashes, in that crop's box, to what the original's middle hashes to, and a copy under a
banner over the top or bottom fifth hashes in the grid's first box to it too."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from crawler.demo.samples import load_photo
from crawler.hashing.crops import (
    COARSE_BOXES,
    CROP_INNER,
    GRID,
    MIDDLE,
    MIDDLE_ENDS,
    MIDDLE_SIDES,
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


def test_the_middle_leaves_out_a_tenth_of_the_width_and_a_fifth_of_the_height_at_each_end():
    assert MIDDLE.tolist() == [[MIDDLE_SIDES, MIDDLE_ENDS, 1 - MIDDLE_SIDES, 1 - MIDDLE_ENDS]]
    assert (MIDDLE_SIDES, MIDDLE_ENDS) == (0.1, 0.2)
    assert min(MIDDLE_SIDES, MIDDLE_ENDS) >= CROP_INNER


def test_the_grid_is_every_crop_of_up_to_a_tenth_on_1_25_percent_steps():
    assert (
        len(GRID) == 45 * 45
    )  # per axis: (left, right) shares, 0-10% each, summing to 10% at most
    assert np.allclose(GRID[0], MIDDLE[0])  # the uncut copy's box is the middle itself
    assert (GRID[:, :2] >= 0).all() and (GRID[:, 2:] <= 1 + 1e-9).all()
    # Each box is the middle seen in a copy cut by one crop: its place, back in the original's
    # fractions, is the middle, for every crop of the grid.
    steps = np.arange(0, 0.1001, 0.0125)
    cuts = [(a, b) for a in steps for b in steps]
    cuts = [(a, b) for a, b in cuts if a + b <= 0.1 + 1e-9]
    crops = [(left, top, right, bottom) for top, bottom in cuts for left, right in cuts]
    assert len(crops) == len(GRID)
    for (left, top, right, bottom), box in zip(crops, GRID, strict=True):
        width, height = 1 - left - right, 1 - top - bottom
        original = (
            left + box[0] * width,
            top + box[1] * height,
            left + box[2] * width,
            top + box[3] * height,
        )
        assert np.allclose(original, MIDDLE[0])
    # A box never reaches into the top or bottom tenth of a copy, nor past its edges.
    assert GRID[:, 1].min() == pytest.approx(0.1 / 0.9) and GRID[:, 3].max() == pytest.approx(
        1 - 0.1 / 0.9
    )
    # The coarse boxes a media cache keeps are the 2.5% grid's, in its order.
    assert np.allclose(GRID[COARSE_BOXES], grid_boxes(step=0.025)) and len(COARSE_BOXES) == 225
    with pytest.raises(ValueError, match="inner"):
        grid_boxes(inner=0.6)
    with pytest.raises(ValueError, match="inner"):
        grid_boxes(inner=0.1, ends=0.05)  # a crop of 10% would cut into such a middle


@pytest.mark.parametrize("name", PHOTOS[:4])
def test_a_copy_cut_by_a_grid_crop_hashes_in_its_box_to_the_original_s_middle(name):
    photo = load_photo(name).convert("RGB")
    width, height = photo.size
    middle = box_codes(crop_luma(photo), MIDDLE)[0]
    # 10% off the left and 5% off the bottom: the grid box of (left 0.1, right 0), (top 0,
    # bottom 0.05).
    copy = photo.crop((round(0.1 * width), 0, width, round(0.95 * height))).resize(photo.size)
    codes = box_codes(crop_luma(copy), GRID)
    box = (
        (MIDDLE_SIDES - 0.1) / 0.9,
        MIDDLE_ENDS / 0.95,
        (1 - MIDDLE_SIDES - 0.1) / 0.9,
        (1 - MIDDLE_ENDS) / 0.95,
    )
    [index] = [i for i, b in enumerate(GRID) if np.allclose(b, box)]
    assert bits(codes[index], middle) <= 12
    # The whole copy is far from the middle: plain PDQ does not survive the crop.
    assert bits(box_codes(crop_luma(copy), np.array([[0.0, 0, 1, 1]]))[0], middle) > 40


@pytest.mark.parametrize("name", PHOTOS[:4])
@pytest.mark.parametrize("edge", ["top", "bottom"])
def test_a_banner_over_a_fifth_leaves_the_middle_alone_in_the_grid_s_first_box(name, edge):
    from PIL import ImageDraw

    photo = load_photo(name).convert("RGB")
    width, height = photo.size
    copy = photo.copy()
    top = 0 if edge == "top" else round(height * (1 - MIDDLE_ENDS))
    band = (0, top, width, top + round(height * MIDDLE_ENDS) - 1)
    ImageDraw.Draw(copy).rectangle(band, fill=(30, 40, 200))
    ImageDraw.Draw(copy).text((width * 0.1, top + height * 0.07), "HOT CLIPS 24/7", fill="white")
    middle = box_codes(crop_luma(photo), MIDDLE)[0]
    codes = box_codes(crop_luma(copy), GRID)
    # A fifth reaches the middle's edge, where area averaging blends in a row of the band: up
    # to 18 bits on a dark picture (rocket's bottom), most at 0-6; the match threshold is 31.
    assert bits(codes[0], middle) <= 20
    # The whole copy strays further: the banner is a fifth of its picture.
    whole = np.array([[0.0, 0, 1, 1]])
    assert bits(box_codes(crop_luma(copy), whole)[0], box_codes(crop_luma(photo), whole)[0]) > (
        bits(codes[0], middle)
    )


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
