"""Match decisions: which cases a piece of media belongs to, and by which hash.

Rules, per algorithm: sha256 or md5 equal; pHash within `PHASH_MATCH_THRESHOLD` bits; PDQ within
`PDQ_MATCH_THRESHOLD` bits, and only when both hashes have quality `PDQ_MIN_QUALITY` or better
(a missing quality counts as good enough), and pHash only when it is not that of a flat picture
(`PHASH_MIN_BITS_SET`). pHash and PDQ are checked for the media as it is and
for each of its variants (turned, mirrored, inside trimmed borders, the middle band without
caption bands: `MediaHashes.variants`); references are originals, with the PDQ of their middle
band stored as one more PDQ reference (`MediaHashes.reference_values`). Cases that none of
these match get a second look by crhash:
at least `CRHASH_MIN_INLIERS` of a reference's keypoints found in place in the media's keypoints,
with descriptors close enough to score `CRHASH_MIN_SCORE` (a crop). Each case is reported once,
by its best match: exact first, then global hashes by distance as a share of the threshold (the
media as it is before a variant), then crhash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from crawler.hashing.crhash import (
    CRHASH_MIN_INLIERS,
    DESCRIPTOR_THRESHOLD,
    codes_of,
    crop_evidence,
    probe_codes,
)
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from crawler.hashing.phash import PHASH_MATCH_THRESHOLD, phash_is_usable
from crawler.hashing.types import (
    ALGORITHM_BITS,
    EXACT_ALGORITHMS,
    KEYPOINT_ALGORITHMS,
    HashValue,
    MediaHashes,
)
from crawler.matching.index import ExactIndex, Reference, ReferenceIndex
from crawler.matching.mih import MultiIndexHashIndex

DEFAULT_THRESHOLDS: Mapping[str, int] = {"phash": PHASH_MATCH_THRESHOLD, "pdq": PDQ_MATCH_THRESHOLD}
#: Which algorithm wins when two matches are equally good: exact first, then PDQ over pHash.
_PREFERENCE = ("sha256", "md5", "pdq", "phash")
#: crhash references are screened this many at a time (bounds the memory of one screening).
_SCREEN_BATCH = 4096


@dataclass(frozen=True, slots=True)
class Match:
    """One case's match. ``variant`` names how the media relates to the reference ("original",
    "flipx", "rot90", "trimmed", "trimmed+flipx", ...: see `crawler.hashing.dihedral`).
    ``distance`` is in bits for pHash and PDQ, 0 for exact digests, and for crhash the number of
    the reference's keypoints that were not found in place."""

    reference_id: int
    case_id: int
    algorithm: str
    distance: int
    variant: str = "original"


def default_index(algorithm: str) -> ReferenceIndex:
    """ExactIndex for digests, MultiIndexHashIndex for perceptual hashes (pHash, PDQ). It answers
    exactly as BruteForceIndex does, which tests pass as ``index_factory`` to check it."""
    if algorithm in EXACT_ALGORITHMS:
        return ExactIndex(algorithm)
    return MultiIndexHashIndex(algorithm)


class Matcher:
    """All references, one index per algorithm, and the rules that turn hits into matches."""

    def __init__(
        self,
        refs: Iterable[Reference] = (),
        *,
        thresholds: Mapping[str, int] | None = None,
        min_quality: int = PDQ_MIN_QUALITY,
        min_inliers: int = CRHASH_MIN_INLIERS,
        index_factory: Callable[[str], ReferenceIndex] = default_index,
    ) -> None:
        unknown = set(thresholds or {}) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise ValueError(
                f"no threshold for {', '.join(sorted(unknown))}; thresholds apply to "
                f"{', '.join(DEFAULT_THRESHOLDS)} only (exact digests must be equal; crhash "
                "takes min_inliers)"
            )
        self.thresholds: dict[str, int] = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        for algorithm, threshold in self.thresholds.items():
            if not 0 <= threshold <= ALGORITHM_BITS[algorithm]:
                raise ValueError(
                    f"{algorithm} threshold {threshold} is outside 0-{ALGORITHM_BITS[algorithm]}"
                )
        if min_inliers < 2:
            raise ValueError(
                f"min_inliers must be 2 or more (one zoom and shift), not {min_inliers}"
            )
        self.min_quality = min_quality
        self.min_inliers = min_inliers
        self._indexes = {algorithm: index_factory(algorithm) for algorithm in _PREFERENCE}
        self._keypoints = _KeypointRefs()
        self._refs: dict[tuple[str, int], Reference] = {}
        self.add(refs)

    def add(self, refs: Iterable[Reference]) -> None:
        """Add references; ids must be new for their algorithm (nothing is added otherwise)."""
        known = (*self._indexes, *KEYPOINT_ALGORITHMS)
        by_algorithm: dict[str, list[Reference]] = {algorithm: [] for algorithm in known}
        batch_keys: set[tuple[str, int]] = set()
        for ref in refs:
            key = (ref.value.algorithm, ref.id)
            if key in self._refs or key in batch_keys:
                raise ValueError(
                    f"{ref.value.algorithm} reference {ref.id} is already in the matcher; "
                    "remove it before adding it again"
                )
            batch_keys.add(key)
            by_algorithm[ref.value.algorithm].append(ref)
        for algorithm, batch in by_algorithm.items():
            if algorithm in KEYPOINT_ALGORITHMS:
                self._keypoints.add(batch)
            else:
                self._indexes[algorithm].add(batch)
            self._refs.update(((algorithm, ref.id), ref) for ref in batch)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove references by id, from every algorithm; unknown ids are ignored."""
        ids = set(ids)
        for algorithm, index in self._indexes.items():
            index.remove(ids)
            for ref_id in ids:
                self._refs.pop((algorithm, ref_id), None)
        self._keypoints.remove(ids)
        for algorithm in KEYPOINT_ALGORITHMS:
            for ref_id in ids:
                self._refs.pop((algorithm, ref_id), None)

    def __len__(self) -> int:
        return len(self._refs)

    def match(self, media: MediaHashes) -> list[Match]:
        """The best match per case, best first."""
        best: dict[int, tuple[tuple, Match]] = {}
        for algorithm in _PREFERENCE:
            for item in media.with_variants(algorithm):
                if not self._good_enough(item.value):
                    continue
                limit = self._limit(algorithm)
                for ref_id, distance in self._indexes[algorithm].query(item.value, limit):
                    ref = self._refs[(algorithm, ref_id)]
                    if self._good_enough(ref.value):
                        found = Match(ref.id, ref.case_id, algorithm, distance, item.variant)
                        self._keep(best, found)
        if media.keypoints and len(self._keypoints):
            for found in self._crop_matches(media.keypoints, exclude_cases=set(best)):
                self._keep(best, found)
        return [found for _, found in sorted(best.values(), key=lambda item: item[0])]

    def _crop_matches(self, keypoints: bytes, exclude_cases: set[int]) -> list[Match]:
        probe = probe_codes(keypoints)
        found = []
        for ref in self._keypoints.screen(probe, self.min_inliers):
            if ref.case_id in exclude_cases:
                continue
            codes = codes_of(ref.value)
            evidence = crop_evidence(probe, codes, min_inliers=self.min_inliers)
            if evidence.is_match(self.min_inliers):
                missing = len(codes) - evidence.inliers
                found.append(Match(ref.id, ref.case_id, ref.value.algorithm, missing))
        return found

    def _keep(self, best: dict[int, tuple[tuple, Match]], found: Match) -> None:
        rank = self._rank(found)
        if found.case_id not in best or rank < best[found.case_id][0]:
            best[found.case_id] = (rank, found)

    def _limit(self, algorithm: str) -> int:
        return 0 if algorithm in EXACT_ALGORITHMS else self.thresholds[algorithm]

    def _good_enough(self, value: HashValue) -> bool:
        if value.algorithm == "phash":
            return phash_is_usable(value)  # not the pHash of a flat picture
        if value.algorithm != "pdq" or value.quality is None:
            return True
        return value.quality >= self.min_quality

    def _rank(self, found: Match) -> tuple[int, Fraction, int, int, int]:
        """Smaller is better: exact first, then global hashes, then crhash; then the distance as
        a share of the threshold, the media as it is before a variant, the preferred algorithm,
        and the lowest reference id (so results are deterministic)."""
        if found.algorithm in KEYPOINT_ALGORITHMS:
            return (2, Fraction(found.distance), 0, 0, found.reference_id)
        exact = found.algorithm in EXACT_ALGORITHMS
        limit = self._limit(found.algorithm)
        share = Fraction(found.distance, limit) if limit else Fraction(0)
        return (
            0 if exact else 1,
            share,
            0 if found.variant == "original" else 1,
            _PREFERENCE.index(found.algorithm),
            found.reference_id,
        )


class _KeypointRefs:
    """crhash references as one matrix of keypoint descriptors, screened in bulk: a reference is
    a candidate when enough of its keypoints have a near descriptor in the media at all."""

    def __init__(self) -> None:
        self._refs: dict[int, Reference] = {}
        self._ids = np.empty(0, dtype=np.int64)
        self._descriptors = np.empty((0, 8), dtype=np.uint64)
        self._valid = np.empty((0, 8), dtype=bool)
        self._stale = False

    def add(self, refs: list[Reference]) -> None:
        for ref in refs:
            if ref.id in self._refs:
                raise ValueError(f"crhash reference {ref.id} is already in the matcher")
        self._refs.update((ref.id, ref) for ref in refs)
        self._stale = self._stale or bool(refs)

    def remove(self, ids: set[int]) -> None:
        for ref_id in ids:
            if self._refs.pop(ref_id, None) is not None:
                self._stale = True

    def __len__(self) -> int:
        return len(self._refs)

    def screen(self, probe: np.ndarray, min_inliers: int) -> list[Reference]:
        """References with at least ``min_inliers`` keypoints whose descriptor is near one in
        ``probe``, by id."""
        self._rebuild()
        probe_descriptors = probe >> np.uint64(16)
        hits = []
        for start in range(0, len(self._ids), _SCREEN_BATCH):
            stop = start + _SCREEN_BATCH
            distances = np.bitwise_count(
                self._descriptors[start:stop, :, None] ^ probe_descriptors[None, None, :]
            )
            near = (distances <= DESCRIPTOR_THRESHOLD).any(axis=2) & self._valid[start:stop]
            hits.append(self._ids[start:stop][near.sum(axis=1) >= min_inliers])
        found = np.concatenate(hits) if hits else np.empty(0, dtype=np.int64)
        return [self._refs[int(ref_id)] for ref_id in found]

    def _rebuild(self) -> None:
        if not self._stale:
            return
        refs = sorted(self._refs.values(), key=lambda ref: ref.id)
        self._ids = np.array([ref.id for ref in refs], dtype=np.int64)
        self._descriptors = np.zeros((len(refs), 8), dtype=np.uint64)
        self._valid = np.zeros((len(refs), 8), dtype=bool)
        for row, ref in enumerate(refs):
            codes = codes_of(ref.value)
            self._descriptors[row, : len(codes)] = codes >> np.uint64(16)
            self._valid[row, : len(codes)] = True
        self._stale = False
