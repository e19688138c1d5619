"""Compact storage shared by the array-backed indexes: rows of ids, cases and packed hashes.

`_RebuildingIndex` keeps the id bookkeeping of an index whose main structure is built in one go
from rows: the buffer of references added since the last build, tombstones for removed ones, and
rebuilds when either grows too large. Every reference costs a few numpy bytes (its id and case,
as int32 while they fit, and its hash's bytes), never a Python object, so that a crawl can hold
millions of them (`benchmarks.index` measures it). Subclasses supply the main structure
(`_build`, `_main_codes`, `_release`, `_search_main`): `MultiIndexHashIndex` for perceptual
hashes, `ExactIndex` for digests.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable

import numpy as np

from crawler.hashing.algorithms import ALGORITHMS, names
from crawler.hashing.types import HashValue
from crawler.matching.index import Reference, ReferenceIndex, _check_distance

_MIN_PENDING = 64
_MAX_PENDING = 16_384
_INT32 = np.iinfo(np.int32)


class _RebuildingIndex(ReferenceIndex):
    """Id bookkeeping, the buffer of new references, tombstones and rebuilds."""

    #: The algorithms this kind of index serves, and what to use for the others.
    serves = names("perceptual")
    kind = "perceptual hashes"
    otherwise = "use ExactIndex for exact digests"

    def __init__(self, algorithm: str) -> None:
        if algorithm not in self.serves:
            raise ValueError(
                f"{type(self).__name__} is for {self.kind}"
                f" ({', '.join(sorted(self.serves))}), not {algorithm!r}; {self.otherwise}"
            )
        self.algorithm = algorithm
        self._bits = ALGORITHMS[algorithm].bits
        self._nbytes = self._bits // 8
        self._ids = np.empty(0, dtype=np.int32)  # main structure, sorted
        self._cases = np.empty(0, dtype=np.int32)  # the case of each row of the main structure
        self._dead = np.empty(0, dtype=np.int64)  # sorted positions in the main structure
        #: The main structure's rows by case (`CaseRows`), made when first asked for.
        self._by_case: CaseRows | None = None
        self._new_ids = np.empty(0, dtype=np.int64)
        self._new_cases = np.empty(0, dtype=np.int64)
        self._new_codes = np.empty((0, self._nbytes), dtype=np.uint8)

    def add(self, refs: Iterable[Reference]) -> None:
        refs = list(refs)
        # Report the same problem as BruteForceIndex: the first bad reference, in order.
        bad = next((i for i, ref in enumerate(refs) if ref.value.algorithm != self.algorithm), None)
        checked = refs if bad is None else refs[:bad]
        ids = np.fromiter((ref.id for ref in checked), dtype=np.int64, count=len(checked))
        self._check_new_ids(ids)
        if bad is not None:
            self._check_algorithm(refs[bad].value, f"reference {refs[bad].id}")
        cases = np.fromiter((ref.case_id for ref in refs), dtype=np.int64, count=len(refs))
        packed = bytes.fromhex("".join(ref.value.hex for ref in refs))
        codes = np.frombuffer(packed, dtype=np.uint8).reshape(-1, self._nbytes)
        self._add_checked(ids, codes, cases)

    def add_codes(
        self,
        ids: np.ndarray,
        codes: np.ndarray,
        case_ids: np.ndarray | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        """Add references from rows: ``ids`` (n,) integers, ``codes`` (n, bits/8) uint8, each
        row the bytes of ``bytes.fromhex(hex)``, and their ``case_ids`` (n,) (0 when not given:
        an index used on its own needs no cases). Raises ValueError, adding none, like `add`.
        The index keeps copies, never the arrays given, unless ``adopt`` says the caller hands
        ``codes`` over (and will not change it): a first load into an empty index then builds
        on it without a second copy of every hash at its peak."""
        ids = np.asarray(ids, dtype=np.int64)
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        cases = np.zeros(len(ids), np.int64) if case_ids is None else np.asarray(case_ids, np.int64)
        if ids.ndim != 1 or codes.shape != (len(ids), self._nbytes) or cases.shape != ids.shape:
            raise ValueError(
                f"{self.algorithm} codes must have shape (n, {self._nbytes}) for n ids and n "
                f"case ids (the bytes of each hash's hex); got ids {ids.shape}, codes "
                f"{codes.shape} and case ids {cases.shape}"
            )
        self._check_new_ids(ids)
        self._add_checked(ids, codes, cases, adopt=adopt)

    def contains(self, ids: Iterable[int]) -> np.ndarray:
        ids = np.fromiter(ids, dtype=np.int64)
        return self._locate(ids)[0] | np.isin(ids, self._new_ids)

    def case_ids(self, ids: Iterable[int]) -> list[int]:
        ids = np.fromiter(ids, dtype=np.int64)
        found, pos = self._locate(ids)
        cases = np.zeros(len(ids), dtype=np.int64)
        cases[found] = self._cases.take(pos[found])
        rest = ~found
        if rest.any():
            cases[rest] = self._new_cases[self._new_rows(ids[rest])]
        return cases.tolist()

    def code_hex(self, ref_id: int) -> str | None:
        found, pos = self._locate(np.array([ref_id], dtype=np.int64))
        if found[0]:
            return self._main_codes()[pos[0]].tobytes().hex()
        hit = np.flatnonzero(self._new_ids == ref_id)
        return self._new_codes[hit[0]].tobytes().hex() if len(hit) else None

    def codes_of_range(self, first: int, count: int) -> np.ndarray:
        """The packed hashes of ids ``first`` ... ``first + count - 1`` (all in the index), as
        :meth:`codes_of` gives them; a view of the main structure's rows when they lie there
        side by side (ids added in order and none removed), as a video's regions do."""
        ids = self._ids
        if count and len(ids) and first <= np.iinfo(ids.dtype).max:
            # The id in the ids' own type: a Python int against int32 ids made numpy convert all
            # of them first (6 ms a call at 10M frames, a third of a query's time).
            pos = int(np.searchsorted(ids, ids.dtype.type(first)))
            last = pos + count - 1
            dead = np.searchsorted(self._dead, [pos, last + 1]) if len(self._dead) else (0, 0)
            in_place = last < len(ids) and ids[pos] == first and ids[last] == first + count - 1
            if in_place and dead[0] == dead[1]:
                return self._main_codes()[pos : last + 1]
        return self.codes_of(np.arange(first, first + count, dtype=np.int64))

    def codes_of(self, ids: np.ndarray) -> np.ndarray:
        """The packed hashes of ``ids`` (all in the index), (n, bits/8) uint8, in their order:
        for a caller that keeps no copy of the rows it added."""
        ids = np.asarray(ids, dtype=np.int64)
        found, pos = self._locate(ids)
        codes = np.empty((len(ids), self._nbytes), dtype=np.uint8)
        if found.any():
            codes[found] = self._main_codes()[pos[found]]
        rest = ~found
        if rest.any():
            codes[rest] = self._new_codes[self._new_rows(ids[rest])]
        return codes

    def codes_of_case(self, case_id: int) -> np.ndarray:
        if self._by_case is None:
            self._by_case = CaseRows(self._cases)
        rows = self._by_case.rows(case_id)
        if len(self._dead):
            rows = rows[~sorted_contains(self._dead, rows)]
        new = self._new_codes[self._new_cases == case_id]
        return np.concatenate([self._main_codes()[rows], new]) if len(rows) else new

    def _new_rows(self, ids: np.ndarray) -> np.ndarray:
        """Where ``ids``, none of them in the main structure, sit among the rows added since the
        last rebuild; a KeyError names the first id that is in neither."""
        order = np.argsort(self._new_ids, kind="stable")
        new_pos, in_new = _search(self._new_ids[order], ids)
        if not in_new.all():
            missing = int(ids[np.argmin(in_new)])
            raise KeyError(f"{self.algorithm} reference {missing} is not in the index")
        return order[new_pos]

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.fromiter(ids, dtype=np.int64)
        found, pos = self._locate(ids)
        if found.any():
            self._dead = np.union1d(self._dead, pos[found])
        if len(self._new_ids):
            keep = ~np.isin(self._new_ids, ids)
            self._new_ids, self._new_codes = self._new_ids[keep], self._new_codes[keep]
            self._new_cases = self._new_cases[keep]
        if len(self._dead) > max(_MIN_PENDING, len(self._ids) // 8):
            self._rebuild()

    def query(self, value: HashValue, max_distance: int) -> list[tuple[int, int]]:
        self._check_algorithm(value, "the query")
        _check_distance(max_distance)
        words = np.frombuffer(bytes.fromhex(value.hex), dtype=np.uint64)
        id_parts, distance_parts = [], []
        if len(self._ids):
            pos, distances = self._search_main(value.hex, words, max_distance)
            if len(self._dead):
                live = ~sorted_contains(self._dead, pos)
                pos, distances = pos[live], distances[live]
            id_parts.append(self._ids.take(pos).astype(np.int64))
            distance_parts.append(distances)
        if len(self._new_ids):
            distances = _distances(self._new_codes.view(np.uint64), words)
            hits = distances <= max_distance
            id_parts.append(self._new_ids[hits])
            distance_parts.append(distances[hits])
        if not id_parts:
            return []
        ids, distances = np.concatenate(id_parts), np.concatenate(distance_parts)
        order = np.lexsort((ids, distances))
        return list(zip(ids[order].tolist(), distances[order].tolist(), strict=True))

    def query_codes(
        self, codes: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`query` for many hashes at once: ``codes`` (q, bits/8) uint8, each row the bytes of a
        hash's hex. Returns ``(row, reference id, distance)`` arrays, one entry per reference
        within ``max_distance`` of a row, by row, then distance, then id: for every row, what
        `query` returns for it."""
        _check_distance(max_distance)
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] != self._nbytes:
            raise ValueError(
                f"{self.algorithm} query codes must have shape (q, {self._nbytes}); got "
                f"{codes.shape}"
            )
        words = codes.view(np.uint64)
        row_parts, id_parts, distance_parts = [], [], []
        if len(self._ids) and len(codes):
            rows, pos, distances = self._search_main_many(codes, max_distance)
            if len(self._dead):
                live = ~sorted_contains(self._dead, pos)
                rows, pos, distances = rows[live], pos[live], distances[live]
            row_parts.append(rows)
            id_parts.append(self._ids.take(pos).astype(np.int64))
            distance_parts.append(distances)
        if len(self._new_ids) and len(codes):
            new_words = self._new_codes.view(np.uint64)
            for row in range(len(codes)):
                distances = _distances(new_words, words[row])
                hits = np.flatnonzero(distances <= max_distance)
                row_parts.append(np.full(len(hits), row, dtype=np.int64))
                id_parts.append(self._new_ids[hits])
                distance_parts.append(distances[hits])
        if not row_parts:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        rows = np.concatenate(row_parts)
        ids, distances = np.concatenate(id_parts), np.concatenate(distance_parts)
        order = np.lexsort((ids, distances, rows))
        return rows[order], ids[order], distances[order]

    def _search_main_many(
        self, codes: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, position, distance)`` in the main structure for each row of ``codes``: one
        `_search_main` per row unless a subclass does better."""
        row_parts, pos_parts, distance_parts = [], [], []
        for row, code in enumerate(codes):
            pos, distances = self._search_main(
                code.tobytes().hex(), code.view(np.uint64), max_distance
            )
            row_parts.append(np.full(len(pos), row, dtype=np.int64))
            pos_parts.append(pos.astype(np.int64))
            distance_parts.append(distances.astype(np.int64))
        return np.concatenate(row_parts), np.concatenate(pos_parts), np.concatenate(distance_parts)

    def __len__(self) -> int:
        return len(self._ids) - len(self._dead) + len(self._new_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (see the subclass for what else is counted), the
        rows by case included once `codes_of_case` has made them."""
        by_case = self._by_case
        return sum(
            array.nbytes
            for array in (
                self._ids,
                self._cases,
                self._dead,
                self._new_ids,
                self._new_cases,
                self._new_codes,
                *(() if by_case is None else (by_case.order, by_case.cases)),
            )
        )

    def _locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which ids are live in the main structure, and their positions there."""
        pos, found = _search(self._ids, ids)
        found[found] = ~sorted_contains(self._dead, pos[found])
        return found, pos

    def _check_new_ids(self, ids: np.ndarray) -> None:
        taken = np.ones(len(ids), dtype=bool)
        taken[np.unique(ids, return_index=True)[1]] = False  # repeats within the batch
        taken |= self._locate(ids)[0] | np.isin(ids, self._new_ids)
        if taken.any():
            ref_id = int(ids[np.argmax(taken)])
            raise ValueError(
                f"{self.algorithm} reference {ref_id} is already in the index; "
                "remove it before adding it again"
            )

    def _add_checked(
        self, ids: np.ndarray, codes: np.ndarray, cases: np.ndarray, *, adopt: bool = False
    ) -> None:
        if not len(ids):
            return
        pending = len(self._new_ids) + len(ids)
        if pending > min(_MAX_PENDING, max(_MIN_PENDING, len(self._ids) // 16)):
            self._rebuild(ids, codes, cases, adopt=adopt)
        else:
            self._new_ids = np.concatenate([self._new_ids, ids])
            self._new_codes = np.concatenate([self._new_codes, codes])
            self._new_cases = np.concatenate([self._new_cases, cases])

    def _rebuild(
        self,
        ids: np.ndarray | None = None,
        codes: np.ndarray | None = None,
        cases: np.ndarray | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        """Build the main structure anew from the live references, the buffer and new rows
        (``codes`` used as they are when ``adopt``ed and nothing else is there)."""
        id_parts, code_parts, case_parts = [], [], []
        if len(self._ids):
            live = np.ones(len(self._ids), dtype=bool)
            live[self._dead] = False
            id_parts.append(self._ids[live].astype(np.int64))
            code_parts.append(self._main_codes()[live])
            case_parts.append(self._cases[live].astype(np.int64))
        if len(self._new_ids) or not adopt:
            id_parts.append(self._new_ids)
            code_parts.append(self._new_codes)
            case_parts.append(self._new_cases)
        if ids is not None and codes is not None and cases is not None:
            id_parts.append(ids)
            code_parts.append(codes)
            case_parts.append(cases)
        self._release()
        self._ids = self._cases = np.empty(0, dtype=np.int32)
        self._new_ids = self._new_cases = self._dead = np.empty(0, dtype=np.int64)
        self._new_codes = np.empty((0, self._nbytes), dtype=np.uint8)
        ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
        codes = np.concatenate(code_parts) if len(code_parts) > 1 else code_parts[0]
        cases = np.concatenate(case_parts) if len(case_parts) > 1 else case_parts[0]
        del id_parts, code_parts, case_parts
        if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
            order = np.argsort(ids, kind="stable")
            ids, codes, cases = ids[order], codes[order], cases[order]
        self._ids, self._cases = _compact(ids), _compact(cases)
        self._by_case = None
        del ids, cases
        self._build(np.ascontiguousarray(codes))

    @abstractmethod
    def _build(self, codes: np.ndarray) -> None:
        """Build the main structure over ``codes`` (row i belongs to ``self._ids[i]``)."""

    @abstractmethod
    def _main_codes(self) -> np.ndarray:
        """The main structure's codes, (n, bits/8) uint8, in position order."""

    @abstractmethod
    def _release(self) -> None:
        """Drop the main structure."""

    @abstractmethod
    def _search_main(
        self, hex_value: str, words: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unique positions in the main structure within ``max_distance``, and distances."""


class CaseRows:
    """The rows of a case column, found by binary search: the column's order by case (int32
    where it fits) and the cases in that order, 8 bytes a row, instead of a scan of the whole
    column per case (10 million rows: about 5 ms)."""

    def __init__(self, cases: np.ndarray) -> None:
        order = np.argsort(cases, kind="stable")
        self.order = _compact(order) if len(order) else order
        self.cases = cases[order]

    def rows(self, case_id: int) -> np.ndarray:
        """The rows of ``case_id``, in order."""
        if not len(self.cases):
            return np.empty(0, dtype=np.int64)
        info = np.iinfo(self.cases.dtype)
        if not info.min <= case_id <= info.max:
            return np.empty(0, dtype=np.int64)
        wanted = self.cases.dtype.type(case_id)
        first = int(np.searchsorted(self.cases, wanted, side="left"))
        last = int(np.searchsorted(self.cases, wanted, side="right"))
        return self.order[first:last].astype(np.int64)


def _compact(values: np.ndarray) -> np.ndarray:
    """``values`` (int64) as int32 when they all fit: half the memory for database ids."""
    if not len(values) or (values.min() >= _INT32.min and values.max() <= _INT32.max):
        return values.astype(np.int32)
    return values


def _search(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` (int64) in ``sorted_ids`` (int32 or int64), and which are there;
    ``ids`` are cast to the array's type, so that the array is never copied."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    limits = np.iinfo(sorted_ids.dtype)
    inside = (ids >= limits.min) & (ids <= limits.max)
    needles = np.clip(ids, limits.min, limits.max).astype(sorted_ids.dtype)
    pos = np.searchsorted(sorted_ids, needles)
    at = np.minimum(pos, len(sorted_ids) - 1)
    return pos, inside & (pos < len(sorted_ids)) & (sorted_ids[at] == needles)


def _distances(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance from each row of ``words`` (n, w) uint64 to ``query`` (w,), as int64."""
    counts = np.bitwise_count(words ^ query)
    total = counts[:, 0].astype(np.int64)
    for column in range(1, counts.shape[1]):
        total += counts[:, column]
    return total


def sorted_contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in ``sorted_values``."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[at] == values
