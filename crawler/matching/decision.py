"""Match decisions: which cases a piece of media belongs to, and by which hash.

Rules, per algorithm: sha256 or md5 equal; pHash within `PHASH_MATCH_THRESHOLD` bits; PDQ within
`PDQ_MATCH_THRESHOLD` bits, and only when both hashes have quality `PDQ_MIN_QUALITY` or better
(a missing quality counts as good enough). Each case is reported once, by its best match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from crawler.hashing.phash import PHASH_MATCH_THRESHOLD
from crawler.hashing.types import ALGORITHM_BITS, EXACT_ALGORITHMS, HashValue, MediaHashes
from crawler.matching.index import BruteForceIndex, ExactIndex, Reference, ReferenceIndex

DEFAULT_THRESHOLDS: Mapping[str, int] = {"phash": PHASH_MATCH_THRESHOLD, "pdq": PDQ_MATCH_THRESHOLD}
#: Which algorithm wins when two matches are equally good: exact first, then PDQ over pHash.
_PREFERENCE = ("sha256", "md5", "pdq", "phash")


@dataclass(frozen=True, slots=True)
class Match:
    reference_id: int
    case_id: int
    algorithm: str
    distance: int
    variant: str = "original"


def default_index(algorithm: str) -> ReferenceIndex:
    """ExactIndex for digests, BruteForceIndex for perceptual hashes."""
    if algorithm in EXACT_ALGORITHMS:
        return ExactIndex(algorithm)
    return BruteForceIndex(algorithm)


class Matcher:
    """All references, one index per algorithm, and the rules that turn hits into matches."""

    def __init__(
        self,
        refs: Iterable[Reference] = (),
        *,
        thresholds: Mapping[str, int] | None = None,
        min_quality: int = PDQ_MIN_QUALITY,
        index_factory: Callable[[str], ReferenceIndex] = default_index,
    ) -> None:
        unknown = set(thresholds or {}) - set(DEFAULT_THRESHOLDS)
        if unknown:
            raise ValueError(
                f"no threshold for {', '.join(sorted(unknown))}; thresholds apply to "
                f"{', '.join(DEFAULT_THRESHOLDS)} only (exact digests must be equal)"
            )
        self.thresholds: dict[str, int] = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        for algorithm, threshold in self.thresholds.items():
            if not 0 <= threshold <= ALGORITHM_BITS[algorithm]:
                raise ValueError(
                    f"{algorithm} threshold {threshold} is outside 0-{ALGORITHM_BITS[algorithm]}"
                )
        self.min_quality = min_quality
        self._indexes = {algorithm: index_factory(algorithm) for algorithm in _PREFERENCE}
        self._refs: dict[tuple[str, int], Reference] = {}
        self.add(refs)

    def add(self, refs: Iterable[Reference]) -> None:
        """Add references; ids must be new for their algorithm (nothing is added otherwise)."""
        by_algorithm: dict[str, list[Reference]] = {algorithm: [] for algorithm in self._indexes}
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
            self._indexes[algorithm].add(batch)
            self._refs.update(((algorithm, ref.id), ref) for ref in batch)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove references by id, from every algorithm; unknown ids are ignored."""
        ids = set(ids)
        for algorithm, index in self._indexes.items():
            index.remove(ids)
            for ref_id in ids:
                self._refs.pop((algorithm, ref_id), None)

    def __len__(self) -> int:
        return len(self._refs)

    def match(self, media: MediaHashes) -> list[Match]:
        """The best match per case, best first."""
        best: dict[int, tuple[tuple[int, Fraction, int, int], Match]] = {}
        for algorithm in _PREFERENCE:
            value = media.get(algorithm)
            if value is None or not self._good_enough(value):
                continue
            for ref_id, distance in self._indexes[algorithm].query(value, self._limit(algorithm)):
                ref = self._refs[(algorithm, ref_id)]
                if not self._good_enough(ref.value):
                    continue
                found = Match(ref.id, ref.case_id, algorithm, distance)
                rank = self._rank(found)
                if ref.case_id not in best or rank < best[ref.case_id][0]:
                    best[ref.case_id] = (rank, found)
        return [found for _, found in sorted(best.values(), key=lambda item: item[0])]

    def _limit(self, algorithm: str) -> int:
        return 0 if algorithm in EXACT_ALGORITHMS else self.thresholds[algorithm]

    def _good_enough(self, value: HashValue) -> bool:
        if value.algorithm != "pdq" or value.quality is None:
            return True
        return value.quality >= self.min_quality

    def _rank(self, found: Match) -> tuple[int, Fraction, int, int]:
        """Smaller is better: exact first, then distance as a share of the threshold, then the
        preferred algorithm, then the lowest reference id (so results are deterministic)."""
        exact = found.algorithm in EXACT_ALGORITHMS
        limit = self._limit(found.algorithm)
        share = Fraction(found.distance, limit) if limit else Fraction(0)
        return (0 if exact else 1, share, _PREFERENCE.index(found.algorithm), found.reference_id)
