"""Decode untrusted image bytes safely into one RGB picture, as a viewer would show it."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from PIL import Image, ImageOps

from crawler.hashing.errors import MediaError, MediaTooLarge, UndecodableMedia, UnsupportedMedia
from crawler.hashing.sniff import sniff

#: Images larger than this are refused before their pixels are decoded. Pillow's own
#: decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`, ~89 megapixels) applies on top.
DEFAULT_MAX_PIXELS = 50_000_000

#: The Pillow plugins allowed for each sniffed format. Naming them keeps Pillow from trying every
#: plugin it has (EPS, for one, would run Ghostscript) on bytes from the internet.
_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "gif": ("GIF",),
    "webp": ("WEBP",),
    "bmp": ("BMP",),
    "tiff": ("TIFF",),
    "ico": ("ICO",),
    "avif": ("AVIF",),
    "heic": ("HEIF",),
}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
#: Modes whose pixels `open_luma` may shrink with Image.reduce (a box filter). Pillow refuses
#: palette ("P", GIFs and palette PNGs), bi-level ("1") and 16-bit ("I;16") images, and would
#: average the palette indices of "PA": those are converted to luma first.
_REDUCIBLE = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"})
_WHITE = (255, 255, 255, 255)
#: `open_luma` keeps both sides at least this long: PDQ and pHash (which work on 64x64 and 32x32)
#: change by a few bits at most above it.
HASHING_MIN_SIDE = 400
#: The largest shrink factor `open_luma` uses (JPEG's DCT scaling goes down to 1/8).
_MAX_SHRINK = 8
#: EXIF orientations that swap width and height.
_SIDEWAYS = frozenset({5, 6, 7, 8})


class Decoded(NamedTuple):
    """An image decoded for hashing: its luma at a reduced size, and the size a viewer shows."""

    luma: Image.Image  # mode "L", EXIF orientation applied, alpha flattened on white
    width: int  # of the displayed picture at full size, not of ``luma``
    height: int
    shrink: int = 1  # how many times smaller ``luma`` is than the picture (1, 2, 4 or 8)


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode ``data`` to an RGB image: first frame, EXIF orientation applied, alpha on white.

    Raises `UnsupportedMedia` for bytes that are not an image, `MediaTooLarge` for images over
    ``max_pixels`` (checked from the header, before decoding) and `UndecodableMedia` for
    truncated or corrupt data or a format this Pillow build cannot read.
    """
    with _opened(data, max_pixels) as image:
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image))


def open_luma(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = HASHING_MIN_SIDE
) -> Decoded:
    """Decode ``data`` for hashing: only the luma, shrunk while both sides stay >= ``min_side``.

    A JPEG is decoded at 1/2, 1/4 or 1/8 scale straight from its DCT coefficients (Pillow's
    draft mode) and without its colour channels; other formats are decoded in full, then shrunk
    by the same power of two with a box filter (palette, bi-level and 16-bit images after they
    are converted to luma), so a PNG and its JPEG copy are hashed alike. An image that is already
    small is not resized at all. Errors are those of `open_image`.
    """
    with _opened(data, max_pixels) as image:
        full_width, full_height = image.size
        shrink = _shrink_factor(image.size, min_side)
        if image.format in ("JPEG", "MPO"):
            image.draft("L", (full_width // shrink, full_height // shrink))
        image.load()
        orientation = image.getexif().get(0x0112)
        if image.size == (full_width, full_height) and shrink > 1:
            if image.mode not in _REDUCIBLE:  # turned as shown, then luma (no EXIF left to apply)
                image = _to_luma(ImageOps.exif_transpose(image))
            image = image.reduce(shrink)
        if orientation in _SIDEWAYS:
            full_width, full_height = full_height, full_width
        luma = _to_luma(ImageOps.exif_transpose(image))
        return Decoded(
            luma, full_width, full_height, round(max(full_width, full_height) / max(luma.size))
        )


def _shrink_factor(size: tuple[int, int], min_side: int) -> int:
    """The largest power of two up to 8 that keeps both sides >= ``min_side`` (as JPEG drafts)."""
    fits = min(size[0] // min_side, size[1] // min_side)
    return next(factor for factor in (_MAX_SHRINK, 4, 2, 1) if fits >= factor or factor == 1)


@contextmanager
def _opened(data: bytes, max_pixels: int) -> Iterator[Image.Image]:
    """The image, opened with only its sniffed format's plugin and size-checked; every failure
    inside the block becomes a `MediaError`."""
    sniffed = sniff(data)
    if sniffed.kind != "image":
        raise UnsupportedMedia(f"{sniffed.format} is a video, not an image; hash it as a video")
    formats = _PILLOW_FORMATS[sniffed.format]
    Image.init()
    if not any(name in Image.OPEN for name in formats):
        raise UndecodableMedia(
            f"this Pillow build has no {sniffed.format} decoder; install a plugin for it "
            f"(e.g. pillow-heif for HEIC) or skip such media"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as image:
                _check_size(image, max_pixels)
                yield image
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise MediaTooLarge(
            f"{sniffed.format} image refused as a decompression bomb: {error}"
        ) from None
    except Exception as error:  # Pillow raises many types on hostile bytes; all mean "undecodable".
        raise UndecodableMedia(
            f"cannot decode this {sniffed.format} image ({type(error).__name__}: {error}); "
            f"the file is probably truncated or corrupt, so fetch it again"
        ) from None


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise MediaTooLarge(
            f"image declares {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}; pass a larger max_pixels if such images are expected"
        )


def _to_luma(image: Image.Image) -> Image.Image:
    if image.mode == "L" and "transparency" not in image.info:
        return image
    return _to_rgb(image).convert("L")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16") or (image.mode == "I" and image.getextrema()[1] > 255):
        # 16-bit greyscale: keep the top 8 bits instead of letting convert() clip at 255.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, _WHITE)
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image.convert("RGB")
