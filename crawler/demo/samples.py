"""Ordinary sample photos for the demo and the tests.

Every photo here ships inside scikit-image (`skimage/data`); nothing is downloaded. The helpers
re-encode and transform them the way repost sites do, entirely in memory.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

#: Colour photos of real scenes bundled with scikit-image, by short name.
PHOTOS: dict[str, str] = {
    "astronaut": "astronaut.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "hubble": "hubble_deep_field.jpg",
    "ihc": "ihc.png",
    "moon": "moon.png",
    "motorcycle": "motorcycle_left.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
    "brick": "brick.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "page": "page.png",
    "text": "text.png",
}


def data_dir() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def photo_path(name: str) -> Path:
    """Path of a bundled photo, e.g. ``photo_path("astronaut")``."""
    try:
        filename = PHOTOS[name]
    except KeyError:
        raise KeyError(f"no sample photo {name!r}; choose from {', '.join(PHOTOS)}") from None
    return data_dir() / filename


def load_photo(name: str) -> Image.Image:
    """The photo decoded as RGB."""
    with Image.open(photo_path(name)) as image:
        return image.convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    """Encode an image to bytes in memory (``fmt`` is a Pillow format name)."""
    buffer = io.BytesIO()
    if fmt.upper() == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def resized(image: Image.Image, scale: float) -> Image.Image:
    width, height = image.size
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def reencoded_jpeg(name: str, quality: int = 60, scale: float = 1.0) -> bytes:
    """A repost-style copy: optionally resized, then saved as JPEG at ``quality``."""
    image = load_photo(name)
    if scale != 1.0:
        image = resized(image, scale)
    return encode(image, "JPEG", quality=quality)
