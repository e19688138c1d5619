"""crawler.extraction.player: what a player's requests were, and which name a video."""

from __future__ import annotations

from crawler.extraction.player import (
    DASH,
    HLS,
    MANIFEST,
    SEGMENT,
    STORYBOARD,
    VIDEO,
    PlayerTraffic,
    classify,
    manifest_format,
    playlist_uris,
)

MASTER = (
    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv0/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=200000\nhttps://cdn.example/v1/index.m3u8\n"
)
MEDIA = (
    '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXT-X-KEY:METHOD=AES-128,URI="/key"\n'
    "#EXTINF:4,\nseg0.m4s\n#EXTINF:4,\nseg1.m4s?t=1\n"
)
MPD = (
    '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011">'
    "<BaseURL>https://cdn.example/dash/</BaseURL></MPD>"
)


def test_manifests_are_recognised_by_type_extension_or_content():
    assert manifest_format("https://t.example/x", "application/vnd.apple.mpegurl") == HLS
    assert manifest_format("https://t.example/x", "application/dash+xml; charset=utf-8") == DASH
    assert manifest_format("https://t.example/p/master.m3u8?token=1") == HLS
    assert (
        manifest_format("https://t.example/stream", "text/plain", b"\xef\xbb\xbf#EXTM3U\n") == HLS
    )
    assert (
        manifest_format("https://t.example/api/7", "application/octet-stream", MPD.encode()) == DASH
    )
    assert manifest_format("https://t.example/api/7", "text/plain", b"hello") is None


def test_a_body_is_a_manifest_by_the_rule_the_pipeline_sniffs_streams_with():
    """A body whose content type says nothing is a manifest exactly when the pipeline's sniffer
    calls it a stream: the browser hands over nothing the pipeline will not sample as one."""
    from crawler.hashing.errors import UnsupportedMedia
    from crawler.hashing.sniff import sniff

    bodies = [
        MASTER.encode(),
        b"\xef\xbb\xbf \r\n#EXTM3U\n",
        MPD.encode(),
        b"<!-- packager -->\n<dash:MPD xmlns:dash='urn:mpeg:dash:schema:mpd:2011'>",
        b"<html><body>#EXTM3U</body></html>",
        b"a page about <MPD> files",  # mentions the element, is not one
        b"<svg><MPDX/></svg>",
        b"<!--" + b" " * 2000 + b"--><MPD>",  # no element in the first kilobyte
        b"# EXTM3U\n",
        b"",
    ]
    for body in bodies:
        try:
            found = sniff(body)
            expected = found.format if found.kind == "stream" else None
        except UnsupportedMedia:
            expected = None
        assert manifest_format("https://t.example/api/7", "text/plain", body) == expected, body
    # What the player's own copy of the rule used to call DASH, and the sniffer never did.
    assert manifest_format("https://t.example/api/7", "", b"a page about <MPD> files") is None


def test_requests_are_classified_before_and_after_their_response():
    assert classify("https://t.example/v/seg3.ts", "xhr") == SEGMENT
    assert classify("https://t.example/v/chunk-1.m4s", "fetch") == SEGMENT
    assert classify("https://t.example/v/x", "xhr", "video/mp2t") == SEGMENT
    assert classify("https://t.example/v/clip.mp4", "xhr") == VIDEO
    assert classify("https://t.example/play?id=3", "media") == VIDEO  # a <video>'s own request
    assert classify("https://t.example/thumbs.vtt", "fetch") == STORYBOARD
    assert classify("https://t.example/x.m3u8", "xhr") == MANIFEST
    assert classify("https://t.example/app.js", "script", "text/javascript") is None
    assert classify("https://t.example/a.jpg", "image", "image/jpeg") is None
    assert classify("blob:https://t.example/1-2", "media") is None


def test_playlist_uris_resolve_variants_segments_and_init_sections_not_keys():
    assert playlist_uris(MASTER, "https://t.example/p/master.m3u8") == [
        "https://t.example/p/v0/index.m3u8",
        "https://cdn.example/v1/index.m3u8",
    ]
    assert playlist_uris(MEDIA, "https://t.example/p/v0/index.m3u8") == [
        "https://t.example/p/v0/init.mp4",
        "https://t.example/p/v0/seg0.m4s",
        "https://t.example/p/v0/seg1.m4s?t=1",
    ]


def test_a_stream_is_handed_over_by_its_master_playlist_not_its_parts():
    traffic = PlayerTraffic()
    traffic.read_manifest("https://t.example/p/master.m3u8", MASTER)
    traffic.read_manifest("https://t.example/p/v0/index.m3u8", MEDIA)
    traffic.add(SEGMENT, "https://t.example/p/v0/seg0.m4s")
    traffic.add(VIDEO, "https://t.example/p/v0/init.mp4")
    traffic.add(SEGMENT, "https://t.example/other/seg9.ts")  # of no captured playlist
    traffic.add(VIDEO, "https://t.example/trailer.mp4")
    media, left_out = traffic.media()
    assert media == [
        "https://t.example/p/master.m3u8",
        "https://t.example/trailer.mp4",
        "https://t.example/other/seg9.ts",
    ]
    assert left_out == 3  # the variant playlist, its segment and init section


def test_dash_segments_under_the_manifest_or_its_base_url_are_covered():
    traffic = PlayerTraffic()
    traffic.read_manifest("https://t.example/d/stream.mpd", MPD)
    traffic.add(SEGMENT, "https://cdn.example/dash/v/1.m4s")
    traffic.add(VIDEO, "https://t.example/d/video.mp4")  # SegmentBase: ranges of one file
    assert traffic.media() == (["https://t.example/d/stream.mpd"], 2)


def test_only_segments_seen_are_handed_over_themselves():
    traffic = PlayerTraffic()
    assert not traffic.seen
    traffic.add(SEGMENT, "https://t.example/s/1.ts#x")
    traffic.add(SEGMENT, "https://t.example/s/1.ts")
    assert traffic.seen
    assert traffic.media() == (["https://t.example/s/1.ts"], 0)


def test_the_plain_form_is_json_and_sees_later_additions():
    import json

    traffic = PlayerTraffic()
    plain = traffic.to_plain()
    traffic.read_manifest("https://t.example/p/master.m3u8", MASTER)
    traffic.add(SEGMENT, "https://t.example/s/1.ts")
    again = PlayerTraffic.from_plain(json.loads(json.dumps(plain)))
    assert again.media() == traffic.media()
