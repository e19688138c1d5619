"""The blurred rendition of found media, made on the server for every evidence view until the
reviewer deliberately unblurs the flag (a logged POST).

A CSS blur alone is not a blur: the full picture still reaches the browser, where a right-click
or the developer tools show it. So the evidence route sends this instead: the picture reduced to
at most ``BLOCKS`` pixels on its longer side (the average colour of each part survives; a face,
text or a tattoo does not), scaled back up to at most ``MAX_SIDE`` and smoothed with a strong
Gaussian blur so it reads as a blur rather than as blocks. The decrypted media is decoded in
memory only and nothing is written anywhere. Media that is not a decodable picture (a video,
corrupt bytes, an oversized image) gets a plain grey placeholder: nothing of it is sent.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps

#: Pixels on the longer side of the reduced picture: all the detail the blurred view keeps.
BLOCKS = 24
#: Pixels on the longer side of the rendition sent (never more than the original's).
MAX_SIDE = 160
#: Radius of the Gaussian blur applied at ``MAX_SIDE``, scaled down for smaller renditions.
BLUR_RADIUS = 6
#: Pictures declaring more pixels than this are not decoded (the placeholder is sent).
MAX_PIXELS = 50_000_000
#: The Pillow plugins allowed per content type (never let Pillow try every plugin it has).
_PLUGINS = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
    "image/bmp": ("BMP",),
    "image/tiff": ("TIFF",),
}
_GREY = (128, 128, 128)


def blurred_rendition(data: bytes, content_type: str) -> tuple[bytes, str]:
    """A strongly blurred, downscaled JPEG of the picture ``data`` (or a grey PNG placeholder
    for anything that is not a decodable picture of ``content_type``); (bytes, mimetype)."""
    image = _decoded(data, content_type)
    if image is None:
        return _placeholder(), "image/png"
    width, height = image.size
    scale = BLOCKS / max(width, height)
    small = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX
    )
    side = min(MAX_SIDE, max(width, height))
    scale = side / max(width, height)
    shown = small.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BICUBIC
    )
    radius = max(2, BLUR_RADIUS * side // MAX_SIDE)
    shown = shown.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    shown.save(out, format="JPEG", quality=80)
    return out.getvalue(), "image/jpeg"


def _decoded(data: bytes, content_type: str) -> Image.Image | None:
    plugins = _PLUGINS.get(content_type.split(";")[0].strip().lower())
    if plugins is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=plugins) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                # JPEG decodes straight to a smaller size: the detail is thrown away anyway.
                image.draft("RGB", (BLOCKS * 8, BLOCKS * 8))
                image = ImageOps.exif_transpose(image)
                rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _GREY)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    except Exception:  # Pillow raises many types on hostile bytes; all mean "not shown".
        return None


def _placeholder() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (MAX_SIDE, MAX_SIDE * 9 // 16), _GREY).save(out, format="PNG")
    return out.getvalue()
