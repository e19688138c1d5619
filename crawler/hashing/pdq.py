"""PDQ (Meta's 256-bit perceptual hash) via pdqhash, with its match threshold and quality floor.

Hex follows python-threatexchange: the 256 bits in the order pdqhash returns them, most
significant first, so hashes exchanged with other PDQ users compare directly.
"""

from __future__ import annotations

import numpy as np
import pdqhash
from PIL import Image

from crawler.hashing.algorithms import PDQ
from crawler.hashing.dihedral import compose, inverse, reverses_axes
from crawler.hashing.types import HashValue

#: Two PDQ hashes at most this many bits apart (of 256) are treated as the same picture: the
#: threshold of the `PDQ` descriptor, under the name code outside matching reads.
PDQ_MATCH_THRESHOLD = PDQ.threshold
#: PDQ hashes of lower quality (flat or featureless images) are too unreliable to match on.
PDQ_MIN_QUALITY = 50


def pdq(image: Image.Image) -> HashValue:
    """The PDQ hash and quality (0-100) of a decoded image."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    bits, quality = pdqhash.compute(pixels)
    return HashValue("pdq", bits_to_hex(bits), int(quality))


def pdq_luma(luma: np.ndarray) -> HashValue:
    """`pdq` of a 2-D uint8 luma array (equal to `pdq` of the RGB picture it came from)."""
    bits, quality = pdqhash.compute(_as_rgb(luma))
    return HashValue("pdq", bits_to_hex(bits), int(quality))


def pdq_variants(luma: np.ndarray) -> dict[str, HashValue]:
    """PDQ of the picture undoing each of the eight turns and mirrors, by variant name.

    ``result["rot90"]`` is the hash of ``luma`` turned back a quarter clockwise: it equals the
    original's PDQ when ``luma`` is the original turned a quarter anticlockwise. pdqhash derives
    all eight from one downsampling, which is exact only along an axis whose PDQ box filter is
    symmetric; for each axis that is not, the array is also mirrored for real (2 or 4 passes in
    all) so every variant equals what `pdq` gives on the turned picture.
    """
    rows, cols = luma.shape
    asymmetric = (_asymmetric(cols), _asymmetric(rows))
    flips = ["original"]
    if asymmetric[0]:
        flips.append("flipx")
    if asymmetric[1]:
        flips += [compose(flip, "flipy") for flip in flips]
    found: dict[str, HashValue] = {}
    for flip in flips:
        flip_x, flip_y = reverses_axes(flip)
        source = np.ascontiguousarray(luma[:: -1 if flip_y else 1, :: -1 if flip_x else 1])
        vectors, quality = pdqhash.compute_dihedral(_as_rgb(source))
        for step, bits in zip(_DIHEDRAL_SLOTS, vectors, strict=True):
            reversed_x, reversed_y = reverses_axes(step)
            if (reversed_x and asymmetric[0]) or (reversed_y and asymmetric[1]):
                continue
            variant = inverse(compose(flip, step))
            found.setdefault(variant, HashValue("pdq", bits_to_hex(bits), int(quality)))
    return found


def pdq_dihedral(image: Image.Image) -> dict[str, HashValue]:
    """PDQ of ``image`` undoing each of the eight turns and mirrors, by variant name (as
    `pdq_variants`), from one pdqhash pass: exact only for sizes along which PDQ mirrors exactly
    (`symmetric_size`), such as video frames' 64x64 (`crawler.hashing.video.FRAME_PDQ_SIZE`)."""
    if symmetric_size(*image.size) != image.size:
        raise ValueError(f"PDQ does not mirror exactly at {image.size}; use pdq_variants")
    vectors, quality = pdqhash.compute_dihedral(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return {
        inverse(step): HashValue("pdq", bits_to_hex(bits), int(quality))
        for step, bits in zip(_DIHEDRAL_SLOTS, vectors, strict=True)
    }


#: What pdqhash.compute_dihedral's eight hashes are of: the input after each of these transforms.
_DIHEDRAL_SLOTS = (
    "original", "rot90", "rot180", "rot270", "flipy", "flipx", "transpose", "transverse",
)  # fmt: skip


def symmetric_size(width: int, height: int) -> tuple[int, int]:
    """The size nearest below (width, height) along which PDQ mirrors exactly: a picture of this
    size gets all eight `pdq_variants` from one pass instead of up to four."""
    return _symmetric_length(width), _symmetric_length(height)


def _symmetric_length(length: int) -> int:
    if not _asymmetric(length) or length <= 128:
        return length
    window = (length + 127) // 128
    return 128 * (window - 1) - 1 if window % 2 == 0 else length - 1


def _asymmetric(length: int) -> bool:
    """Whether PDQ's downsampling of this many pixels differs from that of the mirror image: its
    box filter window is even (off centre by half a pixel) or its sample points fall on pixel
    edges."""
    window = (length + 127) // 128
    return window % 2 == 0 or length % 128 == 0


def _as_rgb(luma: np.ndarray) -> np.ndarray:
    """A read-only (rows, cols, 3) view repeating the luma, which pdqhash takes as RGB."""
    return np.lib.stride_tricks.as_strided(
        luma, shape=(*luma.shape, 3), strides=(*luma.strides, 0), writeable=False
    )


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex of a 256-long 0/1 vector, first element as the most significant bit."""
    vector = np.asarray(bits, dtype=np.uint8)
    if vector.shape != (PDQ.bits,):
        raise ValueError(f"a PDQ hash has {PDQ.bits} bits, got an array of shape {vector.shape}")
    return np.packbits(vector).tobytes().hex()
