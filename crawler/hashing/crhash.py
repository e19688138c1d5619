"""crhash: a few local features of a picture, to find it again in a crop of it.

A global hash (pHash, PDQ) describes the whole frame, so cutting 10-25% off a picture moves it
far away. crhash keeps up to `MAX_KEYPOINTS` ORB keypoints (OpenCV) from the middle of the
picture, where any such crop leaves them. Each keypoint is 64 bits, 16 hex digits, most
significant first: the first 48 bits of its ORB descriptor, then its x and its y (0-255, as a
share of the picture's longer side). A stored crhash is 1-8 keypoints: 16-128 hex digits.

Media being checked keeps many more keypoints from the whole frame (`MediaHashes.keypoints`,
packed the same way, never stored): the strongest, then the strongest of each part of the frame
in turn, so that captions or a watermark (text is all corners) cannot crowd the picture's own
keypoints out. `crop_evidence` finds keypoints of a reference whose descriptors are near and
whose positions agree with one zoom and shift (a small turn allowed): a crop and resize of the
reference gives several, an unrelated picture at most a chance two or three. A match needs
`CRHASH_MIN_INLIERS` of them and, since chance correspondences sit near the descriptor
threshold, a `CRHASH_MIN_SCORE` of descriptor agreement: each inlier scores
``DESCRIPTOR_THRESHOLD + 1 - distance`` (1 at the threshold, 11 for equal descriptors).
docs/benchmarks.md shows the measurements behind both numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from crawler.hashing.algorithms import CRHASH
from crawler.hashing.types import HashValue

#: Keypoints kept for a reference: 8 x 64 bits fill the 128 hex digits a stored hash may have
#: (the `CRHASH` descriptor's units).
MAX_KEYPOINTS = CRHASH.max_units
#: A reference with fewer keypoints than this gets no crhash (flat or tiny pictures).
MIN_KEYPOINTS = 4
#: Keypoints of the media being checked: `_PROBE_STRONGEST` strongest, then spread over the frame.
PROBE_KEYPOINTS = 300
#: A match needs this many reference keypoints found in place (see `crop_evidence`) ...
CRHASH_MIN_INLIERS = 4
#: ... whose descriptor scores (``DESCRIPTOR_THRESHOLD + 1 - distance`` each) add up to this.
#: Chance inliers between unrelated pictures sit near the threshold: over 3 million pairs
#: (docs/benchmarks.md), 13 pairs had four in place and none of them scored above 12, while
#: the 169 crops of 5-20% with four or more scored a median of 33 (2 of them 12).
CRHASH_MIN_SCORE = 13
#: Descriptor bits (of 48) that may differ for two keypoints to correspond.
DESCRIPTOR_THRESHOLD = 10
#: How far a keypoint may land from where the zoom and shift put it, as a share of the longer
#: side of the media.
POSITION_TOLERANCE = 0.02

#: Keypoints are found on a copy scaled to this longer side, so references and reposts of any
#: size are seen at the same scale.
_SIDE = 384
#: ORB keypoints detected for a reference's crhash (changing it changes stored crhashes) ...
_REFERENCE_FEATURES = 500
#: ... and for the probe, of which `PROBE_KEYPOINTS` are kept: the strongest `_PROBE_STRONGEST`,
#: then round robin over a `_PROBE_GRID` x `_PROBE_GRID` grid of the frame, strongest first.
_PROBE_FEATURES = 1000
_PROBE_STRONGEST = 200
_PROBE_GRID = 4
#: Reference keypoints come from the middle of the picture (this share cut off each side) ...
_CENTRAL_MARGIN = 0.2
#: ... and stand at least this far apart (share of the longer side), so no one region holds all.
_MIN_SPACING = 0.08
_DESCRIPTOR_BITS = 48


class CropEvidence(NamedTuple):
    """The best placement of a reference's keypoints in a probe: how many were found in place
    (``inliers``), how well their descriptors agree (``score``, see `CRHASH_MIN_SCORE`), how
    many of the probe's keypoints each reference keypoint's descriptor is near, on average
    (``ambiguity``, see `CRHASH_MAX_AMBIGUITY`), how many reference keypoints the placement
    puts where the probe has no keypoint at all (``absent``, see `CRHASH_ABSENT_MARGIN`),
    how many keypoints the reference has (``keypoints``), and where the best placement, fitted to
    its inliers, puts the reference (``placement``: ``(zoom_turn, shift)``, a point ``p`` of
    the reference lands at ``shift + zoom_turn * p`` in the probe, both as `complex_points` in
    shares of each picture's longer side; None when nothing was placed)."""

    inliers: int
    score: int
    ambiguity: float = 0.0
    absent: int = 0
    keypoints: int = MAX_KEYPOINTS
    placement: tuple[complex, complex] | None = None

    def is_match(self, min_inliers: int = CRHASH_MIN_INLIERS, *, plain: bool = False) -> bool:
        """Enough inliers scoring enough, from keypoints not alike everywhere: at most
        `CRHASH_MAX_AMBIGUITY`, or against a reference on a plain ground (``plain``)
        `CRHASH_PLAIN_MAX_AMBIGUITY`; with `CRHASH_WEAK_INLIERS` or fewer in place, either
        distinctive keypoints or close descriptors (`CRHASH_WEAK_MAX_AMBIGUITY`,
        `CRHASH_WEAK_MIN_SCORE`); `CRHASH_ABSENT_MARGIN` more keypoints in place than
        placed where the probe has none; and a reference of more keypoints than ``min_inliers``:
        one of just that many has nothing left to check a placement of all of them by (over the
        false-alarm corpus, one flag's four keypoints were all in place in four unrelated
        pictures, two of them screenshots)."""
        weak = (
            self.inliers <= CRHASH_WEAK_INLIERS
            and self.score < CRHASH_WEAK_MIN_SCORE
            and self.ambiguity > CRHASH_WEAK_MAX_AMBIGUITY
        )
        return (
            self.inliers >= min_inliers
            and self.score >= CRHASH_MIN_SCORE
            and self.ambiguity <= max_ambiguity(plain)
            and not weak
            and self.absent <= self.inliers - CRHASH_ABSENT_MARGIN
            and self.keypoints > min_inliers
        )


#: A match's reference keypoints may each be near this many of the media's keypoints, on
#: average, at most (kept here, between `CropEvidence` and `keypoint_features`, with the rest of
#: crhash's matching half: `benchmarks.false_alarms` keys cached hashes on the hashing half).
#: Corners of bright shapes on black have ORB descriptors alike from one shape and one picture
#: to the next: among the false-alarm corpus's unrelated pairs that crhash matched, a median 34
#: of the media's keypoints were near each reference keypoint, against 2.25 (95th percentile 7,
#: highest 9.4 among copies nothing else finds) for the robustness benchmark's copies; with so
#: many candidates, four or more fall in place by chance (docs/benchmarks.md, false alarms).
#: 30, not 10: one robustness copy found by crhash alone (`apple.jpg` cropped 20%) has 27, and
#: recall must not drop; at 30 the limit still removes 230 of those 394 false matches.
CRHASH_MAX_AMBIGUITY = 30.0
#: A reference on a plain black or white ground (a crhash whose quality, the picture's pHash
#: quality, is under `PHASH_MIN_QUALITY`: a sprite, clip art, a galaxy on black) needs each of
#: its keypoints near at most this many of the media's on average. Over the false-alarm
#: corpus's 14 million pairs nearly every crhash false match was against such a reference
#: (corners of shapes on a plain ground look alike): this removed about two thirds of them.
#: The robustness copies of such references that crhash finds have 2.6-5.4 (`hubble`,
#: `smarties`, `scenetext02`, `pca_test1`), and 8.9 for `pca_test1.jpg` cropped 10%.
CRHASH_PLAIN_MAX_AMBIGUITY = 10.0
#: A match with this many keypoints in place or fewer (the fewest a match may have) is the
#: weakest evidence, and chance placements are made of it: the more of the media's keypoints
#: each reference keypoint is near (ambiguity), the likelier four fall in place by chance. Such
#: a match needs keypoints distinctive in the media (ambiguity at most
#: `CRHASH_WEAK_MAX_AMBIGUITY`) or descriptors that agree closely (score at least
#: `CRHASH_WEAK_MIN_SCORE`). Over the false-alarm corpus's 13.8 million pairs
#: (docs/benchmarks.md), 281 of the 307 crhash matches between pictures that share no pixels
#: had four in place, at a median ambiguity of 10 and score of 16; the robustness benchmark's
#: copies that only crhash finds with four in place have ambiguity 4.75 with score 14
#: (`building.jpg` cropped 10%), or scores of 22 or more.
CRHASH_WEAK_INLIERS = 4
CRHASH_WEAK_MAX_AMBIGUITY = 6.0
CRHASH_WEAK_MIN_SCORE = 20
#: A reference keypoint is one of the strongest corners in the middle of its picture, so a copy
#: shows a corner where the placement puts it, whether or not its descriptor survived the edit;
#: a chance placement puts most of the keypoints it did not place on a plain ground, or off the
#: media, where the media has none. A match needs this many more keypoints in place than
#: keypoints placed with no keypoint of the media within `ABSENT_RADIUS` (four in place allow
#: two such). Over the false-alarm corpus's 13.8 million pairs (docs/benchmarks.md), 51 of the
#: 111 crhash matches between pictures that share no pixels had more than that (three or four,
#: with four in place); of the robustness benchmark's 131 copies that only crhash finds, none
#: had (8 had as many as the rule allows).
CRHASH_ABSENT_MARGIN = 2
#: How far (share of the media's longer side) from where a placement puts a reference keypoint
#: the media's nearest keypoint may lie for it not to be absent.
ABSENT_RADIUS = 0.03


def max_ambiguity(plain: bool) -> float:
    """The ambiguity a match may have: `CRHASH_PLAIN_MAX_AMBIGUITY` against a reference on a
    plain ground, else `CRHASH_MAX_AMBIGUITY`."""
    return CRHASH_PLAIN_MAX_AMBIGUITY if plain else CRHASH_MAX_AMBIGUITY


#: Zooms between media and reference accepted (a crop keeping 69% of the longer side to a pad of
#: 43%), and the turn (radians, 8.6 degrees) allowed with them. Every wider placement is one
#: more chance for four keypoints to fall in place: over the false-alarm corpus's 14 million
#: pairs (docs/benchmarks.md) the placements of crhash's false matches spread evenly over the
#: 0.5-2.0 zooms and 0.3 radians first allowed, while the robustness benchmark's copies that
#: crhash alone finds sit at zooms 0.80-1.28 (pads and crops of 20%) and turns up to 0.14
#: (8 degrees). Kept here with the rest of crhash's matching half (see `CRHASH_MAX_AMBIGUITY`).
_ZOOM_RANGE = (0.7, 1.45)
_MAX_TURN = 0.15
#: Proposals `crop_evidence` places at once (bounds its arrays: proposals x candidates).
_PROPOSALS_AT_ONCE = 4096


def keypoint_features(luma: Image.Image) -> tuple[HashValue | None, bytes]:
    """The crhash of a picture (None when it has too few keypoints) and its probe keypoints."""
    scaled = _scaled(luma)
    probe = _probe(scaled)
    points, descriptors, strength = _detect(scaled, _REFERENCE_FEATURES)
    if len(points) == 0:
        return None, probe
    order = np.argsort(-strength, kind="stable")
    packed = _pack(points, descriptors)
    aspect = np.array(luma.size, dtype=np.float64) / max(luma.size)
    low, high = _CENTRAL_MARGIN * aspect, (1 - _CENTRAL_MARGIN) * aspect
    chosen: list[int] = []
    for i in order:
        if not ((points[i] > low).all() and (points[i] < high).all()):
            continue
        if all(np.hypot(*(points[i] - points[j])) > _MIN_SPACING for j in chosen):
            chosen.append(int(i))
            if len(chosen) == MAX_KEYPOINTS:
                break
    if len(chosen) < MIN_KEYPOINTS:
        return None, probe
    value = "".join(format(int(code), "016x") for code in packed[chosen])
    return HashValue("crhash", value), probe


def unpack(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors (uint64, 48 bits) and positions (n x 2, share of the longer side)."""
    codes = np.asarray(codes, dtype=np.uint64)
    descriptors = codes >> np.uint64(16)
    x = (codes >> np.uint64(8)) & np.uint64(255)
    y = codes & np.uint64(255)
    return descriptors, np.stack([x, y], axis=1).astype(np.float64) / 255


def codes_of(value: HashValue) -> np.ndarray:
    """The keypoints of a crhash as uint64 codes."""
    return np.frombuffer(bytes.fromhex(value.hex), dtype=">u8").astype(np.uint64)


def probe_codes(keypoints: bytes) -> np.ndarray:
    """The keypoints of `MediaHashes.keypoints` as uint64 codes."""
    return np.frombuffer(keypoints, dtype=">u8").astype(np.uint64)


def inliers(
    probe: np.ndarray,
    reference: np.ndarray,
    *,
    descriptor_threshold: int = DESCRIPTOR_THRESHOLD,
    tolerance: float = POSITION_TOLERANCE,
) -> int:
    """How many reference keypoints (codes) appear in the probe (codes) in agreeing places."""
    return crop_evidence(
        probe, reference, descriptor_threshold=descriptor_threshold, tolerance=tolerance
    ).inliers


def crop_evidence(
    probe: np.ndarray,
    reference: np.ndarray,
    *,
    min_inliers: int = CRHASH_MIN_INLIERS,
    descriptor_threshold: int = DESCRIPTOR_THRESHOLD,
    tolerance: float = POSITION_TOLERANCE,
    max_ambiguity: float = math.inf,
) -> CropEvidence:
    """Where the reference's keypoints (codes) appear in the probe (codes) in agreeing places.

    Pairs of keypoints with near descriptors are candidates; every two candidates propose a zoom,
    turn and shift (within `_ZOOM_RANGE` and `_MAX_TURN`), which places each reference keypoint
    within ``tolerance`` of some candidates (the nearest descriptor counts). The best proposal
    has the highest score among those with ``min_inliers`` or more, or else the most inliers.

    Over ``max_ambiguity`` (a matcher passes `CRHASH_MAX_AMBIGUITY`, past which evidence is no
    match whatever its placement) nothing is placed: the evidence has no inliers. Placing costs
    the cube of the candidates: 0.4-1.4 s a pair for bright shapes on black, at an ambiguity of
    100-160.
    """
    probe_desc, probe_pos = unpack(probe)
    ref_desc, ref_pos = unpack(reference)
    distances = np.bitwise_count(probe_desc[:, None] ^ ref_desc[None, :])
    pairs = np.argwhere(distances <= descriptor_threshold)
    scores = descriptor_threshold + 1 - distances[pairs[:, 0], pairs[:, 1]].astype(np.int64)
    ambiguity = len(pairs) / max(1, len(ref_desc))

    def evidence(inliers: int, score: int) -> CropEvidence:
        return CropEvidence(inliers, score, ambiguity, keypoints=len(ref_desc))

    if ambiguity > max_ambiguity:
        return evidence(0, 0)
    if len(np.unique(pairs[:, 1])) < 2:
        return evidence(min(1, len(pairs)), int(scores.max(initial=0)))
    # Candidates grouped by reference keypoint, so that a proposal's best candidate in place
    # per reference keypoint is one `np.maximum.reduceat`.
    order = np.argsort(pairs[:, 1], kind="stable")
    pairs, scores = pairs[order], scores[order]
    groups = np.flatnonzero(np.diff(pairs[:, 1], prepend=-1))
    found = complex_points(probe_pos)[pairs[:, 0]]
    expected = complex_points(ref_pos)[pairs[:, 1]]
    best = evidence(1, int(scores.max()))
    best_placement: tuple[int, complex] | None = None  # (candidate, zoom and turn)
    # Every two candidates (a, b), a < b, as one array each: the proposals.
    a, b = np.triu_indices(len(pairs), k=1)
    keep = (pairs[a, 1] != pairs[b, 1]) & (pairs[a, 0] != pairs[b, 0])
    a, b = a[keep], b[keep]
    span = expected[b] - expected[a]
    keep = np.abs(span) >= 0.05
    a, b, span = a[keep], b[keep], span[keep]
    similarity = (found[b] - found[a]) / span
    zoom = np.abs(similarity)
    keep = (_ZOOM_RANGE[0] < zoom) & (zoom < _ZOOM_RANGE[1])
    keep &= np.abs(np.angle(similarity)) <= _MAX_TURN
    a, similarity = a[keep], similarity[keep]
    for start in range(0, len(a), _PROPOSALS_AT_ONCE):
        part = slice(start, start + _PROPOSALS_AT_ONCE)
        first, zoom_turn = a[part], similarity[part]
        placed = (expected[None, :] - expected[first, None]) * zoom_turn[:, None]
        placed += found[first, None]
        close = np.abs(found[None, :] - placed) < tolerance
        # Per proposal and reference keypoint, its best-scoring candidate in place.
        per_keypoint = np.maximum.reduceat(np.where(close, scores[None, :], 0), groups, axis=1)
        counts = (per_keypoint > 0).sum(axis=1)
        totals = per_keypoint.sum(axis=1)
        enough = counts >= min_inliers
        # The best proposal: by score among those with enough inliers, else by inliers.
        if enough.any():
            pick = np.flatnonzero(enough)
            pick = pick[np.lexsort((counts[pick], totals[pick]))[-1]]
        else:
            pick = np.lexsort((totals, counts))[-1]
        candidate = evidence(int(counts[pick]), int(totals[pick]))
        if _better(candidate, best, min_inliers):
            best = candidate
            best_placement = (int(first[pick]), complex(zoom_turn[pick]))
    if best_placement is None:
        return best
    anchor, zoom_turn = best_placement
    shift = complex(found[anchor] - expected[anchor] * zoom_turn)
    placed_all = shift + complex_points(ref_pos) * zoom_turn
    nearest = np.abs(complex_points(probe_pos)[:, None] - placed_all[None, :]).min(axis=0)
    # The placement kept is fitted to the inliers (least squares), not just to the two that
    # proposed it, then again to those within half the tolerance of that fit:
    # `crawler.hashing.crpdq` cuts the media's pixels out where it puts the box.
    placement = (zoom_turn, shift)
    for near in (tolerance, tolerance / 2):
        placed = placement[1] + expected * placement[0]
        error = np.abs(found - placed)
        in_place = np.flatnonzero(error < near)
        best_row = np.full(len(ref_pos), -1)
        # Per reference keypoint its best-scoring candidate, the nearest of those (set last).
        for row in in_place[np.lexsort((-error[in_place], scores[in_place]))]:
            best_row[pairs[row, 1]] = row
        rows = best_row[best_row >= 0]
        if len(rows) >= 3:
            placement = _fitted(expected[rows], found[rows])
    return best._replace(absent=int((nearest >= ABSENT_RADIUS).sum()), placement=placement)


def _fitted(source: np.ndarray, target: np.ndarray) -> tuple[complex, complex]:
    """The zoom, turn and shift ``(zoom_turn, shift)`` that best carry ``source`` points onto
    ``target`` (complex), in least squares."""
    source_mean, target_mean = source.mean(), target.mean()
    spread = source - source_mean
    zoom_turn = complex(
        np.sum((target - target_mean) * np.conj(spread)) / np.sum(np.abs(spread) ** 2)
    )
    return zoom_turn, complex(target_mean - zoom_turn * source_mean)


def _better(candidate: CropEvidence, best: CropEvidence, min_inliers: int) -> bool:
    def rank(evidence: CropEvidence) -> tuple[bool, int, int]:
        enough = evidence.inliers >= min_inliers
        if enough:
            return (True, evidence.score, evidence.inliers)
        return (False, evidence.inliers, evidence.score)

    return rank(candidate) > rank(best)


def complex_points(positions: np.ndarray) -> np.ndarray:
    return positions[:, 0] + 1j * positions[:, 1]


def _scaled(luma: Image.Image) -> Image.Image:
    """``luma`` at `_SIDE` pixels on its longer side."""
    scale = _SIDE / max(luma.size)
    size = (max(1, round(luma.width * scale)), max(1, round(luma.height * scale)))
    if size == luma.size:
        return luma
    return luma.resize(size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)


def _probe(scaled: Image.Image) -> bytes:
    """`PROBE_KEYPOINTS` packed keypoints: the strongest, then each grid cell's strongest in
    turn (a caption's letters would otherwise take most of them)."""
    points, descriptors, strength = _detect(scaled, _PROBE_FEATURES)
    if len(points) == 0:
        return b""
    order = np.argsort(-strength, kind="stable")
    aspect = np.array(scaled.size, dtype=np.float64) / max(scaled.size)
    cells = np.minimum((points / aspect * _PROBE_GRID).astype(np.int64), _PROBE_GRID - 1)
    cell = cells[:, 0] * _PROBE_GRID + cells[:, 1]
    by_cell = np.lexsort((-strength, cell))  # each cell's keypoints, strongest first
    start = np.searchsorted(cell[by_cell], cell[by_cell], side="left")
    rank_in_cell = np.empty(len(points), dtype=np.int64)
    rank_in_cell[by_cell] = np.arange(len(points)) - start
    first = order[:_PROBE_STRONGEST]
    spread = np.lexsort((-strength, rank_in_cell))  # by rank in its cell, then strength
    rest = spread[~np.isin(spread, first)]
    chosen = np.concatenate([first, rest])[:PROBE_KEYPOINTS]
    return _pack(points, descriptors)[chosen].astype(">u8").tobytes()


def _detect(scaled: Image.Image, features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoint positions (share of the longer side), 48-bit descriptors and strengths."""
    orb = cv2.ORB_create(nfeatures=features, edgeThreshold=15, patchSize=31, fastThreshold=10)
    keypoints, descriptors = orb.detectAndCompute(np.asarray(scaled), None)
    if descriptors is None or not keypoints:
        return np.empty((0, 2)), np.empty(0, dtype=np.uint64), np.empty(0)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float64) / _SIDE
    strength = np.array([kp.response for kp in keypoints], dtype=np.float64)
    head = np.zeros((len(descriptors), 8), dtype=np.uint8)
    head[:, 2:] = descriptors[:, : _DESCRIPTOR_BITS // 8]
    return points, head.view(">u8").ravel().astype(np.uint64), strength


def _pack(points: np.ndarray, descriptors: np.ndarray) -> np.ndarray:
    xy = np.clip(np.rint(points * 255), 0, 255).astype(np.uint64)
    return (descriptors << np.uint64(16)) | (xy[:, 0] << np.uint64(8)) | xy[:, 1]
