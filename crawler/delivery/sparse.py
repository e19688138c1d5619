"""Sample a large video from byte ranges, never the whole file: one pass at a time.

    >>> chunks = Chunks(); chunks.add(0, first_bytes)
    >>> found = sample_ranges(chunks, total, "mp4", samples=60)
    >>> found.needed     # fetch these byte ranges, add them to ``chunks``, and call again
    >>> found.frames     # FrameHash per keyframe decoded by this pass, in time order
    >>> again = sample_ranges(chunks, total, "mp4", samples=60, known=found.decoded_times)

FFmpeg's own demuxers find the index, wherever the file keeps it: the ``mov`` demuxer reads the
``moov`` box at the front (faststart) or seeks to it at the end; the ``matroska`` demuxer follows
the SeekHead to the Cues. `SparseFile` gives PyAV a file of ``total`` bytes of which only the
fetched `Chunks` are present: a read of bytes not fetched yet returns end-of-file and is
recorded, so one pass either decodes or names the bytes it lacks. A pass opens the container,
then for each target time (spread over the whole duration, the ``times`` asked for, and every
second inside the dense windows asked for) seeks back to the keyframe before it and decodes one
frame. A target named in ``known`` (the ``decoded_times`` of earlier passes) is skipped: each
keyframe is decoded and hashed once however many passes there are (a frame's hash with its
crops takes milliseconds). Every target whose
bytes are missing adds a range to ``needed``, so a pass collects all it lacks at once and the
caller fetches them together. The first keyframes asked for, `SCOUTS` of them, get `MIN_CHUNK`
bytes; once they are decoded, every other keyframe nothing was fetched around gets half as
much again as three in four took (`chunk_for`: 360p keyframes take 30-40 KB, a quarter of
`MIN_CHUNK`, and ask for 60 of them is 6 MB less); one whose decode
ran off its range asks for twice what it read, and the index for twice the run it ran off (up
to `MAX_CHUNK`): a large keyframe or index grows in a few passes.

Decoding is fenced in as in `crawler.hashing.video`: the demuxer is fixed by the sniffed format,
nested files are refused, frames over ``max_pixels`` raise `MediaTooLarge`.

Pure: standard library, PyAV and `crawler.hashing`.
"""

from __future__ import annotations

import bisect
import io
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import av

from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.types import FrameHash
from crawler.hashing.video import DEFAULT_MAX_FRAME_PIXELS, frame_hash

#: Formats sampled from byte ranges, with the FFmpeg demuxer of each (it seeks by its index).
SPARSE_DEMUXERS: dict[str, str] = {
    "mp4": "mov",
    "m4v": "mov",
    "mov": "mov",
    "webm": "matroska",
    "matroska": "matroska",
}
#: Bytes asked for at a position nothing was fetched around (a keyframe of 720p H.264 is
#: 30-120 KB; the rest grows by doubling).
MIN_CHUNK = 128 * 1024
#: Least asked for a keyframe once the file's keyframes are known to be small (`chunk_for`):
#: a keyframe of 360p H.264 took 30-40 KB with the frames its decoder holds back.
LEARNED_MIN_CHUNK = 32 * 1024
#: Keyframes asked for first, before their size is known (see `sample_ranges`).
SCOUTS = 4
#: Largest range asked for at once for one sample.
MAX_CHUNK = 4 * 1024 * 1024
#: When the index is missing this close to the end of the file (``moov`` at the end), the rest
#: of the file is asked for at once: it is the index.
INDEX_TAIL = 16 * 1024 * 1024
#: Largest range asked for at once for a dense window.
MAX_DENSE_SPAN = 32 * 1024 * 1024
#: Seconds past a dense window's end included in its span (the keyframe before it, B-frames).
_DENSE_SLACK_SECONDS = 2.0
#: A frame this close before a dense target time is taken for it (frame times are rounded).
_TIME_SLACK = 0.02
#: PyAV's read size: small, so a pass reads little past what it needs.
_BUFFER = 16 * 1024


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` (exclusive) of a file."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def header(self) -> str:
        """The HTTP ``Range`` header value asking for these bytes."""
        return f"bytes={self.start}-{self.end - 1}"


class Chunks:
    """The fetched parts of one file: sorted runs of bytes, adjacent or overlapping runs merged."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.runs: list[bytes] = []

    def add(self, start: int, data: bytes) -> None:
        if not data:
            return
        end = start + len(data)
        i = bisect.bisect_right(self.starts, start) - 1
        first = i if i >= 0 and self.starts[i] + len(self.runs[i]) >= start else i + 1
        merged_start, merged = start, data
        j = first
        while j < len(self.starts) and self.starts[j] <= end:
            run_start, run = self.starts[j], self.runs[j]
            lo = min(merged_start, run_start)
            hi = max(merged_start + len(merged), run_start + len(run))
            buffer = bytearray(hi - lo)
            buffer[run_start - lo : run_start - lo + len(run)] = run
            buffer[merged_start - lo : merged_start - lo + len(merged)] = merged
            merged_start, merged = lo, bytes(buffer)
            j += 1
        self.starts[first:j] = [merged_start]
        self.runs[first:j] = [merged]

    def read(self, position: int, size: int) -> bytes | None:
        """Up to ``size`` bytes from ``position`` (fewer at a run's end), or None: not fetched."""
        i = bisect.bisect_right(self.starts, position) - 1
        if i < 0:
            return None
        offset = position - self.starts[i]
        run = self.runs[i]
        if offset >= len(run):
            return None
        return run[offset : offset + size]

    def run_ending_at(self, position: int) -> int:
        """The length of the fetched run that ends exactly at ``position`` (0: none)."""
        i = bisect.bisect_right(self.starts, position) - 1
        if i >= 0 and self.starts[i] + len(self.runs[i]) == position:
            return len(self.runs[i])
        return 0

    def missing(self, wanted: ByteRange) -> list[ByteRange]:
        """The parts of ``wanted`` not fetched yet."""
        parts, position = [], wanted.start
        i = max(0, bisect.bisect_right(self.starts, position) - 1)
        while position < wanted.end and i < len(self.starts):
            start, end = self.starts[i], self.starts[i] + len(self.runs[i])
            if end <= position:
                i += 1
                continue
            if start > position:
                parts.append(ByteRange(position, min(start, wanted.end)))
            position = max(position, end)
            i += 1
        if position < wanted.end:
            parts.append(ByteRange(position, wanted.end))
        return parts

    @property
    def size(self) -> int:
        """Bytes held."""
        return sum(len(run) for run in self.runs)

    def __len__(self) -> int:
        return len(self.runs)


class SparseFile(io.RawIOBase):
    """A seekable file of ``total`` bytes of which only ``chunks`` are present. Reading bytes
    that are not there returns end-of-file and records the position in ``misses``; ``first``
    and ``last`` are the first byte and the end of the bytes read since `restart`."""

    def __init__(self, chunks: Chunks, total: int) -> None:
        super().__init__()
        self.chunks = chunks
        self.total = total
        self.position = 0
        self.misses: list[int] = []
        self.first: int | None = None
        self.last = 0

    def restart(self) -> None:
        """Forget the misses and the bytes read so far: one target's reads start here."""
        self.misses.clear()
        self.first = None
        self.last = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self.position = offset
        elif whence == io.SEEK_CUR:
            self.position += offset
        elif whence == io.SEEK_END:
            self.position = self.total + offset
        else:
            raise OSError(f"unsupported whence {whence}")
        return self.position

    def read(self, size: int = -1) -> bytes:
        if self.position >= self.total:
            return b""
        if size < 0:
            size = self.total - self.position
        size = min(size, self.total - self.position)
        data = self.chunks.read(self.position, size)
        if data is None:
            self.misses.append(self.position)
            return b""
        if self.first is None:
            self.first = self.position
        self.position += len(data)
        self.last = max(self.last, self.position)
        return data

    def readinto(self, buffer) -> int:  # io.RawIOBase's protocol, for completeness
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True, slots=True)
class SparseSample:
    """One pass over the fetched ranges: the frames decoded, and the ranges still needed."""

    frames: tuple[FrameHash, ...]
    needed: tuple[ByteRange, ...]
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str = ""
    #: Target times whose keyframe could not be decoded from the ranges fetched so far.
    targets_missing: int = 0
    #: Target times this pass decoded a frame for: with the ``known`` it was given, the next
    #: pass's ``known``.
    decoded_times: frozenset[float] = frozenset()
    #: The bytes each keyframe decoded by this pass took (from its first byte read to its last:
    #: the keyframe, the frames a decoder holds back, the audio between them). The next pass's
    #: ``chunk`` can follow them (`chunk_for`).
    target_bytes: tuple[int, ...] = ()


def chunk_for(target_bytes: Sequence[int]) -> int | None:
    """The bytes to ask for a keyframe once keyframes of this file took ``target_bytes``
    (`SparseSample.target_bytes`): half as much again as three in four of them took (a larger
    one asks again, for twice what it read), at least `LEARNED_MIN_CHUNK`; before any was
    decoded, None (`sample_ranges` scouts)."""
    if not target_bytes:
        return None
    ordered = sorted(target_bytes)
    upper = ordered[(3 * (len(ordered) - 1)) // 4]
    return min(MAX_CHUNK, max(LEARNED_MIN_CHUNK, upper * 3 // 2))


def spread_samples(
    duration: float, samples: int, every: float | None, most: int | None = None
) -> int:
    """How many times to spread over ``duration`` seconds: ``samples``, or one every ``every``
    seconds when that is more, up to ``most``."""
    if every is None or every <= 0:
        return samples
    wanted = math.ceil(duration / every)
    return max(samples, wanted if most is None else min(most, wanted))


def spread_times(duration: float, samples: int) -> list[float]:
    """``samples`` times spread over ``duration``: the middle of each of ``samples`` equal parts."""
    if samples < 1 or not duration > 0:
        return []
    return [duration * (i + 0.5) / samples for i in range(samples)]


def dense_times(windows: Sequence[tuple[float, float]], step: float = 1.0) -> dict[float, float]:
    """One time per ``step`` seconds inside each ``(start, end)`` window, each with the end of
    its window."""
    times: dict[float, float] = {}
    for start, end in windows:
        count = max(1, math.floor((end - start) / step) + 1)
        for i in range(count):
            times[max(0.0, start) + i * step] = end
    return times


def sample_ranges(
    chunks: Chunks,
    total: int,
    fmt: str,
    *,
    samples: int,
    windows: Sequence[tuple[float, float]] = (),
    times: Sequence[float] = (),
    known: Collection[float] = frozenset(),
    spread_every: float | None = None,
    max_samples: int | None = None,
    chunk: int | None = MIN_CHUNK,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
) -> SparseSample:
    """One pass: decode a keyframe near each of ``samples`` times spread over the video, each of
    ``times`` (the keyframe before it, as the spread ones) and each second of ``windows``, from
    ``chunks`` of a ``total``-byte ``fmt`` file (a `sniff` format in `SPARSE_DEMUXERS`), except
    the target times in ``known`` (decoded by an earlier pass: its ``decoded_times``; their
    frames are not in this pass's ``frames``). ``spread_every``: more than ``samples`` on a long
    video, one every ``spread_every`` seconds, but not more than ``max_samples``. ``chunk``: the
    bytes asked for a keyframe nothing was fetched around (`chunk_for` the keyframes decoded so
    far); None: no keyframe was decoded yet, so only `SCOUTS` of them are asked for, with
    `MIN_CHUNK` bytes each, to learn their size before the rest are. Raises `UnsupportedMedia` for
    other formats or no video stream, `UndecodableMedia` when the fetched bytes are all there and
    still will not open, and `MediaTooLarge` for frames over ``max_pixels``. A module-level
    function: the crawl runs it in its hashing processes."""
    demuxer = SPARSE_DEMUXERS.get(fmt)
    if demuxer is None:
        raise UnsupportedMedia(f"{fmt} is not sampled from byte ranges")
    file = SparseFile(chunks, total)
    try:
        container = av.open(
            file,
            format=demuxer,
            buffer_size=_BUFFER,
            io_open=_refuse_nested_file,
            metadata_errors="replace",
        )
    except MediaError:
        raise
    except Exception as error:  # FFmpeg and PyAV raise many types on hostile or missing bytes
        if file.misses:
            return SparseSample((), tuple(_wanted(file.misses, chunks, total, demuxer)))
        raise UndecodableMedia(
            f"cannot open this {fmt} video from its byte ranges ({type(error).__name__}: {error})"
        ) from None
    with container:
        if file.misses:  # opened, but the stream parameters needed bytes it did not have
            return SparseSample((), tuple(_wanted(file.misses, chunks, total, demuxer)))
        return _Pass(container, file, chunks, total, max_pixels, chunk).run(
            (samples, spread_every, max_samples), windows, times, frozenset(known)
        )


class _Pass:
    def __init__(
        self,
        container,
        file: SparseFile,
        chunks: Chunks,
        total: int,
        max_pixels: int,
        chunk: int | None,
    ):
        self.chunk = chunk
        self.container = container
        self.file = file
        self.chunks = chunks
        self.total = total
        self.max_pixels = max_pixels

    def run(
        self,
        spread: tuple[int, float | None, int | None],
        windows: Sequence[tuple[float, float]],
        times: Sequence[float],
        known: frozenset[float],
    ) -> SparseSample:
        if not self.container.streams.video:
            raise UnsupportedMedia("no video stream in this file: there is nothing to sample")
        stream = self.container.streams.video[0]
        stream.thread_type = "NONE"
        duration = _duration(self.container, stream)
        if duration is None:
            raise UndecodableMedia("the video declares no duration: it cannot be sampled by time")
        start = _start_seconds(stream)
        frames: dict[float, FrameHash] = {}
        needed: list[tuple[int, int]] = []  # (where a target's read missed, bytes it had read)
        spent: list[int] = []  # the bytes each decoded keyframe read
        missing = 0
        width = height = None
        # Windows asked for before the duration was known (a page's preview times) end with it.
        dense = dense_times([(a, min(b, duration)) for a, b in windows if a < duration])
        # A dense target that misses asks for the bytes up to its window's end at once.
        per_second = self.total / duration if duration > 0 else 0
        spans: list[ByteRange] = []
        samples = spread_samples(duration, *spread)
        asked = {*spread_times(duration, samples), *(t for t in times if 0 <= t < duration), *dense}
        decoded = set(known & asked)
        for target in sorted(asked - known):
            self.file.restart()
            # Spread samples take the keyframe before their time; dense ones decode on to it.
            frame = self._frame(stream, start + target, exact=target in dense)
            first = self.file.first
            if frame is None:
                if self.file.misses:
                    missing += 1
                    position = self.file.misses[0]
                    if target in dense:
                        length = per_second * (dense[target] - target + _DENSE_SLACK_SECONDS)
                        length = min(MAX_DENSE_SPAN, max(MIN_CHUNK, int(length)))
                        spans.append(ByteRange(position, min(self.total, position + length)))
                    else:
                        read = position - first if first is not None and first <= position else 0
                        needed.append((position, read))
                continue
            if first is not None and target not in dense:
                spent.append(self.file.last - first)
            if frame.width * frame.height > self.max_pixels:
                raise MediaTooLarge(
                    f"video frames are {frame.width}x{frame.height}, over the limit of "
                    f"{self.max_pixels:,} pixels"
                )
            width, height = frame.width, frame.height
            decoded.add(target)
            seconds = max(0.0, float(frame.time or 0.0) - start)
            if seconds not in frames:
                frames[seconds] = frame_hash(frame, seconds)
        chunk = self.chunk if self.chunk is not None else chunk_for(spent)
        if chunk is None and len(needed) > SCOUTS:  # a few first, spread over the rest
            needed = [needed[round(i * (len(needed) - 1) / (SCOUTS - 1))] for i in range(SCOUTS)]
        chunk = MIN_CHUNK if chunk is None else chunk
        wanted = _merged([*_keyframes(needed, self.total, chunk), *spans])
        wanted = [part for item in wanted for part in self.chunks.missing(item)]
        return SparseSample(
            frames=tuple(frames[s] for s in sorted(frames)),
            needed=tuple(wanted),
            duration=duration,
            width=width,
            height=height,
            codec=stream.codec_context.name,
            targets_missing=missing,
            decoded_times=frozenset(decoded),
            target_bytes=tuple(spent),
        )

    def _frame(self, stream, seconds: float, *, exact: bool):
        """The first frame decoded after seeking back from ``seconds`` to a keyframe (``exact``:
        the first at or after ``seconds``), or None when its bytes are missing."""
        try:
            self.container.seek(
                max(0, int(seconds / stream.time_base)), stream=stream, backward=True
            )
            for packet in self.container.demux(stream):
                if self.file.misses:
                    return None
                if packet.size == 0:
                    continue
                for frame in stream.decode(packet):
                    if self.file.misses:
                        return None
                    if not exact or (frame.time or 0.0) >= seconds - _TIME_SLACK:
                        return frame
        except MediaError:
            raise
        except Exception:  # a missing range shows as an FFmpeg error or an early end
            return None
        return None


def _wanted(misses: Sequence[int], chunks: Chunks, total: int, demuxer: str) -> list[ByteRange]:
    """The ranges to fetch for the index's reads that missed at ``misses``: merged, never past
    ``total``, never bytes already held. A read inside an MP4 box whose header was fetched (the
    ``moov`` of a faststart file, past the probe) asks for the rest of that box (of the media
    data box, `MIN_CHUNK`: the demuxer reads its header)."""
    ranges: list[ByteRange] = []
    for position in sorted(set(misses)):
        box_end = _box_end(chunks, position) if demuxer == "mov" else None
        if total - position <= INDEX_TAIL:
            length = total - position
        elif box_end is not None:  # an index box's rest; in the media data, a header's worth
            length = box_end - position if box_end - position <= MAX_DENSE_SPAN else MIN_CHUNK
        else:
            length = min(MAX_CHUNK, max(MIN_CHUNK, 2 * chunks.run_ending_at(position)))
        ranges.append(ByteRange(position, min(total, position + length)))
    return [part for item in _merged(ranges) for part in chunks.missing(item)]


def _box_end(chunks: Chunks, position: int) -> int | None:
    """The end of the top-level MP4 box that holds ``position``, when the headers of every box
    before it were fetched (a box starting at ``position``: `MIN_CHUNK` past it, for its
    header); else None."""
    offset = 0
    while offset <= position:
        header = chunks.read(offset, 16)
        if header is None and offset == position:
            return position + MIN_CHUNK
        if header is None or len(header) < 8:
            return None
        size = int.from_bytes(header[:4], "big")
        if size == 1 and len(header) == 16:
            size = int.from_bytes(header[8:16], "big")
        if size < 8:  # 0 (to the end of the file), or not a box
            return None
        if offset + size > position:
            return offset + size
        offset += size
    return None


def _keyframes(misses: Sequence[tuple[int, int]], total: int, chunk: int) -> list[ByteRange]:
    """The ranges to fetch for keyframes whose reads missed: ``(position, bytes read before
    it)`` each. Twice what the target read already (it ran off a range too short), else
    ``chunk`` (nothing was read: a keyframe nothing was fetched around); never past ``total``
    nor over `MAX_CHUNK`."""
    ranges = [
        ByteRange(position, min(total, position + min(MAX_CHUNK, max(chunk, 2 * read))))
        for position, read in misses
    ]
    return _merged(ranges)


def _merged(ranges: Sequence[ByteRange]) -> list[ByteRange]:
    """``ranges`` sorted, overlapping and adjacent ones joined."""
    merged: list[ByteRange] = []
    for item in sorted(ranges, key=lambda r: r.start):
        if merged and item.start <= merged[-1].end:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, item.end))
        else:
            merged.append(item)
    return merged


def _duration(container, stream) -> float | None:
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _start_seconds(stream) -> float:
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _refuse_nested_file(url: str, flags: int, options: dict[str, str]) -> None:
    raise PermissionError(f"a video may not open other files ({url!r} refused)")
