"""Find a picture turned a few degrees on a canvas grown to hold it (corners of one colour).

Editors and repost tools turn a picture by a few degrees and grow the canvas so nothing is cut:
the picture stands as a tilted rectangle whose four corners touch the canvas's four edges, with
triangles of one colour (black, white, transparent flattened) in the corners. A global hash of
that frame is far from the original's (PDQ more than 80 bits at 4 degrees), and ORB descriptors
change enough at 4-8 degrees that crhash finds fewer than its four keypoints in place for
textures and repeated patterns. `straightened_box` finds the tilted rectangle; the picture is
then turned back and cut out, and hashed like the picture inside trimmed borders.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

#: The tilt is looked for on a copy at most this many pixels on its longer side.
_ANALYSIS_SIDE = 256
#: Turns (degrees) looked for: smaller ones change hashes little, larger ones are rare edits.
_MIN_DEGREES, _MAX_DEGREES = 1.0, 20.0
#: Each corner triangle's tip (this share of the shorter side, from the corner along both edges)
#: must be flat: within `_FLAT_LEVELS` grey levels of the corners' median.
_CORNER_SHARE = 0.01
_FLAT_LEVELS = 12
#: A pixel belongs to the picture when it differs from the corner colour by more than this.
_CONTENT_LEVELS = 12
#: The tilted rectangle's corners must lie within this share of the longer side of an edge, and
#: it must cover at least this share of the content's pixels' hull.
_EDGE_SHARE = 0.03
_MIN_FILL = 0.97


def straightened_box(
    luma: Image.Image,
) -> tuple[float, tuple[float, float], tuple[float, float]] | None:
    """``(degrees, centre, size)`` of a picture turned on a grown canvas of one colour, in
    ``luma``'s pixels (``degrees`` as `Image.rotate` turns: anticlockwise), or None."""
    width, height = luma.size
    factor = max(1, -(-max(width, height) // _ANALYSIS_SIDE))
    small = np.asarray(luma.reduce(factor) if factor > 1 else luma, dtype=np.int16)
    rows, cols = small.shape
    if min(rows, cols) < 32:
        return None
    tip = max(1, round(_CORNER_SHARE * min(rows, cols)))
    corners = [small[:tip, :tip], small[:tip, -tip:], small[-tip:, :tip], small[-tip:, -tip:]]
    background = int(np.median([corner.ravel() for corner in corners]))
    if any(np.abs(corner - background).max() > _FLAT_LEVELS for corner in corners):
        return None
    content = (np.abs(small - background) > _CONTENT_LEVELS).astype(np.uint8)
    points = cv2.findNonZero(content)
    if points is None or len(points) < 0.25 * rows * cols:
        return None
    hull = cv2.convexHull(points)
    (cx, cy), (w, h), angle = cv2.minAreaRect(hull)
    while angle > 45:  # OpenCV versions differ in the range they give: (-45, 45] here
        angle, w, h = angle - 90, h, w
    while angle <= -45:
        angle, w, h = angle + 90, h, w
    if not _MIN_DEGREES <= abs(angle) <= _MAX_DEGREES:
        return None
    if cv2.contourArea(hull) < _MIN_FILL * w * h:
        return None
    box = cv2.boxPoints(((cx, cy), (w, h), angle))
    slack = _EDGE_SHARE * max(rows, cols)
    touches = (
        box[:, 0].min() <= slack,
        box[:, 1].min() <= slack,
        box[:, 0].max() >= cols - 1 - slack,
        box[:, 1].max() >= rows - 1 - slack,
    )
    if not all(touches):
        return None
    scale_x, scale_y = width / cols, height / rows
    return (
        -angle,
        ((cx + 0.5) * scale_x, (cy + 0.5) * scale_y),
        (w * scale_x, h * scale_y),
    )


def straightened(luma: Image.Image) -> Image.Image | None:
    """The picture inside ``luma`` turned back upright and cut out of its canvas (see
    `straightened_box`), a little inside its edges; None when ``luma`` is not such a canvas."""
    found = straightened_box(luma)
    if found is None:
        return None
    degrees, (cx, cy), (w, h) = found
    turned = luma.rotate(-degrees, Image.Resampling.BILINEAR, center=(cx, cy))
    # The rectangle is found to a pixel of the analysis copy, and its edges are blended with
    # the corners: cut that much inside (PDQ moves more with each per cent cut off than pHash).
    margin = 1 + math.ceil(max(luma.size) / _ANALYSIS_SIDE)
    box = (cx - w / 2 + margin, cy - h / 2 + margin, cx + w / 2 - margin, cy + h / 2 - margin)
    return turned.crop(tuple(round(value) for value in box))
