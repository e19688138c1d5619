"""Stream segments made by ffmpeg, decoded from bytes and hashed at their stream time."""

from __future__ import annotations

import pytest

from crawler.delivery import dash, hls
from crawler.delivery.segment import decrypt, hash_segment
from crawler.delivery.stream import Resource
from crawler.hashing import UndecodableMedia, UnsupportedMedia
from crawler.hashing.video import hash_video
from tests.support.segments import IV, KEY, source, stream_files

BASE = "http://streams.test/"
#: PDQ bits two encodings of one frame may differ by (the matcher's threshold is 31).
NEAR = 31


@pytest.fixture(scope="module")
def root():
    return stream_files()


@pytest.fixture(scope="module")
def reference():
    """The source's frames, four a second: time -> PDQ bits."""
    return hash_video(source(), seconds_per_sample=0.25, max_frames=100).frames


def _read(root, resource: Resource) -> bytes:
    data = (root / resource.url.removeprefix(BASE)).read_bytes()
    if resource.byterange is not None:
        data = data[resource.byterange.start : resource.byterange.end + 1]
    return data


def _timeline(root, name: str):
    if name.startswith("hls"):
        url = f"{BASE}{name}/index.m3u8"
        return hls.parse(_read(root, Resource(url)), url)
    url = f"{BASE}{name}/manifest.mpd"
    parsed = dash.parse(_read(root, Resource(url)), url, min_lines=360)
    if isinstance(parsed, dash.Indexed):
        return dash.timeline_from_sidx(parsed, _read(root, Resource(parsed.media, parsed.index)))
    return parsed


def _distance(frame, reference) -> int:
    """PDQ bits between ``frame`` and the reference frame nearest its time."""
    nearest = min(reference, key=lambda r: abs(r.seconds - frame.seconds))
    return (int(frame.value.hex, 16) ^ int(nearest.value.hex, 16)).bit_count()


@pytest.mark.parametrize(
    "name",
    [
        "hls-ts",
        "hls-fmp4",
        "hls-range",
        "hls-aes",
        "dash-number",
        "dash-time",
        "dash-list",
        "dash-base",
    ],
)
def test_a_segment_hashes_like_the_source_frame_at_its_stream_time(root, reference, name):
    timeline = _timeline(root, name)
    segment = next(s for s in timeline.segments if s.start >= 6.0)
    key = _read(root, Resource(segment.key.url)) if segment.key else None
    found = hash_segment(
        _read(root, segment.media),
        start=segment.start,
        init=_read(root, segment.init) if segment.init else b"",
        key=key,
        iv=segment.key.iv if segment.key else None,
    )
    assert [frame.seconds for frame in found.frames] == [segment.start]
    assert _distance(found.frames[0], reference) <= NEAR
    assert (found.width, found.height, found.codec) == (480, 360, "h264")


def test_dense_sampling_hashes_a_frame_every_interval_of_the_segment(root, reference):
    segment = _timeline(root, "dash-time").segments[3]  # 6-8 s
    init = _read(root, segment.init)
    found = hash_segment(_read(root, segment.media), start=segment.start, init=init, every=0.5)
    assert [round(frame.seconds, 2) for frame in found.frames] == [6.0, 6.53, 7.0, 7.53]
    assert all(_distance(frame, reference) <= NEAR for frame in found.frames)


def test_an_encrypted_segment_without_its_key_is_not_video(root):
    segment = _timeline(root, "hls-aes").segments[2]
    with pytest.raises(UnsupportedMedia, match="not an MPEG-TS or fMP4"):
        hash_segment(_read(root, segment.media), start=segment.start)


def test_a_wrong_key_says_so(root):
    segment = _timeline(root, "hls-aes").segments[2]
    assert segment.key.iv == IV
    with pytest.raises(UndecodableMedia, match="wrong AES-128 key"):
        hash_segment(_read(root, segment.media), start=0.0, key=bytes(16), iv=IV)


def test_decrypt_round_trips_a_padded_block():
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    clear = b"segment bytes" * 5
    padded = padder.update(clear) + padder.finalize()
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(IV)).encryptor()
    assert decrypt(encryptor.update(padded) + encryptor.finalize(), KEY, IV) == clear


def test_an_fmp4_segment_without_its_initialization_section_does_not_decode(root):
    segment = _timeline(root, "hls-fmp4").segments[2]
    with pytest.raises((UndecodableMedia, UnsupportedMedia)):
        hash_segment(_read(root, segment.media), start=segment.start)


def test_bytes_that_are_no_segment_are_refused():
    with pytest.raises(UnsupportedMedia, match="not an MPEG-TS or fMP4"):
        hash_segment(b"<html>" * 100, start=0.0)


@pytest.mark.parametrize("name", ["hls-ts", "hls-fmp4", "hls-aes", "dash-base"])
def test_a_segments_first_bytes_give_its_first_keyframe(root, name):
    segment = _timeline(root, name).segments[5]
    data = _read(root, segment.media)
    init = _read(root, segment.init) if segment.init else b""
    key = _read(root, Resource(segment.key.url)) if segment.key else None
    iv = segment.key.iv if segment.key else None
    whole = hash_segment(data, start=segment.start, init=init, key=key, iv=iv)
    cut = len(data) * 9 // 10 + 5  # past the keyframe (most of a segment), anywhere
    first = hash_segment(data[:cut], start=segment.start, init=init, key=key, iv=iv, whole=False)
    assert first.frames == whole.frames
    with pytest.raises(UndecodableMedia):  # a few bytes hold no whole frame
        hash_segment(data[:2000], start=segment.start, init=init, key=key, iv=iv, whole=False)
