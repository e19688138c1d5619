"""crawler.extraction.page: one rule for full size over thumbnail, sources, bounds."""

from __future__ import annotations

from crawler.extraction import page
from crawler.extraction.page import PageCollector
from tests.extraction.support import BASE, paths, read


def _collector() -> PageCollector:
    from urllib.parse import urljoin

    return PageCollector(lambda url: urljoin(BASE, url), "utf-8")


def _kept(media: PageCollector) -> tuple[list[str], list[str]]:
    from parsel import Selector

    result = media.result(Selector(text="<p></p>"))
    return paths(result.urls), sorted(paths(result.thumbnails))


def test_a_thumbnail_goes_only_when_a_chain_of_pairs_ends_at_a_kept_url():
    media = _collector()
    for raw in ("/t.jpg", "/m.jpg", "/l.jpg", "/alone.jpg", "/a.jpg", "/b.jpg"):
        media.add("script", raw)
    media.group([(0, media.url("/t.jpg")), (1, media.url("/m.jpg"))])  # thumb -> image
    media.group([(1, media.url("/m.jpg")), (3, media.url("/l.jpg"))])  # image -> big
    # Its full size is none the page can give (not a URL): the thumbnail stays.
    media.pair("/alone.jpg", "javascript:void(0)")
    media.pair("/a.jpg", media.url("/b.jpg"))  # a loop names no full size: both stay
    media.pair("/b.jpg", media.url("/a.jpg"))
    assert _kept(media) == (["/l.jpg", "/alone.jpg", "/a.jpg", "/b.jpg"], ["/m.jpg", "/t.jpg"])


def test_a_capped_full_size_does_not_take_its_thumbnail_along(monkeypatch):
    monkeypatch.setattr(page, "MAX_DATA_MEDIA", 1)
    found = read("<script>var d = {thumb: '/t.jpg', big: '/b.jpg', other: '/o.jpg'};</script>")
    assert paths(found.urls) == ["/t.jpg"]
    assert found.capped == 2


def test_image_urls_naming_their_original_are_its_thumbnails():
    found = read(
        '<img src="/timthumb.php?src=/wp-content/uploads/a.jpg&amp;w=300&amp;h=200">'
        '<img src="/_next/image?url=https%3A%2F%2Fcdn.example%2Fb.png&amp;w=640&amp;q=75">'
        '<img src="/resize.php?id=7&amp;w=300">'  # names nothing: it is the picture
        '<img src="/photos/c.jpg?src=other.jpg">'  # a media file already: its query is its own
    )
    assert paths(found.urls) == [
        "/wp-content/uploads/a.jpg",
        "https://cdn.example/b.png",
        "/resize.php?id=7&w=300",
        "/photos/c.jpg?src=other.jpg",
    ]
    assert found.full_size_named == 2


def test_a_url_counts_under_the_first_source_by_rank_not_by_page_order():
    found = read(
        "<head><noscript><img src='/n.jpg'></noscript>"
        '<script>var a = "/s.jpg", b = "/n.jpg";</script></head>'
        '<body><img src="/n.jpg"><div data-bg="/s.jpg"></div></body>'
    )
    assert paths(found.urls) == ["/n.jpg", "/s.jpg"]
    assert found.sources == {"markup": 1, "data_attribute": 1}


def test_a_pages_data_is_read_up_to_its_bounds(monkeypatch):
    monkeypatch.setattr(page, "MAX_DATA_CHARS", 200)
    big = "x" * 300
    found = read(
        f'<script>var a = "/1.jpg", pad = "{big}";</script>'  # over the bound: not read
        '<script>var b = "/2.jpg";</script>'
    )
    assert paths(found.urls) == ["/2.jpg"]
    assert found.unread == 1


def test_guessed_urls_are_capped(monkeypatch):
    monkeypatch.setattr(page, "MAX_GUESSED_MEDIA", 2)
    images = ", ".join(f"{{image: '/uploads/{n}'}}" for n in range(5))
    found = read(f"<script>var photos = [{images}];</script>")
    assert paths(found.urls) == ["/uploads/0", "/uploads/1"]
    assert (found.guessed, found.capped) == (2, 3)


def test_markup_inside_strings_is_read_to_a_bounded_depth(monkeypatch):
    inner = "<img src='/deep/3.jpg'>".replace("'", "\\\\'")
    middle = f"<div><img src='/deep/2.jpg'><script>var x = '{inner}';<\\/script></div>"
    html = f'<script>var layer = "{middle}";</script>'
    assert paths(read(html).urls) == ["/deep/2.jpg", "/deep/3.jpg"]
    monkeypatch.setattr(page, "MAX_FRAGMENT_DEPTH", 1)
    found = read(html)
    assert paths(found.urls) == ["/deep/2.jpg"]
    assert found.unread == 1


def test_a_huge_adversarial_page_is_read_within_its_bounds():
    # Many strings of markup, JSON in attributes, unclosed everything: bounded, no error.
    layers = ",".join(["'<img src=\"/l.jpg\">'"] * 5000)
    html = (
        f"<script>var d = [{layers}];</script>"
        + '<div data-x="{&quot;a&quot;:' * 2000
        + "<script>"
        + '"\\' * 20000
        + "</script>"
    )
    found = read(html)
    assert paths(found.urls) == ["/l.jpg"]
    assert found.unread >= 5000 - page.MAX_FRAGMENTS


def test_the_readme_states_the_bounds_the_code_has():
    from tests.support.project import ROOT

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"read up to {page.MAX_DATA_CHARS // 1_000_000} million characters" in readme
    assert f"{page.MAX_DATA_TOKENS:,} tokens" in readme
    assert f"{page.MAX_DATA_STRINGS:,} strings that may be URLs" in readme
    assert f"at most {page.MAX_DATA_MEDIA:,} media URLs ({page.MAX_GUESSED_MEDIA} without" in readme
    depth = {1: "one level", 2: "two levels", 3: "three levels"}[page.MAX_FRAGMENT_DEPTH]
    assert f"read as markup {depth} deep" in readme


def test_a_pages_scripts_are_read_up_to_a_number_of_tokens_and_strings(monkeypatch):
    monkeypatch.setattr(page, "MAX_DATA_TOKENS", 6)
    found = read(
        '<script>var a = "/1.jpg", b = "/2.jpg";</script>'  # 2 tokens
        "<script>var c = ['/3.jpg', '/4.jpg', '/5.jpg', '/6.jpg', '/7.jpg'];</script>"  # cut
        '<script>var d = "/8.jpg";</script>'  # none left
    )
    assert paths(found.urls) == ["/1.jpg", "/2.jpg", "/3.jpg", "/4.jpg", "/5.jpg"]
    assert found.unread == 2
    monkeypatch.setattr(page, "MAX_DATA_TOKENS", 1000)
    monkeypatch.setattr(page, "MAX_DATA_STRINGS", 3)
    found = read("<script>var a = ['word', '/1.jpg', '/2.jpg', '/3.jpg', '/4.jpg'];</script>")
    assert paths(found.urls) == ["/1.jpg", "/2.jpg", "/3.jpg"]  # words do not count
    assert found.unread == 1


def test_stream_playlists_are_media_wherever_a_page_names_them():
    found = read(
        '<video><source src="/v/stream.m3u8" type="application/x-mpegURL"></video>'
        '<a href="/v/linked.m3u8">watch</a><div data-video="/v/data.mpd"></div>'
        '<script>player({hls: "https://cdn.example/x/master.m3u8?token=1",'
        ' dash: "https://cdn.example/x/manifest.mpd", code: "app.ts"})</script>'
    )
    assert sorted(paths(found.urls)) == [
        "/v/data.mpd",
        "/v/linked.m3u8",
        "/v/stream.m3u8",
        "https://cdn.example/x/manifest.mpd",
        "https://cdn.example/x/master.m3u8?token=1",
    ]
