"""Video matches by temporal alignment: a run of frames that agrees with one offset and one speed.

    >>> matcher = VideoMatcher()
    >>> matcher.add(video_id=7, case_id=42, frames=reference_frames, duration=60.0)
    >>> [m] = matcher.match(hash_video(data).frames)
    >>> m.reference_start, m.reference_end, m.speed, m.variant  # 42.0, 97.0, 1.25, "flipx"

A query video matches a reference video when enough of its sampled frames agree with one line
``reference time = offset + speed * query time`` (`crawler.matching.alignment`), with the speed
between 0.5x and 2x: a whole copy, an excerpt of the reference, or a compilation holding part of
it, sped up or slowed down, each in any of the eight turns and mirrors, letterboxed or not.

How a query is decided:

1. Frames of PDQ quality below ``min_quality`` (black, fades, flat titles) are dropped on both
   sides. Every query frame is looked up, in each of its variants (`FrameHash.variants`: turns,
   mirrors, and the picture inside letterbox bars), in a multi-index of every reference frame
   (`MultiIndexHashIndex`) within ``seed_distance`` bits: the seeds.
2. A query frame whose seeds fall in more than ``max_videos_per_frame`` reference videos is
   common (an intro card, a logo, a still many videos share): it is ignored from then on, so it
   never counts towards any match, and the reference frames it hits only count through other
   query frames.
3. For each reference video with a seed, the pairs of (query frame, reference frame) within
   ``distance`` bits are found by comparing the seeded variants' frames with all of that video's
   frames, and `align` finds the line the most query frames agree with, per geometric variant
   (a letterboxed frame and its trimmed picture count as one frame).
4. The alignment is a match when at least ``min_frames`` query frames agree over at least
   ``min_seconds`` of the reference (from its first to its last matched frame); or, for queries
   sampled sparsely (keyframes every few seconds), at least ``sparse_frames`` frames over at
   least ``sparse_seconds``. A reference shorter than ``min_seconds`` needs half its length.

Defaults, and why (measured in ``tests/matching/test_video*.py`` and ``python -m
benchmarks.video_index``, see `DEFAULTS_MEASURED`):

* ``distance = 31``: PDQ's match threshold. ``seed_distance = 23``: cheaper multi-index probes
  (264 a query instead of 2,032); every edit in the tests still seeds most of its frames.
* ``min_frames = 5``, ``min_seconds = 5``: the issue's "5 samples or 5 s". A still shot or a
  card stands for one reference frame, so its matches span 0 s of the reference and never make
  a match by themselves; an animated card of a few seconds stays under 5 s.
* ``sparse_frames = 3``, ``sparse_seconds = 15``: three frames on one line over 15 s of
  reference is as unlikely by chance as five over five, and lets a query sampled only at
  keyframes every 5-10 s match; the crawler samples more densely where `candidate_times` says
  a frame is near a reference, then matches again.
* ``tolerance = 1.0`` s: a query frame falls between reference samples (0.25 s apart) and slow
  footage stays within 31 bits for about a second. ``max_gap = 15`` s between aligned frames.
* ``max_videos_per_frame = 8``.

`BruteForceVideoMatcher` makes the same decisions from every pair within ``distance`` of every
reference frame, without the index or seeds: the oracle the contract tests hold this one to.

Pure: standard library and numpy, on `crawler.hashing` types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crawler.hashing.algorithms import PDQ
from crawler.hashing.dihedral import DIHEDRAL
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from crawler.hashing.types import FrameHash, HashValue
from crawler.matching.alignment import Alignment, Pairs, align
from crawler.matching.multi_index import HASHED_FROM, MultiIndexHashIndex

DEFAULT_SEED_DISTANCE = 23
DEFAULT_MIN_FRAMES = 5
DEFAULT_MIN_SECONDS = 5.0
DEFAULT_SPARSE_FRAMES = 3
DEFAULT_SPARSE_SECONDS = 15.0
DEFAULT_TOLERANCE = 1.0
DEFAULT_MAX_GAP = 15.0
DEFAULT_MAX_VIDEOS_PER_FRAME = 8
#: A still image matches a reference frame within this many bits, at this PDQ quality at least.
DEFAULT_STILL_DISTANCE = 16
DEFAULT_STILL_MIN_QUALITY = 70
#: How far short of the seconds required a run's span may fall (`VideoMatcher._accepts`).
_SPAN_SLACK = 0.05
#: Seconds a reference's last frame stands for when the video's duration is unknown.
_LAST_FRAME_SECONDS = 0.25
#: The variants matched: the eight turns and mirrors, each also of the picture inside bars.
VARIANTS = tuple(DIHEDRAL) + tuple(
    f"trimmed+{name}" if name != "original" else "trimmed" for name in DIHEDRAL
)


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A reference video the query matched, with the evidence: the reference's seconds found,
    the query's seconds they were found at, the line between them (``reference = offset + speed
    * query``), the query frames on it, the closest frame distance, and the variant (how the
    query is turned, mirrored or letterboxed relative to the reference)."""

    video_id: int
    case_id: int
    reference_start: float
    reference_end: float
    query_start: float
    query_end: float
    offset: float
    speed: float
    variant: str
    frames_aligned: int
    best_distance: int


@dataclass(frozen=True, slots=True)
class StillMatch:
    """A still image that is a frame of a reference video: which, when, how close."""

    video_id: int
    case_id: int
    reference_time: float
    variant: str
    distance: int


@dataclass(frozen=True, slots=True)
class _Reference:
    case_id: int
    first_id: int  # frame ids first_id ... first_id + len(codes) - 1 in the index
    codes: np.ndarray  # (usable frames, 4) uint64
    starts: np.ndarray  # seconds of each frame
    ends: np.ndarray  # seconds of the next stored frame (or the video's end)


class VideoMatcher:
    """Reference videos' frames in a multi-index, matched by temporal alignment (see the
    module)."""

    def __init__(
        self,
        *,
        distance: int = PDQ_MATCH_THRESHOLD,
        seed_distance: int = DEFAULT_SEED_DISTANCE,
        min_quality: int = PDQ_MIN_QUALITY,
        min_frames: int = DEFAULT_MIN_FRAMES,
        min_seconds: float = DEFAULT_MIN_SECONDS,
        sparse_frames: int = DEFAULT_SPARSE_FRAMES,
        sparse_seconds: float = DEFAULT_SPARSE_SECONDS,
        tolerance: float = DEFAULT_TOLERANCE,
        max_gap: float = DEFAULT_MAX_GAP,
        max_videos_per_frame: int = DEFAULT_MAX_VIDEOS_PER_FRAME,
        still_distance: int = DEFAULT_STILL_DISTANCE,
        still_min_quality: int = DEFAULT_STILL_MIN_QUALITY,
        hashed_from: int = HASHED_FROM,
    ) -> None:
        for name, bits in (("distance", distance), ("seed_distance", seed_distance)):
            if not 0 <= bits <= PDQ.bits:
                raise ValueError(f"{name} {bits} is outside 0-{PDQ.bits} (bits of a PDQ hash)")
        if seed_distance > distance:
            raise ValueError(f"seed_distance {seed_distance} is over distance {distance}")
        if min_frames < 2 or sparse_frames < 2:
            raise ValueError("min_frames and sparse_frames must be 2 or more: a line needs two")
        if max_videos_per_frame < 1:
            raise ValueError(f"max_videos_per_frame must be 1 or more, got {max_videos_per_frame}")
        self.distance = distance
        self.seed_distance = seed_distance
        self.min_quality = min_quality
        self.min_frames = min_frames
        self.min_seconds = min_seconds
        self.sparse_frames = sparse_frames
        self.sparse_seconds = sparse_seconds
        self.tolerance = tolerance
        self.max_gap = max_gap
        self.max_videos_per_frame = max_videos_per_frame
        self.still_distance = still_distance
        self.still_min_quality = still_min_quality
        self._refs: dict[int, _Reference] = {}
        self._index = MultiIndexHashIndex("pdq", hashed_from=hashed_from)
        self._pending: list[int] = []  # videos added since the index was last updated
        self._next_id = 0
        self._owners: tuple[np.ndarray, np.ndarray] | None = None

    # -- references ----------------------------------------------------------------------------

    def add(
        self,
        video_id: int,
        case_id: int,
        frames: Sequence[FrameHash],
        duration: float | None = None,
    ) -> None:
        """Add a reference video by its frames (in time order; variants are ignored). Frames
        below ``min_quality`` are dropped; a video left with none is kept but never matches.
        Each frame stands for the time until the next frame stored (``duration`` for the last)."""
        if video_id in self._refs:
            raise ValueError(
                f"reference video {video_id} is already in the matcher; remove it before adding "
                "it again"
            )
        frames = sorted(frames, key=lambda frame: frame.seconds)
        times = np.array([frame.seconds for frame in frames], dtype=np.float64)
        ends = np.append(times[1:], times[-1] + _LAST_FRAME_SECONDS if len(times) else [])
        if len(times) and duration is not None and duration > times[-1]:
            ends[-1] = duration
        usable = np.array(
            [self._usable(frame.value, f"reference {video_id}") for frame in frames], dtype=bool
        )
        codes = _codes([frame.value for frame, ok in zip(frames, usable, strict=True) if ok])
        self._refs[video_id] = _Reference(
            case_id,
            self._next_id,
            codes,
            times[usable] if len(times) else times,
            ends[usable] if len(times) else ends,
        )
        self._next_id += len(codes)
        self._pending.append(video_id)
        self._owners = None

    def remove(self, video_id: int) -> None:
        """Remove a reference video; an unknown id is ignored."""
        ref = self._refs.pop(video_id, None)
        if ref is None:
            return
        if video_id in self._pending:
            self._pending.remove(video_id)
        else:
            self._index.remove(range(ref.first_id, ref.first_id + len(ref.codes)))
        self._owners = None

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._refs

    @property
    def frames(self) -> int:
        """Usable reference frames held."""
        return sum(len(ref.codes) for ref in self._refs.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by the index and the frames' arrays."""
        own = sum(
            ref.codes.nbytes + ref.starts.nbytes + ref.ends.nbytes for ref in self._refs.values()
        )
        return self._index.nbytes + own

    # -- queries -------------------------------------------------------------------------------

    def match(self, frames: Sequence[FrameHash]) -> list[VideoMatch]:
        """Every reference video the query matches (at most one match each: its best run);
        the most aligned frames first, ties by id."""
        query = _Query.of(frames, self)
        if not query.rows:
            return []
        found = []
        for video_id, variants in self._candidates(query).items():
            match = self._verify(query, video_id, variants)
            if match is not None:
                found.append(match)
        found.sort(key=lambda m: (-m.frames_aligned, m.video_id))
        return found

    def candidate_times(self, frames: Sequence[FrameHash]) -> list[float]:
        """The query seconds whose frame (in any variant) is within ``seed_distance`` of some
        reference frame and is not common: where denser sampling can confirm an alignment."""
        query = _Query.of(frames, self)
        if not query.rows:
            return []
        rows, _ = self._seeds(query)
        return sorted({float(query.seconds[query.frame_of[row]]) for row in rows.tolist()})

    def match_still(self, frame: FrameHash) -> list[StillMatch]:
        """Reference videos of which the picture ``frame`` (a still image hashed as a video
        frame: `crawler.hashing.video.picture_frame_hash`) is a frame: within
        ``still_distance`` bits, at PDQ quality ``still_min_quality`` at least, and not common
        (a frame in more than ``max_videos_per_frame`` videos). One match per video, the
        closest first."""
        if frame.value.quality is not None and frame.value.quality < self.still_min_quality:
            return []
        query = _Query.of([frame], self)
        if not query.rows:
            return []
        rows, ids, distances = self._lookup(query, self.still_distance)
        videos = self._owner(ids)
        if len(np.unique(videos)) > self.max_videos_per_frame:
            return []
        best: dict[int, StillMatch] = {}
        for row, frame_id, video_id, bits in zip(rows, ids, videos, distances, strict=True):
            ref = self._refs[int(video_id)]
            match = StillMatch(
                int(video_id),
                ref.case_id,
                float(ref.starts[int(frame_id) - ref.first_id]),
                query.variant_names[query.variant_of[row]],
                int(bits),
            )
            if int(video_id) not in best or match.distance < best[int(video_id)].distance:
                best[int(video_id)] = match
        return sorted(best.values(), key=lambda m: (m.distance, m.video_id))

    # -- steps ---------------------------------------------------------------------------------

    def _usable(self, value: HashValue, what: str) -> bool:
        if value.algorithm != "pdq":
            raise ValueError(f"{what}: a frame is a {value.algorithm} hash; video frames are PDQ")
        return value.quality is None or value.quality >= self.min_quality

    def _lookup(self, query: _Query, max_distance: int) -> tuple[np.ndarray, ...]:
        """``(query row, frame id, distance)`` of every reference frame within
        ``max_distance`` of a query row, from the index."""
        self._flush()
        return self._index.query_codes(query.bytes, max_distance)

    def _seeds(self, query: _Query) -> tuple[np.ndarray, np.ndarray]:
        """Seed hits ``(query row, video id)`` of the frames that are not common."""
        rows, ids, _ = self._lookup(query, self.seed_distance)
        videos = self._owner(ids)
        keep = ~np.isin(query.frame_of[rows], query.common(rows, videos, self))
        return rows[keep], videos[keep]

    def _candidates(self, query: _Query) -> dict[int, np.ndarray]:
        """Per reference video with a seed: the geometric variants (indexes into
        `_Query.family_names`) its seeds came through."""
        rows, videos = self._seeds(query)
        found: dict[int, set[int]] = {}
        for video_id, family in zip(videos.tolist(), query.family_of[rows].tolist(), strict=True):
            found.setdefault(video_id, set()).add(family)
        return {video_id: np.array(sorted(families)) for video_id, families in found.items()}

    def _verify(self, query: _Query, video_id: int, families: np.ndarray) -> VideoMatch | None:
        """The best alignment of the query with one reference video over the given geometric
        variants, if it meets the rule."""
        ref = self._refs[video_id]
        if not len(ref.codes):
            return None
        common = query.common_frames if query.common_frames is not None else np.empty(0, int)
        best: Alignment | None = None
        for family in families.tolist():
            rows = np.flatnonzero((query.family_of == family) & ~np.isin(query.frame_of, common))
            pairs = _pairs(query, rows, ref, self.distance)
            found = align(pairs, tolerance=self.tolerance, max_gap=self.max_gap)
            if found is not None and (best is None or _better(found, best)):
                best = found
        if best is None or not self._accepts(best, ref):
            return None
        return VideoMatch(
            video_id=video_id,
            case_id=ref.case_id,
            reference_start=round(best.reference_start, 3),
            reference_end=round(best.reference_end, 3),
            query_start=best.query_start,
            query_end=best.query_end,
            offset=round(best.offset, 3),
            speed=round(best.speed, 3),
            variant=query.variant_names[best.variant],
            frames_aligned=best.frames_aligned,
            best_distance=best.best_distance,
        )

    def _accepts(self, found: Alignment, ref: _Reference) -> bool:
        """The rule (see the module): enough frames over enough of the reference. Spans are
        measured along the line, whose speed is known to a few per cent, so they may fall
        `_SPAN_SLACK` short."""
        length = float(ref.ends[-1] - ref.starts[0])
        span = found.reference_span / (1 - _SPAN_SLACK)
        dense_seconds = min(self.min_seconds, length / 2)
        sparse_seconds = min(self.sparse_seconds, length / 2)
        return (found.frames_aligned >= self.min_frames and span >= dense_seconds) or (
            found.frames_aligned >= self.sparse_frames and span >= sparse_seconds
        )

    def _flush(self) -> None:
        """Put the videos added since the last query into the index, in one go."""
        if not self._pending:
            return
        refs = [self._refs[video_id] for video_id in self._pending]
        refs = [ref for ref in refs if len(ref.codes)]
        if refs:
            ids = np.concatenate([np.arange(r.first_id, r.first_id + len(r.codes)) for r in refs])
            codes = np.concatenate([r.codes for r in refs]).view(np.uint8)
            cases = np.concatenate([np.full(len(r.codes), r.case_id) for r in refs])
            self._index.add_codes(ids, codes, cases)
        self._pending = []

    def _owner(self, frame_ids: np.ndarray) -> np.ndarray:
        """The video id of each frame id."""
        if self._owners is None:
            items = sorted((ref.first_id, video_id) for video_id, ref in self._refs.items())
            self._owners = (
                np.array([first for first, _ in items], dtype=np.int64),
                np.array([video_id for _, video_id in items], dtype=np.int64),
            )
        firsts, video_ids = self._owners
        return video_ids[np.searchsorted(firsts, frame_ids, side="right") - 1]


class BruteForceVideoMatcher(VideoMatcher):
    """`VideoMatcher`'s decisions from every reference frame, without the index or seeds: every
    query frame, in every variant, is compared with every frame of every reference video. Slow
    and obviously complete: the oracle the contract tests hold `VideoMatcher` to."""

    def _lookup(self, query: _Query, max_distance: int) -> tuple[np.ndarray, ...]:
        row_parts, id_parts, distance_parts = [], [], []
        for ref in self._refs.values():
            distances = _distance_table(query.codes, ref.codes)
            rows, columns = np.nonzero(distances <= max_distance)
            row_parts.append(rows)
            id_parts.append(columns + ref.first_id)
            distance_parts.append(distances[rows, columns].astype(np.int64))
        if not row_parts:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(row_parts), np.concatenate(id_parts), np.concatenate(distance_parts)

    def _candidates(self, query: _Query) -> dict[int, np.ndarray]:
        """Every video, in every variant the query has (seeds are not needed)."""
        self._seeds(query)  # finds the common frames, as the fast matcher does
        families = np.unique(query.family_of)
        return {video_id: families for video_id in self._refs}


@dataclass
class _Query:
    """A query's usable frames in all their variants, one row per (frame, variant)."""

    seconds: np.ndarray  # per frame
    frame_of: np.ndarray  # per row: the frame
    variant_of: np.ndarray  # per row: index into variant_names
    family_of: np.ndarray  # per row: its geometric variant (trimmed or not), an index
    codes: np.ndarray  # (rows, 4) uint64
    variant_names: tuple[str, ...]
    common_frames: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.codes)

    @property
    def bytes(self) -> np.ndarray:
        return self.codes.view(np.uint8).reshape(-1, 32)

    @classmethod
    def of(cls, frames: Sequence[FrameHash], matcher: VideoMatcher) -> _Query:
        names = VARIANTS
        family = {
            name: DIHEDRAL_NAMES.index(name.removeprefix("trimmed").strip("+") or "original")
            for name in names
        }
        seconds, frame_of, variant_of, values = [], [], [], []
        for frame in frames:
            if not matcher._usable(frame.value, "the query") or frame.seconds != frame.seconds:
                continue
            number = len(seconds)
            seconds.append(frame.seconds)
            for item in frame.with_variants():
                if item.variant in family and matcher._usable(item.value, "the query"):
                    frame_of.append(number)
                    variant_of.append(names.index(item.variant))
                    values.append(item.value)
        variant_array = np.array(variant_of, dtype=np.int64)
        return cls(
            seconds=np.array(seconds, dtype=np.float64),
            frame_of=np.array(frame_of, dtype=np.int64),
            variant_of=variant_array,
            family_of=np.array([family[names[v]] for v in variant_of], dtype=np.int64),
            codes=_codes(values),
            variant_names=names,
        )

    def common(self, rows: np.ndarray, videos: np.ndarray, matcher: VideoMatcher) -> np.ndarray:
        """The query frames whose hits fall in more than ``max_videos_per_frame`` videos
        (remembered for the later steps)."""
        frames = self.frame_of[rows]
        pairs = np.unique(np.stack([frames, videos]), axis=1) if len(rows) else np.empty((2, 0))
        numbers, counts = np.unique(pairs[0], return_counts=True)
        self.common_frames = numbers[counts > matcher.max_videos_per_frame].astype(np.int64)
        return self.common_frames


DIHEDRAL_NAMES = tuple(DIHEDRAL)


def _better(found: Alignment, best: Alignment) -> bool:
    return (found.frames_aligned, found.reference_span, -found.best_distance) > (
        best.frames_aligned,
        best.reference_span,
        -best.best_distance,
    )


def _pairs(query: _Query, rows: np.ndarray, ref: _Reference, distance: int) -> Pairs:
    """Every (query row, reference frame) within ``distance`` bits, as `Pairs`."""
    distances = _distance_table(query.codes[rows], ref.codes)
    hit_rows, columns = np.nonzero(distances <= distance)
    query_rows = rows[hit_rows]
    frames = query.frame_of[query_rows]
    return Pairs(
        query_frame=frames,
        query=query.seconds[frames],
        reference_frame=columns,
        start=ref.starts[columns],
        end=ref.ends[columns],
        distance=distances[hit_rows, columns].astype(np.int64),
        variant=query.variant_of[query_rows],
    )


def _codes(values: Sequence[HashValue]) -> np.ndarray:
    """PDQ hashes' bits packed as rows of four uint64 words."""
    packed = np.frombuffer(b"".join(bytes.fromhex(v.hex) for v in values), dtype=np.uint8)
    return packed.reshape(-1, 32).view(np.uint64).copy()


def _distance_table(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Hamming distances, (query rows, reference rows), from rows of four uint64 words."""
    if not len(query) or not len(codes):
        return np.zeros((len(query), len(codes)), dtype=np.uint16)
    distances = np.bitwise_count(query[:, 0, None] ^ codes[None, :, 0]).astype(np.uint16)
    for word in range(1, 4):
        distances += np.bitwise_count(query[:, word, None] ^ codes[None, :, word])
    return distances
