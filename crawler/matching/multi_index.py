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
either grows too large, the main structure is rebuilt from the live rows (`_RebuildingIndex`, in
`crawler.matching.rebuilding`, keeps that bookkeeping apart from the hashing; `ExactIndex` reuses
it). Ids and case ids are kept as int32 while they fit.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from crawler.matching.rebuilding import _distances, _RebuildingIndex

#: Bits per chunk in `MultiIndexHashIndex`: three chunks per 64-bit word, and an offset table
#: of 2**21 + 1 entries (8 MB) per chunk.
CHUNK_BITS = 21
#: Below this many references `MultiIndexHashIndex` scans its codes: its offset tables alone
#: take 8 MB per chunk (96 MB for PDQ), and a scan of this many codes takes well under 1 ms.
HASHED_FROM = 32_768
#: Multi-index hashing is used while the probed chunk values are at most this share of all
#: values; past that (large distances), a linear scan is cheaper.
MAX_PROBED_SHARE = 1 / 8
_BLOCK = 1 << 20


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

    def _search_main_many(
        self, codes: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`_search_main` for every row of ``codes`` in one pass of array operations: the probes
        of all rows are looked up and verified together (a video's frames and their variants
        are hundreds of queries; one by one, numpy's per-call cost would dominate)."""
        hashed = len(self._offsets) > 0
        plan = _probe_plan(len(self._chunks), CHUNK_BITS, max_distance) if hashed else None
        if plan is None:
            return super()._search_main_many(codes, max_distance)
        chunk_of, flips, table_start = plan
        big_endian = codes.view(">u8")
        mask = np.uint64((1 << CHUNK_BITS) - 1)
        keys = np.stack(
            [(big_endian[:, word] >> np.uint64(shift)) & mask for word, shift in self._chunks],
            axis=1,
        ).astype(np.int64)
        probes = (table_start[None, :] + (keys[:, chunk_of] ^ flips[None, :])).ravel()
        starts = self._offsets.take(probes).astype(np.int64)
        lengths = self._offsets.take(probes + 1) - starts
        total = int(lengths.sum())
        empty = np.empty(0, dtype=np.int64)
        if not total:
            return empty, empty, empty
        run_starts = starts - (np.cumsum(lengths) - lengths)
        candidates = self._postings.take(np.repeat(run_starts, lengths) + np.arange(total))
        rows = np.repeat(np.repeat(np.arange(len(codes)), len(chunk_of)), lengths)
        query_words = codes.view(np.uint64)
        counts = np.bitwise_count(self._words.take(candidates, axis=0) ^ query_words[rows])
        distances = counts[:, 0].astype(np.int64)  # column by column: 10x a sum over axis 1
        for column in range(1, counts.shape[1]):
            distances += counts[:, column]
        hits = distances <= max_distance
        keys_found = rows[hits] * len(self._words) + candidates[hits].astype(np.int64)
        unique, first = np.unique(keys_found, return_index=True)
        return (
            unique // len(self._words),
            unique % len(self._words),
            distances[hits][first],
        )

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
