"""DASH manifests as text: SegmentTemplate ($Number$, $Time$ + SegmentTimeline), SegmentList,
SegmentBase (sidx), the video representation chosen as HLS variants are, live windows."""

from __future__ import annotations

import struct

import pytest

from crawler.delivery.dash import Indexed, parse, timeline_from_sidx
from crawler.delivery.stream import ByteRange, StreamError

URL = "https://cdn.example/v/42/manifest.mpd"
NS = 'xmlns="urn:mpeg:dash:schema:mpd:2011"'


def _mpd(
    period: str, *, attributes: str = 'type="static" mediaPresentationDuration="PT10S"'
) -> bytes:
    return f'<?xml version="1.0"?>\n<MPD {NS} {attributes}><Period>{period}</Period></MPD>'.encode()


AUDIO = (
    '<AdaptationSet contentType="audio" mimeType="audio/mp4">'
    '<Representation id="a" bandwidth="64000"/></AdaptationSet>'
)


def _video(template: str) -> str:
    return (
        AUDIO
        + f'<AdaptationSet contentType="video" mimeType="video/mp4">{template}'
        + '<Representation id="v720" bandwidth="2500000" width="1280" height="720"/>'
        + '<Representation id="v360" bandwidth="800000" width="640" height="360"/>'
        + '<Representation id="v240" bandwidth="400000" width="426" height="240"/>'
        + "</AdaptationSet>"
    )


def test_number_template_with_duration_covers_the_period():
    template = (
        '<SegmentTemplate timescale="1000" duration="4000" startNumber="5" '
        'initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%03d$.m4s"/>'
    )
    timeline = parse(_mpd(_video(template)), URL, min_lines=360)
    assert timeline.rendition.id == "v360"
    assert timeline.rendition.describe() == "640x360 800 kbit/s"
    assert [(s.start, s.duration, s.media.url) for s in timeline.segments] == [
        (0.0, 4.0, "https://cdn.example/v/42/v360/005.m4s"),
        (4.0, 4.0, "https://cdn.example/v/42/v360/006.m4s"),
        (8.0, 4.0, "https://cdn.example/v/42/v360/007.m4s"),
    ]
    assert timeline.segments[0].init.url == "https://cdn.example/v/42/v360/init.mp4"


def test_time_template_with_a_timeline_and_repeats():
    template = (
        '<SegmentTemplate timescale="90000" presentationTimeOffset="900" '
        'initialization="init-$Bandwidth$.mp4" media="c-$Time$.m4s">'
        '<SegmentTimeline><S t="900" d="180000" r="2"/><S d="90000"/></SegmentTimeline>'
        "</SegmentTemplate>"
    )
    timeline = parse(_mpd(_video(template)), URL, min_lines=360)
    assert [(s.start, s.duration, s.media.url.rsplit("/", 1)[1]) for s in timeline.segments] == [
        (0.0, 2.0, "c-900.m4s"),
        (2.0, 2.0, "c-180900.m4s"),
        (4.0, 2.0, "c-360900.m4s"),
        (6.0, 1.0, "c-540900.m4s"),
    ]
    assert timeline.segments[0].init.url.endswith("/init-800000.mp4")


def test_a_repeat_of_minus_one_runs_to_the_period_end():
    template = (
        '<SegmentTemplate timescale="10" media="$Number$.m4s">'
        '<SegmentTimeline><S t="0" d="30" r="-1"/></SegmentTimeline></SegmentTemplate>'
    )
    timeline = parse(_mpd(_video(template)), URL, min_lines=360)
    assert [s.media.url.rsplit("/", 1)[1] for s in timeline.segments] == [
        "1.m4s",
        "2.m4s",
        "3.m4s",
        "4.m4s",
    ]  # 4 x 3 s cover the 10 s period


def test_template_inherited_from_the_period_and_base_urls_at_every_level():
    period = (
        "<BaseURL>media/</BaseURL>"
        '<SegmentTemplate timescale="1" duration="5" media="$RepresentationID$-$Number$.m4s"/>'
        '<AdaptationSet mimeType="video/mp4"><BaseURL>video/</BaseURL>'
        '<Representation id="only" bandwidth="1" width="640" height="360"/></AdaptationSet>'
    )
    text = f'<MPD {NS} type="static" mediaPresentationDuration="PT10S">'
    text += f"<BaseURL>https://media.example/root/</BaseURL><Period>{period}</Period></MPD>"
    timeline = parse(text.encode(), URL, min_lines=360)
    assert [s.media.url for s in timeline.segments] == [
        "https://media.example/root/media/video/only-1.m4s",
        "https://media.example/root/media/video/only-2.m4s",
    ]


def test_segment_list_with_media_ranges():
    listing = (
        '<SegmentList timescale="1000" duration="2000">'
        '<Initialization sourceURL="v.mp4" range="0-799"/>'
        '<SegmentURL media="v.mp4" mediaRange="800-1799"/>'
        '<SegmentURL media="v.mp4" mediaRange="1800-3299"/></SegmentList>'
    )
    period = (
        '<AdaptationSet mimeType="video/mp4"><Representation id="r" bandwidth="1" '
        f'width="640" height="360">{listing}</Representation></AdaptationSet>'
    )
    timeline = parse(_mpd(period), URL, min_lines=360)
    assert [(s.start, s.media.byterange) for s in timeline.segments] == [
        (0.0, ByteRange(800, 1000)),
        (2.0, ByteRange(1800, 1500)),
    ]
    assert timeline.segments[0].init.byterange == ByteRange(0, 800)
    assert timeline.bytes_total == 800 + 1000 + 1500


def _sidx(first_offset: int, references: list[tuple[int, int]], scale: int = 1000) -> bytes:
    body = struct.pack(">BxxxIIII", 0, 1, scale, 0, first_offset) + struct.pack(
        ">HH", 0, len(references)
    )
    for size, duration in references:
        body += struct.pack(">III", size, duration, 0x90000000)
    return struct.pack(">I4s", 8 + len(body), b"sidx") + body


def test_segment_base_segments_come_from_the_sidx():
    period = (
        '<AdaptationSet mimeType="video/mp4"><Representation id="r" bandwidth="1" '
        'width="640" height="360"><BaseURL>file.mp4</BaseURL>'
        '<SegmentBase indexRange="900-999"><Initialization range="0-899"/></SegmentBase>'
        "</Representation></AdaptationSet>"
    )
    indexed = parse(_mpd(period), URL, min_lines=360)
    assert isinstance(indexed, Indexed)
    assert (indexed.media, indexed.index) == (
        "https://cdn.example/v/42/file.mp4",
        ByteRange(900, 100),
    )
    sidx = _sidx(4, [(5000, 2000), (7000, 2500)])
    timeline = timeline_from_sidx(indexed, sidx)
    first = 900 + len(sidx) + 4
    assert [(s.start, s.duration, s.media.byterange) for s in timeline.segments] == [
        (0.0, 2.0, ByteRange(first, 5000)),
        (2.0, 2.5, ByteRange(first + 5000, 7000)),
    ]
    assert timeline.segments[0].init.byterange == ByteRange(0, 900)
    assert timeline.bytes_total == 900 + 12000


def test_a_hierarchical_sidx_is_refused():
    indexed = Indexed("u", ByteRange(0, 10), None, None)
    with pytest.raises(StreamError, match="hierarchical"):
        timeline_from_sidx(indexed, _sidx(0, [(0x80000000 | 100, 1000)]))


def test_trick_mode_and_audio_sets_are_not_chosen():
    trick = (
        '<AdaptationSet mimeType="video/mp4"><EssentialProperty '
        'schemeIdUri="http://dashif.org/guidelines/trickmode" value="1"/>'
        '<Representation id="trick" bandwidth="1" width="640" height="360">'
        '<SegmentTemplate duration="1" media="t$Number$"/></Representation></AdaptationSet>'
    )
    main = (
        '<AdaptationSet mimeType="video/mp4"><Representation id="main" bandwidth="1" '
        'width="1280" height="720"><SegmentTemplate duration="1" media="m$Number$"/>'
        "</Representation></AdaptationSet>"
    )
    timeline = parse(_mpd(AUDIO + trick + main), URL, min_lines=360)
    assert timeline.rendition.id == "main"


def test_periods_follow_one_another():
    def period(start: str, name: str) -> str:
        return (
            f'<Period start="{start}"><AdaptationSet mimeType="video/mp4">'
            f'<Representation id="{name}" bandwidth="1" width="640" height="360">'
            f'<SegmentTemplate duration="5" media="{name}$Number$"/></Representation>'
            "</AdaptationSet></Period>"
        )

    text = f'<MPD {NS} mediaPresentationDuration="PT20S">'
    text += period("PT0S", "ad") + period("PT5S", "film") + "</MPD>"
    timeline = parse(text.encode(), URL, min_lines=360)
    assert [(s.index, s.start, s.media.url.rsplit("/", 1)[1]) for s in timeline.segments] == [
        (0, 0.0, "ad1"),
        (1, 5.0, "film1"),
        (2, 10.0, "film2"),
        (3, 15.0, "film3"),
    ]


def test_a_live_manifest_of_numbered_segments_is_its_time_shift_window():
    attributes = (
        'type="dynamic" availabilityStartTime="2026-01-01T00:00:00Z" timeShiftBufferDepth="PT8S"'
    )
    template = '<SegmentTemplate timescale="1" duration="2" startNumber="0" media="$Number$.m4s"/>'
    now = 1767225600.0 + 100.5  # 100.5 s after the availability start: 50 segments complete
    timeline = parse(_mpd(_video(template), attributes=attributes), URL, min_lines=360, now=now)
    assert timeline.live
    assert [s.media.url.rsplit("/", 1)[1] for s in timeline.segments] == [
        "46.m4s",
        "47.m4s",
        "48.m4s",
        "49.m4s",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"<html><body>no</body></html>", "no <MPD>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaa">]><MPD>&a;</MPD>',
            "refused",
        ),
        (_mpd(AUDIO), "no video representation"),
        (_mpd(_video("")), "no SegmentTemplate"),
    ],
)
def test_what_is_not_a_usable_manifest_says_why(text, message):
    with pytest.raises(StreamError, match=message):
        parse(text, URL, min_lines=360)
