"""Why a piece of media could not be hashed. Catch `MediaError` to handle them all."""

from __future__ import annotations


class MediaError(ValueError):
    """Base class: these bytes cannot be hashed as media."""


class UnsupportedMedia(MediaError):
    """The bytes are not an image or video format RepostWatch knows (decided by magic bytes)."""


class UndecodableMedia(MediaError):
    """The format is known but the bytes do not decode: truncated, corrupt or no decoder here."""


class MediaTooLarge(MediaError):
    """The image declares more pixels than allowed (a decompression bomb or an oversized image)."""
