"""Reference indexes: find the stored hashes within a distance of a query, one algorithm each.

`ReferenceIndex` is the interface a new index type implements. `BruteForceIndex` compares the query
with every reference; it is kept obviously correct because faster indexes are tested against it.
`ExactIndex` (`crawler.matching.exact`) serves sha256 and md5, where only equality counts;
`MultiIndexHashIndex` (`crawler.matching.multi_index`) is the fast perceptual index. Every index
keeps each reference's case, so that a `Matcher` needs nothing per reference beside its indexes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from crawler.hashing.algorithms import ALGORITHMS, names
from crawler.hashing.types import HashValue


@dataclass(frozen=True, slots=True)
class Reference:
    """A hash of known media to look for: ``id`` is unique per algorithm, ``case_id`` its case."""

    id: int
    case_id: int
    value: HashValue


class ReferenceIndex(ABC):
    """The references of one algorithm, queried by Hamming distance."""

    algorithm: str

    @abstractmethod
    def add(self, refs: Iterable[Reference]) -> None:
        """Add references; raises ValueError, adding none, if an id is already present."""

    @abstractmethod
    def add_codes(
        self, ids: np.ndarray, codes: np.ndarray, case_ids: np.ndarray | None = None
    ) -> None:
        """Add references from rows: ``ids`` (n,) integers, ``codes`` (n, bits/8) uint8, each
        row the bytes of ``bytes.fromhex(hex)``, and their ``case_ids`` (n,) (0 when not given).
        Raises ValueError, adding none, like `add`; the index keeps copies of the arrays."""

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> None:
        """Remove references by id; ids not in the index are ignored."""

    @abstractmethod
    def contains(self, ids: Iterable[int]) -> np.ndarray:
        """Which of ``ids`` are in the index, as a bool array."""

    @abstractmethod
    def case_ids(self, ids: Iterable[int]) -> list[int]:
        """The case of each of ``ids``; KeyError names the first id not in the index."""

    @abstractmethod
    def query(self, value: HashValue, max_distance: int) -> list[tuple[int, int]]:
        """``(reference id, distance)`` for every reference within ``max_distance``, nearest
        first, ties by id."""

    def query_codes(
        self, codes: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`query` for many hashes at once: ``codes`` (q, bits/8) uint8, each row the bytes of a
        hash's hex. Returns ``(row, reference id, distance)`` arrays, by row, then as `query`
        orders them: for every row, what `query` returns for it. This one asks `query` row by
        row; array-backed indexes answer all rows in one pass."""
        rows, ids, distances = [], [], []
        for row, code in enumerate(np.asarray(codes, dtype=np.uint8)):
            for ref_id, distance in self.query(
                HashValue(self.algorithm, code.tobytes().hex()), max_distance
            ):
                rows.append(row)
                ids.append(ref_id)
                distances.append(distance)
        return (
            np.array(rows, dtype=np.int64),
            np.array(ids, dtype=np.int64),
            np.array(distances, dtype=np.int64),
        )

    @abstractmethod
    def __len__(self) -> int: ...

    def code_hex(self, ref_id: int) -> str | None:
        """The hex of reference ``ref_id``'s hash, or None when it is not in the index."""
        return None

    @abstractmethod
    def codes_of_case(self, case_id: int) -> np.ndarray:
        """The packed hashes of case ``case_id``'s references, (n, bits/8) uint8, in no set
        order."""

    def _check_refs(self, refs: Iterable[Reference], present: Iterable[int]) -> list[Reference]:
        """The refs as a list, after checking algorithms and that no id is taken."""
        refs = list(refs)
        seen = set(present)
        for ref in refs:
            self._check_algorithm(ref.value, f"reference {ref.id}")
            if ref.id in seen:
                raise ValueError(
                    f"{self.algorithm} reference {ref.id} is already in the index; "
                    "remove it before adding it again"
                )
            seen.add(ref.id)
        return refs

    def _check_algorithm(self, value: HashValue, what: str) -> None:
        if value.algorithm != self.algorithm:
            raise ValueError(
                f"{what} is a {value.algorithm} hash but this index holds {self.algorithm}; "
                f"use the {value.algorithm} index"
            )


class BruteForceIndex(ReferenceIndex):
    """Perceptual hashes as rows of packed bytes; a query XORs and popcounts every row. It also
    keeps a check algorithm's hashes (crpdq), which the `Matcher` never queries, only reads by
    case (`codes_of_case`)."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in names("perceptual", "check"):
            raise ValueError(
                f"BruteForceIndex is for perceptual and check hashes "
                f"({', '.join(sorted(names('perceptual', 'check')))}), not {algorithm!r}; "
                "use ExactIndex for exact digests"
            )
        self.algorithm = algorithm
        self._ids = np.empty(0, dtype=np.int64)
        self._cases = np.empty(0, dtype=np.int64)
        self._codes = np.empty((0, ALGORITHMS[algorithm].bits // 8), dtype=np.uint8)

    def add(self, refs: Iterable[Reference]) -> None:
        refs = self._check_refs(refs, self._ids.tolist())
        if not refs:
            return
        ids = np.array([ref.id for ref in refs], dtype=np.int64)
        cases = np.array([ref.case_id for ref in refs], dtype=np.int64)
        codes = np.array([_packed(ref.value) for ref in refs], dtype=np.uint8)
        self._append(ids, codes, cases)

    def add_codes(
        self, ids: np.ndarray, codes: np.ndarray, case_ids: np.ndarray | None = None
    ) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.uint8)
        cases = np.zeros(len(ids), np.int64) if case_ids is None else np.asarray(case_ids, np.int64)
        if codes.shape != (len(ids), self._codes.shape[1]) or cases.shape != ids.shape:
            raise ValueError(
                f"{self.algorithm} codes must have shape (n, {self._codes.shape[1]}) for n ids "
                f"and n case ids; got ids {ids.shape}, codes {codes.shape}, cases {cases.shape}"
            )
        seen = set(self._ids.tolist())
        for ref_id in ids.tolist():
            if ref_id in seen:
                raise ValueError(
                    f"{self.algorithm} reference {ref_id} is already in the index; "
                    "remove it before adding it again"
                )
            seen.add(ref_id)
        self._append(ids, codes, cases)

    def _append(self, ids: np.ndarray, codes: np.ndarray, cases: np.ndarray) -> None:
        self._ids = np.concatenate([self._ids, ids])
        self._cases = np.concatenate([self._cases, cases])
        self._codes = np.concatenate([self._codes, codes])

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self._ids, np.fromiter(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._cases = self._cases[keep]
        self._codes = self._codes[keep]

    def contains(self, ids: Iterable[int]) -> np.ndarray:
        return np.isin(np.fromiter(ids, dtype=np.int64), self._ids)

    def case_ids(self, ids: Iterable[int]) -> list[int]:
        case_of = dict(zip(self._ids.tolist(), self._cases.tolist(), strict=True))
        cases = []
        for ref_id in ids:
            if ref_id not in case_of:
                raise KeyError(f"{self.algorithm} reference {ref_id} is not in the index")
            cases.append(case_of[ref_id])
        return cases

    def query(self, value: HashValue, max_distance: int) -> list[tuple[int, int]]:
        self._check_algorithm(value, "the query")
        _check_distance(max_distance)
        distances = np.bitwise_count(self._codes ^ _packed(value)).sum(axis=1, dtype=np.int64)
        hits = np.flatnonzero(distances <= max_distance)
        order = np.lexsort((self._ids[hits], distances[hits]))
        return [(int(self._ids[i]), int(distances[i])) for i in hits[order]]

    def __len__(self) -> int:
        return len(self._ids)

    def code_hex(self, ref_id: int) -> str | None:
        hit = np.flatnonzero(self._ids == ref_id)
        return self._codes[hit[0]].tobytes().hex() if len(hit) else None

    def codes_of_case(self, case_id: int) -> np.ndarray:
        return self._codes[self._cases == case_id]


def _packed(value: HashValue) -> np.ndarray:
    """The hash's bits as bytes, most significant first (the hex order)."""
    return np.frombuffer(bytes.fromhex(value.hex), dtype=np.uint8)


def _check_distance(max_distance: int) -> None:
    if max_distance < 0:
        raise ValueError(f"max_distance must be 0 or more, got {max_distance}")
