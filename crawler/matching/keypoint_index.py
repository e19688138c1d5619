"""`KeypointIndex`: crhash references, screened in bulk before each is verified.

A crhash (`crawler.hashing.crhash`) is a set of up to `MAX_KEYPOINTS` keypoints, not one hash a
Hamming index could hold. The index keeps the references as arrays (ids, cases, keypoint codes
padded to `MAX_KEYPOINTS`, keypoint counts), with no Python object per reference, and screens
them all at once: a reference is a candidate when at least ``min_inliers`` of its keypoints have
a descriptor within `DESCRIPTOR_THRESHOLD` of one of the media's keypoints. A crop match needs
that many keypoints found in place (`crop_evidence`), so screening drops no match; the `Matcher`
verifies the candidates. tests/matching/test_keypoint_index.py holds the screen to a plain
count over every reference, the brute-force oracle, as the perceptual indexes are held to
`BruteForceIndex`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crawler.hashing.crhash import DESCRIPTOR_THRESHOLD, MAX_KEYPOINTS, codes_of
from crawler.hashing.types import HashValue
from crawler.matching.rebuilding import CaseRows

#: References are screened this many at a time (bounds the memory of one screening).
SCREEN_BATCH = 4096
#: A code's lowest 16 bits are its position; the descriptor sits above them.
_POSITION_BITS = np.uint64(16)


def keypoint_codes(values: Sequence[HashValue]) -> tuple[np.ndarray, np.ndarray]:
    """The keypoints of crhash values as rows: codes (n, `MAX_KEYPOINTS`) uint64, zero-padded,
    and how many each row holds (n,) uint8."""
    codes = np.zeros((len(values), MAX_KEYPOINTS), dtype=np.uint64)
    counts = np.zeros(len(values), dtype=np.uint8)
    for row, value in enumerate(values):
        found = codes_of(value)
        codes[row, : len(found)] = found
        counts[row] = len(found)
    return codes, counts


class KeypointIndex:
    """crhash references as arrays, screened in bulk (see the module).

    References added since the last screening wait in a list of parts and are merged, sorted
    by id, when the index is next read; ``screen_batch`` exists so tests can cross batches.
    """

    def __init__(self, *, screen_batch: int = SCREEN_BATCH) -> None:
        self._screen_batch = screen_batch
        self._ids = np.empty(0, dtype=np.int64)
        self._cases = np.empty(0, dtype=np.int64)
        self._codes = np.empty((0, MAX_KEYPOINTS), dtype=np.uint64)
        self._counts = np.empty(0, dtype=np.uint8)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._by_case: CaseRows | None = None  # made when `of_case` is first asked

    def add(
        self, ids: np.ndarray, cases: np.ndarray, codes: np.ndarray, counts: np.ndarray
    ) -> None:
        """Add rows (`keypoint_codes` gives ``codes`` and ``counts``) whose ids are new: the
        caller checks, as `Matcher.add` does with `contains`."""
        self._pending.append((ids, cases, codes, counts))

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are in the index, as a bool array."""
        self._merge()
        return np.isin(ids, self._ids)

    def remove(self, ids: np.ndarray) -> int:
        """Remove rows by id; returns how many were there."""
        self._merge()
        keep = ~np.isin(self._ids, ids)
        removed = len(keep) - int(keep.sum())
        if removed:
            self._by_case = None
            self._ids, self._cases = self._ids[keep], self._cases[keep]
            self._codes, self._counts = self._codes[keep], self._counts[keep]
        return removed

    def __len__(self) -> int:
        return len(self._ids) + sum(len(part[0]) for part in self._pending)

    def screen(self, probe: np.ndarray, min_inliers: int) -> list[tuple[int, int, np.ndarray]]:
        """``(id, case, keypoint codes)`` of the references with at least ``min_inliers``
        keypoints whose descriptor is near one in ``probe`` (codes, `probe_codes`), by id."""
        self._merge()
        probe_descriptors = probe >> _POSITION_BITS
        slots = np.arange(MAX_KEYPOINTS)
        rows = []
        for start in range(0, len(self._ids), self._screen_batch):
            stop = start + self._screen_batch
            descriptors = self._codes[start:stop] >> _POSITION_BITS
            distances = np.bitwise_count(descriptors[:, :, None] ^ probe_descriptors[None, None, :])
            valid = slots[None, :] < self._counts[start:stop, None]
            near = (distances <= DESCRIPTOR_THRESHOLD).any(axis=2) & valid
            rows.append(np.flatnonzero(near.sum(axis=1) >= min_inliers) + start)
        found = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        return [
            (int(self._ids[row]), int(self._cases[row]), self._codes[row, : self._counts[row]])
            for row in found.tolist()
        ]

    def of_case(self, case_id: int) -> list[np.ndarray]:
        """The keypoint codes of each of a case's references, by id (a binary search of the
        rows sorted by case, made on the first call after a change)."""
        self._merge()
        if self._by_case is None:
            self._by_case = CaseRows(self._cases)
        return [
            self._codes[row, : self._counts[row]] for row in self._by_case.rows(case_id).tolist()
        ]

    def codes_of(self, ref_id: int) -> np.ndarray | None:
        """The keypoint codes of reference ``ref_id``, or None when it is not in the index."""
        self._merge()
        row = int(np.searchsorted(self._ids, ref_id))
        if row == len(self._ids) or self._ids[row] != ref_id:
            return None
        return self._codes[row, : self._counts[row]]

    def _merge(self) -> None:
        if not self._pending:
            return
        parts = [(self._ids, self._cases, self._codes, self._counts), *self._pending]
        ids, cases, codes, counts = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(ids, kind="stable")
        self._ids, self._cases = ids[order], cases[order]
        self._codes, self._counts = codes[order], counts[order]
        self._pending = []
        self._by_case = None
