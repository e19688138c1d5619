"""Media built to cost a hashing worker much more than its size: made on the fly, tiny files."""

from __future__ import annotations

import struct


def huge_canvas_gif(frames: int, side: int) -> bytes:
    """An animated GIF of ``frames`` frames on a ``side`` x ``side`` canvas, each frame drawing
    one pixel: ~23 bytes a frame, while a decoder composes the whole canvas for every frame."""
    # A global colour table of 256 greys (a decoder reads it as a greyscale picture).
    out = bytearray(b"GIF89a" + struct.pack("<HH", side, side) + bytes([0x87, 0, 0]))
    out += bytes(value for grey in range(256) for value in (grey, grey, grey))
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop for ever
    for index in range(frames):
        out += b"\x21\xf9\x04\x04" + struct.pack("<H", 1) + b"\x00\x00"  # keep, 10 ms
        out += b"\x2c" + struct.pack("<HHHH", index % side, 0, 1, 1) + b"\x00"
        # LZW, minimum code size 8: clear (256), a grey, end (257), three 9-bit codes.
        codes = 256 | (index % 256) << 9 | 257 << 18
        out += b"\x08\x04" + struct.pack("<I", codes) + b"\x00"
    return bytes(out + b"\x3b")
