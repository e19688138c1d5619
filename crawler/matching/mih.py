"""Multi-index hashing: an exact range index for perceptual hashes, in numpy.

`MultiIndexHashIndex` returns exactly what `BruteForceIndex` returns, for every ``max_distance``;
the contract tests in ``tests/matching/test_index_contract.py`` hold it to that.

It cuts every hash into 21-bit chunks (three per 64-bit word; the word's last bit is in no chunk)
and keeps, per chunk, the positions of the references sorted by chunk value with an offset table
over all 2**21 values. A query looks up the chunk values near its own (see `_probe_plan` for why
that finds every match) and verifies the candidates on the full hash. ``python -m
benchmarks.index`` measures it against numpy brute force: a PDQ query at distance 31 over 10
million references takes about half a millisecond on one core (about 1,000 times faster), and
the index holds 935 MiB (1.5 GiB at the peak of a build).

The index is rebuilt from rows (`add_codes` takes ids and packed bytes) and never pickled. The
main structure covers the references present at the last rebuild, sorted by id. References added
since then wait in a small buffer that every query scans; removed ones are tombstoned. When
either grows too large, the main structure is rebuilt from the live rows (`_RebuildingIndex`
keeps that bookkeeping apart from the hashing, so another structure can reuse it).
"""

from __future__ import annotations

import functools
import math
from abc import abstractmethod
from collections.abc import Iterable

import numpy as np

from crawler.hashing.types import ALGORITHM_BITS, PERCEPTUAL_ALGORITHMS, HashValue
from crawler.matching.index import Reference, ReferenceIndex, _check_distance

#: Bits per chunk in `MultiIndexHashIndex`: three chunks per 64-bit word, and an offset table
#: of 2**21 + 1 entries (8 MB) per chunk.
CHUNK_BITS = 21
#: Below this many references `MultiIndexHashIndex` scans its codes: its offset tables alone
#: take 8 MB per chunk (96 MB for PDQ), and a scan of this many codes takes well under 1 ms.
HASHED_FROM = 32_768
#: Multi-index hashing is used while the probed chunk values are at most this share of all
#: values; past that (large distances), a linear scan is cheaper.
MAX_PROBED_SHARE = 1 / 8
_MIN_PENDING = 64
_MAX_PENDING = 16_384
_BLOCK = 1 << 20


class _RebuildingIndex(ReferenceIndex):
    """Id bookkeeping, the buffer of new references, tombstones and rebuilds; subclasses supply
    the main structure (`_build`, `_main_codes`, `_release`, `_search_main`)."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in PERCEPTUAL_ALGORITHMS:
            raise ValueError(
                f"{type(self).__name__} is for perceptual hashes "
                f"({', '.join(sorted(PERCEPTUAL_ALGORITHMS))}), not {algorithm!r}; "
                "use ExactIndex for exact digests"
            )
        self.algorithm = algorithm
        self._bits = ALGORITHM_BITS[algorithm]
        self._nbytes = self._bits // 8
        self._ids = np.empty(0, dtype=np.int64)  # main structure, sorted
        self._dead = np.empty(0, dtype=np.int64)  # sorted positions in the main structure
        self._new_ids = np.empty(0, dtype=np.int64)
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
        packed = bytes.fromhex("".join(ref.value.hex for ref in refs))
        self._add_checked(ids, np.frombuffer(packed, dtype=np.uint8).reshape(-1, self._nbytes))

    def add_codes(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add references from rows: ``ids`` (n,) integers and ``codes`` (n, bits/8) uint8, each
        row the bytes of ``bytes.fromhex(hex)``. Raises ValueError, adding none, like `add`.
        The index keeps copies, never the arrays given."""
        ids = np.asarray(ids, dtype=np.int64)
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if ids.ndim != 1 or codes.shape != (len(ids), self._nbytes):
            raise ValueError(
                f"{self.algorithm} codes must have shape (n, {self._nbytes}) for n ids "
                f"(the bytes of each hash's hex); got ids {ids.shape} and codes {codes.shape}"
            )
        self._check_new_ids(ids)
        self._add_checked(ids, codes)

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.fromiter(ids, dtype=np.int64)
        found, pos = self._locate(ids)
        if found.any():
            self._dead = np.union1d(self._dead, pos[found])
        if len(self._new_ids):
            keep = ~np.isin(self._new_ids, ids)
            self._new_ids, self._new_codes = self._new_ids[keep], self._new_codes[keep]
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
                live = ~_contains(self._dead, pos)
                pos, distances = pos[live], distances[live]
            id_parts.append(self._ids.take(pos))
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

    def __len__(self) -> int:
        return len(self._ids) - len(self._dead) + len(self._new_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (see the subclass for what else is counted)."""
        return self._ids.nbytes + self._dead.nbytes + self._new_ids.nbytes + self._new_codes.nbytes

    def _locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which ids are live in the main structure, and their positions there."""
        pos = np.searchsorted(self._ids, ids)
        found = pos < len(self._ids)
        found[found] = self._ids[pos[found]] == ids[found]
        found[found] = ~_contains(self._dead, pos[found])
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

    def _add_checked(self, ids: np.ndarray, codes: np.ndarray) -> None:
        if not len(ids):
            return
        pending = len(self._new_ids) + len(ids)
        if pending > min(_MAX_PENDING, max(_MIN_PENDING, len(self._ids) // 16)):
            self._rebuild(ids, codes)
        else:
            self._new_ids = np.concatenate([self._new_ids, ids])
            self._new_codes = np.concatenate([self._new_codes, codes])

    def _rebuild(self, ids: np.ndarray | None = None, codes: np.ndarray | None = None) -> None:
        """Build the main structure anew from the live references, the buffer and ids/codes."""
        id_parts, code_parts = [], []
        if len(self._ids):
            live = np.ones(len(self._ids), dtype=bool)
            live[self._dead] = False
            id_parts.append(self._ids[live])
            code_parts.append(self._main_codes()[live])
        id_parts.append(self._new_ids)
        code_parts.append(self._new_codes)
        if ids is not None and codes is not None:
            id_parts.append(ids)
            code_parts.append(codes)
        self._release()
        self._ids = self._new_ids = self._dead = np.empty(0, dtype=np.int64)
        self._new_codes = np.empty((0, self._nbytes), dtype=np.uint8)
        ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
        codes = np.concatenate(code_parts) if len(code_parts) > 1 else code_parts[0]
        del id_parts, code_parts
        if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
            order = np.argsort(ids, kind="stable")
            ids, codes = ids[order], codes[order]
        self._ids = ids
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


class MultiIndexHashIndex(_RebuildingIndex):
    """Multi-index hashing (Norouzi, Punjani and Fleet, 2012) over sorted posting arrays.

    Built only from ``hashed_from`` references on; a smaller index scans its codes.
    """

    def __init__(self, algorithm: str, *, hashed_from: int = HASHED_FROM) -> None:
        super().__init__(algorithm)
        self._hashed_from = hashed_from
        words = self._bits // 64
        # (word, shift in the word) per chunk, and the chunk's shift in the whole hash integer.
        self._chunks = [(k, 64 - CHUNK_BITS * (c + 1)) for k in range(words) for c in range(3)]
        self._shifts = [64 * (words - 1 - k) + shift for k, shift in self._chunks]
        self._release()

    @property
    def nbytes(self) -> int:
        """Bytes held: ids, codes, postings (4 bytes per reference per chunk), offset tables."""
        return super().nbytes + self._codes.nbytes + self._postings.nbytes + self._offsets.nbytes

    def _release(self) -> None:
        self._codes = np.empty((0, self._nbytes), dtype=np.uint8)
        self._words = self._codes.view(np.uint64)
        self._postings = np.empty(0, dtype=np.uint32)
        self._offsets = np.empty(0, dtype=np.uint32)

    def _main_codes(self) -> np.ndarray:
        return self._codes

    def _build(self, codes: np.ndarray) -> None:
        self._codes, self._words = codes, codes.view(np.uint64)
        n, chunks, size = len(codes), len(self._chunks), 1 << CHUNK_BITS
        if n < self._hashed_from:
            return
        offsets = np.empty((chunks, size + 1), np.uint32 if chunks * n < 2**32 else np.int64)
        postings = np.empty(chunks * n, dtype=np.uint32 if n < 2**32 else np.int64)
        big_endian = codes.view(">u8")
        for j, (word, shift) in enumerate(self._chunks):
            keys = ((big_endian[:, word] >> np.uint64(shift)) & np.uint64(size - 1)).astype(
                np.uint32
            )
            postings[j * n : (j + 1) * n] = np.argsort(keys)
            offsets[j, 0] = j * n
            offsets[j, 1:] = np.cumsum(np.bincount(keys, minlength=size)) + j * n
        self._postings, self._offsets = postings, offsets.reshape(-1)

    def _search_main(
        self, hex_value: str, words: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray]:
        hashed = len(self._offsets) > 0
        plan = _probe_plan(len(self._chunks), CHUNK_BITS, max_distance) if hashed else None
        if plan is None:
            return self._scan(words, max_distance)
        chunk_of, flips, table_start = plan
        number = int(hex_value, 16)
        keys = np.array([(number >> s) & ((1 << CHUNK_BITS) - 1) for s in self._shifts])
        probes = table_start + (keys[chunk_of] ^ flips)
        starts = self._offsets.take(probes).astype(np.int64)
        lengths = self._offsets.take(probes + 1) - starts
        total = int(lengths.sum())
        if not total:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        run_starts = starts - (np.cumsum(lengths) - lengths)
        candidates = self._postings.take(np.repeat(run_starts, lengths) + np.arange(total))
        distances = _distances(self._words.take(candidates, axis=0), words)
        hits = distances <= max_distance
        pos, first = np.unique(candidates[hits], return_index=True)
        return pos, distances[hits][first]

    def _scan(self, words: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
        pos_parts, distance_parts = [], []
        for start in range(0, len(self._words), _BLOCK):
            distances = _distances(self._words[start : start + _BLOCK], words)
            hits = np.flatnonzero(distances <= max_distance)
            pos_parts.append(hits + start)
            distance_parts.append(distances[hits])
        return np.concatenate(pos_parts), np.concatenate(distance_parts)


@functools.cache
def _probe_plan(
    chunks: int, bits: int, max_distance: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Which chunk values to look up: ``(chunk of each probe, bits to flip, table start)``,
    or None when a linear scan is cheaper.

    Why this finds every reference within ``r = max_distance`` (pigeonhole): the chunks are
    disjoint sets of bits, so their distances d_j add up to at most the full distance, <= r.
    Give chunk j a radius rho_j (-1: not probed) with sum(rho_j + 1) = r + 1. If every chunk
    had d_j > rho_j, then sum(d_j) >= sum(rho_j + 1) = r + 1 > r, which is impossible. So some
    chunk has d_j <= rho_j, and the reference appears under one of the values within rho_j of
    the query's chunk j, which are all probed. The radii are as even as possible: for PDQ
    (12 chunks) at r = 31, eight chunks at radius 2 and four at radius 1 (2,032 probes).
    """
    full, extra = divmod(max_distance + 1, chunks)
    radii = [full] * extra + [full - 1] * (chunks - extra)
    share = sum(_ball(bits, radius) for radius in radii if radius >= 0) / 2**bits
    if share > MAX_PROBED_SHARE:
        return None
    chunk_of, flips = [], []
    for j, radius in enumerate(radii):
        if radius >= 0:
            masks = _flips(bits, radius)
            chunk_of.append(np.full(len(masks), j, dtype=np.int64))
            flips.append(masks)
    chunk_of_all = np.concatenate(chunk_of)
    return chunk_of_all, np.concatenate(flips), chunk_of_all * ((1 << bits) + 1)


def _ball(bits: int, radius: int) -> int:
    """How many values of ``bits`` bits lie within ``radius`` of a given one."""
    return sum(math.comb(bits, i) for i in range(min(radius, bits) + 1))


@functools.cache
def _flips(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit mask with at most ``radius`` bits set."""
    masks = np.arange(1 << bits, dtype=np.int64)
    return masks[np.bitwise_count(masks) <= radius]


def _distances(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance from each row of ``words`` (n, w) uint64 to ``query`` (w,), as int64."""
    counts = np.bitwise_count(words ^ query)
    total = counts[:, 0].astype(np.int64)
    for column in range(1, counts.shape[1]):
        total += counts[:, column]
    return total


def _contains(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in ``sorted_values``."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[at] == values
