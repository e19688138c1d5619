"""Short test videos made in memory from the bundled photos, and the edits repost sites make.

    >>> data = slideshow(("astronaut", "coffee"))          # MP4, 8 s, 15 fps, 320x240
    >>> copy = transcoded(data, "webm", scale=0.5)          # a smaller WebM of the same video

A slideshow opens on half a second of black (featureless frames every video shares, which the
matcher must ignore), then shows each photo in turn with a slow zoom and pan, so consecutive
samples differ the way frames of steady footage do. Everything is encoded with PyAV, in memory, and
cached: the same arguments give the same bytes once per test session.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import cache

import av
import numpy as np
from PIL import Image

from crawler.demo.samples import load_photo

SIZE = (320, 240)
FPS = 15
SECONDS = 8.0
BLACK_SECONDS = 0.5
#: How far each photo is zoomed into over its time on screen.
ZOOM = 0.05

#: Encoders to try per container, best first; the first one this PyAV build has is used.
_ENCODERS: dict[str, tuple[str, ...]] = {
    "mp4": ("libx264", "mpeg4"),
    "matroska": ("libx264", "mpeg4"),
    "webm": ("libvpx-vp9", "libvpx"),
    "avi": ("mpeg4", "mjpeg"),
}
#: Encoder options per quality level: "high" for references, "low" for a repost's re-encode.
_QUALITY: dict[str, dict[str, dict[str, str]]] = {
    "high": {
        "libx264": {"crf": "20", "preset": "veryfast"},
        "mpeg4": {"qscale": "3"},
        "libvpx-vp9": {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8"},
        "libvpx": {"crf": "10", "b": "1M", "deadline": "realtime", "cpu-used": "8"},
        "mjpeg": {},
    },
    "low": {
        "libx264": {"crf": "32", "preset": "veryfast"},
        "mpeg4": {"qscale": "12"},
        "libvpx-vp9": {"crf": "48", "b": "0", "deadline": "realtime", "cpu-used": "8"},
        "libvpx": {"crf": "30", "b": "300k", "deadline": "realtime", "cpu-used": "8"},
        "mjpeg": {},
    },
}
_MJPEG_QSCALE = {"high": 3, "low": 12}


def encoder(container: str) -> str:
    """The video encoder used for ``container`` ("mp4", "webm", "avi", "matroska")."""
    for name in _ENCODERS[container]:
        if name in av.codecs_available:
            return name
    raise RuntimeError(f"this PyAV build has none of {_ENCODERS[container]} to write {container}")


@cache
def slideshow(
    photos: tuple[str, ...],
    container: str = "mp4",
    *,
    seconds: float = SECONDS,
    fps: int = FPS,
    size: tuple[int, int] = SIZE,
    zoom: float = ZOOM,
) -> bytes:
    """Black lead-in, then each photo zoomed and panned for an equal share of ``seconds``
    (``zoom=0`` holds each photo still)."""
    frames = slideshow_frames(photos, seconds=seconds, fps=fps, size=size, zoom=zoom)
    return encode(frames, container, fps)


@cache
def slideshow_frames(
    photos: tuple[str, ...],
    *,
    seconds: float = SECONDS,
    fps: int = FPS,
    size: tuple[int, int] = SIZE,
    zoom: float = ZOOM,
) -> tuple[Image.Image, ...]:
    black = round(BLACK_SECONDS * fps)
    per_photo = (round(seconds * fps) - black) // len(photos)
    frames = [Image.new("RGB", size)] * black
    for number, name in enumerate(photos):
        photo = load_photo(name)
        frames.extend(_ken_burns(photo, per_photo, size, zoom=zoom, pan_right=number % 2 == 0))
    return tuple(frames)


def _ken_burns(
    photo: Image.Image, count: int, size: tuple[int, int], *, zoom: float, pan_right: bool
) -> Iterable[Image.Image]:
    """``count`` frames of ``photo`` zooming in by ``zoom`` while panning sideways. The default
    `ZOOM` is slow camera motion: samples a second apart differ (8-32 bits of PDQ) yet a sample
    half a second off still matches (at most 28 bits), as in footage from a steady camera."""
    width, height = size
    canvas = _cover(photo, (width * 3 // 2, height * 3 // 2))
    for step in range(count):
        progress = step / max(1, count - 1)
        scale = 1.0 - zoom * progress
        crop_w, crop_h = canvas.width * scale, canvas.height * scale
        slack_x, slack_y = canvas.width - crop_w, canvas.height - crop_h
        across = 0.25 + 0.5 * progress  # the middle half of the free width
        left = slack_x * (across if pan_right else 1.0 - across)
        top = slack_y / 2
        box = (left, top, left + crop_w, top + crop_h)
        yield canvas.resize(size, Image.Resampling.BILINEAR, box=box)


def _cover(photo: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``photo`` scaled and centre-cropped to fill ``size`` exactly."""
    scale = max(size[0] / photo.width, size[1] / photo.height)
    scaled = photo.resize(
        (round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS
    )
    left = (scaled.width - size[0]) // 2
    top = (scaled.height - size[1]) // 2
    return scaled.crop((left, top, left + size[0], top + size[1]))


def encode(
    frames: Sequence[Image.Image],
    container: str = "mp4",
    fps: float = FPS,
    quality: str = "high",
    *,
    codec: str | None = None,
    display_rotation: int = 0,
) -> bytes:
    """Encode RGB frames at a constant ``fps`` into ``container``, in memory, with ``codec`` or
    the container's usual `encoder`. A ``display_rotation`` (degrees counter-clockwise) is stored
    for players to apply."""
    codec = codec or encoder(container)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames[0].size
        if display_rotation:
            stream.set_display_rotation(display_rotation)
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.options = dict(_QUALITY[quality][codec])
        if codec == "mjpeg":
            stream.codec_context.qscale = _MJPEG_QSCALE[quality]
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def decode(data: bytes) -> tuple[list[Image.Image], list[float], float]:
    """Every frame of the first video stream as RGB, its time in seconds, and the frame rate."""
    with av.open(io.BytesIO(data)) as source:
        stream = source.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or FPS)
        images, times = [], []
        for frame in source.decode(stream):
            images.append(frame.to_image())
            times.append(float(frame.time or 0.0))
    return images, times, fps


@cache
def transcoded(
    data: bytes,
    container: str = "mp4",
    *,
    quality: str = "high",
    scale: float = 1.0,
    fps: float | None = None,
    keep: tuple[float, float] = (0.0, 1.0),
) -> bytes:
    """A repost's copy: decoded, optionally cut to the ``keep`` share of its length (start, end),
    resampled to ``fps``, scaled, then encoded again into ``container`` at ``quality``."""
    images, times, source_fps = decode(data)
    duration = len(images) / source_fps
    start, end = keep[0] * duration, keep[1] * duration
    kept = [(t, image) for t, image in zip(times, images, strict=True) if start <= t < end]
    if fps is not None:
        kept = _resample(kept, source_fps, fps)
    frames = [image for _, image in kept]
    if scale != 1.0:
        size = (round(frames[0].width * scale) // 2 * 2, round(frames[0].height * scale) // 2 * 2)
        frames = [image.resize(size, Image.Resampling.BILINEAR) for image in frames]
    return encode(frames, container, fps or source_fps, quality)


def _resample(
    frames: list[tuple[float, Image.Image]], source_fps: float, fps: float
) -> list[tuple[float, Image.Image]]:
    """The frame showing at each tick of the new rate (drops or repeats frames, as ffmpeg -r)."""
    times = np.array([t for t, _ in frames])
    ticks = np.arange(times[0], times[-1] + 1 / source_fps, 1 / fps)
    picks = np.clip(np.searchsorted(times, ticks + 1e-6, side="right") - 1, 0, len(frames) - 1)
    return [frames[i] for i in picks]


@cache
def stored_sideways(photos: tuple[str, ...]) -> bytes:
    """The slideshow as a phone records portrait video: pixels stored turned a quarter left,
    with a display rotation of -90 degrees (a quarter right) that turns them upright."""
    frames = [image.transpose(Image.Transpose.ROTATE_90) for image in slideshow_frames(photos)]
    return encode(frames, "mp4", FPS, display_rotation=-90)


@cache
def remuxed(data: bytes, container: str) -> bytes:
    """The same encoded video stream, packets copied unchanged into another ``container``."""
    buffer = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(buffer, "w", format=container) as output:
        in_stream = source.streams.video[0]
        out_stream = output.add_stream_from_template(in_stream)
        for packet in source.demux(in_stream):
            if packet.dts is None:  # the demuxer's empty packet at the end
                continue
            packet.stream = out_stream
            output.mux(packet)
    return buffer.getvalue()


@cache
def audio_only_mp4(seconds: float = 1.0) -> bytes:
    """An MP4 holding one AAC track of a 440 Hz tone and no video at all."""
    rate = 44100
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=rate)
        samples = np.arange(int(seconds * rate))
        tone = (0.3 * np.sin(2 * np.pi * 440 * samples / rate)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = tone[start : start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


@cache
def empty_video(container: str = "mp4") -> bytes:
    """A file written with a video stream but not one frame. MP4 then drops the track (no video
    stream at all); AVI keeps a stream with no frames."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(encoder(container), rate=FPS)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        output.start_encoding()  # writes the header although no packet follows
    return buffer.getvalue()


#: The edits `edited` makes, by name: what repost sites and re-uploaders do to a video's frames.
EDITS = (
    "mirror", "rot90", "crop10", "greyscale", "letterbox", "subtitles", "240p", "banner",
    "crop-left10", "crop-corner10", "crop-uneven", "banner-top-fifth", "banner-bottom-fifth",
)  # fmt: skip
#: The crops among `EDITS`: the share of each side's length cut off (left, top, right, bottom).
CROPS = {
    "crop10": (0.05, 0.05, 0.05, 0.05),
    "crop-left10": (0.10, 0.0, 0.0, 0.0),
    "crop-corner10": (0.10, 0.10, 0.0, 0.0),
    "crop-uneven": (0.07, 0.02, 0.03, 0.05),
}


def edited_frames(frames: Sequence[Image.Image], edit: str) -> list[Image.Image]:
    """``frames`` with one of `EDITS` applied to every frame: mirrored, turned a quarter
    anticlockwise, cropped by 10% of each side's length (5% off each edge; or 10% off the
    left, or 10% off the left and the top, or unevenly: `CROPS`) and scaled back, greyscale,
    letterboxed into a 16:9 black frame twice as wide, with a white subtitle line burned into
    the bottom, scaled down to 240 lines (from 240: to 180, as 1080p to 240p loses more), or
    with a coloured banner across the top (12% of the height; or the top or bottom fifth, with
    a line of text in it)."""
    return [_edit(image, edit) for image in frames]


def _edit(image: Image.Image, edit: str) -> Image.Image:
    from PIL import ImageDraw, ImageOps

    width, height = image.size
    if edit == "mirror":
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if edit == "rot90":
        return image.transpose(Image.Transpose.ROTATE_90)
    if edit in CROPS:
        left, top, right, bottom = CROPS[edit]
        box = (
            round(width * left),
            round(height * top),
            width - round(width * right),
            height - round(height * bottom),
        )
        return image.crop(box).resize(image.size)
    if edit == "greyscale":
        return ImageOps.grayscale(image).convert("RGB")
    if edit == "letterbox":
        canvas = Image.new("RGB", (width * 2, round(width * 2 * 9 / 16) // 2 * 2))
        inner = image.resize((round(canvas.height * width / height) // 2 * 2, canvas.height))
        canvas.paste(inner, ((canvas.width - inner.width) // 2, 0))
        return canvas.resize((width, canvas.height * width // canvas.width // 2 * 2))
    if edit == "subtitles":
        copy = image.copy()
        draw = ImageDraw.Draw(copy)
        draw.rectangle((width * 0.15, height * 0.82, width * 0.85, height * 0.93), fill="black")
        draw.text((width * 0.18, height * 0.83), "this is a subtitle line", fill="white")
        return copy
    if edit == "banner":
        copy = image.copy()
        ImageDraw.Draw(copy).rectangle((0, 0, width, height * 0.12), fill=(200, 30, 30))
        return copy
    if edit in ("banner-top-fifth", "banner-bottom-fifth"):
        copy = image.copy()
        draw = ImageDraw.Draw(copy)
        top = 0 if edit == "banner-top-fifth" else round(height * 0.8)
        draw.rectangle((0, top, width, top + round(height * 0.2)), fill=(30, 40, 200))
        draw.text(
            (width * 0.1, top + height * 0.07), "HOT CLIPS 24/7 hotclips.example", fill="white"
        )
        return copy
    if edit == "240p":
        return image.resize((width * 3 // 4 // 2 * 2, height * 3 // 4 // 2 * 2), Image.BILINEAR)
    raise ValueError(f"unknown edit {edit!r}; one of {EDITS}")


def retimed(frames: Sequence[Image.Image], speed: float, fps: int = FPS) -> list[Image.Image]:
    """``frames`` (at ``fps``) played at ``speed`` (2.0: twice as fast, half as long), at the
    same frame rate: frames dropped or repeated, as a sped-up re-upload."""
    count = int(len(frames) / speed)
    return [frames[min(len(frames) - 1, int(i * speed))] for i in range(count)]


def excerpt(
    frames: Sequence[Image.Image], start: float, end: float, fps: int = FPS
) -> list[Image.Image]:
    """The frames from ``start`` to ``end`` seconds."""
    return list(frames[round(start * fps) : round(end * fps)])
