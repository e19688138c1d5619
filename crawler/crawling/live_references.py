"""Keep a running crawl's reference index current: new references match, withdrawn ones stop.

A crawl loads every active reference when it opens, then polls the database every few seconds
for references added, re-added or withdrawn since its last look (``changed_at``) and applies the
changes to its in-memory index. When Redis is configured, whatever changes references announces
it on a Redis channel and every crawl, on any machine, polls at once; the slower regular poll
stays as the safety net. The look-back overlaps the previous one by a margin, so a write
committed late or stamped by a machine whose clock runs behind is not missed; applying a change
twice does nothing.
"""

from __future__ import annotations

import ctypes
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.crawling.media_download import AlignedLine
from crawler.db.match_keys import ReferenceKey, case_names
from crawler.hashing.types import FrameHash, HashFormatError, HashValue, MediaHashes
from crawler.matching import Match, Matcher, Reference
from crawler.matching.video import StillMatch, VideoMatch, VideoMatcher
from crawler.matching.video_frames import frame_rows
from crawler.references.announcements import CHANNEL, announce_change, wait_for_announcements

__all__ = [
    "CHANNEL",
    "OVERLAP",
    "Applied",
    "LiveReferences",
    "announce_change",
    "to_references",
    "video_matcher_from_settings",
    "wait_for_announcements",
]

logger = logging.getLogger(__name__)

#: How far each look overlaps the one before (clock skew between machines, slow commits).
OVERLAP = timedelta(minutes=2)


def to_references(rows: Iterable[db.ReferenceRow]) -> list[Reference]:
    """Index entries for database rows; a row with a malformed hash is skipped with a warning."""
    return list(iter_to_references(rows))


def iter_to_references(rows: Iterable[db.ReferenceRow]) -> Iterator[Reference]:
    """`to_references`, one at a time (for a stream of millions of rows)."""
    for row in rows:
        try:
            value = HashValue(row.algorithm, row.value, row.quality)
        except HashFormatError as exc:
            logger.warning("Reference hash %s ignored: %s", row.id, exc)
            continue
        yield Reference(id=row.id, case_id=row.case_id, value=value)


@dataclass
class Applied:
    added: int = 0
    removed: int = 0


class LiveReferences:
    """The crawl's Matcher, loaded from the database and kept current by :meth:`poll`.

    ``fetch`` does the database work (call it off the reactor thread); ``apply`` changes the
    matcher (call it where the matcher is used). Which references are active is the matcher's
    own knowledge: nothing is kept per reference outside its arrays, and ``load`` streams the
    rows from the database into it.
    """

    def __init__(self, sessions: sessionmaker[Session], videos: VideoMatcher | None = None):
        self.sessions = sessions
        self.matcher = Matcher()
        #: Reference videos; give one made by `video_matcher_from_settings` to apply the
        #: REPOSTWATCH_VIDEO_* settings.
        self.videos = videos if videos is not None else VideoMatcher()
        self.video_references: dict[int, int] = {}  # video id -> its sha256 reference id
        self.video_lengths: dict[int, float] = {}  # video id -> seconds
        self.case_names: dict[int, str] = {}  # to name a match while the database is down
        self.checked_at: datetime | None = None

    def load(self) -> int:
        self.checked_at = datetime.now(UTC)
        with self.sessions() as session:
            self.case_names = case_names(session)
            self.matcher.add(iter_to_references(db.iter_references(session)))
            videos = db.load_reference_videos(session)
        self._add_videos(videos)
        self.videos.prepare()  # built here, at start-up, not in the first page's matching
        release_freed_memory()
        return len(self.matcher)

    def _add_videos(self, videos: list[db.ReferenceVideoRow]) -> int:
        added = 0
        for video in videos:
            if video.id in self.videos:
                continue
            try:
                frames = _rows(video.frames)
                middles = _rows(video.middles) if video.middles else None
            except ValueError as exc:
                logger.warning("Reference video %s ignored: %s", video.id, exc)
                continue
            self.videos.add_rows(video.id, video.case_id, *frames, video.duration, middles=middles)
            self.video_references[video.id] = video.reference_id
            last = float(frames[0][-1]) if len(frames[0]) else 0.0
            self.video_lengths[video.id] = video.duration or last
            added += 1
        return added

    def keys_in_memory(self, matches: Iterable[Match]) -> dict[int, ReferenceKey]:
        """What the matched references are called, from memory alone (call it where the matcher
        is used): the hash in the index and the case's name. Crop and video matches have none."""
        found = {}
        for match in matches:
            value = self.matcher.reference_hex(match.algorithm, match.reference_id)
            case = self.case_names.get(match.case_id)
            if value is not None and case is not None:
                found[match.reference_id] = ReferenceKey(case, match.algorithm, value)
        return found

    def match(self, media: MediaHashes) -> list[tuple[Match, str | None]]:
        """At most one match per case, with its evidence (JSON text, for crop and video
        matches: `video_evidence`, `still_evidence`).

        Hash matches (exact, pHash, PDQ and their variants, crops) come first; then, for the
        cases nothing else matched, a video's or an animation's frames are aligned with the
        reference videos (`VideoMatcher.match`), and a still image is looked for among the
        reference videos' frames (`VideoMatcher.match_still`).
        """
        found: list[tuple[Match, str | None]] = [
            (m, _crop_evidence(m)) for m in self.matcher.match(media)
        ]
        if not len(self.videos):
            return found
        cases = {match.case_id for match, _ in found}
        video_matches: list[VideoMatch | StillMatch] = []
        if media.frames:
            video_matches += self.videos.match(media.frames)
        if media.still is not None:
            video_matches += self.videos.match_still(media.still)
        for video in video_matches:
            if video.case_id in cases:
                continue
            cases.add(video.case_id)
            match = Match(
                reference_id=self.video_references[video.video_id],
                case_id=video.case_id,
                algorithm="vpdq",
                distance=video.best_distance if isinstance(video, VideoMatch) else video.distance,
                variant="frames" if isinstance(video, VideoMatch) else "still",
            )
            evidence = (
                video_evidence(video) if isinstance(video, VideoMatch) else still_evidence(video)
            )
            found.append((match, json.dumps(evidence)))
        return found

    def video_candidate_times(self, frames: Sequence[FrameHash]) -> list[float]:
        """The seconds of ``frames`` near some reference video's frame (call it where the
        matcher is used): sample more densely around them, then `match` all the frames."""
        if not len(self.videos):
            return []
        return self.videos.candidate_times(frames)

    def video_lines(self, frames: Sequence[FrameHash]) -> list[AlignedLine]:
        """The reference videos ``frames`` match, each as the line its frames agree on (call it
        where the matcher is used): a sampler follows each line to where it ends."""
        if not len(self.videos):
            return []
        lines = []
        for match in self.videos.match(frames):
            length = self.video_lengths.get(match.video_id)
            lines.append(
                AlignedLine(
                    reference_video=match.video_id,
                    found_start=match.query_start,
                    found_end=match.query_end,
                    # reference = offset + speed * found: where its first and last seconds fall
                    reference_first=-match.offset / match.speed,
                    reference_last=None if not length else (length - match.offset) / match.speed,
                )
            )
        return lines

    def fetch(self) -> tuple[datetime, db.ReferenceChanges]:
        assert self.checked_at is not None, "load() first"
        now = datetime.now(UTC)
        with self.sessions() as session:
            changes = db.reference_changes(session, self.checked_at - OVERLAP)
            self.case_names = case_names(session)
        return now, changes

    def apply(self, checked_at: datetime, changes: db.ReferenceChanges) -> Applied:
        applied = Applied()
        if changes.withdrawn:
            applied.removed = self.matcher.remove(changes.withdrawn)
        new = self.matcher.missing(to_references(changes.active))
        if new:
            self.matcher.add(new)
            applied.added = len(new)
        for video_id in changes.withdrawn_videos:
            if video_id in self.videos:
                self.videos.remove(video_id)
                self.video_lengths.pop(video_id, None)
                applied.removed += 1
        applied.added += self._add_videos(changes.videos)
        self.checked_at = checked_at
        if applied.added or applied.removed:
            logger.info(
                "References updated while crawling: %d added, %d withdrawn (%d active)",
                applied.added,
                applied.removed,
                len(self.matcher),
            )
        return applied


def _rows(frames: Sequence[db.VideoFrame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored frames (or middles) as `VideoMatcher.add_rows` takes them (`frame_rows`).
    Raises ValueError for a hash that is not PDQ's 64 hex digits."""
    return frame_rows((frame.seconds, frame.value, frame.quality) for frame in frames)


def video_matcher_from_settings(settings: SettingsLike) -> VideoMatcher:
    """A `VideoMatcher` with the alignment rule the REPOSTWATCH_VIDEO_* settings set."""
    return VideoMatcher(
        min_frames=settings.getint("REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES"),
        min_seconds=settings.getfloat("REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS"),
        sparse_frames=settings.getint("REPOSTWATCH_VIDEO_SPARSE_ALIGNED_FRAMES"),
        sparse_seconds=settings.getfloat("REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS"),
    )


class SettingsLike(Protocol):
    """What `video_matcher_from_settings` reads settings through (Scrapy's `Settings`)."""

    def getint(self, name: str) -> int: ...

    def getfloat(self, name: str) -> float: ...


def release_freed_memory() -> None:
    """Give the memory a large load freed back to the operating system. glibc keeps freed blocks
    under 32 MB in its heap, and a load of millions of references frees many (its batches, the
    index's build): 130-200 MiB that the process would otherwise hold for the whole crawl
    (`benchmarks.index` measures it). Does nothing where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return


def video_evidence(video: VideoMatch) -> dict[str, object]:
    """A video match's evidence: which reference video, the reference's seconds found and the
    found media's seconds they are at, the line between them (``reference = offset + speed *
    found``), the frames on it, the closest frame distance and the variant ("flipx": the found
    video is the reference mirrored). The pipeline may add more keys (the delivery)."""
    return {
        "reference_video": video.video_id,
        "reference_start": video.reference_start,
        "reference_end": video.reference_end,
        "found_start": video.query_start,
        "found_end": video.query_end,
        "offset": video.offset,
        "speed": video.speed,
        "frames_aligned": video.frames_aligned,
        "best_distance": video.best_distance,
        "variant": video.variant,
    }


def still_evidence(still: StillMatch) -> dict[str, object]:
    """A still image found to be a frame of a reference video: which video, at what second."""
    return {
        "reference_video": still.video_id,
        "reference_start": still.reference_time,
        "reference_end": still.reference_time,
        "frames_aligned": 1,
        "best_distance": still.distance,
        "variant": still.variant,
    }


def _crop_evidence(match: Match) -> str | None:
    """A crhash match's evidence as JSON: the reference's keypoints found in place, out of how
    many, and the descriptors' agreement score."""
    if match.inliers is None:
        return None
    keypoints = match.inliers + match.distance
    return json.dumps({"inliers": match.inliers, "keypoints": keypoints, "score": match.score})
