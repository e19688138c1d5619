"""The false-alarm corpus: its crude classes and its duplicate rules, on drawn pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks import corpus
from crawler.hashing.phash import phash_variants


def star_field() -> Image.Image:
    rng = np.random.default_rng(1)
    pixels = np.zeros((512, 512, 3), dtype=np.uint8)
    for x, y in rng.integers(4, 508, size=(80, 2)):
        pixels[y : y + 4, x : x + 4] = 255  # 2 pixels of the 256-pixel copy: faint stars vanish
    return Image.fromarray(pixels)


def small_subject() -> Image.Image:
    image = Image.new("RGB", (512, 384), "black")
    ImageDraw.Draw(image).ellipse((200, 150, 300, 250), fill=(200, 120, 40))
    return image


def dark_scene() -> Image.Image:
    rng = np.random.default_rng(2)
    return Image.fromarray(rng.integers(25, 70, size=(384, 512, 3), dtype=np.uint8))


def skin() -> Image.Image:
    rng = np.random.default_rng(3)
    base = np.array([224, 172, 140], dtype=np.int16)
    noisy = base + rng.integers(-12, 12, size=(384, 512, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def text_page() -> Image.Image:
    image = Image.new("RGB", (512, 512), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for row in range(0, 512, 28):
        draw.text(
            (8, row),
            "The quick brown fox jumps over the lazy dog 0123456789",
            font=font,
            fill="black",
        )
    return image


def flat_drawing() -> Image.Image:
    image = Image.new("RGB", (512, 384), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 250, 300), fill=(30, 120, 200))
    draw.ellipse((260, 60, 480, 280), fill=(240, 200, 20))
    return image


@pytest.mark.parametrize(
    ("draw", "kind"),
    [
        (star_field, "star field"),
        (small_subject, "small subject on black"),
        (dark_scene, "dark"),
        (skin, "skin tones"),
        (text_page, "text or UI"),
        (flat_drawing, "flat"),
    ],
)
def test_each_hard_kind_is_classed_as_such(draw, kind):
    assert corpus.classify(draw()) == kind


def test_a_photo_like_picture_is_other():
    rng = np.random.default_rng(4)
    gradient = np.linspace(60, 200, 512)[None, :, None] + rng.normal(0, 30, (384, 512, 3))
    assert corpus.classify(Image.fromarray(np.clip(gradient, 0, 255).astype(np.uint8))) == "other"


def entry(name: str, image: Image.Image) -> dict:
    hashes = phash_variants(image)
    return {
        "name": name,
        "sha256": name,
        "phash": [hashes["original"].hex, hashes["flipx"].hex],
    }


def test_a_mirrored_or_resized_copy_is_dropped_and_a_different_picture_kept():
    picture = flat_drawing()
    drawn = text_page()
    found = [
        entry("a", picture),
        entry("a mirrored", picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        entry("a smaller", picture.resize((256, 192))),
        entry("b", drawn),
    ]
    kept, dropped = corpus._without_near_duplicates(found, [])
    assert [item["name"] for item in kept] == ["a", "b"]
    assert dropped["same"] == 2


def test_a_picture_near_a_test_photo_is_dropped():
    drawn = flat_drawing()
    test_hashes = [entry("test", drawn)["phash"]]
    kept, dropped = corpus._without_near_duplicates([entry("copy", drawn)], test_hashes)
    assert kept == []
    assert dropped["test"] == 1
