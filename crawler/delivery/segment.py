"""One stream segment decoded from memory and its frames hashed, as `crawler.hashing.video`
hashes whole videos (`frame_hash`), at the segment's place on the stream's timeline.

    >>> found = hash_segment(ts_bytes, start=42.0)                    # MPEG-TS: its first keyframe
    >>> found = hash_segment(moof_bytes, start=42.0, init=init_bytes, every=1.0)  # fMP4, 1 a second

AES-128 segments are decrypted first (CBC, PKCS#7, the whole segment, RFC 8216 4.3.2.4), and
an initialization section too when it is not plain ISO BMFF. Decoding is fenced in as for whole
videos: the demuxer is fixed by the sniffed bytes (``mpegts`` or ``mov``; FFmpeg never probes,
so never opens a playlist or concat demuxer), nested files cannot be opened, frames over
``max_pixels`` are refused and at most `MAX_SEGMENT_FRAMES` frames are decoded.

Pure: standard library, PyAV, cryptography and `crawler.hashing`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crawler.hashing.budget import PixelBudget
from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.types import FrameHash
from crawler.hashing.video import DECODER_THREADS, DEFAULT_MAX_FRAME_PIXELS, frame_hash

#: Frames decoded per segment at most (10 s at 300 fps; real segments are 2-10 s at <= 60 fps).
MAX_SEGMENT_FRAMES = 3000
_TS_PACKET = 188
_ISO_BOXES = (b"ftyp", b"styp", b"moof", b"moov", b"sidx", b"free", b"emsg", b"prft")


@dataclass(frozen=True, slots=True)
class SegmentFrames:
    """The hashed frames of one segment (seconds on the stream's timeline) and its picture."""

    frames: tuple[FrameHash, ...]
    width: int
    height: int
    codec: str


def decrypt(data: bytes, key: bytes, iv: bytes, *, whole: bool = True) -> bytes:
    """An AES-128 segment in the clear (CBC with PKCS#7 padding). A segment's first bytes only
    (``whole=False``) decrypt as far as their last whole block, without the padding check."""
    if len(key) != 16:
        raise UndecodableMedia(f"an AES-128 key is 16 bytes, this one is {len(key)}")
    if not whole:
        data = data[: len(data) - len(data) % 16]
    elif len(data) % 16:
        raise UndecodableMedia(
            f"an AES-128 segment is whole 16-byte blocks, this one is {len(data)} bytes"
        )
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    clear = decryptor.update(data) + decryptor.finalize()
    if not whole:
        return clear
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(clear) + unpadder.finalize()
    except ValueError:
        raise UndecodableMedia(
            "wrong AES-128 key or IV: the segment's padding is not PKCS#7"
        ) from None


def container_format(data: bytes) -> str:
    """The FFmpeg demuxer for segment bytes: ``mpegts`` or ``mov`` (fMP4)."""
    if len(data) >= 2 * _TS_PACKET and data[0] == 0x47 and data[_TS_PACKET] == 0x47:
        return "mpegts"
    if data[4:8] in _ISO_BOXES:
        return "mov"
    raise UnsupportedMedia(f"not an MPEG-TS or fMP4 segment (starts with {bytes(data[:16])!r})")


def hash_segment(
    data: bytes,
    *,
    start: float,
    init: bytes = b"",
    key: bytes | None = None,
    iv: bytes | None = None,
    every: float | None = None,
    whole: bool = True,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    budget: PixelBudget | None = None,
) -> SegmentFrames:
    """Hash the first keyframe of a segment (``every`` None), or a frame every ``every``
    seconds of it from its first frame. ``start`` is the segment's time on the stream's
    timeline; each frame's seconds are ``start`` plus its offset from the segment's first
    frame. ``init`` is the fMP4 initialization section; ``key`` and ``iv`` an AES-128 key.
    ``whole=False``: ``data`` is the segment's first bytes only (enough for its first
    keyframe), cut anywhere."""
    if key is not None:
        data = decrypt(data, key, iv or bytes(16), whole=whole)
        if init and init[4:8] not in _ISO_BOXES:
            init = decrypt(init, key, iv or bytes(16))
    joined = init + data if init else data
    demuxer = container_format(joined)
    budget = budget or PixelBudget()
    try:
        with av.open(
            io.BytesIO(joined),
            format=demuxer,
            io_open=_refuse_nested_file,
            metadata_errors="replace",
        ) as container:
            return _sample(container, demuxer, start, every, whole, max_pixels, budget)
    except MediaError:
        raise
    except Exception as error:  # FFmpeg and PyAV raise many types on hostile bytes
        raise UndecodableMedia(
            f"cannot decode this {demuxer} segment ({type(error).__name__}: {error})"
        ) from None


def _sample(
    container: av.container.InputContainer,
    demuxer: str,
    start: float,
    every: float | None,
    whole: bool,
    max_pixels: int,
    budget: PixelBudget,
) -> SegmentFrames:
    if not container.streams.video:
        raise UnsupportedMedia(f"this {demuxer} segment holds no video stream")
    stream = container.streams.video[0]
    stream.codec_context.thread_count = DECODER_THREADS
    frames: list[FrameHash] = []
    first = None
    next_due = 0.0
    decoded = 0
    width = height = 0
    packets = container.demux(stream)
    for packet in packets if whole else _complete(packets):
        try:
            pictures = stream.decode(packet)
        except av.FFmpegError:
            continue  # a broken packet, as players skip them
        for frame in pictures:
            decoded += 1
            if frame.width * frame.height > max_pixels:
                raise MediaTooLarge(
                    f"segment frames are {frame.width}x{frame.height}, over {max_pixels:,} pixels"
                )
            if decoded > MAX_SEGMENT_FRAMES or not budget.spend(frame.width, frame.height):
                return _found(frames, width, height, stream)
            if every is None and first is None and not frame.key_frame and decoded < 10:
                continue  # wait a little for the keyframe the segment should start with
            time = frame.time if frame.time is not None else decoded / 25.0
            if first is None:
                first = time
                width, height = frame.width, frame.height
            offset = time - first
            if offset + 1e-6 < next_due:
                continue
            frames.append(frame_hash(frame, start + offset))
            if every is None:
                return _found(frames, width, height, stream)
            next_due = (int(offset / every + 1e-6) + 1) * every
    return _found(frames, width, height, stream)


def _complete(packets: Iterator[av.Packet]) -> Iterator[av.Packet]:
    """The packets of a segment's first bytes that are whole: not those the demuxer marks
    corrupt, and not the last one, which the cut may have shortened (a partial keyframe decodes
    to a half-grey picture whose hash would be wrong). The empty packet that flushes the
    decoder still comes last."""
    last = None
    for packet in packets:
        if not packet.size:  # the flush at the end
            yield packet
            return
        if last is not None and not last.is_corrupt:
            yield last
        last = packet


def _found(
    frames: list[FrameHash], width: int, height: int, stream: av.VideoStream
) -> SegmentFrames:
    if not frames:
        raise UndecodableMedia("not one frame of this segment decodes: it is cut short or corrupt")
    return SegmentFrames(tuple(frames), width, height, stream.codec_context.name)


def _refuse_nested_file(url: str, flags: int, options: dict[str, str]) -> None:
    """FFmpeg's hook for a demuxer opening another file: never (as in `crawler.hashing.video`)."""
    raise PermissionError(f"a segment may not open other files ({url!r} refused)")
