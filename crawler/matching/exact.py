"""`ExactIndex`: sha256 and md5 references, where only equal digests count.

The digests are rows of bytes in id order (`_RebuildingIndex` keeps ids, cases, the buffer of new
references and tombstones), with their first 8 bytes as sorted keys beside them: a query looks its
key up by binary search and compares the few rows under it in full. About 50 bytes a sha256
reference, no Python object per reference.
"""

from __future__ import annotations

import numpy as np

from crawler.hashing.algorithms import names
from crawler.hashing.types import HashValue
from crawler.matching.index import _check_distance
from crawler.matching.rebuilding import _distances, _RebuildingIndex


class ExactIndex(_RebuildingIndex):
    """Exact digests (sha256, md5): a query finds the references with an equal digest, whatever
    ``max_distance`` is."""

    serves = names("exact")
    kind = "exact digests"
    otherwise = "use BruteForceIndex for perceptual hashes"

    def __init__(self, algorithm: str) -> None:
        super().__init__(algorithm)
        self._release()

    def query(self, value: HashValue, max_distance: int = 0) -> list[tuple[int, int]]:
        _check_distance(max_distance)
        return super().query(value, 0)

    @property
    def nbytes(self) -> int:
        """Bytes held: ids, cases, digests, sorted keys and their row order."""
        return super().nbytes + self._codes.nbytes + self._keys.nbytes + self._order.nbytes

    def _release(self) -> None:
        self._codes = np.empty((0, self._nbytes), dtype=np.uint8)
        self._keys = np.empty(0, dtype=np.uint64)
        self._order = np.empty(0, dtype=np.uint32)

    def _main_codes(self) -> np.ndarray:
        return self._codes

    def _build(self, codes: np.ndarray) -> None:
        self._codes = codes
        keys = codes[:, :8].copy().view(">u8").reshape(-1).astype(np.uint64)
        order = np.argsort(keys, kind="stable")
        self._order = order.astype(np.uint32 if len(codes) < 2**32 else np.int64)
        self._keys = keys[order]

    def _search_main(
        self, hex_value: str, words: np.ndarray, max_distance: int
    ) -> tuple[np.ndarray, np.ndarray]:
        key = np.uint64(int(hex_value[:16], 16))
        start = np.searchsorted(self._keys, key, side="left")
        stop = np.searchsorted(self._keys, key, side="right")
        candidates = np.sort(self._order[start:stop].astype(np.int64))
        rows = self._codes.view(np.uint64).take(candidates, axis=0)
        equal = _distances(rows, words) == 0
        pos = candidates[equal]
        return pos, np.zeros(len(pos), dtype=np.int64)
