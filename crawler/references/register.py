"""Register victims' media as hashes only.

``add_files`` hashes each file in memory and stores only its hashes; the file is never copied,
moved or written anywhere. ``add_upload`` does the same for media handed over in memory (the web
app's upload, whose bytes are never written either) under the label staff gave it. Partner hash
lists: :mod:`crawler.references.hash_lists`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from crawler import db
from crawler.hashing import MediaError, hash_media
from crawler.hashing.types import HashValue, MediaHashes

#: Bytes read at a time for a reference video's digests.
DIGEST_CHUNK = 1 << 20
#: Highest frame rate a reference video is decoded at to its end (`REFERENCE_MAX_SECONDS`).
MAX_REFERENCE_FPS = 120


@dataclass
class RegisterReport:
    files_added: int = 0
    files_existing: int = 0
    hashes_added: int = 0
    # Videos and animated images (GIF, WebP, PNG) whose frame hashes were stored (for near-copy
    # matching: a re-encoded copy, or a video made from an animation, or the reverse).
    videos_added: int = 0
    # Each file (a path, or an upload's label) that could not be hashed, and why.
    skipped: list[tuple[Path | str, str]] = field(default_factory=list)
    frames_stored: int = 0  # reference video frames stored (after still shots' repeats go)
    # Reference videos whose frames stop before their end (a limit was hit), and why.
    cut_short: list[tuple[Path | str, str]] = field(default_factory=list)
    # The reference files' SHA-256 (hex), in the order given (skipped files have none).
    media_sha256: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Upload:
    """Reference media handed over in memory (a browser upload): its bytes and the label staff
    chose for it. Nothing of it is written anywhere; only its hashes are stored."""

    data: bytes
    label: str

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)

    def read(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class _File:
    """A reference file on disk, labelled with its name (as `refs add` has always stored it)."""

    path: Path

    @property
    def label(self) -> str:
        return self.path.name

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    def read(self) -> bytes:
        return self.path.read_bytes()


_Source = Upload | _File


def not_media(head: bytes) -> str | None:
    """Why ``head`` (a file's first bytes) is not media that can be registered, or None: the
    check by magic bytes that hashing makes first, for a quick answer before hashing starts."""
    from crawler.hashing.sniff import sniff

    try:
        found = sniff(head)
    except MediaError as exc:
        return str(exc)
    if found.kind not in ("image", "video"):
        return f"a {found.format.upper()} playlist, not a photo or video file"
    return None


def media_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """The files named, and every file under the directories named (sorted, hidden skipped)."""
    for path in map(Path, paths):
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    yield child
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


def add_files(
    session: Session,
    case: str,
    files: Iterable[Path],
    *,
    on_file: Callable[[Path], None] | None = None,
    thumbnails: bool = False,
) -> RegisterReport:
    """Hash each file and store its hashes under ``case``. Re-adding a file changes nothing.

    With ``thumbnails`` (the case opted in), each image also gets a heavily pixelated
    thumbnail (:mod:`crawler.references.thumbnails`)."""
    report = RegisterReport()
    for path in files:
        _add(session, case, _File(path), path, report, thumbnails)
        if on_file is not None:
            on_file(path)
    return report


def add_upload(
    session: Session, case: str, upload: Upload, *, thumbnails: bool = False
) -> RegisterReport:
    """`add_files` for one medium handed over in memory, stored under ``upload.label``."""
    report = RegisterReport()
    _add(session, case, upload, upload.label, report, thumbnails)
    return report


def _add(
    session: Session,
    case: str,
    source: _Source,
    name: Path | str,
    report: RegisterReport,
    thumbnails: bool,
) -> None:
    try:
        hashes = _video_digests(source) or hash_media(source.read())
    except MediaError as exc:
        report.skipped.append((name, str(exc)))
        return
    result = db.add_reference_hashes(
        session,
        case,
        [db.NewHash(h.algorithm, h.hex, h.quality) for h in hashes.reference_values()],
        source="file",
        label=source.label,
        media_sha256=hashes.sha256,
    )
    report.media_sha256.append(hashes.sha256)
    report.hashes_added += result.added
    if thumbnails and hashes.kind == "image" and not hashes.frames:
        _add_thumbnail(session, case, source, hashes.sha256)
    if hashes.kind == "video":
        frames_stored = _add_video_frames(session, case, source, name, hashes.sha256, report)
    else:  # an animated image has frames too
        frames_stored = bool(hashes.frames) and _add_animation_frames(
            session, case, source, hashes.sha256
        )
    report.videos_added += frames_stored
    if result.added:
        report.files_added += 1
    else:
        report.files_existing += 1


def _add_thumbnail(session: Session, case: str, source: _Source, sha256: str) -> None:
    from crawler.db.cases import store_thumbnail
    from crawler.references.thumbnails import pixelated_thumbnail

    store_thumbnail(session, case, sha256, pixelated_thumbnail(source.read()))


def _video_digests(source: _Source) -> MediaHashes | None:
    """A video file's digests, read in chunks (a reference video may be hours long: it is
    never held in memory whole); None when ``source`` is not a video. Its frames are hashed from
    the file by `_add_video_frames`."""
    from crawler.hashing.sniff import sniff
    from crawler.hashing.video import SNIFF_BYTES

    with source.open() as file:
        try:
            sniffed = sniff(file.read(SNIFF_BYTES))
        except MediaError:
            return None
        if sniffed.kind != "video":
            return None
        file.seek(0)
        sha256, md5 = hashlib.sha256(), hashlib.md5()
        size = 0
        while chunk := file.read(DIGEST_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    digests = (HashValue("sha256", sha256.hexdigest()), HashValue("md5", md5.hexdigest()))
    return MediaHashes("video", sniffed.format, size, None, None, digests)


def _add_video_frames(
    session: Session,
    case: str,
    source: _Source,
    name: Path | str,
    sha256: str,
    report: RegisterReport,
) -> bool:
    """Store a reference video's frames, sampled 4 times a second (copies are sampled once a
    second: denser references keep trimmed copies of fast footage matching), from its start
    to its end (up to `REFERENCE_MAX_SECONDS`), decoded from the file as it is read."""
    from crawler.hashing.video import (
        REFERENCE_MAX_SECONDS,
        REFERENCE_SECONDS_PER_SAMPLE,
        hash_video,
        unique_frame_hashes,
    )

    try:
        with source.open() as file:
            video = hash_video(
                file,
                seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
                # every sample due, plus a keyframe (cut) between each two at most
                max_frames=2 * int(REFERENCE_MAX_SECONDS / REFERENCE_SECONDS_PER_SAMPLE),
                max_seconds=REFERENCE_MAX_SECONDS,
                max_decoded_frames=int(REFERENCE_MAX_SECONDS * MAX_REFERENCE_FPS),
                variants=False,
                middles=True,
            )
    except MediaError:
        return False  # undecodable here: its digests still match exact copies
    if video.truncated:
        last = video.frames[-1].seconds if video.frames else 0.0
        report.cut_short.append(
            (
                name,
                f"frames stored up to {last:.0f} s of {video.duration:.0f} s: the video is "
                f"damaged or cut there, or longer than {REFERENCE_MAX_SECONDS / 3600:.0f} hours "
                f"(or over {MAX_REFERENCE_FPS} frames a second); split it with ffmpeg and add "
                "the parts so that copies of the rest are found too",
            )
        )
    frames = [
        db.VideoFrame(frame.seconds, frame.value.hex, frame.value.quality or 0)
        for frame in unique_frame_hashes(video.frames)
    ]
    middles = [
        db.VideoFrame(middle.seconds, middle.value.hex, middle.value.quality or 0)
        for middle in unique_frame_hashes(video.middles)
    ]
    added = db.add_reference_video(
        session,
        case,
        media_sha256=sha256,
        duration=video.duration,
        frames=frames,
        label=source.label,
        middles=middles,
    )
    report.frames_stored += len(frames) if added else 0
    return added


def _add_animation_frames(session: Session, case: str, source: _Source, sha256: str) -> bool:
    """Store an animated image's frames as a reference video's: sampled 4 times a second and
    hashed as video frames are, so that a re-encoded GIF or WebP, or an MP4 made from it,
    matches by temporal alignment as a copy of a reference video does."""
    from crawler.hashing.animation import animation_frame_hashes, animation_middles
    from crawler.hashing.video import REFERENCE_SECONDS_PER_SAMPLE, unique_frame_hashes

    data = source.read()
    try:
        frames, duration = animation_frame_hashes(
            data, seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE, variants=False
        )
        middles = animation_middles(data)
    except MediaError:
        return False
    if not frames:
        return False
    return db.add_reference_video(
        session,
        case,
        media_sha256=sha256,
        duration=duration,
        frames=[
            db.VideoFrame(frame.seconds, frame.value.hex, frame.value.quality or 0)
            for frame in unique_frame_hashes(frames)
        ],
        label=source.label,
        middles=[
            db.VideoFrame(middle.seconds, middle.value.hex, middle.value.quality or 0)
            for middle in unique_frame_hashes(middles)
        ],
    )
