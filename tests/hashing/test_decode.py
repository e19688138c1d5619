"""open_image decodes untrusted bytes safely into the RGB picture a viewer would show."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from crawler.demo.samples import encode, load_photo, photo_path, reencoded_jpeg, resized
from crawler.hashing import (
    MediaTooLarge,
    UndecodableMedia,
    UnsupportedMedia,
    hamming,
    hash_media,
    open_image,
    open_luma,
)
from crawler.hashing.decode import DEFAULT_MAX_PIXELS
from crawler.hashing.pdq import pdq
from crawler.hashing.phash import phash

Image.init()  # register every plugin so the HEIF check below sees what this build has


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` greyscale pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_png_decodes_to_the_same_rgb_pixels():
    image = open_image(photo_path("astronaut").read_bytes())
    assert image.mode == "RGB"
    assert image.size == (512, 512)
    assert np.array_equal(_pixels(image), _pixels(load_photo("astronaut")))


def test_greyscale_photo_becomes_rgb():
    image = open_image(photo_path("camera").read_bytes())
    assert image.mode == "RGB"
    red, green, blue = image.split()
    assert red.tobytes() == green.tobytes() == blue.tobytes()


def test_default_limit_is_about_fifty_megapixels():
    assert 40_000_000 <= DEFAULT_MAX_PIXELS <= 60_000_000


def test_exif_orientation_is_applied():
    photo = load_photo("coffee")  # 600 x 400, landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    image = open_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert image.size == (600, 400)
    assert np.abs(_pixels(image) - _pixels(photo)).mean() < 3


@pytest.mark.parametrize("pillow_format", ["GIF", "WEBP"])
def test_animation_uses_its_first_frame(pillow_format):
    first = load_photo("astronaut").resize((128, 128))
    second = load_photo("coffee").resize((128, 128))
    data = encode(first, pillow_format, save_all=True, append_images=[second], duration=100)
    with Image.open(io.BytesIO(data)) as animation:
        assert animation.n_frames == 2
    image = open_image(data)
    assert (
        np.abs(_pixels(image) - _pixels(first)).mean()
        < np.abs(_pixels(image) - _pixels(second)).mean()
    )
    assert np.abs(_pixels(image) - _pixels(first)).mean() < 12


def test_transparent_pixels_are_flattened_onto_white():
    photo = load_photo("chelsea").convert("RGBA")
    alpha = Image.new("L", photo.size, 255)
    alpha.paste(0, (0, 0, photo.width // 2, photo.height))  # left half fully transparent
    photo.putalpha(alpha)
    image = open_image(encode(photo, "PNG"))
    left = _pixels(image)[:, : photo.width // 2]
    right = _pixels(image)[:, photo.width // 2 :]
    assert (left == 255).all()
    assert np.array_equal(right, _pixels(load_photo("chelsea"))[:, photo.width // 2 :])


def test_palette_transparency_is_flattened_onto_white():
    photo = load_photo("coffee").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    transparent = photo.getpixel((0, 0))
    image = open_image(encode(photo, "PNG", transparency=transparent))
    assert image.getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_greyscale_keeps_its_tones():
    camera = np.asarray(load_photo("camera").convert("L"), dtype=np.uint16)
    deep = Image.fromarray(camera * 257)  # same picture, 16 bits per pixel
    assert deep.mode == "I;16"
    image = open_image(encode(deep, "PNG"))
    assert np.array_equal(_pixels(image), _pixels(load_photo("camera")))


def test_image_over_max_pixels_is_refused_before_decoding():
    data = photo_path("astronaut").read_bytes()  # 512 x 512
    with pytest.raises(MediaTooLarge, match=r"512x512 = 262,144 pixels, over the limit of 262,143"):
        open_image(data, max_pixels=512 * 512 - 1)
    assert open_image(data, max_pixels=512 * 512).size == (512, 512)


def test_tiny_png_declaring_a_huge_image_is_refused():
    bomb = _png_declaring(100_000, 100_000)  # 10 gigapixels in a few hundred bytes
    assert len(bomb) < 200
    with pytest.raises(MediaTooLarge):
        open_image(bomb)


def test_pillow_bomb_warning_is_an_error_even_with_a_raised_limit():
    bomb = _png_declaring(10_000, 10_000)  # over Pillow's ~89 megapixel warning level
    with pytest.raises(MediaTooLarge, match="decompression bomb"):
        open_image(bomb, max_pixels=10**12)


def test_declared_size_within_limit_but_missing_pixels_is_undecodable():
    with pytest.raises(UndecodableMedia, match="cannot decode this png image"):
        open_image(_png_declaring(2_000, 2_000))


def test_truncated_jpeg_is_undecodable():
    data = reencoded_jpeg("rocket", quality=80)
    with pytest.raises(UndecodableMedia, match="truncated or corrupt"):
        open_image(data[: len(data) // 2])


def test_png_with_a_corrupt_chunk_is_undecodable():
    data = bytearray(encode(resized(load_photo("coins"), 0.5), "PNG"))
    data[40:80] = b"\x00" * 40
    with pytest.raises(UndecodableMedia):
        open_image(bytes(data))


def test_video_bytes_are_not_decoded_as_an_image():
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    with pytest.raises(UnsupportedMedia, match="hash it as a video"):
        open_image(mp4)


@pytest.mark.skipif("HEIF" in Image.OPEN, reason="this Pillow build can decode HEIC")
def test_heic_without_a_decoder_says_what_is_missing():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(UndecodableMedia, match="no heic decoder"):
        open_image(heic)


def _large_jpeg(name: str, megapixels: float = 2.0) -> bytes:
    photo = load_photo(name)
    scale = (megapixels * 1e6 / (photo.width * photo.height)) ** 0.5
    return encode(resized(photo, scale), "JPEG", quality=90)


def test_large_jpeg_is_decoded_at_a_reduced_scale_keeping_its_full_size():
    data = _large_jpeg("coffee")  # 1732 x 1155
    decoded = open_luma(data)
    assert (decoded.width, decoded.height) == (1732, 1155)
    assert decoded.luma.mode == "L"
    assert decoded.luma.size == (866, 578)  # 1/2: the largest DCT scale keeping 512 px a side


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "motorcycle", "camera"])
def test_reduced_decode_hashes_stay_near_the_full_decode(name):
    data = _large_jpeg(name)
    full = open_image(data)
    reduced = open_luma(data).luma
    assert hamming(phash(full).hex, phash(reduced).hex) <= 2
    assert hamming(pdq(full).hex, pdq(reduced).hex) <= 10  # measured 2-10 (see benchmarks)


def test_png_is_reduced_like_a_jpeg():
    photo = resized(load_photo("coffee"), 3)  # 1800 x 1200
    assert open_luma(encode(photo, "PNG")).luma.size == open_luma(encode(photo, "JPEG")).luma.size


@pytest.mark.parametrize("name", ["astronaut", "coffee", "motorcycle"])  # up to 741 px
def test_small_images_are_not_resized(name):
    decoded = open_luma(photo_path(name).read_bytes())
    assert decoded.luma.size == load_photo(name).size


def test_luma_decode_applies_exif_orientation_and_flattens_alpha():
    exif = Image.Exif()
    exif[0x0112] = 6
    big = resized(load_photo("coffee"), 3).transpose(Image.Transpose.ROTATE_90)
    decoded = open_luma(encode(big, "JPEG", exif=exif.tobytes()))
    assert (decoded.width, decoded.height) == (1800, 1200)
    assert decoded.luma.size == (900, 600)
    rgba = load_photo("chelsea").convert("RGBA")
    rgba.putalpha(0)
    assert np.asarray(open_luma(encode(rgba, "PNG")).luma).min() == 255


def _large(mode: str) -> bytes:
    """The coffee photo at 1200 x 800 (reduced by 2 for hashing) in a mode Pillow cannot
    reduce: a palette GIF, a palette PNG with a transparent colour, bi-level and 16-bit PNGs."""
    photo = resized(load_photo("coffee"), 2)
    if mode == "P":
        return encode(photo.quantize(256), "GIF")
    if mode == "P+transparency":
        return encode(photo.quantize(255), "PNG", transparency=254)
    if mode == "1":
        return encode(photo.convert("1"), "PNG")
    return encode(Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257), "PNG")


@pytest.mark.parametrize("mode", ["P", "P+transparency", "1", "I;16"])
def test_large_palette_bilevel_and_16_bit_images_are_reduced_like_others(mode):
    data = _large(mode)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.mode, image.size) == (mode.split("+")[0], (1200, 800))
    decoded = open_luma(data)
    assert (decoded.luma.mode, decoded.luma.size, decoded.shrink) == ("L", (600, 400), 2)
    assert (decoded.width, decoded.height) == (1200, 800)
    # Hashed as the same picture (as shown: transparency on white) saved as an RGB PNG is.
    as_rgb = open_luma(encode(open_image(data), "PNG")).luma
    assert hamming(pdq(as_rgb).hex, pdq(decoded.luma).hex) <= 2  # measured 0
    if mode == "P":  # and a crawled GIF is hashed (a second each: once is enough)
        assert hash_media(data).get("pdq") is not None


def test_luma_decode_refuses_what_open_image_refuses():
    with pytest.raises(MediaTooLarge):
        open_luma(photo_path("astronaut").read_bytes(), max_pixels=1000)
    with pytest.raises(UndecodableMedia):
        open_luma(_png_declaring(2_000, 2_000))
