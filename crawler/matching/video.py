"""Video matches, decided as vPDQ (Meta's video PDQ) decides them: by shares of matching frames.

    >>> matcher = VideoMatcher()
    >>> matcher.add(video_id=7, case_id=42, frames=reference_frames)
    >>> matcher.match(hash_video(data).values)  # [VideoMatch(7, 42, 1.0, 0.86, 7, 2)]

A frame of one video matches the other video when it is within `PDQ_MATCH_THRESHOLD` (31) bits
of any of that video's frames; frames of PDQ quality below `PDQ_MIN_QUALITY` (50: black, fades,
flat titles) are left out of both sides before counting, as vPDQ does. A query video matches a
reference when at least ``min_query_share`` of its frames match the reference *and* at least
``min_reference_share`` of the reference's frames match the query. Frame order and timing are not
used, so trims, frame-rate changes and re-muxes count only through the frames they keep.

References are meant to be sampled more densely than crawled videos (see
`crawler.hashing.video.REFERENCE_SECONDS_PER_SAMPLE`) and stored as `unique_frame_hashes`; the
defaults are chosen for that, and hold for references sampled like the query too.

Defaults, and why:

* ``min_query_share = 0.8``: vPDQ's query threshold (ThreatExchange's
  ``VPDQ_QUERY_MATCH_THRESHOLD_PERCENT``). Every usable frame of the re-encoded, resized,
  re-muxed, re-timed, rotated and trimmed copies in the tests is within 31 bits of a reference
  frame (share 1.0), while no frame of one unrelated video comes within 31 bits of another
  (closest: 108 bits).
* ``min_reference_share = 0.3``: vPDQ leaves this at 0, so a short clip of something many videos
  share (a site's intro card, a still shot) matches every long reference that contains it. 0.3
  keeps that out, yet accepts copies trimmed by 20% at both ends: measured 0.86-1.0 with steady
  footage, and 0.41-0.72 with fast camera motion against dense references, where a query sampled
  once a second is near only part of the reference's four samples a second.
  Clips under 30% of the reference, and compilations in which the reference is under 80% of the
  query, are *not* matched by default; lower the shares to catch them (more flags to review).

Brute force: every query frame is compared with every reference frame (XOR and popcount on packed
bits, vectorised with numpy), O(query frames x all reference frames): measured 0.26 s for a
600-frame query against 100,000 reference frames (1,000 videos). Past a few million reference
frames, put a PDQ index (`crawler.matching.multi_index`) in front to find candidate videos, and keep
this as the oracle it is tested against.

Pure: standard library and numpy, on `crawler.hashing` types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crawler.hashing.algorithms import PDQ
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from crawler.hashing.types import HashValue

DEFAULT_MIN_QUERY_SHARE = 0.8
DEFAULT_MIN_REFERENCE_SHARE = 0.3
#: Query frames are compared in blocks so the temporaries stay small and in cache (measured:
#: 64 MiB blocks were 2.4x slower than 16 MiB).
_BLOCK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A reference video the query matched, with the evidence: the shares of each video's usable
    frames that found a match in the other, the query frames that matched, and the smallest
    frame distance seen."""

    video_id: int
    case_id: int
    query_match_share: float
    reference_match_share: float
    frames_matched: int
    best_distance: int


@dataclass(frozen=True, slots=True)
class _Reference:
    case_id: int
    codes: np.ndarray  # (usable frames, 4) uint64: packed PDQ bits


class VideoMatcher:
    """Reference videos as lists of frame hashes, matched by frame shares (see the module)."""

    def __init__(
        self,
        *,
        distance: int = PDQ_MATCH_THRESHOLD,
        min_quality: int = PDQ_MIN_QUALITY,
        min_query_share: float = DEFAULT_MIN_QUERY_SHARE,
        min_reference_share: float = DEFAULT_MIN_REFERENCE_SHARE,
    ) -> None:
        if not 0 <= distance <= PDQ.bits:
            raise ValueError(f"distance {distance} is outside 0-{PDQ.bits} (bits of a PDQ hash)")
        for name, share in (
            ("min_query_share", min_query_share),
            ("min_reference_share", min_reference_share),
        ):
            if not 0 < share <= 1:
                raise ValueError(f"{name} {share} is outside (0, 1]; it is a share of frames")
        self.distance = distance
        self.min_quality = min_quality
        self.min_query_share = min_query_share
        self.min_reference_share = min_reference_share
        self._refs: dict[int, _Reference] = {}
        self._table: _Table | None = None

    def add(self, video_id: int, case_id: int, frames: Sequence[HashValue]) -> None:
        """Add a reference video by its frames' PDQ hashes. Frames below ``min_quality`` are
        dropped; a video left with none is kept but can never match (its digests still can)."""
        if video_id in self._refs:
            raise ValueError(
                f"reference video {video_id} is already in the matcher; remove it before adding "
                "it again"
            )
        self._refs[video_id] = _Reference(case_id, self._codes(frames, f"reference {video_id}"))
        self._table = None

    def remove(self, video_id: int) -> None:
        """Remove a reference video; an unknown id is ignored."""
        if self._refs.pop(video_id, None) is not None:
            self._table = None

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._refs

    def match(self, query_frames: Sequence[HashValue]) -> list[VideoMatch]:
        """Every reference video the query matches; the largest shares first, ties by id."""
        query = self._codes(query_frames, "the query")
        table = self._table_now()
        if len(query) == 0 or table.frames == 0:
            return []
        videos = len(table.ids)
        query_hits = np.zeros(videos, dtype=np.int64)
        reference_hit = np.zeros(table.frames, dtype=bool)
        best = np.full(videos, 257, dtype=np.int64)
        block = max(1, _BLOCK_BYTES // (table.frames * 8))
        for start in range(0, len(query), block):
            distances = _distances(query[start : start + block], table.words)
            close = distances <= self.distance
            reference_hit |= close.any(axis=0)
            # Per video (its frames are one run of columns): did each query frame match it?
            query_hits += np.logical_or.reduceat(close, table.starts, axis=1).sum(axis=0)
            nearest = np.minimum.reduceat(distances, table.starts, axis=1).min(axis=0)
            np.minimum(best, nearest, out=best)
        reference_hits = np.bincount(table.owner[reference_hit], minlength=videos)
        found = []
        for i in np.flatnonzero(query_hits):
            query_share = float(query_hits[i]) / len(query)
            reference_share = float(reference_hits[i]) / int(table.sizes[i])
            if query_share >= self.min_query_share and reference_share >= self.min_reference_share:
                video_id = int(table.ids[i])
                found.append(
                    VideoMatch(
                        video_id=video_id,
                        case_id=self._refs[video_id].case_id,
                        query_match_share=query_share,
                        reference_match_share=reference_share,
                        frames_matched=int(query_hits[i]),
                        best_distance=int(best[i]),
                    )
                )
        found.sort(key=lambda m: (-m.query_match_share, -m.reference_match_share, m.video_id))
        return found

    def _codes(self, frames: Sequence[HashValue], what: str) -> np.ndarray:
        """The usable frames' bits packed as rows of four uint64 words."""
        usable = []
        for number, value in enumerate(frames):
            if value.algorithm != "pdq":
                raise ValueError(
                    f"{what}: frame {number} is a {value.algorithm} hash; video frames are PDQ"
                )
            if value.quality is None or value.quality >= self.min_quality:
                usable.append(bytes.fromhex(value.hex))
        packed = np.frombuffer(b"".join(usable), dtype=np.uint8).reshape(-1, 32)
        return packed.view(np.uint64)

    def _table_now(self) -> _Table:
        if self._table is None:
            self._table = _Table.build(self._refs)
        return self._table


@dataclass(frozen=True, slots=True)
class _Table:
    """Every reference frame in one array, rebuilt after adds and removes, before a match."""

    ids: np.ndarray  # video ids, one per video with usable frames
    sizes: np.ndarray  # usable frames per video
    starts: np.ndarray  # per video: the index of its first frame
    owner: np.ndarray  # per frame: the index in ``ids`` of its video
    words: np.ndarray  # (4, frames) uint64: each frame's packed bits, one word per row

    @property
    def frames(self) -> int:
        return len(self.owner)

    @classmethod
    def build(cls, refs: dict[int, _Reference]) -> _Table:
        kept = sorted((video_id, ref) for video_id, ref in refs.items() if len(ref.codes))
        sizes = np.array([len(ref.codes) for _, ref in kept], dtype=np.int64)
        return cls(
            ids=np.array([video_id for video_id, _ in kept], dtype=np.int64),
            sizes=sizes,
            starts=np.cumsum(sizes) - sizes,
            owner=np.repeat(np.arange(len(kept)), sizes),
            words=np.ascontiguousarray(
                np.concatenate([ref.codes for _, ref in kept]).T
                if kept
                else np.empty((4, 0), dtype=np.uint64)
            ),
        )


def _distances(query: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Hamming distances, (query frames, reference frames), from query rows of four uint64
    words and the references' words as four contiguous columns (about 9x faster than rows)."""
    distances = np.bitwise_count(query[:, 0, None] ^ words[0][None, :]).astype(np.uint16)
    for word in range(1, 4):
        distances += np.bitwise_count(query[:, word, None] ^ words[word][None, :])
    return distances
