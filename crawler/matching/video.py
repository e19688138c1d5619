"""Video matches by temporal alignment: a run of frames that agrees with one offset and one speed.

    >>> matcher = VideoMatcher()
    >>> matcher.add(video_id=7, case_id=42, frames=reference_frames, duration=60.0)
    >>> [m] = matcher.match(hash_video(data).frames)
    >>> m.reference_start, m.reference_end, m.speed, m.variant  # 42.0, 97.0, 1.25, "flipx"

A query video matches a reference video when enough of its sampled frames agree with one line
``reference time = offset + speed * query time`` (`crawler.matching.alignment`), with the speed
between 0.5x and 2x: a whole copy, an excerpt of the reference, or a compilation holding part of
it, sped up or slowed down, each in any of the eight turns and mirrors, letterboxed or not, or
cropped by up to 10% of each side (through its crops and the references' middles).

How a query is decided:

1. Frames of PDQ quality below ``min_quality`` (black, fades, flat titles) are dropped on both
   sides. Every query frame is looked up as it is (and its picture inside letterbox bars, when
   it has bars) in a multi-index of every reference frame (`MultiIndexHashIndex`), within
   ``seed_distance`` bits: the seeds. Its turns and mirrors (`FrameHash.variants`) are looked up
   for every ``probe_every``-th frame, and for all frames in the turns and mirrors that found
   something there: a mirrored copy has every frame mirrored. The crops of every
   ``crop_probe_every``-th frame (`FrameHash.crops`: the boxes where a reference's middle lies
   under each crop of up to 10%, on a 1.25% grid) are looked up, within ``crop_seed_distance``
   bits, in a second multi-index of the references' middles (`crawler.hashing.crops`), one a
   second; crops of the coarse 2.5% grid only (a media cache entry's) are looked up on every
   frame that has them, within ``coarse_crop_seed_distance`` bits.
2. A query frame whose seeds fall in more than ``max_videos_per_frame`` reference videos is
   common (an intro card, a logo, a still many videos share): it is ignored from then on, so it
   never counts towards any match, and the reference frames it hits only count through other
   query frames.
3. For each reference video with a seed, the pairs of (query frame, reference frame) within
   ``distance`` bits are found by comparing the seeded variants' frames with all of that video's
   frames, and `align` finds the line the most query frames agree with, per geometric variant
   (a letterboxed frame and its trimmed picture count as one frame); and, for each crop box a
   seed came through, the crops of every frame in that box are paired with the reference's
   middles and aligned the same way (variant ``"cropped"``). The whole frames' alignment is
   reported unless the crops' aligns `_CROPS_OVER_WHOLE` times as many frames (an uncut copy
   aligns on its crops too: the grid's first box is its middle).
4. The alignment is a match when at least ``min_frames`` query frames agree over at least
   ``min_seconds`` of the reference (measured along the line, but a still shot, one stored
   frame standing for many seconds, counts as ``tolerance`` at most); or, for queries sampled
   sparsely (keyframes every few seconds), at least ``sparse_frames`` frames over at least
   ``sparse_seconds``. A reference shorter than twice these needs half its length.

Defaults, and why (measured with ``tests/matching/test_video_edits.py``, whose 30 s reference
and edited copies give the figures below, and ``python -m benchmarks.video_index``):

* ``distance = 31``: PDQ's match threshold. Median distance of a copy's frames to the nearest
  reference frame: 4 bits for mirror, 90-degree turn, greyscale, 240p and speed changes (in
  their variant), 6 for an excerpt, 13 letterboxed (trimmed), 29 with a banner over 12% of the
  height, 33 with a subtitle band (still matched: 12 of 31 frames aligned), 72 cropped by 10%
  (PDQ does not survive crops; matched through the crops, whose best box is a median 4 bits
  from the reference's middle, 15 for an uneven crop off the grid). Unrelated videos: 107+.
* ``seed_distance = 23``: the multi-index probes 264 chunk values a lookup instead of 2,032 at
  31; every edit above still seeds. At 17 the subtitled copy found no seed.
* ``probe_every = 4``: a 60-frame query is about 165 lookups instead of 480.
* ``crop_probe_every = 8``, ``crop_seed_distance = 11``: the 2,025 crops of one frame in eight
  are looked up (about 16,000 lookups a query) within 11 bits. Chosen on copies of six clips
  (five of opencv-doc's and a generated one) cut 13 ways each: on the grid (5% off each edge,
  2.5%, 10% off one side, 10% off the left and top), off it (3%/5%/1%/5%, 5%/1%/7%/3%, four
  random cuts of up to 7% an edge), under a banner, a subtitle band. The old 225-box grid at
  15 bits and one frame in four found 56 of 78 (8 of the 30 cut off the grid); the 2,025-box
  grid found 78 of 78 at 12-15 bits one frame in four, 76 at 11 bits one in four, 75 at 11 bits
  one in eight (missed: two of `tree`'s, a slow hazy clip, and one of megamind's), 78 at 12
  bits one in eight; no copy matched another clip's reference in any setting. At 10M
  reference frames and 2.5M middles (`benchmarks.video_index`, same load) one in eight at 11
  bits took 50.6 ms a query against 60.2 ms for the old grid at 15 bits one in four; 12 bits
  one in eight took about twice as long (33 chunk values probed a lookup instead of 12). A
  seed only has to name the right box once: every frame is then compared in it within
  ``distance``. Which frames the probes fall on matters on short clips (one in six found
  fewer than one in eight on megamind's 14 frames): a GIF's few frames between its middles may
  seed only when more are probed, and its whole frames match it anyway.
* ``min_frames = 5``, ``min_seconds = 5``: the issue's "5 samples or 5 s". A still shot or a
  card stands for one reference frame and never makes a match by itself; an intro shared by
  more than ``max_videos_per_frame = 8`` references is ignored. An intro of one reference only,
  5 s or longer, is that reference's footage and does match.
* ``sparse_frames = 3``, ``sparse_seconds = 15``: three frames on one line over 15 s of
  reference lets a query sampled only at keyframes every 5-10 s match; the crawler samples
  more densely where `candidate_times` says a frame is near a reference, then matches again.
* ``tolerance = 1.0`` s: a query frame falls between reference samples (0.25 s apart) and slow
  footage stays within 31 bits for about a second. ``max_gap = 15`` s between aligned frames.
* Stills (`match_still`): ``still_distance = 16``, ``still_min_quality = 70``. JPEG stills of a
  reference's frames (quality 60-95, half to double size) were 0-10 bits from the nearest
  reference frame; the 16 sample photos, including those the reference shows in other
  framings, were 48 bits or more from every frame.

Speed and offset are as exact as the frames allow: within 2-5% and half a second on 15-30 s
runs. Over a few seconds, or in slow footage, a speed within about 5% of 1 reads as 1
(`alignment`: slow zooms had read as 0.75-0.88x and shrunk a short copy's span below the rule).

`crawler.matching.video_oracle.BruteForceVideoMatcher` makes the same decisions from every pair
within ``distance`` of every reference frame, without the index or seeds: the oracle the
contract tests hold this one to.

Pure: standard library and numpy, on `crawler.hashing` types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crawler.hashing.algorithms import PDQ
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from crawler.hashing.types import FrameHash, HashValue
from crawler.matching.alignment import Alignment, align
from crawler.matching.multi_index import HASHED_FROM
from crawler.matching.video_frames import CROP_FAMILY, QueryFrames, frame_pairs, frame_rows
from crawler.matching.video_regions import Regions, RegionTable

DEFAULT_SEED_DISTANCE = 23
DEFAULT_CROP_SEED_DISTANCE = 11
#: Crops of the coarse grid only (a media cache entry's, `crawler.hashing.types`): every frame
#: that carries them is looked up, within this many bits, as all crops were before the grid
#: was made finer (at 11 bits one frame in eight, such copies were found 48 times in 78
#: against 56 at 15 bits on every fourth frame: `benchmarks.video_cuts --step 0.025`).
DEFAULT_COARSE_CROP_SEED_DISTANCE = 15
#: The middles' multi-index is hashed from this many middles on (frames: `HASHED_FROM`):
#: a query's crops are thousands of lookups, and scanning 25,000 middles for each took 1.8 s
#: a query (at 100,000 reference frames); hashed, 33 ms.
MIDDLES_HASHED_FROM = 2048
DEFAULT_MIN_FRAMES = 5
DEFAULT_MIN_SECONDS = 5.0
DEFAULT_SPARSE_FRAMES = 3
DEFAULT_SPARSE_SECONDS = 15.0
DEFAULT_TOLERANCE = 1.0
DEFAULT_MAX_GAP = 15.0
DEFAULT_MAX_VIDEOS_PER_FRAME = 8
DEFAULT_PROBE_EVERY = 4
DEFAULT_CROP_PROBE_EVERY = 8
#: A still image matches a reference frame within this many bits, at this PDQ quality at least.
DEFAULT_STILL_DISTANCE = 16
DEFAULT_STILL_MIN_QUALITY = 70
#: A match through the crops is reported over one through the whole frames only when it aligns
#: this many times as many frames (a partial match of a cropped copy's whole frames, say on a
#: title card its crop left alone, against the crops' match of the whole copy).
_CROPS_OVER_WHOLE = 1.5
#: How far short of the seconds required a run's span may fall (`VideoMatcher._accepts`).
_SPAN_SLACK = 0.05
#: Seconds a reference's last frame stands for when the video's duration is unknown.
_LAST_FRAME_SECONDS = 0.25


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


@dataclass(slots=True)
class _Reference:
    case_id: int
    frames: Regions  # its usable frames, in `VideoMatcher._frames`
    #: The frames' middles (`crawler.hashing.crops.MIDDLE`), once a second, in
    #: `VideoMatcher._middles`: what a query's crops are matched against. None for references
    #: stored without them.
    middles: Regions | None

    @property
    def parts(self) -> tuple[Regions, ...]:
        """Its regions of every kind stored (each in its own `RegionTable`)."""
        return tuple(part for part in (self.frames, self.middles) if part is not None)

    @property
    def starts(self) -> np.ndarray:
        return self.frames.starts

    @property
    def ends(self) -> np.ndarray:
        return self.frames.ends


class VideoMatcher:
    """Reference videos' frames in a multi-index, matched by temporal alignment (see the
    module)."""

    def __init__(
        self,
        *,
        distance: int = PDQ_MATCH_THRESHOLD,
        seed_distance: int = DEFAULT_SEED_DISTANCE,
        crop_seed_distance: int = DEFAULT_CROP_SEED_DISTANCE,
        coarse_crop_seed_distance: int = DEFAULT_COARSE_CROP_SEED_DISTANCE,
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
        probe_every: int = DEFAULT_PROBE_EVERY,
        crop_probe_every: int = DEFAULT_CROP_PROBE_EVERY,
        hashed_from: int = HASHED_FROM,
    ) -> None:
        for name, bits in (
            ("distance", distance),
            ("seed_distance", seed_distance),
            ("crop_seed_distance", crop_seed_distance),
            ("coarse_crop_seed_distance", coarse_crop_seed_distance),
        ):
            if not 0 <= bits <= PDQ.bits:
                raise ValueError(f"{name} {bits} is outside 0-{PDQ.bits} (bits of a PDQ hash)")
        for name, bits in (
            ("seed_distance", seed_distance),
            ("crop_seed_distance", crop_seed_distance),
            ("coarse_crop_seed_distance", coarse_crop_seed_distance),
        ):
            if bits > distance:
                raise ValueError(f"{name} {bits} is over distance {distance}")
        if min_frames < 2 or sparse_frames < 2:
            raise ValueError("min_frames and sparse_frames must be 2 or more: a line needs two")
        if probe_every < 1:
            raise ValueError(f"probe_every must be 1 or more, got {probe_every}")
        if crop_probe_every < 1:
            raise ValueError(f"crop_probe_every must be 1 or more, got {crop_probe_every}")
        if max_videos_per_frame < 1:
            raise ValueError(f"max_videos_per_frame must be 1 or more, got {max_videos_per_frame}")
        self.distance = distance
        self.seed_distance = seed_distance
        self.crop_seed_distance = crop_seed_distance
        self.coarse_crop_seed_distance = coarse_crop_seed_distance
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
        self.probe_every = probe_every
        self.crop_probe_every = crop_probe_every
        self._refs: dict[int, _Reference] = {}
        self._frames = RegionTable(hashed_from)
        self._middles = RegionTable(min(hashed_from, MIDDLES_HASHED_FROM))

    # -- references ----------------------------------------------------------------------------

    def add(
        self,
        video_id: int,
        case_id: int,
        frames: Sequence[FrameHash],
        duration: float | None = None,
        middles: Sequence[FrameHash] | None = None,
    ) -> None:
        """Add a reference video by its frames (in time order; variants are ignored) and, so
        that cropped copies match, its ``middles`` (`crawler.hashing.video.VideoHashes.middles`).
        Frames below ``min_quality`` are dropped; a video left with none is kept but never
        matches. Each frame stands for the time until the next frame stored (``duration`` for
        the last), each middle until the next middle."""
        self.add_rows(
            video_id,
            case_id,
            *self._rows(video_id, frames),
            duration,
            middles=None if middles is None else self._rows(video_id, middles),
        )

    def _rows(
        self, video_id: int, frames: Sequence[FrameHash]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frames = sorted(frames, key=lambda frame: frame.seconds)
        for frame in frames:
            self._usable(frame.value, f"reference {video_id}")
        return frame_rows((f.seconds, f.value.hex, f.value.quality) for f in frames)

    def add_rows(
        self,
        video_id: int,
        case_id: int,
        seconds: np.ndarray,
        codes: np.ndarray,
        qualities: np.ndarray,
        duration: float | None = None,
        *,
        middles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """`add` from rows, as a database returns them: ``seconds`` (n,) in time order, ``codes``
        (n, 32) uint8 (each row the bytes of a PDQ hex) and ``qualities`` (n,); ``middles`` the
        same three for the video's middles."""
        if video_id in self._refs:
            raise ValueError(
                f"reference video {video_id} is already in the matcher; remove it before adding "
                "it again"
            )
        frames = self._frames_of(video_id, seconds, codes, qualities, duration, self._frames)
        if middles is not None:
            middle = self._frames_of(video_id, *middles, duration, self._middles)
        self._refs[video_id] = _Reference(case_id, frames, None if middles is None else middle)

    def _frames_of(
        self,
        video_id: int,
        seconds: np.ndarray,
        codes: np.ndarray,
        qualities: np.ndarray,
        duration: float | None,
        table: RegionTable,
    ) -> Regions:
        """A reference's frames (or middles) checked, their usable ones numbered in ``table``."""
        times = np.asarray(seconds, dtype=np.float64)
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, 32)
        if len(times) != len(codes) or len(np.asarray(qualities)) != len(times):
            raise ValueError(
                f"reference {video_id}: {len(times)} times, {len(codes)} codes and "
                f"{len(np.asarray(qualities))} qualities; give one of each per frame"
            )
        if len(times) > 1 and (np.diff(times) < 0).any():
            raise ValueError(f"reference {video_id}: frames must be in time order")
        ends = np.append(times[1:], times[-1] + _LAST_FRAME_SECONDS) if len(times) else times
        if len(times) and duration is not None and duration > times[-1]:
            ends[-1] = duration
        usable = np.asarray(qualities) >= self.min_quality
        return table.add(times[usable], ends[usable], codes[usable])

    def remove(self, video_id: int) -> None:
        """Remove a reference video; an unknown id is ignored."""
        ref = self._refs.pop(video_id, None)
        if ref is None:
            return
        for part in ref.parts:
            part.table.remove(part)

    def prepare(self) -> None:
        """Build the indexes of the videos added so far now, not at the next query (which then
        takes milliseconds: at 10 million frames the build takes about a minute)."""
        self._flush()

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._refs

    @property
    def frames(self) -> int:
        """Usable reference frames held."""
        return sum(len(ref.frames) for ref in self._refs.values())

    @property
    def middles(self) -> int:
        """Usable reference middles held (`crawler.hashing.crops.MIDDLE`)."""
        return sum(len(ref.middles) for ref in self._refs.values() if ref.middles)

    @property
    def nbytes(self) -> int:
        """Bytes held by the indexes and the frames' and middles' arrays."""
        return self._frames.nbytes + self._middles.nbytes

    # -- queries -------------------------------------------------------------------------------

    def match(self, frames: Sequence[FrameHash]) -> list[VideoMatch]:
        """Every reference video the query matches (at most one match each: its best run);
        the most aligned frames first, ties by id."""
        query = QueryFrames.of(frames, self._usable)
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
        query = QueryFrames.of(frames, self._usable)
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
        query = QueryFrames.of([frame], self._usable, crops=False)
        if not query.rows:
            return []
        rows, ids, distances = self._lookup(query, np.arange(query.rows), self.still_distance)
        videos = self._owner(ids, self._frames)
        if len(np.unique(videos)) > self.max_videos_per_frame:
            return []
        best: dict[int, StillMatch] = {}
        for row, frame_id, video_id, bits in zip(rows, ids, videos, distances, strict=True):
            ref = self._refs[int(video_id)]
            match = StillMatch(
                int(video_id),
                ref.case_id,
                round(float(ref.starts[int(frame_id) - ref.frames.first_id]), 3),
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

    def _lookup(
        self, query: QueryFrames, rows: np.ndarray, max_distance: int, *, middles: bool = False
    ) -> tuple[np.ndarray, ...]:
        """``(query row, frame id, distance)`` of every reference frame (or, with ``middles``,
        every reference middle) within ``max_distance`` of one of the query's ``rows``, from
        the index."""
        self._flush()
        table = self._middles if middles else self._frames
        found, ids, distances = table.index.query_codes(query.bytes[rows], max_distance)
        return rows[found], ids, distances

    def _seeds(self, query: QueryFrames) -> tuple[np.ndarray, np.ndarray]:
        """Seed hits ``(query row, video id)`` of the frames that are not common.

        Every frame is looked up as it is (and its picture inside bars); its turns and mirrors
        only for every `probe_every`-th frame, and for all frames in the turns and mirrors
        those found anything through (a mirrored copy's frames are all mirrored): a query of
        60 frames is 60-120 lookups rather than 480-960. The crops of every `crop_probe_every`-th
        frame are looked up among the references' middles; the crops that found something are
        verified on every frame (`_verify`), not looked up."""
        cropped = query.cropped
        plain = query.family_of == 0
        probed = plain | (query.frame_of % self.probe_every == 0)
        rows, ids, _ = self._lookup(query, np.flatnonzero(probed & ~cropped), self.seed_distance)
        turned = np.setdiff1d(np.unique(query.family_of[rows]), [0])
        second = np.flatnonzero(~probed & np.isin(query.family_of, turned))
        if len(second):
            more_rows, more_ids, _ = self._lookup(query, second, self.seed_distance)
            rows, ids = np.concatenate([rows, more_rows]), np.concatenate([ids, more_ids])
        videos = self._owner(ids, self._frames)
        fine, coarse = self._crop_probes(query)
        for probes, bits in (
            (fine, self.crop_seed_distance),
            (coarse, self.coarse_crop_seed_distance),
        ):
            if len(probes):
                crop_rows, crop_ids, _ = self._lookup(query, probes, bits, middles=True)
                rows = np.concatenate([rows, crop_rows])
                videos = np.concatenate([videos, self._owner(crop_ids, self._middles)])
        query.families = np.union1d([0], np.unique(query.family_of[rows])).astype(np.int64)
        keep = ~np.isin(query.frame_of[rows], query.common(rows, videos, self.max_videos_per_frame))
        return rows[keep], videos[keep]

    def _crop_probes(self, query: QueryFrames) -> tuple[np.ndarray, np.ndarray]:
        """The crop rows looked up: those of one frame in ``crop_probe_every`` of the frames that
        carry crops of the whole grid, fewer apart when fewer frames carry them; and those of
        every frame that carries the coarse grid's only (a video from the media cache keeps the
        crops of one frame in `crawler.hashing.types.CACHED_CROPS_EVERY`, of the coarse grid),
        looked up within ``coarse_crop_seed_distance``. Not fewer: capped at 8 frames a query,
        planted cropped excerpts of benchmarks.video_index were missed 1 in 10 times (2-3
        probes fell on them)."""
        rows = np.flatnonzero(query.cropped)
        frames = query.frame_of[rows]
        coarse = query.coarse if query.coarse is not None else np.zeros(len(query.seconds), bool)
        carriers = np.unique(frames[~coarse[frames]])
        probed = coarse.copy()
        if len(carriers):
            step = max(1, round(self.crop_probe_every * len(carriers) / len(query.seconds)))
            probed[carriers[::step]] = True
        chosen = probed[frames]
        return rows[chosen & ~coarse[frames]], rows[chosen & coarse[frames]]

    def _candidates(self, query: QueryFrames) -> dict[int, np.ndarray]:
        """Per reference video with a seed: the geometric variants (indexes into
        `QueryFrames.family_of`) its seeds came through."""
        rows, videos = self._seeds(query)
        found: dict[int, set[int]] = {}
        for video_id, family in zip(videos.tolist(), query.family_of[rows].tolist(), strict=True):
            found.setdefault(video_id, set()).add(family)
        return {video_id: np.array(sorted(families)) for video_id, families in found.items()}

    def _verify(self, query: QueryFrames, video_id: int, families: np.ndarray) -> VideoMatch | None:
        """The best alignment of the query with one reference video over the given geometric
        variants, if it meets the rule: of the whole frames, or of the crops against the
        reference's middles."""
        ref = self._refs[video_id]
        if not len(ref.starts):
            return None
        common = query.common_frames if query.common_frames is not None else np.empty(0, int)
        best: dict[bool, Alignment] = {}  # by crops or not
        for crops, part in ((False, ref.frames), (True, ref.middles)):
            if part is None:
                continue
            codes = part.codes
            for family in families[(families >= CROP_FAMILY) == crops].tolist():
                rows = (query.family_of == family) & ~np.isin(query.frame_of, common)
                pairs = frame_pairs(
                    query, np.flatnonzero(rows), part.starts, part.ends, codes, self.distance
                )
                found = align(pairs, tolerance=self.tolerance, max_gap=self.max_gap)
                if found is not None and (crops not in best or _better(found, best[crops])):
                    best[crops] = found
        accepted = {crops: found for crops, found in best.items() if self._accepts(found, ref)}
        if not accepted:
            return None
        # A copy that is not cropped aligns on its crops too (one grid box is the uncut copy's
        # middle): the whole frames are reported unless the crops align clearly more of them.
        whole, cropped = accepted.get(False), accepted.get(True)
        if whole is None or (
            cropped is not None
            and cropped.frames_aligned >= _CROPS_OVER_WHOLE * whole.frames_aligned
        ):
            chosen = cropped or whole
        else:
            chosen = whole
        return VideoMatch(
            video_id=video_id,
            case_id=ref.case_id,
            reference_start=round(chosen.reference_start, 3),
            reference_end=round(chosen.reference_end, 3),
            query_start=chosen.query_start,
            query_end=chosen.query_end,
            offset=round(chosen.offset, 3),
            speed=round(chosen.speed, 3),
            variant=query.variant_names[chosen.variant],
            frames_aligned=chosen.frames_aligned,
            best_distance=chosen.best_distance,
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
        """Put the videos added since the last query into the indexes, in one go, and number
        their owners (a query after a load of 100,000 videos would otherwise spend half a
        second on it)."""
        for table in (self._frames, self._middles):
            table.flush()
            if table.owners is None:
                table.owners = self._owner_table(table)

    def _owner(self, ids: np.ndarray, table: RegionTable) -> np.ndarray:
        """The video id of each frame id (or middle id) of ``table``."""
        if table.owners is None:
            table.owners = self._owner_table(table)
        firsts, video_ids = table.owners
        return video_ids[np.searchsorted(firsts, ids, side="right") - 1]

    def _owner_table(self, table: RegionTable) -> tuple[np.ndarray, np.ndarray]:
        """(first ids, video ids) of ``table``'s videos, by first id; a video with no frame
        there owns no id."""
        count = len(self._refs)
        parts = [
            next((part for part in ref.parts if part.table is table), None)
            for ref in self._refs.values()
        ]
        firsts = np.fromiter((-1 if p is None else p.first_id for p in parts), np.int64, count)
        sizes = np.fromiter((0 if p is None else p.count for p in parts), np.int64, count)
        video_ids = np.fromiter(self._refs, np.int64, count)
        owning = sizes > 0
        order = np.argsort(firsts[owning], kind="stable")
        return firsts[owning][order], video_ids[owning][order]


def _better(found: Alignment, best: Alignment) -> bool:
    return (found.frames_aligned, found.reference_span, -found.best_distance) > (
        best.frames_aligned,
        best.reference_span,
        -best.best_distance,
    )
