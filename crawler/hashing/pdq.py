"""PDQ (Meta's 256-bit perceptual hash) via pdqhash, with its match threshold and quality floor.

Hex follows python-threatexchange: the 256 bits in the order pdqhash returns them, most
significant first, so hashes exchanged with other PDQ users compare directly.
"""

from __future__ import annotations

import numpy as np
import pdqhash
from PIL import Image

from crawler.hashing.types import HashValue

#: Two PDQ hashes at most this many bits apart (of 256) are treated as the same picture
#: (ThreatExchange's recommended threshold).
PDQ_MATCH_THRESHOLD = 31
#: PDQ hashes of lower quality (flat or featureless images) are too unreliable to match on.
PDQ_MIN_QUALITY = 50


def pdq(image: Image.Image) -> HashValue:
    """The PDQ hash and quality (0-100) of a decoded image."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    bits, quality = pdqhash.compute(pixels)
    return HashValue("pdq", bits_to_hex(bits), int(quality))


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex of a 256-long 0/1 vector, first element as the most significant bit."""
    vector = np.asarray(bits, dtype=np.uint8)
    if vector.shape != (256,):
        raise ValueError(f"a PDQ hash has 256 bits, got an array of shape {vector.shape}")
    return np.packbits(vector).tobytes().hex()
