"""Hash media bytes: exact digests for all media, pHash and PDQ for images.

    >>> from crawler.hashing import hash_media
    >>> hashes = hash_media(open("photo.jpg", "rb").read())
    >>> hashes.get("pdq").hex, hashes.get("pdq").quality

Pure: standard library, numpy, Pillow, imagehash and pdqhash only. `hash_media` is a plain
module-level function so a ProcessPoolExecutor can run it.
"""

from __future__ import annotations

import os
from pathlib import Path

from crawler.hashing.decode import DEFAULT_MAX_PIXELS, open_image
from crawler.hashing.digests import md5_hex, sha256_hex
from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, pdq
from crawler.hashing.phash import PHASH_MATCH_THRESHOLD, hamming, phash
from crawler.hashing.sniff import Sniffed, sniff
from crawler.hashing.types import ALGORITHM_BITS, HashFormatError, HashValue, MediaHashes

__all__ = [
    "ALGORITHM_BITS",
    "DEFAULT_MAX_PIXELS",
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "PHASH_MATCH_THRESHOLD",
    "HashFormatError",
    "HashValue",
    "MediaError",
    "MediaHashes",
    "MediaTooLarge",
    "Sniffed",
    "UndecodableMedia",
    "UnsupportedMedia",
    "hamming",
    "hash_file",
    "hash_media",
    "open_image",
    "sniff",
]


def hash_media(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """Hash one downloaded file. Images get sha256, md5, phash and pdq; videos sha256 and md5.

    Raises a `MediaError` subclass when the bytes are not media, will not decode or are too large.
    """
    sniffed = sniff(data)
    digests = (HashValue("sha256", sha256_hex(data)), HashValue("md5", md5_hex(data)))
    if sniffed.kind == "video":
        # Perceptual hashes of video frames are not computed yet: exact digests only.
        return MediaHashes("video", sniffed.format, len(data), None, None, digests)
    image = open_image(data, max_pixels=max_pixels)
    return MediaHashes(
        kind="image",
        format=sniffed.format,
        size=len(data),
        width=image.width,
        height=image.height,
        hashes=(*digests, phash(image), pdq(image)),
    )


def hash_file(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """`hash_media` of a file's bytes."""
    return hash_media(Path(path).read_bytes(), max_pixels=max_pixels)
