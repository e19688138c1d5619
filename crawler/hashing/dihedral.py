"""The eight ways to turn or mirror a picture, named by what they do to the original.

A variant name says how the media relates to the original: media ``"flipx"`` is the original
mirrored left to right. Rotations are anticlockwise, as in Pillow: ``"rot90"`` is the original
turned a quarter anticlockwise, ``"rot270"`` a quarter clockwise. ``"transpose"`` mirrors across
the main diagonal (top-left to bottom-right), ``"transverse"`` across the other one.
"""

from __future__ import annotations

from PIL import Image

#: Each transform as the matrix (a, b, c, d) that maps centred pixel coordinates (x right, y down)
#: of the original to those of the media: (x, y) -> (a x + b y, c x + d y).
DIHEDRAL: dict[str, tuple[int, int, int, int]] = {
    "original": (1, 0, 0, 1),
    "rot90": (0, 1, -1, 0),
    "rot180": (-1, 0, 0, -1),
    "rot270": (0, -1, 1, 0),
    "flipx": (-1, 0, 0, 1),
    "flipy": (1, 0, 0, -1),
    "transpose": (0, 1, 1, 0),
    "transverse": (0, -1, -1, 0),
}
#: The same transforms as Pillow's `Image.transpose` methods (for tests and tools).
PILLOW_TRANSPOSE: dict[str, Image.Transpose | None] = {
    "original": None,
    "rot90": Image.Transpose.ROTATE_90,
    "rot180": Image.Transpose.ROTATE_180,
    "rot270": Image.Transpose.ROTATE_270,
    "flipx": Image.Transpose.FLIP_LEFT_RIGHT,
    "flipy": Image.Transpose.FLIP_TOP_BOTTOM,
    "transpose": Image.Transpose.TRANSPOSE,
    "transverse": Image.Transpose.TRANSVERSE,
}
_NAME_OF = {matrix: name for name, matrix in DIHEDRAL.items()}


def compose(first: str, then: str) -> str:
    """The variant that applies ``first``, then ``then``."""
    a, b, c, d = DIHEDRAL[then]
    e, f, g, h = DIHEDRAL[first]
    return _NAME_OF[(a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)]


def inverse(name: str) -> str:
    """The variant that undoes ``name``."""
    return next(other for other in DIHEDRAL if compose(name, other) == "original")


def reverses_axes(name: str) -> tuple[bool, bool]:
    """Whether the transform runs the original's x axis, and its y axis, backwards."""
    a, b, c, d = DIHEDRAL[name]
    return (a < 0 or c < 0, b < 0 or d < 0)


def apply(image: Image.Image, name: str) -> Image.Image:
    """``image`` turned into variant ``name`` (the original for ``"original"``)."""
    method = PILLOW_TRANSPOSE[name]
    return image if method is None else image.transpose(method)
