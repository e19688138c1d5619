"""crhash: its stored form, and keypoints that find a crop of the picture and nothing else."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw

from benchmarks.photos import text_overlay
from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path
from crawler.hashing import CRHASH_MIN_INLIERS, HashFormatError, HashValue, hash_media, open_luma
from crawler.hashing.crhash import (
    ABSENT_RADIUS,
    CRHASH_ABSENT_MARGIN,
    CRHASH_MAX_AMBIGUITY,
    CRHASH_MIN_SCORE,
    CRHASH_PLAIN_MAX_AMBIGUITY,
    CRHASH_WEAK_INLIERS,
    CRHASH_WEAK_MAX_AMBIGUITY,
    CRHASH_WEAK_MIN_SCORE,
    DESCRIPTOR_THRESHOLD,
    MAX_KEYPOINTS,
    PROBE_KEYPOINTS,
    CropEvidence,
    codes_of,
    crop_evidence,
    inliers,
    keypoint_features,
    probe_codes,
    unpack,
)
from crawler.hashing.phash import is_plain


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


def test_a_crop_scores_well_above_the_minimum():
    photo = load_photo("chelsea")
    cropped = photo.crop((photo.width // 10, photo.height // 10, photo.width, photo.height))
    _, probe = keypoint_features(open_luma(encode(cropped, "JPEG", quality=70)).luma)
    evidence = crop_evidence(probe_codes(probe), codes_of(features("chelsea")[0]))
    assert evidence.is_match()
    assert evidence.score > CRHASH_MIN_SCORE  # measured: 6 inliers scoring 24


def test_chance_inliers_near_the_descriptor_threshold_do_not_match():
    """Four keypoints (of five) in place whose descriptors differ by 9-10 bits (the unrelated
    pair the benchmark flagged before the score was required) are refused; the same four with
    close descriptors match."""
    reference = codes_of(features("coffee")[0])[:5]
    descriptors, positions = unpack(reference[:4])

    def probe_with(differing_bits: list[int]) -> np.ndarray:
        flipped = [
            int(d) ^ ((1 << bits) - 1) for d, bits in zip(descriptors, differing_bits, strict=True)
        ]
        xy = np.rint(positions * 255).astype(np.uint64)
        return (
            (np.array(flipped, dtype=np.uint64) << np.uint64(16))
            | (xy[:, 0] << np.uint64(8))
            | xy[:, 1]
        )

    weak = crop_evidence(probe_with([9, 9, 10, 10]), reference)
    assert weak[:2] == (4, 4 * (DESCRIPTOR_THRESHOLD + 1) - 38)
    assert not weak.is_match()
    strong = crop_evidence(probe_with([2, 3, 5, 9]), reference)
    assert strong.inliers == 4 and strong.score == 4 * (DESCRIPTOR_THRESHOLD + 1) - 19
    assert strong.is_match()


@pytest.mark.parametrize("name", PHOTOS)
def test_captions_do_not_crowd_out_the_pictures_keypoints(name):
    """Meme captions are all corners: the 300 strongest keypoints of a captioned picture were
    nearly all the letters' (none in the middle rows for 8 of the 16 photos). The probe also
    takes the strongest of each part of the frame, so the middle keeps its share."""
    captioned = open_luma(text_overlay(load_photo(name), np.random.default_rng(0))).luma
    codes = probe_codes(keypoint_features(captioned)[1])
    assert len(codes) == PROBE_KEYPOINTS
    _, positions = unpack(codes)
    height = captioned.height / max(captioned.size)
    middle = (positions[:, 1] > 0.2 * height) & (positions[:, 1] < 0.8 * height)
    assert middle.sum() >= 50


@pytest.mark.parametrize("name", ["coins", "grass", "gravel", "motorcycle"])
def test_a_captioned_copy_is_found_by_its_keypoints(name):
    """Before the probe was spread over the frame these found 0 or 1 keypoint in place."""
    captioned = open_luma(text_overlay(load_photo(name), np.random.default_rng(0))).luma
    probe = probe_codes(keypoint_features(captioned)[1])
    assert crop_evidence(probe, codes_of(features(name)[0])).is_match()


def test_evidence_from_keypoints_alike_everywhere_is_refused():
    """Corners of bright shapes on black have descriptors alike: when each reference keypoint
    is near many of the media's keypoints, four or more fall in place by chance."""
    assert CropEvidence(CRHASH_WEAK_INLIERS + 1, CRHASH_MIN_SCORE, CRHASH_MAX_AMBIGUITY).is_match()
    assert not CropEvidence(8, 88, CRHASH_MAX_AMBIGUITY + 0.1).is_match()


@pytest.mark.parametrize(
    ("inliers", "score", "ambiguity", "matches"),
    [
        # The fewest in place: distinctive keypoints or close descriptors.
        (CRHASH_WEAK_INLIERS, CRHASH_MIN_SCORE, CRHASH_WEAK_MAX_AMBIGUITY, True),
        (CRHASH_WEAK_INLIERS, CRHASH_WEAK_MIN_SCORE, CRHASH_MAX_AMBIGUITY, True),
        (CRHASH_WEAK_INLIERS, CRHASH_WEAK_MIN_SCORE - 1, CRHASH_WEAK_MAX_AMBIGUITY + 0.1, False),
        # One more in place: the general limits only.
        (CRHASH_WEAK_INLIERS + 1, CRHASH_MIN_SCORE, CRHASH_MAX_AMBIGUITY, True),
    ],
)
def test_four_keypoints_in_place_need_distinctive_keypoints_or_close_descriptors(
    inliers, score, ambiguity, matches
):
    """Chance placements are made of the fewest keypoints a match may have, among keypoints
    each near many of the media's: such weak evidence must be distinctive or close."""
    assert CropEvidence(inliers, score, ambiguity).is_match() is matches


@pytest.mark.parametrize(
    ("inliers", "absent", "matches"),
    [
        (CRHASH_MIN_INLIERS, CRHASH_MIN_INLIERS - CRHASH_ABSENT_MARGIN, True),
        (CRHASH_MIN_INLIERS, CRHASH_MIN_INLIERS - CRHASH_ABSENT_MARGIN + 1, False),
        (CRHASH_MIN_INLIERS + 2, CRHASH_MIN_INLIERS - CRHASH_ABSENT_MARGIN + 2, True),
    ],
)
def test_keypoints_placed_where_the_media_has_none_count_against_a_match(inliers, absent, matches):
    assert CropEvidence(inliers, 40, 1.0, absent).is_match() is matches


def test_absent_counts_reference_keypoints_placed_where_the_media_has_no_keypoint():
    """Four of eight reference keypoints in place: with the other four gone from the media
    (a chance placement on a plain ground) no match; with them there but changed past the
    descriptor threshold (an edit), a match."""
    reference = codes_of(features("coffee")[0])
    assert len(reference) == 8
    descriptors, _ = unpack(reference)
    gone = crop_evidence(reference[:4], reference)
    assert (gone.inliers, gone.absent) == (4, 4)
    assert not gone.is_match()
    changed = (descriptors[4:] ^ np.uint64(0xFFFF_FFFF)) << np.uint64(16)
    changed |= reference[4:] & np.uint64(0xFFFF)
    edited = crop_evidence(np.concatenate([reference[:4], changed]), reference)
    assert (edited.inliers, edited.absent) == (4, 0)
    assert edited.is_match()
    # A keypoint of the media just within the radius of where one is placed is there.
    nudge = np.uint64(int(ABSENT_RADIUS * 0.8 * 255) << 8)
    moved = crop_evidence(np.concatenate([reference[:4], changed + nudge]), reference)
    assert moved.absent == 0


def test_a_reference_of_no_more_keypoints_than_a_match_needs_matches_nothing_alone():
    """With every keypoint in place there is none left to check the placement by."""
    reference = codes_of(features("coffee")[0])
    least = reference[:CRHASH_MIN_INLIERS]
    evidence = crop_evidence(least, least)
    assert (evidence.inliers, evidence.keypoints, evidence.absent) == (4, 4, 0)
    assert not evidence.is_match()
    one_more = reference[: CRHASH_MIN_INLIERS + 1]
    assert crop_evidence(one_more, one_more).is_match()


def test_ambiguity_counts_the_media_keypoints_near_each_reference_keypoint():
    """Each of four reference keypoints near three probe keypoints (itself and two with a few
    bits changed, elsewhere in the picture): an ambiguity of 3."""
    reference = codes_of(features("coffee")[0])[:4]
    descriptors, positions = unpack(reference)
    xy = np.rint((1 - positions) * 255).astype(np.uint64)  # elsewhere: the opposite corner
    alike = [
        (np.array([int(d) ^ bits for d in descriptors], dtype=np.uint64) << np.uint64(16))
        | (xy[:, 0] << np.uint64(8))
        | xy[:, 1]
        for bits in (0b11, 0b1100)
    ]
    probe = np.concatenate([reference, *alike])
    evidence = crop_evidence(probe, reference)
    assert evidence.ambiguity == pytest.approx(3.0)
    assert evidence.inliers == 4
    # Past a matcher's limit nothing is placed (no match can come of it): no inliers.
    assert crop_evidence(probe, reference, max_ambiguity=3.0) == evidence
    over = crop_evidence(probe, reference, max_ambiguity=2.9)
    assert over.inliers == 0 and not over.is_match()
    assert over.ambiguity == pytest.approx(3.0)


def placed(reference: np.ndarray, zoom: float, turn: float) -> np.ndarray:
    """The reference's keypoints zoomed and turned about their middle, as a copy would show
    them (descriptors unchanged)."""
    descriptors, positions = unpack(reference)
    points = positions[:, 0] + 1j * positions[:, 1]
    moved = (points - points.mean()) * zoom * np.exp(1j * turn) + points.mean()
    xy = np.rint(np.stack([moved.real, moved.imag], axis=1) * 255)
    assert ((xy >= 0) & (xy <= 255)).all()  # every keypoint still in the picture
    xy = xy.astype(np.uint64)
    return (descriptors << np.uint64(16)) | (xy[:, 0] << np.uint64(8)) | xy[:, 1]


@pytest.mark.parametrize(
    ("zoom", "turn", "found"),
    [
        (1.0, 0.0, True),
        (1.25, 0.0, True),  # a crop of 20%
        (0.8, 0.0, True),  # a pad of 20%
        (1.0, 0.14, True),  # turned 8 degrees
        (1.0, -0.14, True),
        (1.6, 0.0, False),  # a crop keeping 62% of the side: outside the zooms placed
        (0.6, 0.0, False),
        (1.0, 0.25, False),  # turned 14 degrees
    ],
)
def test_placements_are_tried_within_the_zooms_and_turns_of_copies(zoom, turn, found):
    """Every wider placement is one more chance for keypoints to fall in place by chance:
    crop_evidence tries zooms of 0.7-1.45 and turns of up to 0.15 radians only."""
    reference = codes_of(features("coffee")[0])
    evidence = crop_evidence(placed(reference, zoom, turn), reference)
    assert (evidence.inliers == len(reference)) is found, evidence


@pytest.mark.parametrize(
    ("inliers", "ambiguity", "plain", "matches"),
    [
        (CRHASH_MIN_INLIERS, CRHASH_PLAIN_MAX_AMBIGUITY, True, True),
        (CRHASH_MIN_INLIERS, CRHASH_PLAIN_MAX_AMBIGUITY + 0.1, True, False),
        (CRHASH_MIN_INLIERS, CRHASH_PLAIN_MAX_AMBIGUITY + 0.1, False, True),
        (MAX_KEYPOINTS, CRHASH_PLAIN_MAX_AMBIGUITY + 0.1, True, False),
        (MAX_KEYPOINTS, CRHASH_MAX_AMBIGUITY, False, True),
    ],
)
def test_keypoints_of_a_reference_on_a_plain_ground_must_be_distinctive(
    inliers, ambiguity, plain, matches
):
    """Corners of shapes on a plain black or white ground look alike: keypoints of such a
    reference in place match only when each is near few of the media's keypoints."""
    assert CropEvidence(inliers, 40, ambiguity).is_match(plain=plain) is matches


def test_a_reference_on_a_plain_ground_is_known_by_its_quality():
    on_black = Image.new("L", (400, 300))
    ImageDraw.Draw(on_black).polygon([(150, 80), (260, 120), (230, 220), (140, 200)], fill=255)
    for _ in range(3):  # a few more corners, so that the picture has a crhash
        ImageDraw.Draw(on_black).rectangle((170, 130, 200, 160), fill=90)
    value = hash_media(encode(on_black.convert("RGB"), "PNG")).get("crhash")
    assert value is not None and is_plain(value)
    photo = hash_media(photo_path("coffee").read_bytes())
    assert not is_plain(photo.get("crhash"))
    assert photo.get("crhash").quality == photo.get("phash").quality
    assert not is_plain(HashValue("crhash", value.hex))  # hashed before crhash had a quality
