"""The "centre" variant: PDQ of the middle band, without the caption bands, stored
with references too, so a copy with meme captions added still hashes like its original."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import (
    CAPTION_BAND,
    CENTRE,
    MediaHashes,
    centre_box,
    hamming,
    hash_media,
    open_luma,
)
from crawler.hashing.pdq import pdq_luma


def captioned(image: Image.Image, top: str = "WHEN YOU SEE IT", bottom: str = "full set in bio"):
    """Meme captions over the top and bottom bands: white, black outline, 10% of the height (as
    `benchmarks.photos.text_overlay` draws them)."""
    copy = image.convert("RGB")
    draw = ImageDraw.Draw(copy)
    for text, anchor, y in ((top, "mt", 0.03), (bottom, "mb", 0.97)):
        size = max(8, min(round(copy.height * 0.1), round(copy.width / (0.62 * len(text)))))
        draw.text(
            (copy.width / 2, copy.height * y),
            text,
            font=ImageFont.load_default(size=size),
            anchor=anchor,
            fill="white",
            stroke_width=max(1, size // 12),
            stroke_fill="black",
        )
    return copy


def centre_of(media: MediaHashes, algorithm: str):
    return next(
        item.value
        for item in media.variants
        if item.variant == CENTRE and item.value.algorithm == algorithm
    )


def test_centre_box_drops_a_band_at_the_top_and_the_bottom():
    assert CAPTION_BAND == 0.2
    assert centre_box(600, 400) == (0, 80, 600, 320)
    assert centre_box(101, 7) == (0, 1, 101, 6)


def test_the_centre_hash_is_the_pdq_of_the_middle_band():
    data = photo_path("coffee").read_bytes()
    media = hash_media(data)
    middle = open_luma(data).luma.crop((0, 80, 600, 320))
    assert centre_of(media, "pdq") == pdq_luma(np.asarray(middle))
    assert [item.variant for item in media.variants].count(CENTRE) == 1


def test_references_store_the_centre_hash_after_the_others():
    media = hash_media(photo_path("coffee").read_bytes())
    assert media.reference_values() == (*media.hashes, centre_of(media, "pdq"))
    assert [v.algorithm for v in media.reference_values()] == [
        "sha256",
        "md5",
        "phash",
        "pdq",
        "crhash",
        "crpdq",
        "pdq",
    ]


def test_a_picture_too_small_for_a_middle_band_has_no_centre_hashes():
    tiny = hash_media(encode(load_photo("coffee").resize((60, 40)), "PNG"))
    assert all(item.variant != CENTRE for item in tiny.variants)
    assert tiny.reference_values() == tiny.hashes


@pytest.mark.parametrize("name", PHOTOS)
def test_a_captioned_copy_has_the_centre_hashes_of_its_original(name):
    image = load_photo(name)
    original = hash_media(encode(image, "PNG"))
    copy = hash_media(encode(captioned(image), "PNG"))
    # The captions cover a few per cent of the picture, all of it inside the bands.
    assert hamming(centre_of(copy, "pdq").hex, centre_of(original, "pdq").hex) <= 4


def test_centre_hashes_of_different_photos_are_far_apart():
    """Over twice the PDQ threshold (31) apart, as for whole pictures."""
    centres = {name: hash_media(photo_path(name).read_bytes()) for name in PHOTOS}
    for first in PHOTOS:
        for second in PHOTOS:
            if first < second:
                a, b = centres[first], centres[second]
                assert hamming(centre_of(a, "pdq").hex, centre_of(b, "pdq").hex) > 64
