"""The false-alarm benchmark's pixel check: which flagged pairs share pixels."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageOps

from benchmarks.false_alarms import SHARED, shared_part, shared_pixels
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


def smooth_picture(seed: int) -> Image.Image:
    """640 x 360 of blurred noise: soft shapes, no corners for ORB."""
    noise = np.random.default_rng(seed).normal(size=(360, 640)).astype(np.float32)
    field = cv2.GaussianBlur(noise, (0, 0), 6)
    field = (field - field.min()) / (field.max() - field.min()) * 255
    return Image.fromarray(np.stack([field, 255 - field, field / 2 + 60], axis=2).astype(np.uint8))


def test_a_smooth_picture_and_its_preview_cut_to_another_aspect_share_pixels():
    """A wallpaper and its 16:10 preview: too smooth for ORB to align, and a whole-frame
    stretch puts one on the other at two zooms; fitted at one zoom and slid, they agree."""
    wallpaper = smooth_picture(3)
    preview = wallpaper.crop((32, 0, 608, 360)).resize((256, 160))
    assert shared_pixels(preview, wallpaper) >= SHARED
    assert shared_pixels(wallpaper, preview) >= SHARED
    assert shared_pixels(preview, smooth_picture(4)) < SHARED


def test_a_picture_pasted_into_another_shares_a_part_only():
    """One logo or dialog in two pictures: the part agrees, the rest does not."""
    part = load_photo("coins").crop((0, 0, 200, 150))
    first, second = load_photo("coffee").copy(), load_photo("chelsea").copy()
    first.paste(part, (20, 30))
    second.paste(part.resize((180, 135)), (150, 100))
    assert shared_pixels(first, second) < SHARED
    assert shared_part(first, second) >= SHARED
    assert shared_part(load_photo("coffee"), load_photo("chelsea")) < SHARED
    assert shared_part(Image.new("RGB", (300, 200), "black"), load_photo("coins")) == 0.0
