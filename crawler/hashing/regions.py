"""Pictures inside pictures: the boxes of photos shown in a screenshot or a collage.

A screenshot of a forum post, an SNS post or a collage shows the reposted picture as a rectangle
among flat UI and text; no hash of the whole screenshot comes near the picture's. A page's
background, bars and panels are flat (neighbouring pixels equal or nearly), and text is small
strokes on them; a photo differs from its surroundings along its whole outline. `picture_regions`
marks the pixels that differ from a neighbour on a reduced copy, takes each connected blob's box,
and keeps the boxes that

* are large (`MIN_SIDE` a side, `_MIN_AREA` of the image) and not (nearly) the whole image,
  which is hashed already, with a sane shape (`_MAX_ASPECT`);
* look like a photo, not a UI panel of text: many grey levels, none covering much of it;
* are rectangles on a flat surround: at full size, each side not on the image's border has a
  flat line just outside it, and most sides are a straight step (most pixels along the side
  differ from the line outside). A blob inside an ordinary photo (an object on a table) has
  ragged sides and fails here;
* are not panels: a bordered box of text has flat margins inside all four sides, a photo
  rarely has (`_INSET`).

Each side is first snapped to the strongest straight edge near where the reduced copy put it.
Pure: numpy, Pillow and OpenCV. About 1-2 ms of CPU on a 1366x768 screenshot.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

#: At most this many boxes are returned, largest first.
MAX_REGIONS = 4
#: A region's shorter side is at least this many pixels (of the image as given) ...
MIN_SIDE = 96
#: ... and it covers at least this share of the image ...
_MIN_AREA = 0.04
#: ... and less than this share: a larger box is the image itself (hashed already).
_MAX_AREA = 0.8
#: Longer side over shorter side at most this.
_MAX_ASPECT = 4.0
#: Regions are looked for on a copy reduced by a whole factor to at most this many pixels on its
#: longer side.
_WORK_SIDE = 512
#: Neighbouring pixels more than this many grey levels apart differ (at the work size: a
#: blob's pixels; at full size: a side's step); UI backgrounds, bars and JPEG-compressed flat
#: panels stay within it.
_FLAT_LEVELS = 3
#: Photo-ness at the work size: no one grey level on more than this share of the box (a text
#: panel's background) ...
_MAX_MODE = 0.5
#: ... and at least this many distinct grey levels.
_MIN_LEVELS = 48
#: A side is snapped to the strongest edge within this many work-size pixels of the blob's side
#: (a blurred drop shadow joins the picture's blob a few pixels out).
_SNAP = 4
#: The line just outside a side is flat when this share of it is within `_OUTSIDE_LEVELS` of its
#: median ...
_OUTSIDE_SHARE = 0.9
_OUTSIDE_LEVELS = 4
#: ... and the side is a step when this share of its pixels differ from the line outside.
_STEP_SHARE = 0.4
#: Sides (of 4; sides on the image's border count) that must be steps.
_MIN_STEPS = 3
#: A box whose four lines this many pixels inside its sides are all flat is a panel (text or
#: UI on a background, framed by a border line), not a photo.
_INSET = 4


Box = tuple[int, int, int, int]


def picture_regions(luma: Image.Image, *, limit: int = MAX_REGIONS) -> list[Box]:
    """``(left, top, right, bottom)`` boxes, in ``luma``'s pixels, of the photos shown inside
    ``luma`` (a screenshot, a collage), largest first, at most ``limit``; none for an ordinary
    photo (its one blob is the whole image) or a page of text."""
    width, height = luma.size
    if min(width, height) < MIN_SIDE:
        return []
    factor = max(1, -(-max(width, height) // _WORK_SIDE))
    small = np.asarray(luma.reduce(factor) if factor > 1 else luma)
    detail = _detail(small)
    count, _, stats, _ = cv2.connectedComponentsWithStats(detail.view(np.uint8), connectivity=8)
    min_side = MIN_SIDE / factor
    min_area, max_area = _MIN_AREA * small.size, _MAX_AREA * small.size
    pixels: np.ndarray | None = None
    found: list[tuple[int, Box]] = []
    for left, top, w, h, _ in stats[1:count].tolist():
        if min(w, h) < min_side or not min_area <= w * h < max_area:
            continue
        if max(w, h) > _MAX_ASPECT * min(w, h):
            continue
        if not _photo_like(small[top : top + h, left : left + w]):
            continue
        if pixels is None:
            pixels = np.asarray(luma)
        box = _snap(pixels, (left, top, left + w, top + h), factor)
        box_w, box_h = box[2] - box[0], box[3] - box[1]
        if min(box_w, box_h) < MIN_SIDE or box_w * box_h >= _MAX_AREA * width * height:
            continue
        if _framed(pixels, box):
            found.append((box_w * box_h, box))
    found.sort(key=lambda item: -item[0])
    return [box for _, box in found[:limit]]


def _detail(small: np.ndarray) -> np.ndarray:
    """True where a pixel differs from its right or lower neighbour by more than `_FLAT_LEVELS`
    (both pixels of such a pair are marked, so a blob's box reaches exactly its outline)."""
    values = small.astype(np.int16)
    across = np.abs(np.diff(values, axis=1)) > _FLAT_LEVELS
    down = np.abs(np.diff(values, axis=0)) > _FLAT_LEVELS
    detail = np.zeros(small.shape, dtype=bool)
    detail[:, 1:] |= across
    detail[:, :-1] |= across
    detail[1:, :] |= down
    detail[:-1, :] |= down
    return detail


def _photo_like(crop: np.ndarray) -> bool:
    """Many grey levels, none dominant: a photo, not a UI panel of text on a background."""
    counts = np.bincount(crop.ravel(), minlength=256)
    return counts.max() <= _MAX_MODE * crop.size and np.count_nonzero(counts) >= _MIN_LEVELS


def _snap(pixels: np.ndarray, box: Box, factor: int) -> Box:
    """The box in full-size pixels, each side moved to the strongest straight edge (the largest
    mean step between neighbouring rows or columns along the box) near where the blob put it:
    up to a work-size pixel out (the blob marks both sides of the picture's edge) or `_SNAP`
    in (a drop shadow's blur joins the blob outside the picture), never out to a card's border
    a few pixels further."""
    height, width = pixels.shape
    left, top, right, bottom = (
        min(side * factor, end) for side, end in zip(box, (width, height) * 2, strict=True)
    )
    out, inward = factor + 1, max(2, _SNAP * factor)
    columns = slice(left, right)
    top = _edge(lambda a, b: pixels[a:b, columns], top, (-out, inward), height)
    bottom = _edge(lambda a, b: pixels[a:b, columns], bottom, (-inward, out), height)
    rows = slice(top, bottom)
    left = _edge(lambda a, b: pixels[rows, a:b].T, left, (-out, inward), width)
    right = _edge(lambda a, b: pixels[rows, a:b].T, right, (-inward, out), width)
    return (left, top, right, bottom)


def _edge(lines, guess: int, reach: tuple[int, int], end: int) -> int:
    """The index ``i`` in ``guess + reach[0] .. guess + reach[1]`` (inside ``1..end-1``) where
    line ``i`` (``lines(a, b)`` gives lines ``a..b-1``) differs most from line ``i - 1``: the
    first line past an edge. A side on the image's border stays there."""
    if guess <= 0 or guess >= end:
        return min(max(guess, 0), end)
    first, last = max(1, guess + reach[0]), min(end - 1, guess + reach[1])
    values = lines(first - 1, last + 1).astype(np.int16)
    steps = np.abs(np.diff(values, axis=0)).mean(axis=1)
    return first + int(np.argmax(steps))


def _framed(pixels: np.ndarray, box: Box) -> bool:
    """Whether each side not on the image's border has a flat line just outside it, at least
    `_MIN_STEPS` sides are straight steps (sides on the border count as steps), and the lines
    `_INSET` pixels inside the sides are not all flat."""
    height, width = pixels.shape
    left, top, right, bottom = box
    # (the side's first line inside, the line outside it, the next line out), or None on a border
    sides = [
        (pixels[top, left:right], pixels[top - 1, left:right], pixels[max(0, top - 2), left:right])
        if top > 0
        else None,
        (
            pixels[bottom - 1, left:right],
            pixels[bottom, left:right],
            pixels[min(height - 1, bottom + 1), left:right],
        )
        if bottom < height
        else None,
        (
            pixels[top:bottom, left],
            pixels[top:bottom, left - 1],
            pixels[top:bottom, max(0, left - 2)],
        )
        if left > 0
        else None,
        (
            pixels[top:bottom, right - 1],
            pixels[top:bottom, right],
            pixels[top:bottom, min(width - 1, right + 1)],
        )
        if right < width
        else None,
    ]
    inset = min(_INSET, (right - left) // 4, (bottom - top) // 4)
    margins = (
        pixels[top + inset, left:right],
        pixels[bottom - 1 - inset, left:right],
        pixels[top:bottom, left + inset],
        pixels[top:bottom, right - 1 - inset],
    )
    if all(_flat(line.astype(np.int16)) for line in margins):
        return False
    steps = 0
    for side in sides:
        if side is None:
            steps += 1
            continue
        inside, outside, further = (line.astype(np.int16) for line in side)
        if not (_flat(outside) or _flat(further)):
            return False
        steps += np.mean(np.abs(inside - outside) > _FLAT_LEVELS) >= _STEP_SHARE
    return steps >= _MIN_STEPS


def _flat(line: np.ndarray) -> bool:
    return np.mean(np.abs(line - np.median(line)) <= _OUTSIDE_LEVELS) >= _OUTSIDE_SHARE
