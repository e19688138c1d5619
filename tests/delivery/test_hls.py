"""HLS playlists as text: master playlists, media playlists, byte ranges, keys, live windows."""

from __future__ import annotations

import pytest

from crawler.delivery.hls import MasterPlaylist, parse
from crawler.delivery.stream import ByteRange, Rendition, StreamError, choose_rendition

URL = "https://cdn.example/videos/42/index.m3u8"

MASTER = b"""#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"
audio.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
360/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240
https://other.example/240.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI="iframes.m3u8"
"""


def _media(*lines: str, end: bool = True) -> bytes:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n" + "\n".join(lines) + "\n"
    return (text + ("#EXT-X-ENDLIST\n" if end else "")).encode()


def test_master_playlist_lists_video_variants_resolved_against_its_url():
    master = parse(MASTER, URL)
    assert isinstance(master, MasterPlaylist)
    assert [(v.url, v.width, v.height, v.bandwidth) for v in master.variants] == [
        ("https://cdn.example/videos/42/720/index.m3u8", 1280, 720, 2500000),
        ("https://cdn.example/videos/42/360/index.m3u8", 640, 360, 800000),
        ("https://other.example/240.m3u8", 426, 240, 400000),
    ]  # the audio-only variant is left out


def test_the_smallest_variant_of_at_least_360_lines_is_chosen():
    master = parse(MASTER, URL)
    chosen = choose_rendition(list(master.variants), 360)
    assert (chosen.width, chosen.height) == (640, 360)
    assert chosen.describe() == "640x360 800 kbit/s"


def test_without_360_lines_the_largest_variant_below_is_chosen():
    small = [Rendition("a", 256, 144, 100_000), Rendition("b", 426, 240, 300_000)]
    assert choose_rendition(small, 360).url == "b"


def test_portrait_variants_count_their_short_side():
    portrait = [Rendition("tall", 360, 640, 900_000), Rendition("huge", 720, 1280, 3_000_000)]
    assert choose_rendition(portrait, 360).url == "tall"


def test_variants_without_resolution_are_chosen_by_bandwidth():
    unsized = [Rendition(str(b), bandwidth=b) for b in (150_000, 600_000, 2_000_000)]
    assert choose_rendition(unsized, 360).url == "600000"
    assert choose_rendition(unsized[:1], 360).url == "150000"


def test_master_of_audio_only_variants_is_refused():
    with pytest.raises(StreamError, match="no video variant"):
        parse(b'#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="mp4a.40.2"\na.m3u8\n', URL)


def test_media_playlist_segments_are_placed_on_the_timeline():
    timeline = parse(
        _media("#EXTINF:4.0,", "s0.ts", "#EXTINF:3.5,", "s1.ts", "#EXTINF:2,", "s2.ts"), URL
    )
    assert [(s.index, s.start, s.duration) for s in timeline.segments] == [
        (0, 0.0, 4.0),
        (1, 4.0, 3.5),
        (2, 7.5, 2.0),
    ]
    assert timeline.segments[1].media.url == "https://cdn.example/videos/42/s1.ts"
    assert timeline.duration == 9.5
    assert not timeline.live
    assert timeline.bytes_total is None  # separate files: sizes unknown


def test_byte_ranges_without_offset_follow_the_previous_range_of_the_same_url():
    timeline = parse(
        _media(
            '#EXT-X-MAP:URI="all.mp4",BYTERANGE="700@0"',
            "#EXTINF:4,", "#EXT-X-BYTERANGE:1000@700", "all.mp4",
            "#EXTINF:4,", "#EXT-X-BYTERANGE:2000", "all.mp4",
            "#EXTINF:4,", "#EXT-X-BYTERANGE:500", "all.mp4",
        ),
        URL,
    )  # fmt: skip
    assert [s.media.byterange for s in timeline.segments] == [
        ByteRange(700, 1000),
        ByteRange(1700, 2000),
        ByteRange(3700, 500),
    ]
    assert timeline.segments[2].media.headers() == {"Range": "bytes=3700-4199"}
    init = timeline.segments[0].init
    assert (init.url, init.byterange) == (
        "https://cdn.example/videos/42/all.mp4",
        ByteRange(0, 700),
    )
    assert timeline.bytes_total == 700 + 1000 + 2000 + 500


def test_a_first_byte_range_without_offset_is_refused():
    with pytest.raises(StreamError, match="no offset"):
        parse(_media("#EXTINF:4,", "#EXT-X-BYTERANGE:1000", "all.ts"), URL)


def test_aes_key_with_explicit_iv_applies_until_the_next_key():
    timeline = parse(
        _media(
            "#EXT-X-MEDIA-SEQUENCE:7",
            '#EXT-X-KEY:METHOD=AES-128,URI="../keys/k1",IV=0x000102030405060708090A0B0C0D0E0F',
            "#EXTINF:4,", "a.ts",
            "#EXT-X-KEY:METHOD=NONE",
            "#EXTINF:4,", "b.ts",
        ),
        URL,
    )  # fmt: skip
    first, second = timeline.segments
    assert first.key.method == "AES-128"
    assert first.key.url == "https://cdn.example/videos/keys/k1"
    assert first.key.iv == bytes(range(16))
    assert second.key is None
    assert timeline.encryption == "AES-128"


def test_aes_key_without_iv_uses_the_media_sequence_number():
    timeline = parse(
        _media(
            "#EXT-X-MEDIA-SEQUENCE:41",
            '#EXT-X-KEY:METHOD=AES-128,URI="key"',
            "#EXTINF:4,", "a.ts", "#EXTINF:4,", "b.ts",
        ),
        URL,
    )  # fmt: skip
    assert [s.key.iv for s in timeline.segments] == [
        (41).to_bytes(16, "big"),
        (42).to_bytes(16, "big"),
    ]


def test_a_live_playlist_is_its_window():
    timeline = parse(
        _media(
            "#EXT-X-MEDIA-SEQUENCE:1200",
            "#EXTINF:4,",
            "1200.ts",
            "#EXTINF:4,",
            "1201.ts",
            end=False,
        ),
        URL,
    )
    assert timeline.live
    assert [s.start for s in timeline.segments] == [0.0, 4.0]


def test_fmp4_segments_carry_their_initialization_section():
    timeline = parse(
        _media('#EXT-X-MAP:URI="init.mp4"', "#EXTINF:4,", "0.m4s", "#EXTINF:4,", "1.m4s"), URL
    )
    assert {s.init.url for s in timeline.segments} == {"https://cdn.example/videos/42/init.mp4"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"<html>not a playlist</html>", "does not start with #EXTM3U"),
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-ENDLIST\n", "no segment"),
        (b"#EXTM3U\n" + b"#EXTINF:1,\na.ts\n" * 300_000, "over"),
    ],
)
def test_what_is_not_a_usable_playlist_says_why(text, message):
    with pytest.raises(StreamError, match=message):
        parse(text, URL)
