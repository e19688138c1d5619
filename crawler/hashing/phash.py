"""pHash (DCT perceptual hash, 64 bits) via imagehash, and Hamming distance of hex hashes."""

from __future__ import annotations

import imagehash
from PIL import Image

from crawler.hashing.algorithms import PHASH
from crawler.hashing.types import HashValue

#: Two pHashes at most this many bits apart (of 64) are treated as the same picture: the
#: threshold of the `PHASH` descriptor, under the name code outside matching reads.
PHASH_MATCH_THRESHOLD = PHASH.threshold
#: pHash sets the bits of the DCT coefficients above their median: 32 of 64 for any picture with
#: detail. A flat or nearly flat picture (black, one colour, a smooth gradient: an animation's
#: black first frame) has equal coefficients and gets 0 or 1 bit set, so every such picture
#: "matches" every other. pHashes with fewer bits set than this match nothing.
PHASH_MIN_BITS_SET = 16


def phash(image: Image.Image) -> HashValue:
    """The 64-bit pHash of a decoded image, as imagehash writes it (16 hex digits)."""
    return HashValue("phash", str(imagehash.phash(image)))


def phash_variants(luma: Image.Image) -> dict[str, HashValue]:
    """pHash of a picture (``"original"``, equal to `phash`) and of it mirrored (``"flipx"``).

    Both come from one 32x32 reduction, which mirrors exactly; a mirrored copy of the original
    gives the original's pHash as its ``"flipx"`` hash.
    """
    small = luma.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    mirrored = small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return {
        "original": HashValue("phash", str(imagehash.phash(small))),
        "flipx": HashValue("phash", str(imagehash.phash(mirrored))),
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
