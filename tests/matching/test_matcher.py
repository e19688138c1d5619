"""Matcher: one match per case, exact before perceptual, PDQ quality and thresholds honoured."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path, reencoded_jpeg, resized
from crawler.hashing import (
    CRHASH_MIN_INLIERS,
    HashValue,
    MediaHashes,
    VariantHash,
    dihedral,
    hash_file,
    hash_media,
)
from crawler.hashing.crhash import CRHASH_MIN_SCORE, codes_of, unpack
from crawler.hashing.phash import PHASH_MIN_QUALITY
from crawler.matching import Match, Matcher, Reference
from crawler.matching.matcher import (
    PHASH_CONFIRM_PDQ,
    PHASH_PLAIN_CONFIRM_PDQ,
    PHASH_STRICT_THRESHOLD,
    PHASH_SURE_THRESHOLD,
)

#: Scenes only: see tests/hashing/test_pdq.py for why textures are kept out.
CASE_PHOTOS = {101: "astronaut", 102: "coffee", 103: "chelsea", 104: "motorcycle", 105: "rocket"}


@cache
def original(name: str) -> MediaHashes:
    return hash_file(photo_path(name))


def references(case_id: int, name: str, first_id: int) -> list[Reference]:
    """One reference per algorithm, as the database would hold them for a reported photo."""
    return [
        Reference(first_id + i, case_id, value) for i, value in enumerate(original(name).hashes)
    ]


@pytest.fixture
def matcher() -> Matcher:
    refs = []
    for n, (case_id, name) in enumerate(CASE_PHOTOS.items()):
        refs += references(case_id, name, first_id=10 * n)
    return Matcher(refs)


def with_hashes(media: MediaHashes, *values: HashValue) -> MediaHashes:
    """``media`` with only the given hashes (an outside hash list might carry just one)."""
    return replace(media, hashes=values)


def flipped(value: HashValue, bits: int, quality: int | None = None) -> HashValue:
    """``value`` with its lowest ``bits`` bits inverted: exactly ``bits`` away."""
    number = int(value.hex, 16) ^ ((1 << bits) - 1)
    return HashValue(value.algorithm, format(number, f"0{len(value.hex)}x"), quality)


def test_original_file_matches_its_case_exactly(matcher):
    assert matcher.match(original("coffee")) == [Match(10, 102, "sha256", 0)]


def test_repost_copy_matches_its_case_once(matcher):
    copy = hash_media(reencoded_jpeg("chelsea", quality=50, scale=0.5))
    (found,) = matcher.match(copy)
    assert found.case_id == 103
    assert (found.algorithm, found.reference_id) in {("phash", 22), ("pdq", 23)}
    assert found.variant == "original"


def test_unrelated_photo_matches_nothing(matcher):
    assert matcher.match(hash_media(encode(load_photo("camera"), "JPEG"))) == []


def test_one_match_per_case_even_with_several_references():
    lower_quality = hash_media(reencoded_jpeg("rocket", quality=40)).get("pdq")
    half_size = hash_media(encode(resized(load_photo("rocket"), 0.5), "PNG")).get("pdq")
    refs = [
        *references(7, "rocket", first_id=1),
        Reference(50, 7, lower_quality),
        Reference(51, 7, half_size),
    ]
    matcher = Matcher(refs)
    found = matcher.match(hash_media(reencoded_jpeg("rocket", quality=70)))
    assert len(found) == 1
    assert found[0].case_id == 7


def test_same_photo_in_two_cases_matches_both():
    matcher = Matcher(references(1, "astronaut", first_id=1) + references(2, "astronaut", 11))
    found = matcher.match(original("astronaut"))
    assert [(m.case_id, m.algorithm) for m in found] == [(1, "sha256"), (2, "sha256")]


def test_exact_hit_beats_a_perceptual_distance_of_zero():
    media = original("coffee")
    pdq = media.get("pdq")
    matcher = Matcher([Reference(1, 9, pdq), Reference(2, 9, media.get("md5"))])
    assert matcher.match(media) == [Match(2, 9, "md5", 0)]


def test_smallest_share_of_the_threshold_wins():
    media = original("coffee")
    phash, pdq = media.get("phash"), media.get("pdq")
    refs = [Reference(1, 9, flipped(phash, 2)), Reference(2, 9, flipped(pdq, 10, quality=100))]
    # pHash 2/10 of its threshold beats PDQ 10/31.
    assert Matcher(refs).match(media) == [Match(1, 9, "phash", 2)]
    refs = [Reference(1, 9, flipped(phash, 6)), Reference(2, 9, flipped(pdq, 10, quality=100))]
    assert Matcher(refs).match(media) == [Match(2, 9, "pdq", 10)]


def test_tie_goes_to_pdq():
    media = original("coffee")
    refs = [Reference(1, 9, media.get("phash")), Reference(2, 9, media.get("pdq"))]
    assert Matcher(refs).match(with_hashes(media, media.get("phash"), media.get("pdq"))) == [
        Match(2, 9, "pdq", 0)
    ]


@pytest.mark.parametrize(("algorithm", "threshold"), [("phash", 10), ("pdq", 31)])
def test_default_thresholds_are_inclusive(algorithm, threshold):
    value = original("motorcycle").get(algorithm)
    matcher = Matcher([Reference(1, 1, flipped(value, threshold, value.quality))])
    media = with_hashes(original("motorcycle"), value)
    assert matcher.match(media) == [Match(1, 1, algorithm, threshold)]
    matcher = Matcher([Reference(1, 1, flipped(value, threshold + 1, value.quality))])
    assert matcher.match(media) == []


def test_thresholds_can_be_overridden():
    copy = hash_media(reencoded_jpeg("astronaut", quality=60, scale=0.5))  # pdq 12, phash 0 away
    refs = [Reference(1, 1, original("astronaut").get("pdq"))]
    assert [m.distance for m in Matcher(refs).match(copy)] == [12]
    assert Matcher(refs, thresholds={"pdq": 11}).match(copy) == []
    strict = Matcher(refs, thresholds={"pdq": 11})
    assert strict.thresholds == {"phash": 10, "pdq": 11}


def test_unknown_or_impossible_thresholds_are_refused():
    with pytest.raises(ValueError, match="no threshold for sha256"):
        Matcher(thresholds={"sha256": 3})
    with pytest.raises(ValueError, match="outside 0-64"):
        Matcher(thresholds={"phash": 65})


def test_low_quality_query_pdq_is_ignored():
    pdq = original("chelsea").get("pdq")
    matcher = Matcher([Reference(1, 1, pdq)])
    assert matcher.match(with_hashes(original("chelsea"), replace(pdq, quality=50))) != []
    assert matcher.match(with_hashes(original("chelsea"), replace(pdq, quality=49))) == []


@pytest.mark.parametrize(("quality", "matches"), [(None, True), (50, True), (49, False)])
def test_reference_pdq_quality_is_checked(quality, matches):
    pdq = original("chelsea").get("pdq")
    matcher = Matcher([Reference(1, 1, replace(pdq, quality=quality))])
    assert bool(matcher.match(with_hashes(original("chelsea"), pdq))) is matches


def test_low_quality_pdq_can_still_match_by_phash():
    media = original("chelsea")
    weak_pdq = replace(media.get("pdq"), quality=10)
    matcher = Matcher([Reference(1, 1, weak_pdq), Reference(2, 1, media.get("phash"))])
    assert matcher.match(with_hashes(media, weak_pdq, media.get("phash"))) == [
        Match(2, 1, "phash", 0)
    ]


def test_add_and_remove(matcher):
    per_photo = len(original("coffee").hashes)  # sha256, md5, phash, pdq, crhash, crpdq
    assert per_photo == 6
    assert len(matcher) == per_photo * len(CASE_PHOTOS)
    matcher.remove(range(10, 10 + per_photo))  # every reference of the coffee case
    assert len(matcher) == per_photo * (len(CASE_PHOTOS) - 1)
    assert matcher.match(original("coffee")) == []
    matcher.add(references(102, "coffee", first_id=500))
    assert matcher.match(original("coffee")) == [Match(500, 102, "sha256", 0)]


def test_duplicate_reference_is_refused_and_nothing_is_added(matcher):
    before = len(matcher)
    fresh = Reference(900, 1, original("camera").get("phash"))
    taken = Reference(0, 101, original("astronaut").get("sha256"))
    with pytest.raises(ValueError, match="sha256 reference 0 is already in the matcher"):
        matcher.add([fresh, taken])
    assert len(matcher) == before
    assert matcher.match(original("camera")) == []


# Reposts that are turned, mirrored, padded or cropped: hash_media of the copy against
# references made by hash_media of the original files.

#: Photos of scenes that every transform below is measured to keep (rocket and retina lose too
#: many keypoints in a 10-25% corner crop; textures are kept out as everywhere).
RECALL_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "ihc", "motorcycle")


def _pad(image: Image.Image, share: float, kind: str) -> Image.Image:
    width, height = image.size
    dx, dy = round(width * share), round(height * share)
    size = (width + 2 * dx, height + 2 * dy)
    if kind == "solid":
        frame = Image.new("RGB", size, (255, 255, 255))
    else:  # a blurred, enlarged copy behind the picture, as phone apps do
        frame = image.resize(size).filter(ImageFilter.GaussianBlur(max(size) * 0.03))
    frame.paste(image, (dx, dy))
    return frame


def _letterbox(image: Image.Image) -> Image.Image:
    width, height = image.size
    frame = Image.new("RGB", (width, round(height * 1.4)), (0, 0, 0))
    frame.paste(image, (0, (frame.height - height) // 2))
    return frame


def _crop(image: Image.Image, share: float, where: str) -> Image.Image:
    width, height = image.size
    dx, dy = round(width * share), round(height * share)
    if where == "centre":
        return image.crop((dx // 2, dy // 2, width - (dx - dx // 2), height - (dy - dy // 2)))
    return image.crop((dx, dy, width, height))  # all of it off the left and the top


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    **{name: functools.partial(dihedral.apply, name=name) for name in dihedral.DIHEDRAL},
    "padded 10% solid": lambda image: _pad(image, 0.10, "solid"),
    "padded 20% solid": lambda image: _pad(image, 0.20, "solid"),
    "padded 10% blurred": lambda image: _pad(image, 0.10, "blurred"),
    "padded 20% blurred": lambda image: _pad(image, 0.20, "blurred"),
    "letterboxed": _letterbox,
    "padded 10% and mirrored": lambda image: _pad(dihedral.apply(image, "flipx"), 0.1, "solid"),
    "cropped 5% centre": lambda image: _crop(image, 0.05, "centre"),
    "cropped 10% centre": lambda image: _crop(image, 0.10, "centre"),
    "cropped 20% centre": lambda image: _crop(image, 0.20, "centre"),
    "cropped 5% corner": lambda image: _crop(image, 0.05, "corner"),
    "cropped 10% corner": lambda image: _crop(image, 0.10, "corner"),
    "cropped 20% corner": lambda image: _crop(image, 0.20, "corner"),
    "half size": lambda image: resized(image, 0.5),
}


def crhash_of(name: str) -> HashValue:
    value = original(name).get("crhash")
    assert value is not None
    return value


@cache
def case_matcher() -> Matcher:
    """Every bundled photo registered as its own case (case id = index in PHOTOS)."""
    refs = []
    for case_id, name in enumerate(PHOTOS):
        refs += references(case_id, name, first_id=10 * case_id)
    return Matcher(refs)


@cache
def repost_bytes(name: str, transform: str) -> bytes:
    return encode(TRANSFORMS[transform](load_photo(name)), "JPEG", quality=80)


@cache
def repost(name: str, transform: str) -> MediaHashes:
    return hash_media(repost_bytes(name, transform))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_transformed_repost_matches_its_case_only(transform):
    for name in RECALL_PHOTOS:
        found = case_matcher().match(repost(name, transform))
        assert [m.case_id for m in found] == [list(PHOTOS).index(name)], (name, found)


@pytest.mark.parametrize("variant", list(dihedral.DIHEDRAL))
def test_turned_or_mirrored_repost_names_its_variant(variant):
    (found,) = case_matcher().match(repost("coffee", variant))
    assert (found.algorithm, found.variant) in {("pdq", variant), ("phash", variant)}
    assert found.distance <= 4


@pytest.mark.parametrize("transform", ["padded 20% solid", "letterboxed", "padded 20% blurred"])
def test_padded_repost_matches_by_its_trimmed_content(transform):
    (found,) = case_matcher().match(repost("chelsea", transform))
    assert found.variant == "trimmed"


def test_mirrored_padded_repost_is_trimmed_and_mirrored():
    (found,) = case_matcher().match(repost("motorcycle", "padded 10% and mirrored"))
    assert found.variant == "trimmed+flipx"


def test_cropped_repost_matches_by_crhash():
    (found,) = case_matcher().match(repost("coffee", "cropped 20% corner"))
    assert (found.algorithm, found.variant) == ("crhash", "crop")
    assert found.inliers is not None and found.inliers >= CRHASH_MIN_INLIERS
    assert found.inliers + found.distance == len(crhash_of("coffee").hex) // 16
    assert found.score is not None and found.score >= CRHASH_MIN_SCORE
    assert 0 <= found.distance <= len(crhash_of("coffee").hex) // 16 - CRHASH_MIN_INLIERS


@pytest.mark.parametrize("transform", ["rot90", "flipx", "padded 10% solid", "cropped 20% corner"])
def test_no_photo_matches_another_photos_case(transform):
    """All pairs of distinct bundled photos, textures included, through every stage."""
    for name in PHOTOS:
        wrong = [
            m for m in case_matcher().match(repost(name, transform))
            if m.case_id != list(PHOTOS).index(name)
        ]  # fmt: skip
        assert wrong == [], name


def test_crhash_references_are_added_and_removed():
    crhash = crhash_of("coffee")
    matcher = Matcher([Reference(7, 1, crhash)])
    cropped = repost("coffee", "cropped 20% centre")
    assert [(m.reference_id, m.algorithm) for m in matcher.match(cropped)] == [(7, "crhash")]
    with pytest.raises(ValueError, match="crhash reference 7 is already in the matcher"):
        matcher.add([Reference(7, 1, crhash)])
    matcher.remove([7])
    assert len(matcher) == 0
    assert matcher.match(cropped) == []


def test_crhash_is_only_a_second_look():
    """A case a global hash matched keeps that match; crhash only adds cases nothing else found."""
    media = repost("coffee", "cropped 5% centre")
    refs = [Reference(1, 1, original("coffee").get("phash")), Reference(2, 1, crhash_of("coffee"))]
    assert [m.algorithm for m in Matcher(refs).match(media)] == ["phash"]
    refs = [Reference(2, 1, crhash_of("coffee"))]
    assert [m.algorithm for m in Matcher(refs).match(media)] == ["crhash"]


# A crop match is checked on the media's pixels: the PDQ of where it places the reference's
# keypoint box against the reference's own (crpdq, crawler/hashing/crpdq.py).


def other_pixels(name: str, transform: str, other: str) -> bytes:
    """Another photo as a JPEG of the size of ``name``'s repost."""
    size = Image.open(io.BytesIO(repost_bytes(name, transform))).size
    return encode(load_photo(other).resize(size), "JPEG", quality=80)


def test_a_crop_match_is_checked_where_it_places_the_reference():
    data = repost_bytes("coffee", "cropped 20% corner")
    (found,) = case_matcher().match(hash_media(data))
    check = case_matcher().region_check(found)
    assert check is not None
    assert check.expected == (original("coffee").get("crpdq").hex,)
    assert list(check.codes) == list(codes_of(crhash_of("coffee")))
    assert check.placement == found.placement
    assert case_matcher().confirmed([found], data) == [found]


def test_a_crop_match_on_other_pixels_is_refused():
    """The same match, as if those keypoints had lined up in another picture."""
    (found,) = case_matcher().match(repost("coffee", "cropped 20% corner"))
    elsewhere = other_pixels("coffee", "cropped 20% corner", "camera")
    assert case_matcher().confirmed([found], elsewhere) == []
    global_match = Match(1, 3, "pdq", 12)
    assert case_matcher().region_check(global_match) is None
    assert case_matcher().confirmed([global_match, found], elsewhere) == [global_match]


def test_a_case_without_crpdq_keeps_its_crop_match_unchecked():
    """References registered before crpdq was stored, and hash lists, have none."""
    matcher = Matcher([Reference(7, 1, crhash_of("coffee"))])
    (found,) = matcher.match(repost("coffee", "cropped 20% corner"))
    assert matcher.region_check(found) is None
    elsewhere = other_pixels("coffee", "cropped 20% corner", "camera")
    assert matcher.confirmed([found], elsewhere) == [found]


def test_crpdq_references_are_added_removed_and_counted():
    crpdq = original("coffee").get("crpdq")
    matcher = Matcher([Reference(7, 1, crhash_of("coffee")), Reference(8, 1, crpdq)])
    assert len(matcher) == 2
    with pytest.raises(ValueError, match="crpdq reference 8 is already in the matcher"):
        matcher.add([Reference(8, 1, crpdq)])
    assert matcher.missing([Reference(8, 1, crpdq), Reference(9, 1, crpdq)]) == [
        Reference(9, 1, crpdq)
    ]
    (found,) = matcher.match(repost("coffee", "cropped 20% corner"))
    assert matcher.region_check(found) is not None
    assert matcher.remove([8]) == 1
    assert len(matcher) == 1
    assert matcher.region_check(found) is None


def test_min_inliers_must_allow_a_zoom_and_shift():
    with pytest.raises(ValueError, match="min_inliers must be 2 or more"):
        Matcher(min_inliers=1)


def _flat_pictures() -> dict[str, bytes]:
    gradient = Image.linear_gradient("L").resize((300, 200)).convert("RGB")
    return {
        "black": encode(Image.new("RGB", (300, 200), "black"), "PNG"),
        "white": encode(Image.new("RGB", (240, 320), "white"), "PNG"),
        "grey jpeg": encode(Image.new("RGB", (400, 300), (128, 128, 128)), "JPEG"),
        "gradient": encode(gradient, "PNG"),
    }


def test_flat_pictures_match_nothing_by_phash():
    """Flat pictures all get a pHash of 0 or 1 bit set (an animated GIF's black first frame
    flagged every other such GIF): such pHashes match nothing, on either side."""
    pictures = {name: hash_media(data) for name, data in _flat_pictures().items()}
    refs = [
        Reference(i, i, media.get("phash")) for i, media in enumerate(pictures.values(), start=1)
    ]
    matcher = Matcher(refs)
    for name, media in pictures.items():
        assert int(media.get("phash").hex, 16).bit_count() <= 1, name
        assert matcher.match(media) == [], name
    photo_refs = [Reference(1, 1, original("coffee").get("phash"))]
    assert [m.algorithm for m in Matcher(photo_refs).match(original("coffee"))] == ["phash"]


def test_references_that_can_never_match_still_count_and_can_be_removed():
    media = original("chelsea")
    weak_pdq = replace(media.get("pdq"), quality=10)
    matcher = Matcher([Reference(1, 1, weak_pdq), Reference(2, 1, media.get("phash"))])
    assert len(matcher) == 2
    with pytest.raises(ValueError, match="pdq reference 1 is already in the matcher"):
        matcher.add([Reference(1, 1, weak_pdq)])
    assert matcher.missing([Reference(1, 1, weak_pdq), Reference(3, 1, weak_pdq)]) == [
        Reference(3, 1, weak_pdq)
    ]
    assert matcher.remove([1, 2, 99]) == 2
    assert len(matcher) == 0


def test_references_given_as_a_generator_are_read_in_chunks(monkeypatch):
    monkeypatch.setattr("crawler.matching.matcher._ADD_CHUNK", 3)
    refs = [r for n, (case_id, name) in enumerate(CASE_PHOTOS.items())
            for r in references(case_id, name, first_id=10 * n)]  # fmt: skip
    matcher = Matcher(ref for ref in refs)
    assert len(matcher) == len(refs)
    assert matcher.match(original("coffee")) == [Match(10, 102, "sha256", 0)]
    with pytest.raises(ValueError, match=f"reference {refs[4].id} is already in the matcher"):
        matcher.add(ref for ref in [Reference(999, 1, refs[0].value), refs[4]])
    assert len(matcher) == len(refs)


def registered(name: str, case_id: int = 1) -> Matcher:
    """One photo registered as `refs add` stores it (its hashes and stored variants)."""
    values = original(name).reference_values()
    return Matcher(Reference(i + 1, case_id, value) for i, value in enumerate(values))


def gallery_copy(image: Image.Image, width: int) -> bytes:
    """As a gallery serves an upload: resized to ``width`` wide, JPEG at WordPress's 82."""
    height = max(1, round(image.height * width / image.width))
    return encode(image.resize((width, height), Image.Resampling.LANCZOS), "JPEG", quality=82)


@pytest.mark.parametrize("variant", ["rot90", "rot270"])
@pytest.mark.parametrize("name", ["brick", "grass", "gravel"])
def test_quarter_turned_resized_copy_matches(name, variant):
    """Turned and resized, these drift 32-68 bits in PDQ, and pHash, which holds their upright
    resized copies, must undo the turn too. (``page`` too, but its white margins are taken for
    borders, and a framed picture's pHash is turned only inside the frame: see docs.)"""
    copy = hash_media(gallery_copy(dihedral.apply(load_photo(name), variant), 1023))
    assert [(m.case_id, m.variant) for m in registered(name).match(copy)] == [(1, variant)]


@pytest.mark.parametrize("degrees", [4, -6])
@pytest.mark.parametrize("name", ["brick", "grass"])
def test_copy_turned_a_few_degrees_on_a_grown_canvas_matches_straightened(name, degrees):
    """crhash finds at most three keypoints in place in these (ORB descriptors change too much
    at 4 degrees) and the whole frame's hashes are far; the picture turned back and cut out
    keeps the original's pHash."""
    image = load_photo(name).rotate(degrees, Image.Resampling.BICUBIC, expand=True)
    (found,) = registered(name).match(hash_media(encode(image, "JPEG", quality=85)))
    assert (found.case_id, found.algorithm, found.variant) == (1, "phash", "straightened")


def black_frame(image: Image.Image, share: float) -> Image.Image:
    """``image`` centred on black, the frame ``share`` larger than it each way."""
    size = (round(image.width * (1 + share)), round(image.height * (1 + share)))
    frame = Image.new("RGB", size, "black")
    frame.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return frame


def test_two_unrelated_pictures_framed_in_black_do_not_match_turned():
    """A framed picture's pHash is mostly its frame's: ihc and page, each framed 20% in black,
    came 10 bits apart with one turned a quarter, so only the picture inside the frame is
    hashed turned."""
    reference = hash_media(encode(black_frame(load_photo("page"), 0.2), "PNG"))
    matcher = Matcher(Reference(i, 1, v) for i, v in enumerate(reference.reference_values()))
    query = hash_media(encode(black_frame(load_photo("ihc"), 0.2), "PNG"))
    assert matcher.match(query) == []


# Weak evidence needs more: a pHash far from its reference needs PDQ to agree, and crhash
# needs more keypoints in place, or a high score from keypoints spread over the picture.


def test_a_phash_through_a_turn_or_mirror_matches_only_when_near():
    """Half of pHash's false matches among unrelated pictures came through turns and mirrors at
    6-10 bits; a turned copy's pHash lands within a few bits, or PDQ finds it."""
    media = hash_media(encode(dihedral.apply(load_photo("coffee"), "rot90"), "PNG"))
    turned = next(v.value for v in media.with_variants("phash") if v.variant == "rot90")
    only_phash = with_hashes(media)  # no PDQ, no digests: what pHash alone finds
    only_phash = replace(
        only_phash,
        variants=[v for v in media.variants if v.value.algorithm == "phash"],
        keypoints=b"",
    )
    near = Matcher([Reference(1, 9, flipped(turned, PHASH_STRICT_THRESHOLD))])
    assert [(m.variant, m.distance) for m in near.match(only_phash)] == [
        ("rot90", PHASH_STRICT_THRESHOLD)
    ]
    far = Matcher([Reference(1, 9, flipped(turned, PHASH_STRICT_THRESHOLD + 1))])
    assert far.match(only_phash) == []


def test_a_phash_as_it_is_keeps_the_whole_threshold():
    media = original("coffee")
    refs = [Reference(1, 9, flipped(media.get("phash"), 10))]
    assert Matcher(refs).match(with_hashes(media, media.get("phash"))) == [Match(1, 9, "phash", 10)]


@pytest.mark.parametrize(
    ("distance", "crhash_of_picture", "variant", "matches"),
    [
        (10, "coffee", "original", True),  # the case's crhash keypoints are in place
        (10, "chelsea", "original", False),  # another picture's: pHash alone at its edge
        (PHASH_SURE_THRESHOLD, "coffee", "original", True),
        (PHASH_SURE_THRESHOLD, "chelsea", "original", False),  # no second algorithm agrees
        (10, "chelsea", "region", True),  # a picture inside the media: not crhash's to place
    ],
)
def test_a_phash_at_the_edge_of_its_threshold_needs_crhash_keypoints_in_place(
    distance, crhash_of_picture, variant, matches
):
    """Most pHash matches between unrelated pictures are at exactly 10 bits; a real copy at
    10 bits keeps a few of its keypoints where its reference had them."""
    media = original("coffee")
    found = replace(
        media, hashes=(), variants=(VariantHash(variant, flipped(media.get("phash"), distance)),)
    )
    refs = [
        Reference(1, 9, media.get("phash")),
        Reference(2, 9, crhash_of(crhash_of_picture)),
    ]
    matched = Matcher(refs).match(found, crops=False)  # no crhash match of its own
    assert matched == ([Match(1, 9, "phash", distance, variant)] if matches else [])


@pytest.mark.parametrize(
    ("pdq_of_picture", "crhash_of_picture", "matches"),
    [
        ("coffee", None, True),  # PDQ agrees (within PHASH_CONFIRM_PDQ)
        ("chelsea", None, False),  # another picture's PDQ: pHash alone
        ("chelsea", "coffee", True),  # crhash keypoints in place agree
        ("chelsea", "chelsea", False),
        (None, None, True),  # a hash list's pHash alone: nothing to check it against
    ],
)
def test_a_phash_match_needs_a_second_algorithm_to_agree(
    pdq_of_picture, crhash_of_picture, matches
):
    """A 64-bit pHash within 6 bits of an unrelated picture's is rare but, over millions of
    pairs of flat drawings, screenshots and flags, not rare enough: the case's PDQ (within
    PHASH_CONFIRM_PDQ bits, far looser than its own threshold) or crhash must agree."""
    media = original("coffee")
    assert PHASH_STRICT_THRESHOLD < 6 <= PHASH_SURE_THRESHOLD
    refs = [Reference(1, 9, flipped(media.get("phash"), 6))]
    if pdq_of_picture:
        refs.append(Reference(2, 9, flipped(original(pdq_of_picture).get("pdq"), 40)))
    if crhash_of_picture:
        refs.append(Reference(3, 9, crhash_of(crhash_of_picture)))
    found = Matcher(refs).match(media, crops=False)
    assert found == ([Match(1, 9, "phash", 6)] if matches else [])


@pytest.mark.parametrize(("distance", "matches"), [(PHASH_STRICT_THRESHOLD, True), (6, False)])
def test_a_case_whose_pdq_is_too_flat_to_compare_holds_phash_to_the_strict_limit(distance, matches):
    """A PDQ under PDQ_MIN_QUALITY says the picture is dark or plain: pHash, which such
    pictures fool as well, then needs to be near."""
    media = original("coffee")
    refs = [
        Reference(1, 9, flipped(media.get("phash"), distance)),
        Reference(2, 9, replace(media.get("pdq"), quality=10)),
    ]
    found = Matcher(refs).match(media, crops=False)
    assert found == ([Match(1, 9, "phash", distance)] if matches else [])


def test_a_case_whose_flat_pdq_is_removed_is_no_longer_held_to_the_strict_limit():
    media = original("coffee")
    refs = [
        Reference(1, 9, flipped(media.get("phash"), 6)),
        Reference(2, 9, replace(media.get("pdq"), quality=10)),
        Reference(3, 9, replace(flipped(media.get("pdq"), 2), quality=10)),
    ]
    matcher = Matcher(refs)
    assert matcher.match(media, crops=False) == []
    assert matcher.remove([2]) == 1
    assert matcher.match(media, crops=False) == []  # one flat PDQ left
    assert matcher.remove([3]) == 1
    assert matcher.match(media, crops=False) == [Match(1, 9, "phash", 6)]  # pHash alone


def test_a_case_whose_pdq_is_too_flat_to_compare_takes_no_turned_phash():
    """Every turn and mirror is one more chance for two low-detail pictures to share a pHash:
    a case with nothing but a flat PDQ to check takes pHash through the media as it is only."""
    media = original("coffee")
    turned = {item.variant: item.value for item in media.with_variants("phash")}["rot90"]
    flat_pdq = Reference(2, 9, replace(media.get("pdq"), quality=10))
    assert Matcher([Reference(1, 9, turned), flat_pdq]).match(media, crops=False) == []
    assert Matcher([Reference(1, 9, turned)]).match(media, crops=False) == [
        Match(1, 9, "phash", 0, "rot90")
    ]


def test_a_phash_at_the_edge_needs_keypoints_when_its_case_has_a_pdq():
    """Over PHASH_SURE_THRESHOLD bits pHash needs crhash keypoints in place: a case with a PDQ
    (within PHASH_CONFIRM_PDQ, loose) but no crhash to check takes no such match."""
    media = original("coffee")
    edge = Reference(1, 9, flipped(media.get("phash"), 10))
    pdq = Reference(2, 9, flipped(media.get("pdq"), 40))
    assert Matcher([edge, pdq]).match(media, crops=False) == []
    near = Reference(1, 9, flipped(media.get("phash"), PHASH_SURE_THRESHOLD))
    assert Matcher([near, pdq]).match(media, crops=False) == [
        Match(1, 9, "phash", PHASH_SURE_THRESHOLD)
    ]


@pytest.mark.parametrize(
    ("pdq_bits", "matches"), [(PHASH_PLAIN_CONFIRM_PDQ, True), (PHASH_PLAIN_CONFIRM_PDQ + 2, False)]
)
def test_a_phash_reference_on_a_plain_ground_needs_a_nearer_pdq(pdq_bits, matches):
    """A plain-ground pHash says little more than where the subject sits: the PDQ backing it
    must be within PHASH_PLAIN_CONFIRM_PDQ, not the looser PHASH_CONFIRM_PDQ."""
    media = original("coffee")
    assert PHASH_PLAIN_CONFIRM_PDQ + 2 <= PHASH_CONFIRM_PDQ
    refs = [
        Reference(1, 9, replace(media.get("phash"), quality=PHASH_MIN_QUALITY - 1)),
        Reference(2, 9, flipped(media.get("pdq"), pdq_bits)),
    ]
    found = Matcher(refs).match(media, crops=False)
    assert found == ([Match(1, 9, "phash", 0)] if matches else [])


def test_a_phash_at_the_edge_matches_when_its_case_has_no_crhash_to_check():
    """References from a hash list may carry a pHash alone: nothing to check it against."""
    media = original("coffee")
    refs = [Reference(1, 9, flipped(media.get("phash"), 10))]
    assert Matcher(refs).match(replace(media, hashes=(media.get("phash"),))) == [
        Match(1, 9, "phash", 10)
    ]


@pytest.mark.parametrize(
    ("quality", "distance", "matches"),
    [
        (PHASH_MIN_QUALITY, 10, True),
        (None, 10, True),  # a reference stored before pHash had a quality
        (PHASH_MIN_QUALITY - 1, PHASH_STRICT_THRESHOLD + 1, False),
        (PHASH_MIN_QUALITY - 1, PHASH_STRICT_THRESHOLD, True),
        (0, 0, True),
    ],
)
def test_a_phash_reference_on_a_plain_ground_matches_only_when_near(quality, distance, matches):
    """A subject laid on a plain black or white ground leaves pHash little to say but where it
    sits: such references match within the strict limit only."""
    media = original("coffee")
    reference = replace(flipped(media.get("phash"), distance), quality=quality)
    found = Matcher([Reference(1, 9, reference)]).match(with_hashes(media, media.get("phash")))
    assert found == ([Match(1, 9, "phash", distance)] if matches else [])


def test_a_plain_phash_reference_is_forgotten_when_removed():
    media = original("coffee")
    plain = replace(flipped(media.get("phash"), 6), quality=10)
    matcher = Matcher([Reference(1, 9, plain)])
    assert matcher.remove([1]) == 1
    matcher.add([Reference(1, 9, replace(plain, quality=90))])  # the same id, hashed again
    assert matcher.match(with_hashes(media, media.get("phash"))) == [Match(1, 9, "phash", 6)]


@pytest.mark.parametrize(("quality", "matches"), [(None, True), (90, True), (20, False)])
def test_four_crhash_keypoints_of_a_plain_reference_need_to_be_distinctive(quality, matches):
    """Four of a reference's five keypoints in place, each near eleven or twelve of the media's
    keypoints (itself and eleven alike elsewhere): a match, but not for a reference on a plain
    ground."""
    codes = codes_of(crhash_of("coffee"))[:5]
    descriptors, positions = unpack(codes)
    elsewhere = np.rint((1 - positions) * 255).astype(np.uint64)
    alike = [
        (np.array([int(d) ^ (1 << bit) for d in descriptors], dtype=np.uint64) << np.uint64(16))
        | (elsewhere[:, 0] << np.uint64(8))
        | elsewhere[:, 1]
        for bit in range(20, 31)
    ]
    probe = np.concatenate([codes[:4], *alike])
    media = replace(
        original("coffee"), hashes=(), variants=(), keypoints=probe.astype(">u8").tobytes()
    )
    reference = HashValue("crhash", "".join(format(int(c), "016x") for c in codes), quality)
    found = Matcher([Reference(1, 9, reference)]).match(media)
    assert [(m.algorithm, m.inliers) for m in found] == ([("crhash", 4)] if matches else [])


def shapes_on_black(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A few bright polygons on black: sprites and clip art as a dark page shows them, where
    ORB keypoints sit on the shapes' corners and pHash says little more than where they are."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, "black")
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x, y = rng.integers(80, size[0] - 80), rng.integers(80, size[1] - 80)
        radius = rng.integers(20, 60)
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 7)))
        corners = [(float(x + radius * np.cos(a)), float(y + radius * np.sin(a))) for a in angles]
        draw.polygon(corners, fill=tuple(int(v) for v in rng.integers(150, 256, 3)))
    return image


SHAPES = 12
SHAPE_EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "original": lambda image: image,
    "crop 10%": lambda image: _crop(image, 0.10, "corner"),
    "mirror": lambda image: dihedral.apply(image, "flipx"),
}


@cache
def shapes_matcher() -> Matcher:
    refs = []
    for case_id in range(SHAPES):
        values = hash_media(encode(shapes_on_black(case_id), "PNG")).reference_values()
        refs += [Reference(case_id * 10 + i, case_id, v) for i, v in enumerate(values)]
    return Matcher(refs)


@cache
def shapes_copy(case_id: int, edit: str) -> MediaHashes:
    return hash_media(encode(SHAPE_EDITS[edit](shapes_on_black(case_id)), "JPEG", quality=85))


@pytest.mark.parametrize(
    "edit",
    [
        "original",  # pHash put two of them 10 bits apart before PHASH_MIN_QUALITY
        "crop 10%",
        "mirror",
    ],
)
def test_shapes_on_black_match_no_other_case(edit):
    """Their corners' descriptors are alike from one shape and one picture to the next: before
    the ambiguity limit, crhash placed 4-5 keypoints of most of these in each other."""
    for case_id in range(SHAPES):
        found = shapes_matcher().match(shapes_copy(case_id, edit))
        assert [m.case_id for m in found if m.case_id != case_id] == [], (case_id, found)


def test_a_copy_of_shapes_on_black_still_matches_its_case():
    for case_id in range(SHAPES):
        found = shapes_matcher().match(shapes_copy(case_id, "original"))
        assert found and found[0].case_id == case_id, (case_id, found)
