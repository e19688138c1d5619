"""Heavily pixelated reference thumbnails, for cases that opt in (`refs add
--pixelated-thumbnails`).

A reference is hash-only by default: reviewers have no image to compare the found media with.
A case may opt in to keep, per reference image, a picture made of at most ``BLOCKS`` x
``BLOCKS`` (8 x 8) blocks, each the average colour of its part of the image, scaled up with
hard edges to at most ``MAX_SIDE`` (64) pixels. That tells "the photo with the red wall and a
figure on the left" from another; a face, a body, text or a tattoo does not survive 8 x 8
averages. The full image is decoded in memory only and never written anywhere. Videos and
animations get no thumbnail (a single frame says little and a video is a sequence).
"""

from __future__ import annotations

import io

from PIL import Image

from crawler.hashing.decode import open_image

#: Blocks on the longer side of a thumbnail; the shorter side keeps the aspect ratio (>= 1).
BLOCKS = 8
#: Pixels of the longer side once the blocks are scaled up.
MAX_SIDE = 64


def pixelated_thumbnail(data: bytes) -> bytes:
    """A PNG of ``data`` (image bytes) reduced to at most 8 x 8 average-colour blocks, scaled up
    to at most 64 px with nearest-neighbour. Raises ``MediaError`` for bytes that are not an
    image."""
    image = open_image(data)
    width, height = image.size
    scale = BLOCKS / max(width, height)
    blocks = (max(1, round(width * scale)), max(1, round(height * scale)))
    # BOX: each block is the mean of every source pixel under it (no detail leaks through).
    small = image.resize(blocks, Image.Resampling.BOX)
    block_side = MAX_SIDE // BLOCKS
    big = small.resize((blocks[0] * block_side, blocks[1] * block_side), Image.Resampling.NEAREST)
    out = io.BytesIO()
    big.save(out, format="PNG", optimize=True)
    return out.getvalue()
