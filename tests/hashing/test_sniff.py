"""Sniffing decides the media type from magic bytes only."""

from __future__ import annotations

import pytest

from crawler.demo.samples import PHOTOS, encode, load_photo, photo_path, resized
from crawler.hashing import MediaError, Sniffed, UnsupportedMedia
from crawler.hashing.sniff import sniff


@pytest.fixture(scope="module")
def small_photo():
    return resized(load_photo("astronaut"), 0.25)


@pytest.mark.parametrize(
    ("pillow_format", "expected"),
    [
        ("JPEG", "jpeg"),
        ("PNG", "png"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
        ("ICO", "ico"),
        ("AVIF", "avif"),
    ],
)
def test_each_image_format_is_recognised_from_encoded_bytes(small_photo, pillow_format, expected):
    assert sniff(encode(small_photo, pillow_format)) == Sniffed("image", expected)


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_bundled_photos_sniff_as_their_format(name):
    expected = "jpeg" if PHOTOS[name].endswith(".jpg") else "png"
    assert sniff(photo_path(name).read_bytes()) == Sniffed("image", expected)


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), Sniffed("video", "mp4")),
        (_ftyp(b"mp42", b"mp42", b"isom"), Sniffed("video", "mp4")),
        (_ftyp(b"qt  ", b"qt  "), Sniffed("video", "mov")),
        (_ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42"), Sniffed("video", "m4v")),
        (_ftyp(b"XAVC", b"XAVC", b"mp42", b"iso2"), Sniffed("video", "mp4")),
        (b"\x00\x00\x00\x08wide\x00\x10\x00\x00mdat", Sniffed("video", "mov")),
        (_ftyp(b"avif", b"avif", b"mif1", b"miaf"), Sniffed("image", "avif")),
        (_ftyp(b"mif1", b"mif1", b"heic"), Sniffed("image", "heic")),
        (_ftyp(b"heic", b"mif1", b"heic", b"iso8"), Sniffed("image", "heic")),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87",
            Sniffed("video", "webm"),
        ),
        (
            b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska",
            Sniffed("video", "matroska"),
        ),
        (b"RIFF\x24\x10\x00\x00AVI LIST\x00\x01\x00\x00hdrlavih", Sniffed("video", "avi")),
        (b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00", Sniffed("video", "flv")),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01\x01\x89\xc3\xf8", Sniffed("video", "mpeg")),
        ((b"\x47\x40\x00\x10" + b"\xff" * 184) * 3, Sniffed("video", "mpegts")),
    ],
)
def test_video_and_heif_headers_are_recognised(header, expected):
    assert sniff(header) == expected


def test_html_page_is_unsupported_and_the_message_shows_its_start():
    page = b"<!DOCTYPE html><html><head><title>Login</title></head></html>"
    with pytest.raises(UnsupportedMedia, match=r"starts with b'<!DOCTYPE") as raised:
        sniff(page)
    assert "web page" in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'{"error": "not found"}',
        b"BMW 3 series, low mileage, one owner",  # "BM" alone is not a bitmap
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF audio
        _ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"),  # AAC audio in an MP4 container
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        b"\x47" + b"\x00" * 100,  # one sync byte is not a transport stream
    ],
)
def test_other_bytes_are_unsupported(data):
    with pytest.raises(UnsupportedMedia, match="not an image or video"):
        sniff(data)


def test_unsupported_media_is_one_catchable_value_error():
    assert issubclass(UnsupportedMedia, MediaError)
    assert issubclass(MediaError, ValueError)


def test_sniffing_trusts_bytes_not_the_name_they_came_with(tmp_path):
    misnamed = tmp_path / "holiday.png"
    misnamed.write_bytes(encode(load_photo("coffee"), "JPEG"))
    assert sniff(misnamed.read_bytes()) == Sniffed("image", "jpeg")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n", Sniffed("stream", "hls")),
        (
            b"\xef\xbb\xbf#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n",
            Sniffed("stream", "hls"),
        ),
        (
            b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">',
            Sniffed("stream", "dash"),
        ),
        (
            b"<!-- made by a packager -->\n<dash:MPD xmlns:dash='x' type='static'>",
            Sniffed("stream", "dash"),
        ),
    ],
)
def test_playlists_and_manifests_are_streams_by_content_whatever_the_url(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize(
    "data",
    [b"<html><body>#EXTM3U</body></html>", b"<MPDX>", b"# EXTM3U\n", b"<svg><MPDlike/></svg>"],
)
def test_pages_that_mention_a_playlist_are_not_streams(data):
    with pytest.raises(UnsupportedMedia):
        sniff(data)


def test_hashing_a_playlist_as_one_file_says_its_segments_are_sampled():
    from crawler.hashing import hash_media

    with pytest.raises(UnsupportedMedia, match="HLS playlist, not one file"):
        hash_media(b"#EXTM3U\n#EXTINF:4,\na.ts\n")
