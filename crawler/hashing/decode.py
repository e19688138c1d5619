"""Decode untrusted image bytes safely into one RGB picture, as a viewer would show it."""

from __future__ import annotations

import io
import warnings

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
_WHITE = (255, 255, 255, 255)


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode ``data`` to an RGB image: first frame, EXIF orientation applied, alpha on white.

    Raises `UnsupportedMedia` for bytes that are not an image, `MediaTooLarge` for images over
    ``max_pixels`` (checked from the header, before decoding) and `UndecodableMedia` for
    truncated or corrupt data or a format this Pillow build cannot read.
    """
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
                image.load()
                return _to_rgb(ImageOps.exif_transpose(image))
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
