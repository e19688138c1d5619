"""Video frames hashed with PDQ, the way vPDQ (Meta's video PDQ) hashes a video.

    >>> video = hash_video(data)
    >>> video.duration, video.fps, [(f.seconds, f.value.hex) for f in video.frames]

A video's hash is the list of its sampled frames' PDQ hashes, each with its time and quality.
Frames are sampled by presentation time: the first frame at or after every ``seconds_per_sample``
boundary from the first frame, plus keyframes (where encoders put scene cuts) at least a quarter
sample away from the samples before and after. Keyframes that follow keyframes (all-intra codecs
such as MJPEG) are not cuts and are not sampled. A sampled frame is turned upright (by its display
rotation), averaged down to PDQ's own 64x64 working size (`FRAME_PDQ_SIZE`) and hashed; frames
whose PDQ quality is below `PDQ_MIN_QUALITY` (black, fades, flat titles) stay in ``frames``, with
their quality, for the matcher to skip.

Decoding is PyAV (FFmpeg) from memory, on bytes from the internet, so it is fenced in: the demuxer
is fixed by the sniffed format (FFmpeg never probes, so never picks a playlist or concat demuxer),
nested files cannot be opened, frames over ``max_pixels`` are refused, and decoding stops after
``max_seconds`` of presentation time, `MAX_DECODED_FRAMES` frames or ``max_frames`` samples
(``truncated`` says so). Packets that fail to decode are skipped, as players skip them.

Pure: standard library, Pillow, PyAV and `crawler.hashing`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import av
import numpy as np
from PIL import Image

from crawler.hashing.borders import content_box
from crawler.hashing.budget import PixelBudget
from crawler.hashing.crops import CROP_SIDE, GRID, MIDDLE, box_codes, crop_luma
from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.pdq import PDQ_MIN_QUALITY, pdq, pdq_dihedral
from crawler.hashing.sniff import sniff
from crawler.hashing.types import FrameHash, HashValue, VariantHash

#: Most frames hashed per video: 1000 covers about 15 minutes at the default one per second.
DEFAULT_MAX_FRAMES = 1000
#: A reference video's middle (`crawler.hashing.crops.MIDDLE`, for copies cropped or under a
#: banner) is stored once this many seconds: a copy's frames, sampled about once a second, fall
#: within half of it (measured by ``python -m benchmarks.video_crop``: every cropped copy tried
#: matched). Four frames a second and one middle: the index grows by a quarter.
REFERENCE_MIDDLE_SECONDS = 1.0
#: Sampling for reference videos: four a second. Crawled copies are sampled once a second, and
#: their samples fall anywhere between the reference's; with denser references each copy frame
#: has a reference frame within an eighth of a second, which keeps fast camera motion matching
#: (measured: a 20%-trimmed copy of a fast pan matched 25-38% of frames against 1-second
#: references and 100% against these). Raise ``max_frames`` fourfold with it, and store
#: `unique_frame_hashes` to drop the repeats of still shots.
REFERENCE_SECONDS_PER_SAMPLE = 0.25
#: Presentation time decoded per video; later frames are not looked at (``truncated``).
DEFAULT_MAX_SECONDS = 900.0
#: Reference videos (``refs add``) are read to their end up to this long, and from their file,
#: not from memory: only the frames' hashes are kept. Past it ``truncated`` says the reference
#: was cut, and ``refs add`` says so.
REFERENCE_MAX_SECONDS = 12 * 3600.0
#: Largest frame (width x height) decoded: 8K UHD. Bigger ones raise `MediaTooLarge`.
DEFAULT_MAX_FRAME_PIXELS = 7680 * 4320
#: Frames decoded per video at most, whatever their timestamps say (15 minutes at 60 fps).
MAX_DECODED_FRAMES = 54_000
#: Bytes read from the start of a video file to tell its format (`sniff`).
SNIFF_BYTES = 64 * 1024
#: Packets that fail to decode before the rest of the video is given up as corrupt.
MAX_CORRUPT_PACKETS = 100
#: Sampled frames are area-averaged to this size before PDQ. PDQ reduces every picture to 64x64
#: itself, but with a filter whose width follows the picture's size, so the same frame at 320x240
#: and at 160x120 came out 32-60 bits apart on textures and scanned pages (a video resized to
#: half matched 38% of its frames). Averaged to 64x64 first, every size gives the same input:
#: the halved copies match 100% of their frames, and unrelated frames stay 100+ bits apart.
#: Animated images use it too (`frame_pdq`), so a GIF and an MP4 made from it agree.
FRAME_PDQ_SIZE = (64, 64)
#: Frames are looked at this many pixels a side at most to find letterbox bars (`frame_variants`).
_ANALYSIS_SIDE = 256
#: The variant name prefix of a frame's picture inside trimmed bars (as for images).
TRIMMED = "trimmed"
#: Consecutive frames at most this far apart count as one in `unique_frame_hashes`: the noise
#: between samples of a still shot, well inside the match threshold of 31.
DEFAULT_UNIQUE_DISTANCE = 8
#: Decoder threads per video. Measured on 720p and 1080p H.264, two or "auto" decoded no faster
#: than one, and the crawl already runs one hashing process per core.
DECODER_THREADS = 1

#: The FFmpeg demuxer for each video format `sniff` names.
_DEMUXERS: dict[str, str] = {
    "mp4": "mov",
    "m4v": "mov",
    "mov": "mov",
    "webm": "matroska",
    "matroska": "matroska",
    "avi": "avi",
    "flv": "flv",
    "mpeg": "mpeg",
    "mpegts": "mpegts",
}
#: How to turn a decoded frame upright, by the rotation its display matrix asks for.
_UPRIGHT: dict[int, Image.Transpose] = {
    90: Image.Transpose.ROTATE_90,
    -90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    -180: Image.Transpose.ROTATE_180,
}


@dataclass(frozen=True, slots=True)
class VideoHashes:
    """What hashing one video produced: its shape and its sampled frames (never pixels)."""

    duration: float  # seconds, as the stream or container declares it, else to the last frame
    frame_count: int  # frames decoded
    fps: float | None  # the stream's average frame rate, when known
    width: int  # as shown: a display rotation of 90 degrees swaps the stored sides
    height: int
    codec: str  # FFmpeg's decoder name: "h264", "vp9", "mpeg4", ...
    frames: tuple[FrameHash, ...]
    truncated: bool = False  # True when a limit or a broken stream stopped decoding early
    corrupt_packets: int = field(default=0, compare=False)
    #: With ``middles=True``: the PDQ of the frames' middles, once a `REFERENCE_MIDDLE_SECONDS`.
    middles: tuple[FrameHash, ...] = ()

    @property
    def values(self) -> tuple[HashValue, ...]:
        """The frames' PDQ hashes, in time order, as `VideoMatcher` takes them."""
        return tuple(frame.value for frame in self.frames)

    @property
    def low_quality_frames(self) -> int:
        """Sampled frames too featureless to match on (quality below `PDQ_MIN_QUALITY`)."""
        return sum(1 for frame in self.frames if not _good(frame.value))


def hash_video(
    data: bytes | BinaryIO,
    *,
    max_frames: int = DEFAULT_MAX_FRAMES,
    seconds_per_sample: float = 1.0,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
    budget: PixelBudget | None = None,
    variants: bool = True,
    max_decoded_frames: int = MAX_DECODED_FRAMES,
    middles: bool = False,
) -> VideoHashes:
    """Sample and PDQ-hash the frames of the first video stream in ``data`` (MP4, WebM, AVI, ...):
    its bytes, or a seekable binary file (read as decoding goes, never whole).

    Raises `UnsupportedMedia` for bytes that are not a video or hold no video stream (an audio-only
    MP4), `MediaTooLarge` for frames over ``max_pixels`` and `UndecodableMedia` when the container
    will not open or not one frame decodes (truncated, corrupt, or a codec this FFmpeg lacks).
    Every frame decoded spends its area from ``budget``: once it is spent, decoding stops as at
    the other limits (``truncated``). ``variants=False`` skips each frame's turned, mirrored,
    trimmed and cropped hashes (`frame_hash`), which only media being checked needs;
    ``middles=True`` hashes, once a `REFERENCE_MIDDLE_SECONDS`, the middle of a sampled frame
    (``middles``), which references store so that cropped copies match.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be 1 or more, got {max_frames}")
    if not seconds_per_sample > 0:
        raise ValueError(f"seconds_per_sample must be above 0, got {seconds_per_sample}")
    if isinstance(data, bytes | bytearray | memoryview):
        source: BinaryIO = io.BytesIO(data)
    else:
        source = data
    start = source.tell()
    head = source.read(SNIFF_BYTES)
    source.seek(start)
    sniffed = sniff(head)
    if sniffed.kind != "video":
        raise UnsupportedMedia(f"{sniffed.format} is an image, not a video; hash it as an image")
    try:
        with av.open(
            source,
            format=_DEMUXERS[sniffed.format],
            io_open=_refuse_nested_file,
            metadata_errors="replace",
        ) as container:
            sampler = _Sampler(
                max_frames,
                seconds_per_sample,
                max_seconds,
                max_pixels,
                budget,
                variants=variants,
                max_decoded_frames=max_decoded_frames,
                middles=middles,
            )
            return sampler.run(container, sniffed.format)
    except MediaError:
        raise
    except Exception as error:  # FFmpeg and PyAV raise many types on hostile bytes.
        raise UndecodableMedia(
            f"cannot decode this {sniffed.format} video ({type(error).__name__}: {error}); "
            f"the file is probably truncated or corrupt, so fetch it again"
        ) from None


def unique_frame_hashes(
    frames: Sequence[FrameHash], distance: int = DEFAULT_UNIQUE_DISTANCE
) -> tuple[FrameHash, ...]:
    """``frames`` without those within ``distance`` bits of the last frame kept: a still shot
    becomes one frame, as in vPDQ's deduplicated hashes. ``distance=0`` drops exact repeats."""
    kept: list[FrameHash] = []
    last = None
    for frame in frames:
        bits = int(frame.value.hex, 16)
        if last is None or (bits ^ last).bit_count() > distance:
            kept.append(frame)
            last = bits
    return tuple(kept)


class _Sampler:
    """Decodes one video stream and hashes the frames due, within the limits."""

    def __init__(
        self,
        max_frames: int,
        seconds_per_sample: float,
        max_seconds: float,
        max_pixels: int,
        budget: PixelBudget | None = None,
        *,
        variants: bool = True,
        max_decoded_frames: int = MAX_DECODED_FRAMES,
        middles: bool = False,
    ) -> None:
        self.budget = budget or PixelBudget()
        self.max_decoded_frames = max_decoded_frames
        self.max_frames = max_frames
        self.step = seconds_per_sample
        self.max_seconds = max_seconds
        self.max_pixels = max_pixels
        self.frames: list[FrameHash] = []
        self.decoded = 0
        self.corrupt_packets = 0
        self.truncated = False
        self.variants = variants
        self.middles: list[FrameHash] | None = [] if middles else None

    def run(self, container: av.container.InputContainer, fmt: str) -> VideoHashes:
        if not container.streams.video:
            if container.streams.audio:
                raise UnsupportedMedia(f"this {fmt} file is audio only: there is no video to hash")
            raise UndecodableMedia(
                f"no stream found in this {fmt} file: it is empty, truncated or corrupt"
            )
        stream = container.streams.video[0]
        context = stream.codec_context
        self._check_size(context.width, context.height)
        context.thread_type = "AUTO"
        context.thread_count = DECODER_THREADS
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        first = next_due = None
        last_sampled = seconds = -math.inf
        next_middle = 0.0
        previous_key = False
        width = height = 0
        for frame in self._decode(container, stream):
            self._check_size(frame.width, frame.height)
            time = frame.time if frame.time is not None else (self.decoded - 1) / (fps or 25.0)
            if first is None:
                first, next_due = time, 0.0
                width, height = _display_size(frame)
            seconds = time - first
            if seconds > self.max_seconds:
                self.truncated = True
                break
            due = seconds >= next_due
            cut = (
                frame.key_frame
                and not previous_key
                and seconds - last_sampled >= self.step / 4
                and next_due - seconds >= self.step / 4
            )
            previous_key = frame.key_frame
            if not (due or cut):
                continue
            if len(self.frames) == self.max_frames:
                self.truncated = True
                break
            self.frames.append(frame_hash(frame, seconds, variants=self.variants))
            if self.middles is not None and seconds >= next_middle:
                self.middles.append(middle_hash(frame, seconds, self.frames[-1].value.quality))
                next_middle = (
                    math.floor(seconds / REFERENCE_MIDDLE_SECONDS) + 1
                ) * REFERENCE_MIDDLE_SECONDS
            last_sampled = seconds
            if due:
                next_due = (math.floor(seconds / self.step) + 1) * self.step
        if not self.frames:
            raise UndecodableMedia(
                f"not one frame of this {fmt} video decodes ({self.decoded} decoded, "
                f"{self.corrupt_packets} corrupt packets): it is empty, truncated or corrupt"
            )
        declared = _declared_duration(container, stream)
        if declared is not None and seconds < declared - max(1.0, self.step):
            self.truncated = True  # the stream broke off (a cut download) well before its end
        if declared is None:
            declared = seconds + (1 / fps if fps else 0.0)
        return VideoHashes(
            duration=declared,
            frame_count=self.decoded,
            fps=fps,
            width=width,
            height=height,
            codec=context.name,
            frames=tuple(self.frames),
            truncated=self.truncated,
            corrupt_packets=self.corrupt_packets,
            middles=tuple(self.middles or ()),
        )

    def _decode(
        self, container: av.container.InputContainer, stream: av.VideoStream
    ) -> Iterator[av.VideoFrame]:
        """Frames in presentation order; skips packets that fail to decode, stops at the limits
        or where the container itself breaks off (after frames, that is a truncated video)."""
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError:
                if self.decoded == 0:
                    raise
                self.truncated = True
                return
            try:
                decoded = stream.decode(packet)
            except av.FFmpegError:
                self.corrupt_packets += 1
                if self.corrupt_packets > MAX_CORRUPT_PACKETS:
                    self.truncated = True
                    return
                continue
            for frame in decoded:
                self.decoded += 1
                if self.decoded > self.max_decoded_frames or not self.budget.spend(
                    frame.width, frame.height
                ):
                    self.truncated = True
                    return
                yield frame

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise MediaTooLarge(
                f"video frames are {width}x{height} = {width * height:,} pixels, over the limit "
                f"of {self.max_pixels:,}; pass a larger max_pixels if such videos are expected"
            )


def frame_hash(
    frame: av.VideoFrame, seconds: float, *, variants: bool = True, crops: bool = True
) -> FrameHash:
    """One decoded frame as a sampled frame of a video: its time (rounded to the millisecond),
    the PDQ of the frame as a player shows it and, unless ``variants`` is False, the PDQ of its
    turns and mirrors and of the picture inside letterbox bars (`frame_variants`) and of its
    boxes in `crawler.hashing.crops.GRID` (``crops``, about 3 ms; ``crops=False`` skips
    them). Every way of sampling a video
    (a whole file, byte ranges of a large one, segments of a stream) hashes its frames with
    this; references skip the variants (they store the original only, and `middle_hash`)."""
    small = _upright(
        frame,
        frame.to_image(width=FRAME_PDQ_SIZE[0], height=FRAME_PDQ_SIZE[1], interpolation="AREA"),
    )
    value = pdq(small)
    if not variants:
        return FrameHash(round(seconds, 3), value)
    width, height = _display_size(frame)
    scale = min(1.0, _ANALYSIS_SIDE / max(width, height))
    analysis = _upright(
        frame,
        frame.to_image(
            width=max(1, round(frame.width * scale)),
            height=max(1, round(frame.height * scale)),
            interpolation="AREA",
        ),
    )
    boxes = box_codes(_crop_source(frame), GRID).tobytes() if crops else b""
    return FrameHash(round(seconds, 3), value, frame_variants(small, analysis), boxes)


def middle_hash(frame: av.VideoFrame, seconds: float, quality: int | None) -> FrameHash:
    """A reference frame's middle (`crawler.hashing.crops.MIDDLE`), with the whole frame's
    ``quality``: what a copy's ``crops`` are matched against."""
    code = box_codes(_crop_source(frame), MIDDLE)[0]
    return FrameHash(round(seconds, 3), HashValue("pdq", code.tobytes().hex(), quality))


def picture_middle_hash(picture: Image.Image, seconds: float, quality: int | None) -> FrameHash:
    """`middle_hash` of a still picture (an animated reference's frame)."""
    return middle_hash(av.VideoFrame.from_image(picture.convert("RGB")), seconds, quality)


def _crop_source(frame: av.VideoFrame) -> np.ndarray:
    """The upright frame as the luma picture crops are cut from (`crawler.hashing.crops`)."""
    picture = frame.to_image(width=CROP_SIDE, height=CROP_SIDE, interpolation="AREA")
    return crop_luma(_upright(frame, picture))


def frame_variants(small: Image.Image, analysis: Image.Image) -> tuple[VariantHash, ...]:
    """PDQ of the frame undoing each turn and mirror (``"flipx"``, ``"rot90"``, ...: from
    ``small``, the frame at `FRAME_PDQ_SIZE`, where PDQ mirrors exactly, so one pdqhash pass
    gives all eight) and, when `content_box` finds letterbox or pillarbox bars in ``analysis``
    (the frame at most `_ANALYSIS_SIDE` pixels a side), of the picture inside them, turned and
    mirrored too (``"trimmed"``, ``"trimmed+flipx"``, ...). About 1 ms a frame."""
    found = [item for item in _dihedral(small) if item.variant != "original"]
    box = content_box(analysis.convert("L"))
    if box is not None:
        inside = analysis.crop(box).resize(FRAME_PDQ_SIZE, Image.Resampling.BOX)
        found += [
            VariantHash(
                TRIMMED if item.variant == "original" else f"{TRIMMED}+{item.variant}", item.value
            )
            for item in _dihedral(inside)
        ]
    return tuple(found)


def _dihedral(small: Image.Image) -> list[VariantHash]:
    """The eight `pdq_dihedral` hashes of a `FRAME_PDQ_SIZE` picture, by variant name."""
    return [VariantHash(name, value) for name, value in pdq_dihedral(small).items()]


def _upright(frame: av.VideoFrame, image: Image.Image) -> Image.Image:
    """``image`` (made from ``frame``) turned upright by the frame's display rotation."""
    turn = _UPRIGHT.get(round(frame.rotation or 0))
    return image if turn is None else image.transpose(turn)


def frame_pdq(picture: Image.Image) -> HashValue:
    """PDQ of a still frame (an animated image's), reduced as `hash_video` reduces a video's
    frames: converted to a video frame and area-averaged by FFmpeg to `FRAME_PDQ_SIZE`."""
    return picture_frame_hash(picture, 0.0, variants=False).value


def picture_frame_hash(
    picture: Image.Image, seconds: float, *, variants: bool = True, crops: bool = True
) -> FrameHash:
    """`frame_hash` of a still picture (an animated image's frame, or a still image checked
    against reference videos' frames), reduced exactly as a video's frames are; ``crops=False``
    skips the crops (a still is matched against frames only)."""
    frame = av.VideoFrame.from_image(picture.convert("RGB"))
    return frame_hash(frame, seconds, variants=variants, crops=crops)


def _display_size(frame: av.VideoFrame) -> tuple[int, int]:
    if round(frame.rotation or 0) in (90, -90):
        return frame.height, frame.width
    return frame.width, frame.height


def _declared_duration(
    container: av.container.InputContainer, stream: av.VideoStream
) -> float | None:
    """Seconds the video stream declares, else the container (which counts audio too)."""
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _good(value: HashValue) -> bool:
    return value.quality is None or value.quality >= PDQ_MIN_QUALITY


def _refuse_nested_file(url: str, flags: int, options: dict[str, str]) -> None:
    """FFmpeg's hook for a demuxer opening another file (a playlist entry, a reference): never."""
    raise PermissionError(f"a video may not open other files ({url!r} refused)")
