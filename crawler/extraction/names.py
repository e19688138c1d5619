"""What the name of a property or attribute says about the media URL it holds.

Galleries name their copies of one picture: Galleria's ``thumb``/``image``/``big``, PhotoSwipe's
``msrc``/``src``, Jetpack's ``data-medium-file``/``data-large-file``/``data-orig-file``, JSON-LD's
``thumbnailUrl``/``contentUrl``, a zoomer's ``data-zoom-image``. :func:`tier` ranks them: of the
copies one record or element names, only those of the highest rank are hashed (the full size),
the others are its thumbnails (:mod:`crawler.extraction.page`). A name that says nothing
(``url``, ``src``, ``layer``, ``cover``) ranks as the picture itself, ``SHOWN``.
"""

from __future__ import annotations

import re
from functools import lru_cache

THUMBNAIL, SHOWN, LARGE, FULL = 0, 1, 2, 3
#: Longer names say nothing (no gallery names a copy with more).
MAX_NAME_CHARS = 64

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: Words of a name that mark a smaller copy; checked before the larger ones
#: (``thumbnail_large`` is still a thumbnail).
_THUMBNAIL_WORDS = frozenset(
    ("thumb", "thumbs", "thumbnail", "thumbnails", "tn", "small", "sm", "xs", "medium", "mini",
     "tiny", "preview", "msrc", "lowres", "lqip", "placeholder", "blur")
)  # fmt: skip
_LARGE_WORDS = frozenset(("large", "lg", "xl", "enlarge", "enlarged", "popup"))
_FULL_WORDS = frozenset(
    ("full", "fullsize", "fullscreen", "big", "bigger", "orig", "original", "hires", "hd",
     "highres", "zoom", "max", "xxl", "pswp", "lightbox", "fancybox")
)  # fmt: skip
#: Word pairs that are one word: ``highRes``, ``hi-res``, ``full_size``.
_JOINED = {("high", "res"): "highres", ("hi", "res"): "hires", ("full", "size"): "fullsize"}
#: Names that say where a URL is, not which copy: a record holding only such a name is named
#: by the property holding the record (``{thumbnail: {url: "t.jpg"}}`` is a thumbnail).
GENERIC = frozenset(
    ("url", "src", "href", "uri", "link", "path", "file", "source", "value", "content",
     "contenturl", "default", "location")
)  # fmt: skip
#: Words of a name that say its value is a picture or a video, for URLs without an extension.
_MEDIA_WORDS = frozenset(
    ("image", "images", "img", "photo", "photos", "picture", "pic", "poster", "video", "src",
     "contenturl", "media")
)  # fmt: skip


@lru_cache(maxsize=4096)
def words(name: str) -> tuple[str, ...]:
    """``data-zoom-image`` → ``("zoom", "image")``; ``thumbnailUrl`` → ``("thumbnail", "url")``;
    ``highRes`` → ``("highres",)`` (a leading ``data`` is dropped; a name longer than
    `MAX_NAME_CHARS` has no words)."""
    if len(name) > MAX_NAME_CHARS:
        return ()
    found = [word.lower() for word in _WORD.findall(name)]
    if found[:1] == ["data"]:
        found = found[1:]
    joined: list[str] = []
    for word in found:
        if joined and (joined[-1], word) in _JOINED:
            joined[-1] = _JOINED[joined[-1], word]
        else:
            joined.append(word)
    return tuple(joined)


@lru_cache(maxsize=4096)
def tier(name: str | None) -> int:
    """How large a copy a property or attribute named ``name`` holds: `THUMBNAIL`, `SHOWN`,
    `LARGE` or `FULL`."""
    if not name:
        return SHOWN
    found = words(name)
    if any(word in _THUMBNAIL_WORDS for word in found):
        return THUMBNAIL
    if any(word in _FULL_WORDS for word in found):
        return FULL
    if any(word in _LARGE_WORDS for word in found):
        return LARGE
    return SHOWN


@lru_cache(maxsize=4096)
def is_generic(name: str | None) -> bool:
    return bool(name) and "".join(words(name)) in GENERIC


@lru_cache(maxsize=4096)
def is_srcset(name: str | None) -> bool:
    return bool(name) and "srcset" in "".join(words(name))


@lru_cache(maxsize=4096)
def names_media(name: str | None) -> bool:
    """Whether a property named ``name`` holds a picture or video by its name alone."""
    if not name:
        return False
    found = words(name)
    return (
        tier(name) != SHOWN or "".join(found) in _MEDIA_WORDS or not _MEDIA_WORDS.isdisjoint(found)
    )
