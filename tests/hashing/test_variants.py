"""Turned, mirrored and trimmed variants: names, exactness of PDQ's eight, border finding."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import (
    PDQ_MATCH_THRESHOLD,
    PHASH_MATCH_THRESHOLD,
    dihedral,
    hamming,
    hash_media,
    open_luma,
)
from crawler.hashing.borders import content_box
from crawler.hashing.pdq import pdq, pdq_luma, pdq_variants
from crawler.hashing.phash import phash, phash_variants

SCENES = ("astronaut", "camera", "chelsea", "coffee", "coins", "ihc", "moon", "motorcycle")


@pytest.mark.parametrize("first", dihedral.DIHEDRAL)
def test_variant_names_compose_like_pillow(first):
    image = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    for then in dihedral.DIHEDRAL:
        twice = dihedral.apply(dihedral.apply(image, first), then)
        assert np.array_equal(twice, dihedral.apply(image, dihedral.compose(first, then)))
    undone = dihedral.apply(dihedral.apply(image, first), dihedral.inverse(first))
    assert np.array_equal(undone, image)


def test_rotations_are_anticlockwise():
    image = Image.fromarray(np.array([[1, 2], [3, 4]], dtype=np.uint8))  # 1 at the top left
    assert np.asarray(dihedral.apply(image, "rot90")).tolist() == [[2, 4], [1, 3]]
    assert np.asarray(dihedral.apply(image, "flipx")).tolist() == [[2, 1], [4, 3]]


@pytest.mark.parametrize("name", PHOTOS)
def test_each_pdq_variant_equals_pdq_of_the_turned_picture(name):
    """Exact for every size: including 512x512 and 600x400, where pdqhash's own dihedral hashes
    are up to 24 bits off (its box filter is off centre along an even window)."""
    luma = load_photo(name).convert("L")
    if max(luma.size) > 800:  # hubble, retina: half size keeps the test fast
        luma = luma.reduce(2)
    original = pdq_luma(np.asarray(luma))
    for variant in dihedral.DIHEDRAL:
        turned = np.asarray(dihedral.apply(luma, variant))
        assert pdq_variants(turned)[variant] == original, variant


@pytest.mark.parametrize("name", ["astronaut", "coffee", "moon"])
def test_luma_pdq_equals_rgb_pdq_for_the_pinned_photos(name):
    assert pdq_luma(np.asarray(load_photo(name).convert("L"))) == pdq(load_photo(name))


@pytest.mark.parametrize("name", PHOTOS)
def test_each_phash_variant_equals_imagehash_of_the_turned_reduction(name):
    """The eight come from one DCT; each equals imagehash's pHash of the 32x32 reduction
    turned back (the reduction of a turned picture is the turned reduction, to rounding)."""
    luma = load_photo(name).convert("L")
    small = luma.resize((32, 32), Image.Resampling.LANCZOS)
    found = phash_variants(luma)
    for variant in dihedral.DIHEDRAL:
        assert found[variant] == phash(dihedral.apply(small, dihedral.inverse(variant))), variant


@pytest.mark.parametrize("name", SCENES)
def test_phash_of_a_turned_picture_undoes_the_turn(name):
    photo = load_photo(name)
    for variant in dihedral.DIHEDRAL:
        found = phash_variants(dihedral.apply(photo, variant))[variant]
        assert hamming(found.hex, phash(photo).hex) <= 2, variant


@pytest.mark.parametrize("name", SCENES)
def test_phash_of_a_mirror_image_is_the_originals(name):
    photo = load_photo(name)
    found = phash_variants(dihedral.apply(photo, "flipx"))
    assert found["flipx"] == phash(photo) or hamming(found["flipx"].hex, phash(photo).hex) <= 2
    assert phash_variants(photo)["original"] == phash(photo)


@pytest.mark.parametrize("name", PHOTOS)
def test_photos_without_borders_are_not_trimmed(name):
    luma = open_luma(encode(load_photo(name), "JPEG", quality=75)).luma
    box = content_box(luma)
    if box is not None:  # only a sliver of a blank page margin may go
        left, top, right, bottom = box
        assert right - left >= 0.9 * luma.width and bottom - top >= 0.9 * luma.height


def _padded(name: str, share: float, kind: str) -> tuple[Image.Image, tuple[int, int, int, int]]:
    photo = load_photo(name)
    dx, dy = round(photo.width * share), round(photo.height * share)
    size = (photo.width + 2 * dx, photo.height + 2 * dy)
    if kind == "solid":
        frame = Image.new("RGB", size, (0, 0, 0))
    else:
        frame = photo.resize(size).filter(ImageFilter.GaussianBlur(max(size) * 0.03))
    frame.paste(photo, (dx, dy))
    return frame, (dx, dy, dx + photo.width, dy + photo.height)


@pytest.mark.parametrize("kind", ["solid", "blurred"])
@pytest.mark.parametrize("share", [0.1, 0.2])
@pytest.mark.parametrize("name", ["astronaut", "camera", "chelsea", "coins", "ihc"])
def test_borders_are_found_within_two_percent(name, share, kind):
    frame, expected = _padded(name, share, kind)
    luma = open_luma(encode(frame, "JPEG", quality=80)).luma
    found = content_box(luma)
    assert found is not None
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) <= 0.02 * max(frame.size)


def test_trimmed_variants_exist_only_when_there_are_borders():
    plain = hash_media(photo_path("coffee").read_bytes())
    assert not any(item.variant.startswith("trimmed") for item in plain.variants)
    frame, _ = _padded("coffee", 0.1, "solid")
    padded = hash_media(encode(frame, "PNG"))
    names = {(item.variant, item.value.algorithm) for item in padded.variants}
    assert {("trimmed", "pdq"), ("trimmed", "phash"), ("trimmed+flipx", "phash")} <= names
    assert {("trimmed+" + v, "pdq") for v in dihedral.DIHEDRAL if v != "original"} <= names
    trimmed = {i.value.algorithm: i.value for i in padded.variants if i.variant == "trimmed"}
    assert hamming(trimmed["phash"].hex, plain.get("phash").hex) <= PHASH_MATCH_THRESHOLD
    assert hamming(trimmed["pdq"].hex, plain.get("pdq").hex) <= PDQ_MATCH_THRESHOLD


def test_media_gets_all_eight_pdq_and_phash_variants_besides_itself_and_its_centre():
    hashes = hash_media(photo_path("chelsea").read_bytes())
    pdqs = [item.variant for item in hashes.with_variants("pdq")]
    assert sorted(pdqs) == sorted([*dihedral.DIHEDRAL, "centre"])
    assert [item.variant for item in hashes.with_variants("phash")] == list(dihedral.DIHEDRAL)
    assert hashes.with_variants("pdq")[0].value == hashes.get("pdq")


def test_a_framed_picture_gets_phash_turns_only_inside_its_frame():
    frame, _ = _padded("coffee", 0.2, "solid")
    hashes = hash_media(encode(frame, "PNG"))
    phashes = [item.variant for item in hashes.with_variants("phash")]
    assert [name for name in phashes if not name.startswith("trimmed")] == ["original", "flipx"]
    assert {f"trimmed+{name}" for name in dihedral.DIHEDRAL if name != "original"} <= set(phashes)
