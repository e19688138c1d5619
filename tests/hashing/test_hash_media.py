"""hash_media / hash_file: the public entry point, as the pipeline calls it."""

from __future__ import annotations

import hashlib
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest
from PIL import Image

import crawler.hashing
from crawler.demo.samples import encode, load_photo, photo_path, reencoded_jpeg
from crawler.hashing import (
    MediaError,
    MediaHashes,
    MediaTooLarge,
    UndecodableMedia,
    UnsupportedMedia,
    hash_file,
    hash_media,
)

MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free"


def test_file_digests_equal_hashlib():
    path = photo_path("rocket")
    data = path.read_bytes()
    hashes = hash_file(path)
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert hashes.get("sha256").hex == hashlib.sha256(data).hexdigest()
    assert hashes.get("md5").hex == hashlib.md5(data).hexdigest()


def test_image_gets_exact_and_perceptual_hashes():
    data = photo_path("coffee").read_bytes()
    hashes = hash_media(data)
    assert (hashes.kind, hashes.format, hashes.size) == ("image", "png", len(data))
    assert (hashes.width, hashes.height) == (600, 400)
    assert [value.algorithm for value in hashes.hashes] == [
        "sha256",
        "md5",
        "phash",
        "pdq",
        "crhash",
        "crpdq",
    ]
    assert hashes.get("phash").hex == "bb8320376c0f3637"
    assert hashes.get("pdq").hex == (
        "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0"
    )
    assert hashes.get("pdq").quality == 100


def test_file_and_bytes_hash_the_same():
    path = photo_path("astronaut")
    assert hash_file(path) == hash_media(path.read_bytes())
    assert hash_file(str(path)) == hash_file(path)


def test_video_gets_exact_digests_only():
    hashes = hash_media(MP4_HEADER)
    assert isinstance(hashes, MediaHashes)
    assert (hashes.kind, hashes.format, hashes.size) == ("video", "mp4", len(MP4_HEADER))
    assert (hashes.width, hashes.height) == (None, None)
    assert [value.algorithm for value in hashes.hashes] == ["sha256", "md5"]
    assert hashes.sha256 == hashlib.sha256(MP4_HEADER).hexdigest()


def test_misleading_extension_is_ignored(tmp_path):
    misnamed = tmp_path / "coffee.png"
    misnamed.write_bytes(encode(load_photo("coffee"), "JPEG"))
    assert hash_file(misnamed).format == "jpeg"


def test_size_is_that_of_the_displayed_picture():
    exif = Image.Exif()
    exif[0x0112] = 8  # display rotated 90 degrees counter-clockwise
    data = encode(load_photo("coffee"), "JPEG", exif=exif.tobytes())
    hashes = hash_media(data)
    assert (hashes.width, hashes.height) == (400, 600)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"<!DOCTYPE html><html></html>", UnsupportedMedia),
        (reencoded_jpeg("rocket")[:5_000], UndecodableMedia),
    ],
)
def test_errors_are_media_errors(data, error):
    with pytest.raises(error):
        hash_media(data)
    with pytest.raises(MediaError):
        hash_media(data)


def test_max_pixels_is_passed_to_the_decoder():
    with pytest.raises(MediaTooLarge):
        hash_media(photo_path("astronaut").read_bytes(), max_pixels=1_000)


def test_runs_in_a_process_pool():
    data = photo_path("camera").read_bytes()
    assert pickle.loads(pickle.dumps(hash_media)) is hash_media
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(hash_media, data).result(timeout=60)
    assert remote == hash_media(data)


def test_public_api_is_exported():
    for name in crawler.hashing.__all__:
        assert hasattr(crawler.hashing, name), name
