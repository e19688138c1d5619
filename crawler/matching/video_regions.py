"""Reference videos' stored regions, as `VideoMatcher` keeps them: hashes, seconds, multi-index.

A `RegionTable` holds one kind of region of every reference video (its whole frames, or their
middles): ids numbered as regions are added, the seconds each one stands for (from its start
until the next one's), by id, and a `MultiIndexHashIndex` of their hashes. A video's regions of
one kind are a `Regions`: a run of consecutive ids in one table.

Everything lives in a few large arrays, never in arrays of one video: at 100,000 videos those
were 400,000 small arrays, and the hashes' ones, freed once the index held the hashes, stayed
in the C heap between the live ones (a peak of 2,092 MiB for 10M frames and 2.5M middles, of
which 1,336 MiB were arrays; `benchmarks.video_index`). Regions added since the last
`RegionTable.flush` wait in one growing array, which the index then adopts: the index holds the
only copy of the hashes.

Pure: numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crawler.matching.multi_index import MultiIndexHashIndex

#: Rows an empty `_Column` makes room for at its first append.
_FIRST_ROWS = 1024


class _Column:
    """An array appended to at its end (room doubles when full; untouched room costs no
    memory), read as ``values``: views stay valid, as rows are never changed."""

    def __init__(self, dtype: type, width: int | None = None) -> None:
        self._shape = () if width is None else (width,)
        self._data = np.empty((0, *self._shape), dtype)
        self.size = 0

    def append(self, rows: np.ndarray) -> None:
        end = self.size + len(rows)
        if end > len(self._data):
            rows_kept = max(end, 2 * len(self._data), _FIRST_ROWS)
            grown = np.empty((rows_kept, *self._shape), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = rows
        self.size = end

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]

    @property
    def nbytes(self) -> int:
        """Bytes of the rows held (not of the room kept for more)."""
        return self.values.nbytes


class RegionTable:
    """One kind of region of every reference video: seconds by id, hashes in a multi-index.

    Ids are never reused: a removed video's seconds stay (8 bytes a region) until the matcher
    is made anew, as a crawl does at its start."""

    def __init__(self, hashed_from: int) -> None:
        self.index = MultiIndexHashIndex("pdq", hashed_from=hashed_from)
        #: (first ids, video ids) of the videos with regions here, by first id (`VideoMatcher`).
        self.owners: tuple[np.ndarray, np.ndarray] | None = None
        self._starts = _Column(np.float32)
        self._ends = _Column(np.float32)
        self._pending = _Column(np.uint8, 32)  # hashes of ids _pending_first ... next_id - 1
        self._pending_first = 0
        self._dropped: list[Regions] = []  # pending regions of videos removed since

    @property
    def next_id(self) -> int:
        return self._starts.size

    @property
    def pending(self) -> bool:
        """Whether regions were added since the last `flush`."""
        return self._pending.size > 0

    def add(self, starts: np.ndarray, ends: np.ndarray, codes: np.ndarray) -> Regions:
        """One video's regions: their seconds and hashes, ``codes`` (n, 32) uint8."""
        regions = Regions(self, self.next_id, len(starts))
        self._starts.append(starts)
        self._ends.append(ends)
        self._pending.append(codes)
        self.owners = None
        return regions

    def remove(self, regions: Regions) -> None:
        if regions.first_id >= self._pending_first:
            self._dropped.append(regions)
        else:
            self.index.remove(regions.ids.tolist())
        self.owners = None

    def flush(self) -> None:
        """Put the regions added since the last flush into the index, in one go."""
        if not self.pending:
            return
        first = self._pending_first
        ids = np.arange(first, self.next_id, dtype=np.int64)
        codes = self._pending.values
        if self._dropped:
            keep = np.ones(len(ids), dtype=bool)
            for gone in self._dropped:
                keep[gone.first_id - first : gone.first_id - first + gone.count] = False
            ids, codes = ids[keep], codes[keep]
        # The index adopts the hashes: the table keeps no reference to them.
        self._pending, self._pending_first, self._dropped = _Column(np.uint8, 32), self.next_id, []
        self.index.add_codes(ids, codes, adopt=True)

    def starts(self, first: int, count: int) -> np.ndarray:
        return self._starts.values[first : first + count]

    def ends(self, first: int, count: int) -> np.ndarray:
        return self._ends.values[first : first + count]

    def codes(self, first: int, count: int) -> np.ndarray:
        """The hashes of ids ``first`` ... ``first + count - 1``, (count, 4) uint64: from the
        regions waiting for the index, or from the index."""
        if first >= self._pending_first:
            start = first - self._pending_first
            return self._pending.values[start : start + count].view(np.uint64)
        return self.index.codes_of_range(first, count).view(np.uint64)

    @property
    def nbytes(self) -> int:
        """Bytes held: the index, the seconds, the regions waiting for the index."""
        return self.index.nbytes + self._starts.nbytes + self._ends.nbytes + self._pending.nbytes


@dataclass(frozen=True, slots=True)
class Regions:
    """One reference video's regions of one kind: ids ``first_id`` ... in ``table``."""

    table: RegionTable
    first_id: int
    count: int

    def __len__(self) -> int:
        return self.count

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.first_id, self.first_id + self.count)

    @property
    def starts(self) -> np.ndarray:
        """Seconds of each region (float32)."""
        return self.table.starts(self.first_id, self.count)

    @property
    def ends(self) -> np.ndarray:
        """Seconds of the next region stored (or the video's end), float32."""
        return self.table.ends(self.first_id, self.count)

    @property
    def codes(self) -> np.ndarray:
        """The hashes, (count, 4) uint64."""
        return self.table.codes(self.first_id, self.count)
