"""Find the picture inside added borders: solid padding, letterbox bars or blurred margins.

Repost sites and apps pad pictures to a fixed shape, with bars of one colour or with a blurred,
enlarged copy of the picture behind it. Both look the same to a hash of the whole frame: a margin
with almost no detail. `content_box` scans inwards from each edge while whole rows (or columns)
stay that flat, measured against the detail of the picture's middle, so a real photo's sky or
studio backdrop is not cut unless it is as flat as padding across the full width.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Borders are looked for on a copy at most this many pixels on its longer side.
_ANALYSIS_SIDE = 256
#: A pixel shows detail when its |Laplacian| (grey levels at the analysis size) is over
#: this many levels ...
_DETAIL_LEVEL = 3.0
#: ... and over this fraction of the typical gradient of detailed pixels in the image's middle.
_DETAIL_RELATIVE = 0.2
#: A line (row or column) belongs to a border while fewer than this share of it shows detail ...
_BORDER_SHARE = 0.03
#: ... and the border counts only if the picture starts abruptly: a line at most `_EDGE_LINES`
#: further in has at least this share of detail (a sky fading into a scene has not).
_EDGE_SHARE = 0.25
_EDGE_LINES = 3
#: Margins thinner than this share of the side are left alone (JPEG ringing, thin frames).
_MIN_MARGIN = 0.02
#: At least this share of each side must remain; a flatter image is left whole.
_MIN_CONTENT = 0.35


def content_box(luma: Image.Image) -> tuple[int, int, int, int] | None:
    """``(left, top, right, bottom)`` of the picture inside flat borders in ``luma``'s pixels,
    or None when there is no border worth trimming."""
    width, height = luma.size
    factor = max(1, -(-max(width, height) // _ANALYSIS_SIDE))
    small = luma.reduce(factor) if factor > 1 else luma
    pixels = np.asarray(small, dtype=np.float32)
    rows_count, cols_count = pixels.shape
    if min(rows_count, cols_count) < 16:
        return None
    gradient = _fine_detail(pixels)
    middle = gradient[rows_count // 4 : rows_count - rows_count // 4,
                      cols_count // 4 : cols_count - cols_count // 4]  # fmt: skip
    level = max(_DETAIL_LEVEL, _DETAIL_RELATIVE * float(np.quantile(middle, 0.75)))
    detail = gradient > level
    top, bottom = _margins(detail.mean(axis=1))
    left, right = _margins(detail.mean(axis=0))
    if not any((top, bottom, left, right)):
        return None
    scale_x, scale_y = width / cols_count, height / rows_count
    return (
        round(left * scale_x),
        round(top * scale_y),
        width - round(right * scale_x),
        height - round(bottom * scale_y),
    )


def _fine_detail(pixels: np.ndarray) -> np.ndarray:
    """|Laplacian| per pixel (edges repeated): high for sharp detail, near 0 in flat or blurred
    areas, however strong their slow gradients are."""
    padded = np.pad(pixels, 1, mode="edge")
    return np.abs(
        4 * pixels - padded[:-2, 1:-1] - padded[2:, 1:-1] - padded[1:-1, :-2] - padded[1:-1, 2:]
    )


def _margins(detail: np.ndarray) -> tuple[int, int]:
    """Border lines at the start and at the end of a profile of detail shares (0 where there is
    no border); both 0 when too little would remain."""
    start, end = _margin(detail), _margin(detail[::-1])
    if len(detail) - start - end < _MIN_CONTENT * len(detail):
        return 0, 0
    return start, end


def _margin(detail: np.ndarray) -> int:
    length = len(detail)
    busy = np.flatnonzero(detail >= _BORDER_SHARE)
    if len(busy) == 0:
        return 0
    first = int(busy[0])
    if first < _MIN_MARGIN * length:
        return 0
    if detail[first : first + _EDGE_LINES].max() < _EDGE_SHARE:
        return 0
    return first
