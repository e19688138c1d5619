"""The false-alarm benchmark's pixel check: which flagged pairs share pixels."""

from __future__ import annotations

from PIL import Image, ImageOps

from benchmarks.false_alarms import SHARED, shared_pixels
from crawler.demo.samples import load_photo


def test_a_crop_a_mirror_and_a_recoloured_copy_share_pixels_with_their_picture():
    photo = load_photo("chelsea")
    width, height = photo.size
    crop = photo.crop((width // 5, height // 6, width, height))
    crop = crop.resize((crop.width * 9 // 10, crop.height * 9 // 10))  # and made smaller
    mirror = ImageOps.mirror(photo)
    recoloured = Image.merge("RGB", photo.split()[::-1])  # red and blue swapped
    for copy in (crop, mirror, recoloured):
        assert shared_pixels(copy, photo) >= SHARED


def test_two_different_photos_share_none():
    assert shared_pixels(load_photo("coffee"), load_photo("chelsea")) < SHARED
    assert shared_pixels(load_photo("astronaut"), load_photo("camera")) < SHARED


def test_a_flat_picture_shares_nothing_with_a_photo():
    """No detail at all: nothing to correlate, not a division by zero."""
    assert shared_pixels(Image.new("RGB", (300, 200), "black"), load_photo("coins")) == 0.0
