"""Hash media bytes: exact digests for all media; pHash, PDQ and crhash for images.

    >>> from crawler.hashing import hash_media
    >>> hashes = hash_media(open("photo.jpg", "rb").read())
    >>> hashes.get("pdq").hex, hashes.get("pdq").quality

This package only re-exports; each part lives in a module named by its role: `media`
(`hash_media`, variants), `algorithms` (one `Algorithm` descriptor per hash type), `types`
(`HashValue`, `MediaHashes`), `decode`, `sniff`, `digests`, `phash`, `pdq`, `crhash`, `video`.

Pure: standard library, numpy, Pillow, imagehash, pdqhash and OpenCV (crhash) only.
"""

from __future__ import annotations

from crawler.hashing.algorithms import (
    ALGORITHMS,
    Algorithm,
    HashFormatError,
    algorithm,
    names,
    ranked,
)
from crawler.hashing.crhash import CRHASH_MIN_INLIERS
from crawler.hashing.decode import DEFAULT_MAX_PIXELS, Decoded, open_image, open_luma
from crawler.hashing.dihedral import DIHEDRAL
from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.media import (
    CAPTION_BAND,
    CENTRE,
    TRIMMED,
    centre_box,
    hash_file,
    hash_media,
)
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, pdq
from crawler.hashing.phash import PHASH_MATCH_THRESHOLD, hamming, phash
from crawler.hashing.sniff import Sniffed, sniff
from crawler.hashing.types import HashValue, MediaHashes, VariantHash

__all__ = [
    "ALGORITHMS",
    "CAPTION_BAND",
    "CENTRE",
    "CRHASH_MIN_INLIERS",
    "DEFAULT_MAX_PIXELS",
    "DIHEDRAL",
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "PHASH_MATCH_THRESHOLD",
    "TRIMMED",
    "Algorithm",
    "Decoded",
    "HashFormatError",
    "HashValue",
    "MediaError",
    "MediaHashes",
    "MediaTooLarge",
    "Sniffed",
    "UndecodableMedia",
    "UnsupportedMedia",
    "VariantHash",
    "algorithm",
    "centre_box",
    "hamming",
    "hash_file",
    "hash_media",
    "names",
    "open_image",
    "open_luma",
    "pdq",
    "phash",
    "ranked",
    "sniff",
]
