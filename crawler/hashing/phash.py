"""pHash (DCT perceptual hash, 64 bits, as imagehash computes it) with its quality, and Hamming
distance of hex hashes."""

from __future__ import annotations

import numpy as np
import scipy.fftpack
from PIL import Image

from crawler.hashing.algorithms import PHASH
from crawler.hashing.dihedral import DIHEDRAL, inverse
from crawler.hashing.types import HashValue

#: Two pHashes at most this many bits apart (of 64) are treated as the same picture: the
#: threshold of the `PHASH` descriptor, under the name code outside matching reads.
PHASH_MATCH_THRESHOLD = PHASH.threshold
#: pHash sets the bits of the DCT coefficients above their median: 32 of 64 for any picture with
#: detail. A flat or nearly flat picture (black, one colour, a smooth gradient: an animation's
#: black first frame) has equal coefficients and gets 0 or 1 bit set, so every such picture
#: "matches" every other. pHashes with fewer bits set than this match nothing.
PHASH_MIN_BITS_SET = 16
#: A pHash's quality (0-100, stored with it as PDQ's is) is the share of its 32x32 reduction
#: that is neither near black (luma under the first) nor near white (over the second): a
#: subject laid on a black or white ground, a star field, a sprite or clip art leave 64 DCT bits
#: that say little more than where the subject sits, and such pictures come within 10 bits of
#: each other by the thousand (docs/benchmarks.md, false alarms). `Matcher` holds a reference
#: under `PHASH_MIN_QUALITY` to a stricter limit.
PHASH_PLAIN_LUMA = (20, 235)
#: References whose pHash quality is under this match only within `PHASH_STRICT_THRESHOLD`
#: bits: 30% or more of their reduction is plain black or white.
PHASH_MIN_QUALITY = 70


def phash(image: Image.Image) -> HashValue:
    """The 64-bit pHash of a decoded image, as imagehash writes it (16 hex digits), with its
    quality (`phash_quality`)."""
    return phash_variants(image)["original"]


def is_plain(value: HashValue) -> bool:
    """Whether a pHash or crhash (which keeps its picture's pHash quality) is of a subject on a
    plain black or white ground: its quality under `PHASH_MIN_QUALITY`. One hashed before it
    had a quality is not; other algorithms' qualities (PDQ's) mean something else."""
    return (
        value.algorithm in _PLAIN_ALGORITHMS
        and value.quality is not None
        and value.quality < PHASH_MIN_QUALITY
    )


#: The hashes whose quality is `phash_quality`.
_PLAIN_ALGORITHMS = frozenset({"phash", "crhash"})


def phash_quality(small: np.ndarray) -> int:
    """0-100: the share of pHash's 32x32 reduction (``small``, luma) not plain black or white
    (see `PHASH_PLAIN_LUMA`)."""
    low, high = PHASH_PLAIN_LUMA
    plain = np.count_nonzero((small < low) | (small > high))
    return round(100 * (1 - plain / small.size))


def phash_variants(luma: Image.Image) -> dict[str, HashValue]:
    """pHash of a picture undoing each of the eight turns and mirrors, by variant name (as
    `crawler.hashing.pdq.pdq_variants` names them): ``"original"`` equals `phash`, and
    ``result["rot90"]`` is the pHash of the picture turned back a quarter clockwise.

    All eight come from one 32x32 reduction and one DCT: turning or mirroring the 32x32 picture
    transposes its DCT coefficients or flips the sign of every odd one along the reversed axis,
    so each variant is the low-frequency block rearranged, then cut at its own median as
    imagehash does. A copy turned a quarter and resized drifts further in PDQ than in pHash
    (textures, scanned pages), and PDQ alone held such copies before pHash had turns.
    """
    small = luma.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small)
    coefficients = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = coefficients[:_PHASH_BITS_SIDE, :_PHASH_BITS_SIDE]
    quality = phash_quality(pixels)  # the same for every turn and mirror
    found = {}
    for variant in DIHEDRAL:
        swap, reverse_rows, reverse_cols = _ARRAY_STEPS[inverse(variant)]
        block = low.T if swap else low
        if reverse_rows:
            block = block * _ODD_NEGATIVE[:, None]
        if reverse_cols:
            block = block * _ODD_NEGATIVE[None, :]
        bits = np.packbits(block > np.median(block))  # row by row, as imagehash writes it
        found[variant] = HashValue("phash", bits.tobytes().hex(), quality)
    return found


#: imagehash's pHash: the DCT of the picture at 32x32, of which the 8x8 lowest frequencies.
_PHASH_SIDE = 32
_PHASH_BITS_SIDE = 8
#: Reversing an axis of the picture multiplies its DCT coefficient k along that axis by (-1)^k.
_ODD_NEGATIVE = np.array([(-1) ** k for k in range(_PHASH_BITS_SIDE)], dtype=np.float64)
#: Each transform as numpy steps on an array of rows: (transpose first, then reverse the rows,
#: reverse the columns); `dihedral.apply` of the same name gives the same array.
_ARRAY_STEPS: dict[str, tuple[bool, bool, bool]] = {
    "original": (False, False, False),
    "rot90": (True, True, False),
    "rot180": (False, True, True),
    "rot270": (True, False, True),
    "flipx": (False, False, True),
    "flipy": (False, True, False),
    "transpose": (True, False, False),
    "transverse": (True, True, True),
}


def phash_is_usable(value: HashValue) -> bool:
    """False for the pHash of a flat picture (see `PHASH_MIN_BITS_SET`)."""
    return int(value.hex, 16).bit_count() >= PHASH_MIN_BITS_SET


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a_hex) != len(b_hex):
        raise ValueError(
            f"cannot compare hashes of different lengths ({len(a_hex)} and {len(b_hex)} hex "
            "digits); compare only hashes of the same algorithm"
        )
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
