"""Reference indexes: find the stored hashes within a distance of a query, one algorithm each.

`ReferenceIndex` is the interface a new index type implements. `BruteForceIndex` compares the
query with every reference; it is kept obviously correct because faster indexes are tested
against it. `ExactIndex` serves sha256 and md5, where only equality counts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from crawler.hashing.types import ALGORITHM_BITS, EXACT_ALGORITHMS, PERCEPTUAL_ALGORITHMS, HashValue


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
    def remove(self, ids: Iterable[int]) -> None:
        """Remove references by id; ids not in the index are ignored."""

    @abstractmethod
    def query(self, value: HashValue, max_distance: int) -> list[tuple[int, int]]:
        """``(reference id, distance)`` for every reference within ``max_distance``, nearest
        first, ties by id."""

    @abstractmethod
    def __len__(self) -> int: ...

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
    """Perceptual hashes as rows of packed bytes; a query XORs and popcounts every row."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in PERCEPTUAL_ALGORITHMS:
            raise ValueError(
                f"BruteForceIndex is for perceptual hashes "
                f"({', '.join(sorted(PERCEPTUAL_ALGORITHMS))}), not {algorithm!r}; "
                "use ExactIndex for exact digests"
            )
        self.algorithm = algorithm
        self._ids = np.empty(0, dtype=np.int64)
        self._codes = np.empty((0, ALGORITHM_BITS[algorithm] // 8), dtype=np.uint8)

    def add(self, refs: Iterable[Reference]) -> None:
        refs = self._check_refs(refs, self._ids.tolist())
        if not refs:
            return
        ids = np.array([ref.id for ref in refs], dtype=np.int64)
        codes = np.array([_packed(ref.value) for ref in refs], dtype=np.uint8)
        self._ids = np.concatenate([self._ids, ids])
        self._codes = np.concatenate([self._codes, codes])

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self._ids, np.fromiter(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._codes = self._codes[keep]

    def query(self, value: HashValue, max_distance: int) -> list[tuple[int, int]]:
        self._check_algorithm(value, "the query")
        _check_distance(max_distance)
        distances = np.bitwise_count(self._codes ^ _packed(value)).sum(axis=1, dtype=np.int64)
        hits = np.flatnonzero(distances <= max_distance)
        order = np.lexsort((self._ids[hits], distances[hits]))
        return [(int(self._ids[i]), int(distances[i])) for i in hits[order]]

    def __len__(self) -> int:
        return len(self._ids)


class ExactIndex(ReferenceIndex):
    """Exact digests (sha256, md5): a dict from hex to the ids holding it."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in EXACT_ALGORITHMS:
            raise ValueError(
                f"ExactIndex is for exact digests ({', '.join(sorted(EXACT_ALGORITHMS))}), "
                f"not {algorithm!r}; use BruteForceIndex for perceptual hashes"
            )
        self.algorithm = algorithm
        self._by_hex: dict[str, set[int]] = {}
        self._hex_of: dict[int, str] = {}

    def add(self, refs: Iterable[Reference]) -> None:
        for ref in self._check_refs(refs, self._hex_of):
            self._by_hex.setdefault(ref.value.hex, set()).add(ref.id)
            self._hex_of[ref.id] = ref.value.hex

    def remove(self, ids: Iterable[int]) -> None:
        for ref_id in ids:
            hex_value = self._hex_of.pop(ref_id, None)
            if hex_value is None:
                continue
            holders = self._by_hex[hex_value]
            holders.discard(ref_id)
            if not holders:
                del self._by_hex[hex_value]

    def query(self, value: HashValue, max_distance: int = 0) -> list[tuple[int, int]]:
        self._check_algorithm(value, "the query")
        _check_distance(max_distance)
        return [(ref_id, 0) for ref_id in sorted(self._by_hex.get(value.hex, ()))]

    def __len__(self) -> int:
        return len(self._hex_of)


def _packed(value: HashValue) -> np.ndarray:
    """The hash's bits as bytes, most significant first (the hex order)."""
    return np.frombuffer(bytes.fromhex(value.hex), dtype=np.uint8)


def _check_distance(max_distance: int) -> None:
    if max_distance < 0:
        raise ValueError(f"max_distance must be 0 or more, got {max_distance}")
