"""crhash against many more unrelated pictures than the originals alone give.

The robustness benchmark's false-positive rate counts pairs of a query and another *original*:
about 10^5 pairs, too few to show a rate of 10^-6. crhash can be tried on far more, because any
copy can stand in as a reference: a crop stage keeps the reference's keypoints, not its pixels.
Here every original and copy is the query and every copy and original of *another* photo is
the reference (about 2.9 million ordered pairs). Screenshots are left out as references: their
page around the picture (header, sidebar, the same words) is shared by all of them, so two
screenshots are not unrelated pictures. A pair counts once, matched or not, by
`crawler.hashing.crhash.crop_evidence` as `crawler.matching.Matcher` takes it.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from crawler.hashing import CENTRE, HashValue, MediaHashes
from crawler.hashing.algorithms import ALGORITHMS, PDQ, PHASH, names
from crawler.hashing.crhash import (
    CRHASH_MIN_INLIERS,
    CRHASH_MIN_SCORE,
    DESCRIPTOR_THRESHOLD,
    MAX_KEYPOINTS,
    codes_of,
    crop_evidence,
    probe_codes,
)
from crawler.hashing.pdq import PDQ_MIN_QUALITY
from crawler.hashing.phash import phash_is_usable

#: Copies that are not used as references (see the module docstring).
NOT_REFERENCES = frozenset({"screenshot"})


@dataclass
class PairCounts:
    """Unrelated (query, reference) pairs: how many, how many matched, and the scores of those
    with `CRHASH_MIN_INLIERS` inliers or more (matched or not)."""

    pairs: int = 0
    matched: list[str] = field(default_factory=list)
    scores: Counter = field(default_factory=Counter)

    def add(self, other: PairCounts) -> None:
        self.pairs += other.pairs
        self.matched += other.matched
        self.scores.update(other.scores)


def reference_table(
    originals: list[tuple[str, MediaHashes, dict[str, MediaHashes | str]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Every original's and usable copy's crhash: codes (n x 8, 0-padded), keypoint counts,
    the photo each belongs to, and a label per row."""
    rows, owners, labels = [], [], []
    for owner, (name, reference, copies) in enumerate(originals):
        for edit, media in [("original", reference), *copies.items()]:
            if edit in NOT_REFERENCES or isinstance(media, str):
                continue
            value = media.get("crhash")
            if value is not None:
                rows.append(codes_of(value))
                owners.append(owner)
                labels.append(f"{name} ({edit})")
    codes = np.zeros((len(rows), MAX_KEYPOINTS), dtype=np.uint64)
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    for i, r in enumerate(rows):
        codes[i, : len(r)] = r
    return codes, counts, np.array(owners, dtype=np.int64), labels


def count_pairs(
    owner: int,
    queries: list[tuple[str, bytes]],
    codes: np.ndarray,
    counts: np.ndarray,
    owners: np.ndarray,
    labels: list[str],
) -> PairCounts:
    """Runs in a worker: one photo's queries (label, packed keypoints) against every other
    photo's references."""
    result = PairCounts()
    valid = np.arange(MAX_KEYPOINTS)[None, :] < counts[:, None]
    others = np.flatnonzero(owners != owner)
    descriptors = codes[others] >> np.uint64(16)
    for label, keypoints in queries:
        result.pairs += len(others)
        probe = probe_codes(keypoints)
        if len(probe) == 0:
            continue
        near = np.bitwise_count(descriptors[:, :, None] ^ (probe >> np.uint64(16))[None, None, :])
        found = ((near <= DESCRIPTOR_THRESHOLD).any(axis=2) & valid[others]).sum(axis=1)
        for row in others[found >= CRHASH_MIN_INLIERS]:
            evidence = crop_evidence(probe, codes[row, : counts[row]])
            if evidence.inliers >= CRHASH_MIN_INLIERS:
                result.scores[evidence.score] += 1
            if evidence.is_match():
                result.matched.append(f"{label} -> {labels[row]} by {evidence}")
    return result


def run(
    originals: list[tuple[str, MediaHashes, dict[str, MediaHashes | str]]], pool: Executor
) -> tuple[PairCounts, list[str]]:
    """All unrelated pairs, counted in ``pool``; and lines for the report."""
    codes, counts, owners, labels = reference_table(originals)
    jobs = []
    for owner, (name, reference, copies) in enumerate(originals):
        queries = [
            (f"{name} ({edit})", media.keypoints)
            for edit, media in [("original", reference), *copies.items()]
            if not isinstance(media, str)
        ]
        jobs.append(pool.submit(count_pairs, owner, queries, codes, counts, owners, labels))
    total = PairCounts()
    for job in jobs:
        total.add(job.result())
    four = sum(total.scores.values())
    tail = ", ".join(f"{score}: {n}" for score, n in sorted(total.scores.items(), reverse=True))
    lines = [
        f"crhash, every picture against every other photo's copies: {len(total.matched)} of "
        f"{total.pairs:,} unrelated pairs matched"
        + (
            f" (rate {len(total.matched) / total.pairs:.2g})"
            if total.matched
            else f" (rate 0, at most {3 / total.pairs:.1g} at 95% confidence)"
        ),
        f"  pairs with {CRHASH_MIN_INLIERS}+ keypoints in place: {four} "
        f"(rate {four / total.pairs:.2g}); their scores (match needs {CRHASH_MIN_SCORE}): {tail}",
        *(f"  matched: {line}" for line in total.matched[:20]),
    ]
    return total, lines


#: 64-bit words per hash.
_WORDS = {name: ALGORITHMS[name].bits // 64 for name in names("perceptual")}


def _global_codes(values: list[HashValue]) -> dict[str, np.ndarray]:
    """Usable pHash and PDQ values (as `Matcher` takes them) as uint64 rows, per algorithm."""
    found: dict[str, list[np.ndarray]] = {"phash": [], "pdq": []}
    for value in values:
        if value.algorithm not in found:
            continue
        if value.algorithm == "phash" and not phash_is_usable(value):
            continue
        if value.algorithm == "pdq" and (value.quality or 0) < PDQ_MIN_QUALITY:
            continue
        found[value.algorithm].append(np.frombuffer(bytes.fromhex(value.hex), dtype=">u8"))
    return {
        algorithm: np.array(rows, dtype=np.uint64).reshape(-1, _WORDS[algorithm])
        for algorithm, rows in found.items()
    }


def global_run(
    originals: list[tuple[str, MediaHashes, dict[str, MediaHashes | str]]], *, centre: bool = True
) -> tuple[int, int, list[str]]:
    """pHash and PDQ the way `crawler.matching.Matcher` matches them (every variant of the query,
    including ``"centre"``, against every stored value of the reference, including its centre
    hashes, at the production thresholds) over the same unrelated pairs as crhash: every
    original and copy against every original and copy of another photo (screenshots not as
    references). With ``centre`` False, as before the centre hashes (for comparison). Returns
    (pairs, matched pairs, report lines)."""
    owners, labels, rows, row_refs = [], [], {"phash": [], "pdq": []}, {"phash": [], "pdq": []}
    for owner, (name, reference, copies) in enumerate(originals):
        for edit, media in [("original", reference), *copies.items()]:
            if edit in NOT_REFERENCES or isinstance(media, str):
                continue
            stored = media.reference_values() if centre else media.hashes
            for algorithm, codes in _global_codes(list(stored)).items():
                rows[algorithm] += list(codes)
                row_refs[algorithm] += [len(owners)] * len(codes)
            owners.append(owner)
            labels.append(f"{name} ({edit})")
    ref_owners = np.array(owners)
    matrix = {a: np.array(rows[a], dtype=np.uint64).reshape(len(rows[a]), _WORDS[a]) for a in rows}
    which = {a: np.array(row_refs[a], dtype=np.int64) for a in rows}
    pairs, matched = 0, []
    closest = {name: ALGORITHMS[name].bits for name in names("perceptual")}
    for owner, (name, reference, copies) in enumerate(originals):
        others = ref_owners != owner
        for edit, media in [("original", reference), *copies.items()]:
            if isinstance(media, str):
                continue
            query = _global_codes(
                [
                    item.value
                    for a in ("phash", "pdq")
                    for item in media.with_variants(a)
                    if centre or item.variant != CENTRE
                ]
            )
            pairs += int(others.sum())
            hit = np.zeros(len(owners), dtype=bool)
            for algorithm in names("perceptual"):
                limit = ALGORITHMS[algorithm].threshold
                if not len(query[algorithm]):
                    continue
                per_row = (
                    np.bitwise_count(query[algorithm][:, None, :] ^ matrix[algorithm][None])
                    .sum(axis=2)
                    .min(axis=0)
                )
                per_ref = np.full(len(owners), 1 << 16, dtype=np.int64)
                np.minimum.at(per_ref, which[algorithm], per_row)
                per_ref[~others] = 1 << 16
                closest[algorithm] = min(closest[algorithm], int(per_ref.min()))
                hit |= per_ref <= limit
            matched += [f"{name} ({edit}) -> {labels[row]}" for row in np.flatnonzero(hit)]
    rate = (
        f"rate {len(matched) / pairs:.2g}"
        if matched
        else f"rate 0, at most {3 / pairs:.1g} at 95% confidence"
    )
    lines = [
        f"pHash and PDQ with every variant ({'centre included' if centre else 'no centre'}), "
        f"every picture against every other "
        f"photo's copies: {len(matched)} of {pairs:,} unrelated pairs matched ({rate}); closest "
        f"unrelated pair: pdq {closest['pdq']} bits (match <= {PDQ.threshold}), "
        f"phash {closest['phash']} bits (match <= {PHASH.threshold})"
    ]
    lines += [f"  matched: {line}" for line in matched[:20]]
    return pairs, len(matched), lines
