"""crawler.extraction.previews: posters and storyboards of a page's videos."""

from __future__ import annotations

from urllib.parse import urljoin

from parsel import Selector

from crawler.extraction import page_media
from crawler.extraction.previews import Cue, page_previews, storyboard_cues
from crawler.items import POSTER, STORYBOARD, Preview

PAGE = "https://tube.example/watch/1"


def _previews(html: str) -> list[Preview]:
    selector = Selector(text=html)
    return page_previews(selector, lambda url: urljoin(PAGE, url))


def test_posters_and_metadata_tracks_belong_to_their_video():
    html = (
        '<video poster="/p/1.jpg" src="/v/1.mp4"><track kind="metadata" src="/t/1.vtt">'
        '<track kind="subtitles" src="/t/1.ko.vtt"></video>'
        '<video data-poster="/p/2.jpg"><source src="/v/2.webm"></video>'
        '<video src="blob:https://tube.example/9" poster="/p/3.jpg"></video>'
    )
    assert _previews(html) == [
        Preview("https://tube.example/p/1.jpg", POSTER, "https://tube.example/v/1.mp4"),
        Preview("https://tube.example/t/1.vtt", STORYBOARD, "https://tube.example/v/1.mp4"),
        Preview("https://tube.example/p/2.jpg", POSTER, "https://tube.example/v/2.webm"),
        Preview("https://tube.example/p/3.jpg", POSTER, None),  # a blob: player's
    ]


def test_a_player_configuration_names_its_storyboard():
    html = (
        '<video src="/v/1.mp4"></video><script>jwplayer("p").setup({file: "/v/1.mp4", '
        'tracks: [{file: "https:\\/\\/cdn.tube.example\\/s\\/1.vtt", kind: "thumbnails"}]});'
        "</script>"
    )
    assert _previews(html) == [
        Preview("https://cdn.tube.example/s/1.vtt", STORYBOARD, "https://tube.example/v/1.mp4")
    ]


def test_a_poster_is_no_media_of_the_page():
    html = '<video poster="/p/1.jpg"><source src="/v/1.webm"></video>'
    found = page_media(Selector(text=html), lambda url: f"https://tube.example{url}")
    assert found.urls == ["https://tube.example/v/1.webm"]


def test_storyboard_cues_read_sprite_tiles_and_skip_subtitles():
    text = (
        "\ufeffWEBVTT\n\n"
        "1\n00:00.000 --> 00:05.000\nsprites/a.jpg#xywh=0,0,160,90\n\n"
        "00:00:05.000 --> 00:00:10.000\nsprites/a.jpg#xywh=160,0,160,90\n\n"
        "01:00:10.500 --> 01:00:15.000\nhttps://img.example/b.webp\n\n"
        "00:00:15.000 --> 00:00:20.000\n안녕하세요, a subtitle\n\n"
        "00:00:20.000 --> 00:00:25.000\nsprites/c.jpg#xywh=0,0,0,90\n"
    )
    base = "https://cdn.example/s/1.vtt"
    assert storyboard_cues(text, base) == [
        Cue(0.0, 5.0, "https://cdn.example/s/sprites/a.jpg", (0, 0, 160, 90)),
        Cue(5.0, 10.0, "https://cdn.example/s/sprites/a.jpg", (160, 0, 160, 90)),
        Cue(3610.5, 3615.0, "https://img.example/b.webp", None),
        Cue(20.0, 25.0, "https://cdn.example/s/sprites/c.jpg", None),  # an empty box: whole
    ]
    assert storyboard_cues("1\n00:00.000 --> 00:05.000\na.jpg\n", base) == []  # no WEBVTT
    subtitles = "WEBVTT\n\n00:00.000 --> 00:02.000\nHello there\n"
    assert storyboard_cues(subtitles, base) == []
