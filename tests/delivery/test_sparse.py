"""The sparse reader samples a video from the byte ranges it asks for, never the whole file."""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path

import pytest

from crawler.delivery import sparse
from crawler.delivery.sparse import (
    MIN_CHUNK,
    SCOUTS,
    ByteRange,
    Chunks,
    SparseFile,
    chunk_for,
    sample_ranges,
)
from crawler.hashing.errors import UnsupportedMedia
from tests.support.videos import slideshow

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
PROBE = 64 * 1024


@cache
def _video(container: str, faststart: bool = False) -> bytes:
    """The slideshow, 32 s, re-encoded by ffmpeg with a keyframe every second (as sites encode),
    moov at the end (ffmpeg's default) or at the front (``faststart``)."""
    source = slideshow(PHOTOS, seconds=32.0)
    folder = Path(tempfile.mkdtemp(prefix="sparse-"))
    (folder / "in.mp4").write_bytes(source)
    out = folder / f"out.{'mp4' if container == 'mp4' else 'webm'}"
    codec = ["-c:v", "libx264", "-preset", "veryfast"] if container == "mp4" else [
        "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"
    ]  # fmt: skip
    flags = ["-movflags", "+faststart"] if faststart else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(folder / "in.mp4"), *codec, "-g", "15",
         *flags, str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def _sample(data: bytes, fmt: str, samples: int, windows=(), rounds: int = 12):
    """Pass after pass, fetching what each asks for; returns the last pass, the chunks, the
    passes and the ranges asked for."""
    chunks = Chunks()
    chunks.add(0, data[:PROBE])
    asked: list[ByteRange] = []
    for number in range(1, rounds + 1):
        found = sample_ranges(chunks, len(data), fmt, samples=samples, windows=windows)
        if not found.needed:
            return found, chunks, number, asked
        for wanted in found.needed:
            assert chunks.missing(wanted) == [wanted], "a pass asked for bytes it already had"
            asked.append(wanted)
            chunks.add(wanted.start, data[wanted.start : wanted.end])
    raise AssertionError(f"still asking for ranges after {rounds} passes")


def _whole(data: bytes, fmt: str, samples: int, windows=()):
    chunks = Chunks()
    chunks.add(0, data)
    found = sample_ranges(chunks, len(data), fmt, samples=samples, windows=windows)
    assert not found.needed
    return found


@pytest.mark.parametrize(
    ("container", "faststart"), [("mp4", False), ("mp4", True), ("webm", False)]
)
def test_sampled_from_ranges_as_from_the_whole_file(container, faststart):
    data = _video(container, faststart)
    fmt = "mp4" if container == "mp4" else "webm"
    found, chunks, _, _ = _sample(data, fmt, samples=8)
    whole = _whole(data, fmt, samples=8)
    assert found.frames == whole.frames
    assert len(found.frames) >= 6  # keyframes spread over the 32 s
    assert found.frames[0].seconds < 8 and found.frames[-1].seconds > 24
    assert chunks.size < len(data)


def test_moov_at_the_end_is_asked_for_at_once():
    data = _video("mp4")
    moov = data.rfind(b"moov") - 4
    assert moov > PROBE, "ffmpeg's default puts the index after the media data"
    chunks = Chunks()
    chunks.add(0, data[:PROBE])
    first = sample_ranges(chunks, len(data), "mp4", samples=8)
    assert first.frames == ()
    assert first.needed == (ByteRange(moov, len(data)),)


def test_faststart_opens_from_the_first_bytes():
    data = _video("mp4", faststart=True)
    chunks = Chunks()
    chunks.add(0, data[:PROBE])
    first = sample_ranges(chunks, len(data), "mp4", samples=8)
    assert first.duration == pytest.approx(32, abs=0.5)
    assert first.needed and all(r.start >= PROBE for r in first.needed)


def test_dense_window_decodes_every_second_between_keyframes():
    data = _video("mp4")
    found, *_ = _sample(data, "mp4", samples=4, windows=[(10.0, 14.0)])
    seconds = [f.seconds for f in found.frames if 10 <= f.seconds <= 14]
    assert seconds == pytest.approx([10, 11, 12, 13, 14], abs=0.1)
    assert found.frames == _whole(data, "mp4", samples=4, windows=[(10.0, 14.0)]).frames


def test_not_a_sparse_format():
    with pytest.raises(UnsupportedMedia):
        sample_ranges(Chunks(), 10, "avi", samples=4)


def test_chunks_merge_and_say_what_is_missing():
    chunks = Chunks()
    chunks.add(10, b"abcde")  # 10-15
    chunks.add(20, b"xyz")  # 20-23
    chunks.add(14, b"EFGHIJ")  # 14-20: joins both
    assert len(chunks) == 1
    assert chunks.read(10, 100) == b"abcdEFGHIJxyz"
    assert chunks.read(9, 1) is None and chunks.read(23, 1) is None
    assert chunks.run_ending_at(23) == 13
    assert chunks.missing(ByteRange(0, 30)) == [ByteRange(0, 10), ByteRange(23, 30)]
    assert chunks.missing(ByteRange(11, 22)) == []


def test_sparse_file_records_reads_of_missing_bytes():
    chunks = Chunks()
    chunks.add(0, b"0123")
    file = SparseFile(chunks, 100)
    assert file.read(10) == b"0123"
    assert file.read(10) == b"" and file.misses == [4]
    file.seek(-1, 2)
    assert file.tell() == 99


def test_each_keyframe_is_decoded_and_hashed_once_however_many_passes(monkeypatch):
    data = _video("mp4")
    hashed: list[float] = []
    original = sparse.frame_hash

    def counting(frame, seconds):
        hashed.append(seconds)
        return original(frame, seconds)

    monkeypatch.setattr(sparse, "frame_hash", counting)
    chunks = Chunks()
    chunks.add(0, data[:PROBE])
    known: frozenset[float] = frozenset()
    frames = {}
    # A pass for the spread samples, then passes asking for more times, as a line is followed.
    for times in ((), (), (), (9.0, 11.0), (9.0, 11.0), (9.0, 11.0, 20.0), (9.0, 11.0, 20.0)):
        found = sample_ranges(chunks, len(data), "mp4", samples=6, times=times, known=known)
        known |= found.decoded_times
        frames.update((frame.seconds, frame) for frame in found.frames)
        for wanted in found.needed:
            chunks.add(wanted.start, data[wanted.start : wanted.end])
    assert not found.needed and found.frames == ()  # all known: nothing decoded again
    assert len(hashed) == len(set(hashed)) == len(frames)
    whole = _whole(data, "mp4", samples=6)
    assert set(whole.frames) <= set(frames.values())
    assert len(frames) >= len(whole.frames) + 2  # the keyframes before 9, 11 and 20 s


def test_a_few_keyframes_are_asked_for_first_and_size_the_rest():
    data = _video("mp4")
    moov = data.rfind(b"moov") - 4
    chunks = Chunks()
    chunks.add(0, data[:1024])  # no keyframe in it: nothing says how large they are
    chunks.add(moov, data[moov:])
    scouting = sample_ranges(chunks, len(data), "mp4", samples=16, chunk=None)
    assert scouting.targets_missing > SCOUTS
    assert 0 < len(scouting.needed) <= SCOUTS
    assert all(len(wanted) <= MIN_CHUNK for wanted in scouting.needed)
    for wanted in scouting.needed:
        chunks.add(wanted.start, data[wanted.start : wanted.end])
    learning = sample_ranges(chunks, len(data), "mp4", samples=16, chunk=None)
    assert learning.target_bytes and learning.needed  # the scouts decoded, the rest asked for
    chunk = chunk_for(learning.target_bytes)
    assert chunk is not None and chunk < MIN_CHUNK  # this video's keyframes are small
    assert max(len(wanted) for wanted in learning.needed) <= 2 * chunk  # merged neighbours


def test_a_read_inside_a_fetched_box_header_asks_for_the_rest_of_the_box():
    data = _video("mp4", faststart=True)
    moov = data.find(b"moov") - 4
    end = moov + int.from_bytes(data[moov : moov + 4], "big")
    chunks = Chunks()
    chunks.add(0, data[: moov + 100])  # the probe ends inside moov (a long video's is MBs)
    assert sparse._box_end(chunks, moov + 100) == end
    assert sparse._box_end(chunks, end + 10) is None  # the next box's header is not there
    assert sparse._box_end(chunks, end) == end + MIN_CHUNK  # a box starts there: its header


def test_a_long_video_is_spread_more_thinly_than_every_thirty_seconds_only_as_afforded():
    assert sparse.spread_samples(1800.0, 60, None) == 60
    assert sparse.spread_samples(1800.0, 60, 30.0) == 60  # 30 minutes: 60 samples are enough
    assert sparse.spread_samples(6400.0, 60, 30.0) == 214
    assert sparse.spread_samples(6400.0, 60, 30.0, most=193) == 193
    assert sparse.spread_samples(6400.0, 60, 30.0, most=10) == 60  # never fewer than asked
