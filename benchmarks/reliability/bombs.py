"""Hostile media, made here from the bundled photos and PyAV: bombs, lies and truncations.

Each function returns the bytes of one file, small to serve and expensive to open naively: huge
declared canvases, compressed expanses of zeros, thousands of frames, hours of video.
"""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from functools import cache

import av
from PIL import Image

from crawler.demo import samples


@cache
def photo(fmt: str = "JPEG", size: int = 320) -> bytes:
    image = samples.load_photo("astronaut").resize((size, size))
    options = {"quality": 80} if fmt in ("JPEG", "WEBP") else {}
    return samples.encode(image, fmt, **options)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(side: int = 20000) -> bytes:
    """A real decompression bomb: ``side`` x ``side`` grey pixels of zeros, ~side²/1000 bytes."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_huge_dimensions() -> bytes:
    """A small JPEG whose frame header claims 60000 x 60000 pixels."""
    data = bytearray(photo("JPEG"))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            data[at + 5 : at + 9] = struct.pack(">HH", 60000, 60000)
            return bytes(data)
    raise RuntimeError("no SOF marker")


def gif_frame_bomb(frames: int = 300, side: int = 6000) -> bytes:
    """A GIF of ``frames`` full-canvas frames on a ``side`` x ``side`` canvas, each frame a tiny
    LZW stream that decodes to the whole canvas (what the issue measured: minutes of a worker)."""
    out = bytearray(b"GIF89a" + struct.pack("<HH", side, side) + b"\xf0\x00\x00")
    out += b"\x00\x00\x00\xff\xff\xff"  # a 2-colour global palette
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    lzw = _lzw_zeros(side * side)
    blocks = b"".join(
        bytes([len(lzw[i : i + 255])]) + lzw[i : i + 255] for i in range(0, len(lzw), 255)
    )
    frame = (
        b"\x21\xf9\x04\x04\x02\x00\x00\x00"  # graphic control: 20 ms
        + b"\x2c" + struct.pack("<HHHH", 0, 0, side, side) + b"\x00"
        + b"\x02" + blocks + b"\x00"
    )  # fmt: skip
    out += frame * frames
    out += b"\x3b"
    return bytes(out)


def _lzw_zeros(count: int) -> bytes:
    """A GIF LZW stream (minimum code size 2) of ``count`` zero pixels: codes for runs of 1, 2,
    3 ... zeros, each new code one zero longer than the last, with a clear code when the table
    is full. The decoder adds each entry one code later than the encoder, so the code width
    grows when the encoder's next code passes a power of two, not when it reaches it."""
    clear, end = 4, 5
    codes: list[tuple[int, int]] = []

    def reset() -> tuple[int, int, dict[int, int], int]:
        codes.append((clear, bits if codes else 3))
        return 3, 6, {1: 0}, 1

    bits = 3
    bits, next_code, run_code, longest = reset()
    written = 0
    while written < count:
        length = max(n for n in run_code if n <= count - written)
        codes.append((run_code[length], bits))
        written += length
        if length == longest:
            run_code[length + 1] = next_code
            longest = length + 1
            next_code += 1
            if next_code > (1 << bits) and bits < 12:
                bits += 1
            if next_code == 4095:
                bits, next_code, run_code, longest = reset()
    codes.append((end, bits))
    value, filled, out = 0, 0, bytearray()
    for code, width in codes:
        value |= code << filled
        filled += width
        while filled >= 8:
            out.append(value & 0xFF)
            value >>= 8
            filled -= 8
    if filled:
        out.append(value & 0xFF)
    return bytes(out)


def webp_huge_canvas() -> bytes:
    """A WebP (VP8X) whose canvas claims 16384 x 16384 around a small picture."""
    data = bytearray(photo("WEBP"))
    vp8 = data[12:]
    chunk = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    chunk += (16383).to_bytes(3, "little") * 2
    body = b"WEBP" + chunk + bytes(vp8)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bmp_huge_dimensions() -> bytes:
    data = bytearray(photo("BMP", 64))
    data[18:26] = struct.pack("<ii", 50000, 50000)
    return bytes(data)


def tiff_bomb() -> bytes:
    """A TIFF of 20000 x 20000 pixels compressed with deflate: zeros, a few hundred KB."""
    image = Image.new("L", (4000, 4000))
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="tiff_adobe_deflate")
    data = bytearray(buffer.getvalue())
    # claim 5x the width and height in the first IFD (ImageWidth 256, ImageLength 257)
    offset = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[offset : offset + 2])[0]
    for i in range(entries):
        at = offset + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[at : at + 4])
        if tag in (256, 257):
            if kind == 3:
                data[at + 8 : at + 10] = struct.pack("<H", 60000)
            else:
                data[at + 8 : at + 12] = struct.pack("<I", 60000)
    return bytes(data)


def ico_huge() -> bytes:
    data = bytearray(photo("PNG", 64))
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(data), 22)
    png = bytearray(data)
    png[16:24] = struct.pack(">II", 40000, 40000)  # IHDR claims 40000 x 40000 (CRC now wrong)
    return header + entry + bytes(png)


def video(
    container: str = "mp4",
    frames: int = 30,
    size: tuple[int, int] = (160, 120),
    fps: float = 15,
) -> bytes:
    """An ordinary video of ``frames`` frames of a photo, slowly panned."""
    codecs = {"mp4": ("libx264", "mpeg4"), "webm": ("libvpx", "libvpx-vp9"),
              "matroska": ("libx264", "mpeg4"), "avi": ("mpeg4",), "flv": ("flv",),
              "mpegts": ("mpeg2video",), "mpeg": ("mpeg2video",)}  # fmt: skip
    if codecs[container][0].startswith("mpeg"):
        fps = 25  # MPEG-1/2 know only the broadcast frame rates
    codec = next(name for name in codecs[container] if name in av.codecs_available)
    base = samples.load_photo("coffee").resize((size[0] * 2, size[1] * 2))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            x = int(size[0] * (i % 30) / 30)
            frame = av.VideoFrame.from_image(base.crop((x, 0, x + size[0], size[1])))
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


@cache
def long_video() -> bytes:
    """Two hours at 1 frame a second, 64 x 48: 7200 frames in a small file."""
    return video("mp4", frames=7200, size=(64, 48), fps=1)


@cache
def huge_frame_video() -> bytes:
    """One second of 3840 x 2160 (4K) video."""
    return video("mp4", frames=2, size=(3840, 2160), fps=2)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(16, int(len(data) * keep))]


def truncated_photo(fmt: str) -> bytes:
    return truncated(photo(fmt))


def truncated_video(container: str) -> bytes:
    return truncated(video(container))


def gzip_bomb(megabytes: int = 1024) -> bytes:
    """``megabytes`` of zeros, gzip-compressed (about a thousandth of that on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
