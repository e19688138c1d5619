"""Match decisions: which cases a piece of media belongs to, and by which hash.

Rules, per algorithm (each `Algorithm` descriptor in `crawler.hashing.algorithms` holds its
threshold and preference): sha256 or md5 equal; pHash within 10 bits; PDQ within 31 bits, and
only when both hashes have quality `PDQ_MIN_QUALITY` or better (a missing quality counts as good
enough), and pHash only when it is not that of a flat picture (`PHASH_MIN_BITS_SET`), and
within `PHASH_STRICT_THRESHOLD` bits only through a turn or mirror of the whole media or against
a reference of a subject on a plain black or white ground (`PHASH_MIN_QUALITY`), and over
`PHASH_SURE_THRESHOLD` bits only with a few of the case's crhash keypoints in place
(`PHASH_EDGE_MIN_INLIERS`), and at any distance only with a second algorithm agreeing where the
case has one to check (its PDQ within `PHASH_CONFIRM_PDQ` bits of the media's, or
`PHASH_CONFIRM_INLIERS` of its crhash keypoints in place; see `_Corroboration.confirms`). pHash and
PDQ are checked for the media as it is and for each of its variants (turned, mirrored, inside
trimmed borders, the middle band without caption bands, each picture shown inside a screenshot or
collage: `MediaHashes.variants`), at the same thresholds; references are
originals, with the PDQ of their middle band stored as one more PDQ reference
(`MediaHashes.reference_values`). Cases that none of these match get a second look by crhash
(`KeypointIndex` screens, `crop_evidence` decides): at least `CRHASH_MIN_INLIERS` of a
reference's keypoints found in place in the media's keypoints, with descriptors close enough to
score `CRHASH_MIN_SCORE` (a crop: variant `CROP`, with the inliers and score kept on the match);
against a reference on a plain ground, keypoints more distinctive than elsewhere
(`CRHASH_PLAIN_MAX_AMBIGUITY`); with only four in place, distinctive keypoints or close
descriptors (`CRHASH_WEAK_MAX_AMBIGUITY`, `CRHASH_WEAK_MIN_SCORE`). A crop match keeps its
placement: where the case has a crpdq, the caller checks it on the media's pixels
(`region_check`, `confirmed`; a crawl in its hashing pool) before it counts.
Each case is reported once, by its best match: exact first, then global hashes by distance as a
share of the threshold (the media as it is before a variant), then crhash; ties go to the
preferred algorithm.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from crawler.hashing.algorithms import ALGORITHMS, CRPDQ, names, ranked
from crawler.hashing.crhash import (
    CRHASH_MIN_INLIERS,
    crop_evidence,
    max_ambiguity,
    probe_codes,
)
from crawler.hashing.crpdq import RegionCheck, region_distances
from crawler.hashing.decode import DEFAULT_MAX_PIXELS
from crawler.hashing.dihedral import DIHEDRAL
from crawler.hashing.pdq import PDQ_MIN_QUALITY
from crawler.hashing.phash import is_plain, phash_is_usable
from crawler.hashing.types import HashValue, MediaHashes
from crawler.matching.exact import ExactIndex
from crawler.matching.index import BruteForceIndex, Reference, ReferenceIndex
from crawler.matching.keypoint_index import KeypointIndex, keypoint_codes
from crawler.matching.multi_index import MultiIndexHashIndex
from crawler.matching.rebuilding import sorted_contains

#: The algorithms held in a `ReferenceIndex` (queried by Hamming distance), best `preference`
#: first: the order matches are looked for in.
_INDEXED = ranked("exact", "perceptual")
#: crhash, the one keypoint algorithm: `KeypointIndex` holds it (unpacking fails loudly if a
#: second keypoint algorithm is described without an index of its own).
(_KEYPOINT,) = names("keypoint")
#: Hashes that only confirm another algorithm's match (crpdq confirms crhash's): kept by case
#: (`BruteForceIndex.codes_of_case`), never queried.
_CHECKS = names("check")
#: Every algorithm the matcher keeps references of.
_STORED = (*_INDEXED, _KEYPOINT, *_CHECKS)
#: The variant of crhash matches: part of the reference found in place in the media.
CROP = "crop"
#: pHash's strict limit, for two kinds of matches that 10 bits would let through by chance.
#: A pHash found through a turn or mirror of the whole media (``"rot90"``, ``"flipx"``, ...;
#: not ``"trimmed+flipx"``: a padded mirrored copy may need 5-10 bits): each variant is one more
#: chance for a 64-bit hash of a mostly black or flat picture to come near an unrelated one's,
#: and among the false-alarm corpus's pictures (docs/benchmarks.md) half of pHash's false
#: matches came through turns and mirrors, at 6-10 bits. Turned and mirrored copies are PDQ's to
#: find (all of the robustness benchmark's are, at 31 bits); pHash's turns are for textures
#: whose turned gallery copies drift 30-70 bits in PDQ and stay at 0-2 in pHash. And a
#: reference whose pHash quality is under `PHASH_MIN_QUALITY` (30% or more of it plain black or
#: white: a subject on a plain ground): over the 2,167-picture corpus 1,718 of the 1,963 pHash
#: false matches at 5-10 bits had such a reference, and no copy of the robustness benchmark
#: needs one (the darkest reference a copy reaches at 5-10 bits is 20% black).
PHASH_STRICT_THRESHOLD = 4
#: A pHash match farther than this (9-10 bits: pHash distances are even, both hashes having 32
#: bits set, so in practice exactly 10, the threshold) needs `PHASH_EDGE_MIN_INLIERS` of a
#: crhash reference of the same case in place in the media, where both have keypoints to check
#: (not through a picture shown inside the media, ``"region"``, whose zoom crhash does not
#: place). Over the false-alarm corpus (docs/benchmarks.md), 108 of the 182 pHash matches
#: between pictures sharing no pixels were at exactly 10 bits and 85 of those had fewer than
#: two keypoints in place; every robustness copy that only pHash finds at 10 bits has two or
#: more (`motorcycle` padded 20% and blurred: two).
PHASH_SURE_THRESHOLD = 8
PHASH_EDGE_MIN_INLIERS = 2
#: Any pHash match needs a second algorithm's agreement, where the case has one to check: the
#: media's PDQ (any variant) within this many bits of one of the case's PDQ references, or
#: `PHASH_CONFIRM_INLIERS` of one of its crhash references' keypoints in place. A 64-bit hash
#: alone cannot keep false matches at 0 over ten million pairs of drawings, flags and
#: screenshots: over the false-alarm corpus (docs/benchmarks.md) this removed 87 of the 127
#: pHash matches between pictures sharing no pixels, while every robustness copy that pHash
#: alone finds has PDQ within 74 bits (unrelated pictures sit near 128 of 256) or three
#: keypoints in place: `motorcycle` padded 20% and blurred, at 74 and two, is the closest.
PHASH_CONFIRM_PDQ = 74
PHASH_CONFIRM_INLIERS = 3
#: `PHASH_CONFIRM_PDQ` for a pHash reference on a plain ground (quality under
#: `PHASH_MIN_QUALITY`), whose 64 bits say little more than where the subject sits: the
#: robustness benchmark's copies of such references that pHash finds (`hubble`, `smarties`,
#: `pca_test1`, `scenetext02`: 52 copies) have PDQ within 40 bits, while over the false-alarm
#: corpus three near-plain pictures matched `fog.png` (98% plain) at 0 bits with PDQ at 56-70.
PHASH_PLAIN_CONFIRM_PDQ = 50
#: `_Corroboration.pdq` of a case whose PDQ references are all too flat to match
#: (`PDQ_MIN_QUALITY`): a PDQ to check that can never agree. Such a case's pHash stands alone
#: within `PHASH_STRICT_THRESHOLD`, and only through the media as it is or trimmed, not through
#: a turn or mirror: each is one more chance for two low-detail pictures (a gradient, clouds, a
#: glyph on black) to share a 64-bit hash. Over the false-alarm corpus (docs/benchmarks.md) 6 of
#: the 36 pHash matches between pictures that share no pixels were such, all through turns and
#: mirrors at 0-4 bits; no reference of the robustness benchmark has a PDQ that flat.
FLAT = ALGORITHMS["pdq"].bits + 1
#: Turns and mirrors of the whole media by name.
_TURNS = frozenset(DIHEDRAL) - {"original"}
#: `Matcher.add` reads references this many at a time into arrays (bounds the Python objects
#: alive at once when a crawl loads millions of them).
_ADD_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class Match:
    """One case's match. ``variant`` names how the media relates to the reference ("original",
    "flipx", "rot90", "trimmed", "trimmed+flipx", ...: see `crawler.hashing.dihedral`;
    "centre"; "region", "region2", ...: a picture shown inside the media; `CROP` for crhash).
    ``distance`` is in bits for pHash and PDQ, 0 for exact digests, and for crhash the number of
    the reference's keypoints that were not found in place; a crhash match also keeps how many
    were (``inliers``) and how well their descriptors agree (``score``, see
    `CRHASH_MIN_SCORE`)."""

    reference_id: int
    case_id: int
    algorithm: str
    distance: int
    variant: str = "original"
    inliers: int | None = None
    score: int | None = None
    #: A crop match's placement of the reference in the media
    #: (`crawler.hashing.crhash.CropEvidence.placement`): where `Matcher.region_check` looks.
    placement: tuple[complex, complex] | None = field(default=None, compare=False)


def default_index(algorithm: str) -> ReferenceIndex:
    """ExactIndex for digests, MultiIndexHashIndex for perceptual hashes (pHash, PDQ). It answers
    exactly as BruteForceIndex does, which tests pass as ``index_factory`` to check it."""
    if algorithm in names("exact"):
        return ExactIndex(algorithm)
    return MultiIndexHashIndex(algorithm)


class Matcher:
    """All references, one index per algorithm, and the rules that turn hits into matches.

    Nothing is kept per reference beyond the indexes' arrays (id, case, hash bytes): references
    that can never match (a PDQ below ``min_quality``, the pHash of a flat picture) are left out
    of the indexes and only their ids kept, so that they still count and can be removed.
    """

    def __init__(
        self,
        refs: Iterable[Reference] = (),
        *,
        thresholds: Mapping[str, int] | None = None,
        min_quality: int = PDQ_MIN_QUALITY,
        min_inliers: int = CRHASH_MIN_INLIERS,
        index_factory: Callable[[str], ReferenceIndex] = default_index,
    ) -> None:
        defaults = {name: ALGORITHMS[name].threshold for name in names("perceptual")}
        unknown = set(thresholds or {}) - set(defaults)
        if unknown:
            raise ValueError(
                f"no threshold for {', '.join(sorted(unknown))}; thresholds apply to "
                f"{', '.join(defaults)} only (exact digests must be equal; crhash "
                "takes min_inliers)"
            )
        self.thresholds: dict[str, int] = {**defaults, **(thresholds or {})}
        for algorithm, threshold in self.thresholds.items():
            bits = ALGORITHMS[algorithm].bits
            if not 0 <= threshold <= bits:
                raise ValueError(f"{algorithm} threshold {threshold} is outside 0-{bits}")
        if min_inliers < 2:
            raise ValueError(
                f"min_inliers must be 2 or more (one zoom and shift), not {min_inliers}"
            )
        self.min_quality = min_quality
        self.min_inliers = min_inliers
        self._indexes = {algorithm: index_factory(algorithm) for algorithm in _INDEXED}
        #: References that can never match, by algorithm: id -> case (a PDQ too flat to hash
        #: still tells `_corroborated` that its case's picture is flat).
        self._unusable: dict[str, dict[int, int]] = {algorithm: {} for algorithm in _INDEXED}
        #: How many of each case's PDQ references are unusable (`_corroborated` asks per case).
        self._flat_cases: Counter[int] = Counter()
        #: References on a plain ground (`is_plain`), by id: pHash ones are held to
        #: `PHASH_STRICT_THRESHOLD`, crhash ones to `CRHASH_PLAIN_MAX_AMBIGUITY`.
        self._plain: dict[str, _IdSet] = {"phash": _IdSet(), _KEYPOINT: _IdSet()}
        self._keypoints = KeypointIndex()
        self._checks = {algorithm: BruteForceIndex(algorithm) for algorithm in _CHECKS}
        self.add(refs)

    def add(self, refs: Iterable[Reference]) -> None:
        """Add references; ids must be new for their algorithm (nothing is added otherwise).

        ``refs`` may be a generator over millions of references: it is read a chunk at a time
        into arrays, and its objects are not kept."""
        rows = {algorithm: _Rows() for algorithm in _STORED}
        refs = iter(refs)
        position = 0
        while chunk := list(itertools.islice(refs, _ADD_CHUNK)):
            for algorithm, found in rows.items():
                found.read(chunk, position, algorithm, self._good_enough)
            position += len(chunk)
        batches = {algorithm: found.arrays() for algorithm, found in rows.items()}
        del rows  # the parts: as large as the batches again
        taken = [
            (int(batch.positions[first]), algorithm, int(batch.ids[first]))
            for algorithm, batch in batches.items()
            if (first := self._first_taken(algorithm, batch.ids)) is not None
        ]
        if taken:
            _, algorithm, ref_id = min(taken)
            raise ValueError(
                f"{algorithm} reference {ref_id} is already in the matcher; "
                "remove it before adding it again"
            )
        for algorithm, batch in batches.items():
            if not len(batch.ids):
                continue
            if algorithm in self._plain:
                self._plain[algorithm].add(batch.ids[batch.plain & batch.usable])
            if algorithm == _KEYPOINT:
                self._keypoints.add(batch.ids, batch.cases, batch.codes, batch.counts)
                continue
            if algorithm in self._checks:
                self._checks[algorithm].add_codes(batch.ids, batch.codes, batch.cases)
                continue
            usable = batch.usable
            if usable.all():  # no copies of millions of rows
                self._indexes[algorithm].add_codes(batch.ids, batch.codes, batch.cases)
                continue
            self._indexes[algorithm].add_codes(
                batch.ids[usable], batch.codes[usable], batch.cases[usable]
            )
            flat_cases = batch.cases[~usable].tolist()
            self._unusable[algorithm].update(
                zip(batch.ids[~usable].tolist(), flat_cases, strict=True)
            )
            if algorithm == "pdq":
                self._flat_cases.update(flat_cases)

    def _first_taken(self, algorithm: str, ids: np.ndarray) -> int | None:
        """The row of the first id already present or repeated in ``ids``, or None."""
        if not len(ids):
            return None
        taken = np.ones(len(ids), dtype=bool)
        taken[np.unique(ids, return_index=True)[1]] = False  # repeats within the batch
        taken |= self._present(algorithm, ids)
        return int(np.argmax(taken)) if taken.any() else None

    def _present(self, algorithm: str, ids: np.ndarray) -> np.ndarray:
        if algorithm == _KEYPOINT:
            return self._keypoints.contains(ids)
        if algorithm in self._checks:
            return self._checks[algorithm].contains(ids.tolist())
        unusable = np.fromiter(self._unusable[algorithm], dtype=np.int64)
        return self._indexes[algorithm].contains(ids) | np.isin(ids, unusable)

    def missing(self, refs: Iterable[Reference]) -> list[Reference]:
        """Those of ``refs`` whose id is not in the matcher yet for their algorithm."""
        refs = list(refs)
        keep = np.ones(len(refs), dtype=bool)
        for algorithm in _STORED:
            rows = [i for i, ref in enumerate(refs) if ref.value.algorithm == algorithm]
            if rows:
                ids = np.fromiter((refs[i].id for i in rows), dtype=np.int64, count=len(rows))
                keep[rows] = ~self._present(algorithm, ids)
        return [ref for ref, kept in zip(refs, keep.tolist(), strict=True) if kept]

    def remove(self, ids: Iterable[int]) -> int:
        """Remove references by id, from every algorithm; unknown ids are ignored. Returns how
        many references were removed."""
        ids = sorted(set(ids))
        removed = 0
        for algorithm, index in self._indexes.items():
            before = len(index)
            index.remove(ids)
            removed += before - len(index)
            unusable = self._unusable[algorithm]
            gone = [ref_id for ref_id in ids if ref_id in unusable]
            for ref_id in gone:
                case_id = unusable.pop(ref_id)
                if algorithm == "pdq":
                    self._flat_cases[case_id] -= 1
                    if not self._flat_cases[case_id]:
                        del self._flat_cases[case_id]
            removed += len(gone)
        for index in self._checks.values():
            before = len(index)
            index.remove(ids)
            removed += before - len(index)
        for plain in self._plain.values():
            plain.discard(np.array(ids, dtype=np.int64))
        return removed + self._keypoints.remove(np.array(ids, dtype=np.int64))

    def reference_hex(self, algorithm: str, ref_id: int) -> str | None:
        """The hash of an indexed reference (pHash, PDQ, digests), or None."""
        index = self._indexes.get(algorithm)
        return None if index is None else index.code_hex(ref_id)

    def __len__(self) -> int:
        return (
            sum(len(index) for index in self._indexes.values())
            + sum(len(ids) for ids in self._unusable.values())
            + len(self._keypoints)
            + sum(len(index) for index in self._checks.values())
        )

    def match(self, media: MediaHashes, *, crops: bool = True) -> list[Match]:
        """The best match per case, best first. ``crops=False`` leaves out the crhash stage
        (its keypoints still corroborate pHash): `benchmarks.false_alarms` runs that stage
        itself, to keep each pair's evidence."""
        best: dict[int, tuple[tuple, Match]] = {}
        corroborated: dict[int, _Corroboration] = {}  # case -> `_corroborated`, for this media
        for algorithm in _INDEXED:
            index = self._indexes[algorithm]
            for item in media.with_variants(algorithm):
                if not self._good_enough(item.value):
                    continue
                hits = index.query(item.value, self._variant_limit(algorithm, item.variant))
                plain_hits: set[int] = set()  # pHash references on a plain ground among hits
                if algorithm == "phash" and hits and len(plain := self._plain["phash"]):
                    kept = plain.contains(np.array([ref_id for ref_id, _ in hits]))
                    plain_hits = {
                        ref_id
                        for (ref_id, _), is_plain_ref in zip(hits, kept.tolist(), strict=True)
                        if is_plain_ref
                    }
                    hits = [
                        hit
                        for hit in hits
                        if hit[1] <= PHASH_STRICT_THRESHOLD or hit[0] not in plain_hits
                    ]
                cases = index.case_ids(ref_id for ref_id, _ in hits) if hits else []
                for (ref_id, distance), case_id in zip(hits, cases, strict=True):
                    if algorithm == "phash":
                        if case_id not in corroborated:
                            corroborated[case_id] = self._corroborated(case_id, media)
                        confirmed = corroborated[case_id].confirms(
                            distance, item.variant, plain=ref_id in plain_hits
                        )
                        if not confirmed:
                            continue
                    self._keep(best, Match(ref_id, case_id, algorithm, distance, item.variant))
        if crops and media.keypoints and len(self._keypoints):
            for found in self._crop_matches(media.keypoints, exclude_cases=set(best)):
                self._keep(best, found)
        return [found for _, found in sorted(best.values(), key=lambda item: item[0])]

    def _corroborated(self, case_id: int, media: MediaHashes) -> _Corroboration:
        """What the case's other hashes say of the media, for its pHash hits: the nearest of
        its PDQ references to any of the media's PDQ hashes (`FLAT` when all of them are too
        flat to be indexed), and the most of one of its crhash references' keypoints in place
        in the media (None where there is nothing to check), counted only when a hit needs
        them (`crop_evidence` is the costly part). Both read the case's rows by binary search
        (``codes_of_case``, ``of_case``), once per case with a pHash hit, which only pictures
        near a reference have."""
        pdq = None
        references = self._indexes["pdq"].codes_of_case(case_id)
        values = [item.value for item in media.with_variants("pdq")]
        if len(references) and values:
            packed = bytes.fromhex("".join(value.hex for value in values))
            probe = np.frombuffer(packed, dtype=np.uint8).reshape(len(values), -1)
            pdq = int(np.bitwise_count(probe[:, None, :] ^ references[None]).sum(axis=2).min())
        elif self._flat_cases[case_id]:
            pdq = FLAT

        def count_inliers() -> int | None:
            references = self._keypoints.of_case(case_id) if media.keypoints else []
            if not references:
                return None
            probe = probe_codes(media.keypoints)
            return max(
                crop_evidence(probe, codes, min_inliers=PHASH_EDGE_MIN_INLIERS).inliers
                for codes in references
            )

        return _Corroboration(pdq, count_inliers)

    def _crop_matches(self, keypoints: bytes, exclude_cases: set[int]) -> list[Match]:
        probe = probe_codes(keypoints)
        found = []
        for ref_id, case_id, codes in self._keypoints.screen(probe, self.min_inliers):
            if case_id in exclude_cases:
                continue
            plain = ref_id in self._plain[_KEYPOINT]
            evidence = crop_evidence(
                probe, codes, min_inliers=self.min_inliers, max_ambiguity=max_ambiguity(plain)
            )
            if evidence.is_match(self.min_inliers, plain=plain):
                missing = len(codes) - evidence.inliers
                found.append(
                    Match(
                        ref_id,
                        case_id,
                        _KEYPOINT,
                        missing,
                        CROP,
                        inliers=evidence.inliers,
                        score=evidence.score,
                        placement=evidence.placement,
                    )
                )
        return found

    def region_check(self, match: Match) -> RegionCheck | None:
        """What a crop match is checked by on the media's pixels (`crawler.hashing.crpdq`):
        the matched reference's keypoints, the match's placement, and the case's crpdq hashes.
        None for any other match, and for a case that has no crpdq (references registered
        before crpdq was stored, hash lists): such a crop match stands on its keypoints."""
        if match.placement is None:
            return None
        codes = self._keypoints.codes_of(match.reference_id)
        expected = self._checks[CRPDQ.name].codes_of_case(match.case_id)
        if codes is None or not len(expected):
            return None
        return RegionCheck(codes, match.placement, tuple(row.tobytes().hex() for row in expected))

    def confirmed(
        self, matches: list[Match], data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> list[Match]:
        """``matches`` (of the media whose bytes are ``data``) without the crop matches whose
        region check fails (`region_check`: the media's crpdq where the match places the box
        more than `CRPDQ.threshold` bits from the case's). In this process: a crawl runs
        `region_distances` in its hashing pool instead; benchmarks and tools call this."""
        checks = [(match, self.region_check(match)) for match in matches]
        wanted = [check for _, check in checks if check is not None]
        if not wanted:
            return matches
        distances = iter(region_distances(data, wanted, max_pixels=max_pixels))
        return [
            match for match, check in checks if check is None or next(distances) <= CRPDQ.threshold
        ]

    def _keep(self, best: dict[int, tuple[tuple, Match]], found: Match) -> None:
        rank = self._rank(found)
        if found.case_id not in best or rank < best[found.case_id][0]:
            best[found.case_id] = (rank, found)

    def _limit(self, algorithm: str) -> int:
        return 0 if ALGORITHMS[algorithm].kind == "exact" else self.thresholds[algorithm]

    def _variant_limit(self, algorithm: str, variant: str) -> int:
        """`_limit`, or for a pHash through a turn or mirror of the whole media
        `PHASH_STRICT_THRESHOLD`."""
        limit = self._limit(algorithm)
        if algorithm == "phash" and variant in _TURNS:
            return min(limit, PHASH_STRICT_THRESHOLD)
        return limit

    def _good_enough(self, value: HashValue) -> bool:
        """Whether a hash can match at all (a reference that cannot is kept only as an id)."""
        if value.algorithm == "phash":
            return phash_is_usable(value)  # not the pHash of a flat picture
        if value.algorithm != "pdq" or value.quality is None:
            return True
        return value.quality >= self.min_quality

    def _rank(self, found: Match) -> tuple[int, Fraction, int, int, int]:
        """Smaller is better: exact first, then global hashes, then crhash; then the distance as
        a share of the threshold, the media as it is before a variant, the preferred algorithm,
        and the lowest reference id (so results are deterministic)."""
        kind = ALGORITHMS[found.algorithm].kind
        if kind == "keypoint":
            return (2, Fraction(found.distance), 0, 0, found.reference_id)
        exact = kind == "exact"
        limit = self._limit(found.algorithm)
        share = Fraction(found.distance, limit) if limit else Fraction(0)
        return (
            0 if exact else 1,
            share,
            0 if found.variant == "original" else 1,
            ALGORITHMS[found.algorithm].preference,
            found.reference_id,
        )


@dataclass
class _Corroboration:
    """`Matcher._corroborated`: the PDQ distance and crhash inliers of one case against the
    media, None where the case or the media has nothing to compare; the inliers are counted
    on first use."""

    pdq: int | None
    count_inliers: Callable[[], int | None]

    @functools.cached_property
    def inliers(self) -> int | None:
        return self.count_inliers()

    def confirms(self, distance: int, variant: str, *, plain: bool = False) -> bool:
        """Whether a pHash hit at ``distance`` bits through ``variant`` stands (``plain``: the
        reference is on a plain ground, and its PDQ must be within `PHASH_PLAIN_CONFIRM_PDQ`).

        crhash counts only for the media as a whole, not for a picture shown inside it
        (``"region"`` variants: crhash does not place such zooms). Over `PHASH_SURE_THRESHOLD`
        bits, `PHASH_EDGE_MIN_INLIERS` keypoints must be in place wherever crhash can be
        checked, and a case with PDQ but no crhash to check takes no such hit (flags with three
        stripes come within 10 bits of each other, their PDQs within 74). Then a case with
        neither PDQ nor crhash to check keeps the hit (a hash list's pHash alone); otherwise the
        media's PDQ must be within `PHASH_CONFIRM_PDQ` of the case's (`PHASH_PLAIN_CONFIRM_PDQ`
        for a reference on a plain ground), or `PHASH_CONFIRM_INLIERS` keypoints in place, or,
        for a case whose PDQ is too flat to compare (`FLAT`: a dark or plain picture), the hit
        within `PHASH_STRICT_THRESHOLD` through no turn or mirror."""
        region = variant.startswith("region")
        if distance > PHASH_SURE_THRESHOLD and not region:
            inliers = self.inliers
            if inliers is not None and inliers < PHASH_EDGE_MIN_INLIERS:
                return False
            if inliers is None and self.pdq is not None:
                return False  # no keypoints to check: a PDQ as loose as 74 bits is not enough
        # PDQ is asked first: crhash is counted only when PDQ alone does not settle the hit.
        pdq_limit = PHASH_PLAIN_CONFIRM_PDQ if plain else PHASH_CONFIRM_PDQ
        if self.pdq is not None and self.pdq != FLAT and self.pdq <= pdq_limit:
            return True
        if self.pdq == FLAT and distance <= PHASH_STRICT_THRESHOLD and not _turned(variant):
            return True
        inliers = None if region else self.inliers
        if self.pdq is None and inliers is None:
            return True
        return inliers is not None and inliers >= PHASH_CONFIRM_INLIERS


def _turned(variant: str) -> bool:
    """Whether ``variant`` turns or mirrors the media ("rot90", "trimmed+flipx", ...)."""
    return variant.rsplit("+", 1)[-1] in _TURNS


class _IdSet:
    """Reference ids as one sorted array, 8 bytes each (a Python set costs about 60 per id:
    hundreds of MB for the plain references among millions); additions wait in parts until
    the next lookup or removal."""

    def __init__(self) -> None:
        self._ids = np.empty(0, dtype=np.int64)
        self._parts: list[np.ndarray] = []

    def add(self, ids: np.ndarray) -> None:
        if len(ids):
            self._parts.append(np.asarray(ids, dtype=np.int64))

    def discard(self, ids: np.ndarray) -> None:
        self._merge()
        if len(self._ids) and len(ids):
            self._ids = self._ids[~np.isin(self._ids, ids)]

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are in the set, as a bool array."""
        self._merge()
        return sorted_contains(self._ids, np.asarray(ids, dtype=np.int64))

    def __contains__(self, ref_id: int) -> bool:
        return bool(self.contains(np.array([ref_id]))[0])

    def __len__(self) -> int:
        self._merge()
        return len(self._ids)

    def _merge(self) -> None:
        if self._parts:
            self._ids = np.union1d(self._ids, np.concatenate(self._parts))
            self._parts = []


class _Rows:
    """The references of one algorithm read so far by `Matcher.add`, as array parts."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def read(
        self,
        chunk: list[Reference],
        start: int,
        algorithm: str,
        good_enough: Callable[[HashValue], bool],
    ) -> None:
        rows = [i for i, ref in enumerate(chunk) if ref.value.algorithm == algorithm]
        if not rows:
            return
        refs = [chunk[i] for i in rows]
        positions = np.array(rows, dtype=np.int64) + start
        ids = np.fromiter((ref.id for ref in refs), dtype=np.int64, count=len(refs))
        cases = np.fromiter((ref.case_id for ref in refs), dtype=np.int64, count=len(refs))
        if algorithm == _KEYPOINT:
            codes, counts = keypoint_codes([ref.value for ref in refs])
            usable = np.ones(len(refs), dtype=bool)
        else:
            packed = bytes.fromhex("".join(ref.value.hex for ref in refs))
            codes = np.frombuffer(packed, dtype=np.uint8).reshape(len(refs), -1)
            counts = np.zeros(0, dtype=np.uint8)
            usable = np.fromiter((good_enough(ref.value) for ref in refs), dtype=bool)
        plain = np.fromiter((is_plain(ref.value) for ref in refs), dtype=bool)
        self.parts.append((positions, ids, cases, codes, counts, usable, plain))

    def arrays(self) -> _Batch:
        if not self.parts:
            empty = np.empty(0, dtype=np.int64)
            none = np.empty(0, bool)
            return _Batch(empty, empty, empty, np.empty((0, 0)), np.empty(0), none, none)
        return _Batch(*(np.concatenate(column) for column in zip(*self.parts, strict=True)))


@dataclass(frozen=True, slots=True)
class _Batch:
    positions: np.ndarray  # in the references given to `Matcher.add`
    ids: np.ndarray
    cases: np.ndarray
    codes: np.ndarray
    counts: np.ndarray  # crhash: keypoints per row
    usable: np.ndarray
    plain: np.ndarray  # is_plain (pHash and crhash only)
