"""PDQ of many boxes of one picture at once: how a cropped copy of a video is still found.

    >>> codes = box_codes(crop_luma(picture), GRID)        # (2025, 32) uint8, one PDQ a box
    >>> middle = box_codes(crop_luma(picture), MIDDLE)[0]  # a reference frame's middle

PDQ does not survive crops: a copy cut by 10% is about 70 bits from its original, far past the
match threshold of 31. So each side keeps what a crop of up to `CROP_INNER` of each side's length
cannot change. A reference frame keeps the PDQ of its middle (`MIDDLE`: `MIDDLE_SIDES` = 10% off
the left and the right, `MIDDLE_ENDS` = 20% off the top and the bottom), which any such crop
leaves in the picture, wherever it cuts. A frame being checked does not know how it was cut, so
it is hashed in `GRID`: for every crop on a `CROP_STEP` grid (per axis, the shares cut off the
two edges, each a multiple of the step, together at most `CROP_INNER`), the box where the
reference's middle would then lie. One of those boxes is within half a step of the true one, and
its PDQ is close to the reference's middle (measured by ``python -m benchmarks.video_crop``).

Why the step is 1.25% (2,025 boxes) and not 2.5% (225): PDQ moves fast when a box is off by a
fraction of a per cent. Copies of six clips (opencv-doc's and a generated one) cut at random, off
any grid (e.g. 5% off the left, 1% off the right, 7% off the top, 3% off the bottom), were a
median 18-30 bits from their reference's middles in the best box of the 2.5% grid, and 6-16 bits
in the best box of the 1.25% grid; the matcher found 8 of 30 such copies with the coarse grid and
30 of 30 with the fine one when seeding within 12-15 bits; at the matcher's defaults (11 bits,
the crops of one frame in eight: `crawler.matching.video`) ``python -m benchmarks.video_cuts``
finds 33 of its 36 copies cut off the grid. Copies cut on the coarse grid (5% off each
edge) are found either way: the fine grid holds every box of the coarse one (`COARSE_BOXES`).

The middle leaves out a fifth of the height at the top and at the bottom, where banners, tickers
and caption bands are burned in (as images keep their ``"centre"`` hash without the top and
bottom fifths): such a band up to a fifth tall lies outside it, so a copy under one is found
through the grid's first box (the uncut copy's, which is the middle itself) with no lookup of
its own. One stored region serves both cropped and bannered copies; a copy both cut and under a
band that tall is covered only as far as the cut leaves the band outside the box.

All boxes are hashed in one pass of matrix products: PDQ is a DCT of the picture area-averaged
to 64x64, and area averaging is linear, so each box is two small matrices (rows and columns) on
one `CROP_SIDE` x `CROP_SIDE` luma picture. A box of the whole picture at 64x64 gives exactly
what pdqhash gives (`crawler.hashing.pdq.pdq`); the 2,025 boxes of `GRID` take about 5 ms
on one core (the matrices of a grid are made once, `_plan`).

Pure: numpy and Pillow.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

#: The largest share of each side's length a crop may cut off (its two edges together).
CROP_INNER = 0.10
#: The share of the width a reference frame's middle leaves out at the left and at the right: at
#: least `CROP_INNER`, so that a crop leaves it whole.
MIDDLE_SIDES = 0.10
#: The share of the height the middle leaves out at the top and at the bottom: a banner, ticker
#: or caption band up to this tall over either edge leaves it alone (the images'
#: `crawler.hashing.media.CAPTION_BAND`).
MIDDLE_ENDS = 0.20
#: The grid of crops tried on a frame being checked: the share cut off each edge, in steps.
CROP_STEP = 0.0125
#: The coarser grid a media cache entry keeps the crops of (`COARSE_BOXES`).
COARSE_STEP = 0.025
#: Side of the square luma picture boxes are cut from (`crop_luma`).
CROP_SIDE = 128
#: PDQ's working size, its DCT size and its luma weights (ITU-R BT.601, as pdqhash uses).
_PDQ_SIDE = 64
_DCT_SIZE = 16
_LUMA = np.array([0.299, 0.587, 0.114])


def grid_boxes(
    inner: float = CROP_INNER,
    step: float = CROP_STEP,
    sides: float = MIDDLE_SIDES,
    ends: float = MIDDLE_ENDS,
) -> np.ndarray:
    """(n, 4) boxes ``(left, top, right, bottom)`` in fractions of a cropped copy's sides:
    where a reference's middle (``sides`` off the left and the right, ``ends`` off the top and
    the bottom) lies in a copy cut by each crop of the grid (see the module). The first box is
    that of the uncut copy: the middle itself."""
    if not 0 < step <= inner or not inner <= sides < 0.5 or not inner <= ends < 0.5:
        raise ValueError(
            f"need 0 < step <= inner <= sides, ends < 0.5, got inner {inner}, step {step}, "
            f"sides {sides} and ends {ends}"
        )
    cuts = np.arange(0.0, inner + 1e-9, step)
    axis = [(a, b) for a in cuts for b in cuts if a + b <= inner + 1e-9]
    boxes = []
    for top, bottom in axis:
        for left, right in axis:
            width, height = 1 - left - right, 1 - top - bottom
            boxes.append(
                (
                    (sides - left) / width,
                    (ends - top) / height,
                    (1 - sides - left) / width,
                    (1 - ends - top) / height,
                )
            )
    return np.array(boxes, dtype=np.float64)


#: The boxes a frame being checked is hashed in (2,025 at the defaults).
GRID = grid_boxes()
#: The boxes of `GRID` that lie on the `COARSE_STEP` grid (225 at the defaults), in their order
#: there: what a media cache entry keeps of a frame's crops (`crawler.hashing.types`), a ninth
#: of the bytes; such crops are matched in the same boxes as the whole grid's.
COARSE_BOXES = np.flatnonzero(
    np.isclose(GRID[:, None, :], grid_boxes(step=COARSE_STEP)[None, :, :]).all(axis=2).any(axis=1)
)
#: A reference frame's middle: the part no crop of up to `CROP_INNER` removes, without the top
#: and bottom fifths where banners and caption bands sit.
MIDDLE = np.array([[MIDDLE_SIDES, MIDDLE_ENDS, 1 - MIDDLE_SIDES, 1 - MIDDLE_ENDS]])


def crop_luma(picture: Image.Image, side: int = CROP_SIDE) -> np.ndarray:
    """``picture`` area-averaged to ``side`` x ``side`` as PDQ's luma (float, 0-255)."""
    small = picture.convert("RGB").resize((side, side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64) @ _LUMA


def box_codes(luma: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The PDQ hash of each box of ``luma`` (a 2-D array) area-averaged to 64x64, as (boxes, 32)
    uint8 rows: the bytes of the hash's hex (`crawler.hashing.pdq.bits_to_hex`)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if ((boxes[:, :2] < 0) | (boxes[:, 2:] > 1) | (boxes[:, 2:] <= boxes[:, :2])).any():
        raise ValueError("boxes must lie inside the picture: 0 <= left < right <= 1, same for y")
    down, y_of, across, x_of = _plan(boxes.tobytes(), *luma.shape)
    halves = down @ luma  # (distinct y intervals, 16, cols)
    # Every pair of a y interval and an x interval in one matrix product: (y, 16, x, 16).
    pairs = np.tensordot(halves, across, axes=([2], [2]))
    coefficients = pairs[y_of, :, x_of, :]
    # pdqhash's bit order: the 16x16 coefficients row by row, last one first.
    flat = coefficients.reshape(len(boxes), -1)[:, ::-1]
    # The median of each row, as np.median gives it (the mean of the two middle values), from a
    # sort: numpy sorts 2,025 rows of 256 in a fifth of the time its median takes.
    middle = flat.shape[1] // 2
    median = np.mean(np.sort(flat, axis=1)[:, middle - 1 : middle + 1], axis=1, keepdims=True)
    return np.packbits(flat > median, axis=1)


@functools.lru_cache(maxsize=8)
def _plan(boxes: bytes, rows: int, cols: int) -> tuple[np.ndarray, ...]:
    """For the boxes (the bytes of a (n, 4) float64 array) of a ``rows`` x ``cols`` picture:
    the DCT of each distinct y interval's area average (down), each box's y interval, the same
    across, and each box's x interval. The same for every frame of a grid: made once (with
    2,025 boxes this was half the time of `box_codes`)."""
    grid = np.frombuffer(boxes, dtype=np.float64).reshape(-1, 4)
    ys, y_of = np.unique(grid[:, [1, 3]], axis=0, return_inverse=True)
    xs, x_of = np.unique(grid[:, [0, 2]], axis=0, return_inverse=True)
    dct = _dct_matrix()
    down = np.stack([dct @ _area_matrix(top, bottom, rows) for top, bottom in ys])
    across = np.stack([dct @ _area_matrix(left, right, cols) for left, right in xs])
    return down, y_of.ravel(), across, x_of.ravel()


def _area_matrix(start: float, end: float, length: int) -> np.ndarray:
    """(64, length) weights averaging the pixels ``start``-``end`` (fractions of ``length``)
    into 64 equal cells, each pixel counted by the share of it inside the cell."""
    edges = np.linspace(start * length, end * length, _PDQ_SIDE + 1)
    pixels = np.arange(length)
    overlap = np.minimum(pixels[None, :] + 1, edges[1:, None]) - np.maximum(
        pixels[None, :], edges[:-1, None]
    )
    return np.clip(overlap, 0, None) / (edges[1] - edges[0])


def _dct_matrix() -> np.ndarray:
    """PDQ's (16, 64) DCT: the 16 lowest frequencies after the constant one."""
    frequencies = np.arange(1, _DCT_SIZE + 1)[:, None]
    samples = np.arange(_PDQ_SIDE)[None, :]
    return np.sqrt(2 / _PDQ_SIDE) * np.cos(np.pi / 2 / _PDQ_SIDE * frequencies * (2 * samples + 1))
