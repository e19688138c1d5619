"""Hash media bytes: exact digests for all media; pHash, PDQ and crhash for images.

    >>> from crawler.hashing import hash_media
    >>> hashes = hash_media(open("photo.jpg", "rb").read())
    >>> hashes.get("pdq").hex, hashes.get("pdq").quality

This package only re-exports; each part lives in a module named by its role: `media`
(`hash_media`, variants), `algorithms` (one `Algorithm` descriptor per hash type), `types`
(`HashValue`, `MediaHashes`), `decode`, `sniff`, `digests`, `phash`, `pdq`, `crhash`, `video`.

Pure: standard library, numpy, Pillow, imagehash, pdqhash and OpenCV (crhash) only.

The names below are imported from their module at first use (PEP 562): a caller of
``crawler.hashing.algorithms`` or ``types`` alone (hash lists, the scheduler) does not load
NumPy, OpenCV and the image libraries, a fifth of a second of every command that imports it.
A function named like its module (``pdq.pdq``, ``phash.phash``, ``sniff.sniff``) is imported
from that module: once the module is loaded, its name here is the module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        REGION,
        STRAIGHTENED,
        TRIMMED,
        centre_box,
        hash_file,
        hash_media,
    )
    from crawler.hashing.pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
    from crawler.hashing.phash import PHASH_MATCH_THRESHOLD, hamming
    from crawler.hashing.sniff import Sniffed
    from crawler.hashing.types import HashValue, MediaHashes, VariantHash

#: Each name this package offers, and the module it lives in.
_MODULES: dict[str, str] = {
    "ALGORITHMS": "algorithms",
    "CAPTION_BAND": "media",
    "CENTRE": "media",
    "CRHASH_MIN_INLIERS": "crhash",
    "DEFAULT_MAX_PIXELS": "decode",
    "DIHEDRAL": "dihedral",
    "PDQ_MATCH_THRESHOLD": "pdq",
    "PDQ_MIN_QUALITY": "pdq",
    "PHASH_MATCH_THRESHOLD": "phash",
    "REGION": "media",
    "STRAIGHTENED": "media",
    "TRIMMED": "media",
    "Algorithm": "algorithms",
    "Decoded": "decode",
    "HashFormatError": "algorithms",
    "HashValue": "types",
    "MediaError": "errors",
    "MediaHashes": "types",
    "MediaTooLarge": "errors",
    "Sniffed": "sniff",
    "UndecodableMedia": "errors",
    "UnsupportedMedia": "errors",
    "VariantHash": "types",
    "algorithm": "algorithms",
    "centre_box": "media",
    "hamming": "phash",
    "hash_file": "media",
    "hash_media": "media",
    "names": "algorithms",
    "open_image": "decode",
    "open_luma": "decode",
    "ranked": "algorithms",
}

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
    "REGION",
    "STRAIGHTENED",
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
    "ranked",
]


def __getattr__(name: str) -> Any:
    try:
        module = _MODULES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next use finds it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
