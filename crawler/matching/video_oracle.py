"""The brute-force video matcher: `VideoMatcher`'s rule without its index, the contract tests'
oracle.

Pure: numpy, on `crawler.hashing` types.
"""

from __future__ import annotations

import numpy as np

from crawler.matching.video import VideoMatcher
from crawler.matching.video_frames import QueryFrames, distance_table


class BruteForceVideoMatcher(VideoMatcher):
    """`VideoMatcher`'s decisions from every reference frame, without the index or seeds: every
    query frame, in every variant, is compared with every frame of every reference video. Slow
    and obviously complete: the oracle the contract tests hold `VideoMatcher` to."""

    def _flush(self) -> None:
        """Nothing: the oracle keeps every reference's frames itself and has no index."""

    def _lookup(
        self, query: QueryFrames, rows: np.ndarray, max_distance: int, *, middles: bool = False
    ) -> tuple[np.ndarray, ...]:
        row_parts, id_parts, distance_parts = [], [], []
        for ref in self._refs.values():
            part = ref.middles if middles else ref.frames
            if part is None:
                continue
            distances = distance_table(query.codes[rows], part.codes)
            found, columns = np.nonzero(distances <= max_distance)
            row_parts.append(rows[found])
            id_parts.append(columns + part.first_id)
            distance_parts.append(distances[found, columns].astype(np.int64))
        if not row_parts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(row_parts), np.concatenate(id_parts), np.concatenate(distance_parts)

    def _candidates(self, query: QueryFrames) -> dict[int, np.ndarray]:
        """Every video, in every variant the query's frames are looked up in (seeds are not
        needed: the turns and mirrors any probed frame found something through)."""
        self._seeds(query)  # finds the common frames and the variants, as the fast one does
        return {video_id: query.families for video_id in self._refs}
