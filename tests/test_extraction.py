import time
from urllib.parse import urljoin

import pytest
from parsel import Selector

from crawler.extraction import (
    MAX_STYLE_CHARS,
    background_images,
    canonical_media_url,
    css_urls,
    decode_page,
    extract_media_urls,
    largest_srcset_candidate,
    linked_thumbnails,
    page_encoding,
    parse_srcset,
)

BASE = "https://board.example/gallery/1"


def media(html: str, thumbnails: set[str] | None = None) -> list[str]:
    from urllib.parse import urljoin

    return extract_media_urls(Selector(text=html), lambda url: urljoin(BASE, url), thumbnails)


def test_plain_img_src_is_resolved_against_the_page():
    assert media('<img src="/a.jpg"><img src="b.png">') == [
        "https://board.example/a.jpg",
        "https://board.example/gallery/b.png",
    ]


def test_largest_srcset_candidate_wins_over_src():
    html = '<img src="s.jpg" srcset="s.jpg 320w, l.jpg 1600w, m.jpg 800w">'
    assert media(html) == ["https://board.example/gallery/l.jpg"]


def test_density_descriptors_and_commas_in_urls():
    assert parse_srcset("a.jpg, b.jpg 2x") == [("a.jpg", 1.0), ("b.jpg", 2.0)]
    assert largest_srcset_candidate("/i/x,y.jpg 1x, /i/x,y@2.jpg 2x") == "/i/x,y@2.jpg"


def test_lazy_attributes_beat_placeholder_src():
    html = (
        '<img src="data:image/gif;base64,R0lGOD" data-src="/lazy1.jpg">'
        '<img src="/spacer.gif" data-original="/lazy2.jpg">'
        '<img data-lazy-src="/lazy3.webp">'
        '<img data-srcset="/small.jpg 100w, /big.jpg 900w">'
    )
    assert media(html) == [
        "https://board.example/lazy1.jpg",
        "https://board.example/lazy2.jpg",
        "https://board.example/lazy3.webp",
        "https://board.example/big.jpg",
    ]


def test_links_to_media_files_video_and_og_image():
    html = (
        '<head><meta property="og:image" content="https://cdn.example/og.jpg"></head>'
        '<a href="/full/1.JPG"><img src="/thumb/1.jpg"></a>'
        '<a href="/post/2">a page, not media</a>'
        '<video src="/v/1.mp4"><source src="/v/1.webm"></video>'
        '<picture><source srcset="/p/1.avif 1x, /p/1@2.avif 2x"><img src="/p/1.jpg"></picture>'
    )
    assert media(html) == [
        "https://board.example/p/1@2.avif",  # the picture, once: its largest candidate
        "https://board.example/v/1.mp4",
        "https://board.example/v/1.webm",
        "https://board.example/full/1.JPG",
        "https://cdn.example/og.jpg",
    ]


def test_a_picture_is_one_image_its_largest_candidate():
    art_directed = (  # sources by media query and type: widths win over densities and the img
        "<picture>"
        '<source media="(min-width: 800px)" srcset="/p/w-800.webp 800w, /p/w-1600.webp 1600w">'
        '<source type="image/avif" srcset="/p/a.avif 1x, /p/a@3.avif 3x">'
        '<img src="/p/fallback.jpg" srcset="/p/fallback-1200.jpg 1200w">'
        "</picture>"
    )
    assert media(art_directed) == ["https://board.example/p/w-1600.webp"]
    densities = (
        '<picture><source type="image/webp" srcset="/d/a.webp, /d/a@2.webp 2x">'
        '<source type="image/jpeg" srcset="/d/a.jpg 1x, /d/a@2.jpg 2x">'
        '<img src="/d/a.jpg"></picture>'
    )
    assert media(densities) == ["https://board.example/d/a@2.webp"]  # a tie: the first
    lazy = (
        '<picture><source data-srcset="/l/s.webp 400w, /l/b.webp 900w">'
        '<img src="data:image/gif;base64,R0lGOD" data-src="/l/b.jpg"></picture>'
    )
    assert media(lazy) == ["https://board.example/l/b.webp"]
    only_img = '<picture><source srcset="data:image/png;base64,iVBO"><img src="/o/1.jpg"></picture>'
    assert media(only_img) == ["https://board.example/o/1.jpg"]
    no_img = '<picture><source srcset="/n/1.webp 1x, /n/2.webp 2x"></picture>'
    assert media(no_img) == ["https://board.example/n/2.webp"]
    linked = (
        '<a href="/full/9.png"><picture><source srcset="/t/9.webp"><img src="/t/9.jpg">'
        "</picture></a>"
    )
    assert media(linked) == ["https://board.example/full/9.png"]


def test_each_url_once_and_no_data_or_javascript_urls():
    html = '<img src="/a.jpg"><img src="/a.jpg"><a href="/a.jpg">x</a><img src="javascript:x">'
    assert media(html) == ["https://board.example/a.jpg"]


def test_media_urls_have_one_spelling():
    html = (
        '<img src="/이미지/사진 1.jpg">'
        '<img src="/%EC%9D%B4%EB%AF%B8%EC%A7%80/%EC%82%AC%EC%A7%84%201.jpg">'
        '<img src="/m/a.jpg#zoom"><a href="/m/a.jpg">full</a>'
    )
    assert media(html) == [
        "https://board.example/%EC%9D%B4%EB%AF%B8%EC%A7%80/%EC%82%AC%EC%A7%84%201.jpg",
        "https://board.example/m/a.jpg",
    ]


def test_posters_og_video_and_css_backgrounds():
    html = (
        '<head><meta property="og:video" content="/v/clip.mp4"></head>'
        '<video poster="/posters/1.jpg"><source src="/v/1.webm"></video>'
        "<div style=\"color: red; background-image: url('/bg/a.jpg')\"></div>"
        '<div style="background: #000 url(/bg/b.png) no-repeat"></div>'
        '<div style="border-image: url(/not-media.png)"></div>'
    )
    assert media(html) == [
        "https://board.example/v/1.webm",  # its poster is a preview (MediaPage.previews)
        "https://board.example/bg/a.jpg",
        "https://board.example/bg/b.png",
        "https://board.example/v/clip.mp4",
    ]


def test_css_urls_quoted_unquoted_and_spaced():
    value = "#000 url( '/a.jpg' ) URL(\"/b.png\"), url(  /c.gif  ) url() url(/d.webp"
    assert css_urls(value) == ["/a.jpg", "/b.png", "/c.gif"]  # the last one never closes


ADVERSARIAL_STYLES = {
    "unclosed": "url(" * 20_000,
    "unclosed quoted": "url('" * 16_000,
    "quote never followed by )": 'url("a" ' * 10_000,
    "spaces": "url(" + " " * 80_000,
}


@pytest.mark.parametrize("body", ADVERSARIAL_STYLES.values(), ids=ADVERSARIAL_STYLES.keys())
def test_an_80_kb_adversarial_inline_style_is_parsed_at_once(body):
    # A regular expression with a lazy group took 14-24 s of the reactor on the first of these.
    html = f'<div style="background-image: {body}"></div><img src="/a.jpg">'
    started = time.perf_counter()
    found = media(html)
    assert time.perf_counter() - started < 1.0
    assert "https://board.example/a.jpg" in found


@pytest.mark.parametrize("body", ADVERSARIAL_STYLES.values(), ids=ADVERSARIAL_STYLES.keys())
def test_css_url_scanning_is_linear_beyond_the_style_bound(body):
    value = body * 10  # ~800 KB, far beyond MAX_STYLE_CHARS: the scanner itself must be linear
    assert len(value) > 10 * MAX_STYLE_CHARS
    started = time.perf_counter()
    css_urls(value)
    assert time.perf_counter() - started < 1.0


def test_a_style_is_read_up_to_its_bound_only():
    padding = "color: red;" * (MAX_STYLE_CHARS // 11 + 1)
    assert background_images("background: url(/a.jpg);" + padding) == ["/a.jpg"]
    assert background_images(padding + "background: url(/b.jpg)") == []


def test_thumbnail_linked_to_its_full_size_file_is_replaced_by_the_full_size_one():
    html = (
        '<a href="/full/1.jpg"><img src="/t/1.jpg" srcset="/t/1.jpg 150w, /t/1@2.jpg 300w"></a>'
        '<a href="/full/2.png"><picture><source srcset="/t/2.webp 1x, /t/2@2.webp 2x">'
        '<img data-src="/t/2.jpg" src="data:image/gif;base64,R0lGOD"></picture></a>'
        '<a href="/v/3.mp4"><span style="background-image: url(/t/3.jpg)">play</span></a>'
        '<a href="/post/4"><img src="/t/4.jpg"></a>'  # a page, not a file: the thumbnail counts
        '<img src="/t/5.jpg">'  # not linked: counts
    )
    thumbnails: set[str] = set()
    assert media(html, thumbnails) == [
        "https://board.example/t/4.jpg",
        "https://board.example/t/5.jpg",
        "https://board.example/full/1.jpg",
        "https://board.example/full/2.png",
        "https://board.example/v/3.mp4",
    ]
    assert thumbnails == {
        f"https://board.example/t/{name}"
        for name in ("1.jpg", "1@2.jpg", "2.webp", "2@2.webp", "2.jpg", "3.jpg")
    }


def test_a_thumbnail_whose_full_size_the_page_names_is_left_out_wherever_it_is_shown():
    # Issue #14: hash the full size; keep the thumbnail only when no full size exists. The
    # same file shown again unlinked (a sidebar, a rendered gallery strip) is the same thumbnail.
    html = '<a href="/full/1.jpg"><img src="/t/1.jpg"></a><img src="/t/1.jpg">'
    thumbnails: set[str] = set()
    assert media(html, thumbnails) == ["https://board.example/full/1.jpg"]
    assert thumbnails == {"https://board.example/t/1.jpg"}


def test_images_linked_to_urls_that_do_not_say_what_they_are():
    from urllib.parse import urljoin

    html = (
        '<a href="/file/1"><img src="/t/1.jpg" srcset="/t/1.jpg 1x, /t/1@2.jpg 2x"></a>'
        '<a href="/view.php?no=2#top"><img data-src="/t/2.jpg"></a>'
        '<a href="/full/3.jpg"><img src="/t/3.jpg"></a>'  # settled by the extension
        '<a href="/post/4">text only</a><a href="#"><img src="/t/5.jpg"></a>'
    )
    assert linked_thumbnails(Selector(text=html), lambda url: urljoin(BASE, url)) == [
        ("https://board.example/file/1", ["https://board.example/t/1@2.jpg"]),
        ("https://board.example/view.php?no=2", ["https://board.example/t/2.jpg"]),
    ]


def test_an_unclosed_attribute_quote_does_not_stop_the_page_being_read():
    # libxml2 then keeps attribute names no XML allows, and lxml's (so parsel's) .attrib
    # raised "Invalid tag name": the page's media were lost and its links not followed.
    html = (
        '<img src="/a.jpg" data-x="{&quot;a&quot;:<div data-x="{&quot;a&quot;:<p>x</p>'
        '<a href="/b.jpg"><img src="/t/b.jpg"></a>'
    )
    assert media(html) == ["https://board.example/a.jpg", "https://board.example/b.jpg"]


def test_a_url_that_cannot_be_split_is_no_url_and_the_rest_of_the_page_is_read():
    # urljoin raised "Invalid IPv6 URL" out of the page's parsing: its media and links lost.
    html = '<img src="http://[oops/a.jpg"><img src="/ok.jpg"><script>x = "http://[b/c.jpg"</script>'
    assert media(html) == ["https://board.example/ok.jpg"]


def test_queries_are_encoded_in_the_page_encoding_paths_in_utf8():
    """As browsers request them: an EUC-KR board's ``?name=하늘`` is EUC-KR, its path UTF-8; a
    character EUC-KR lacks is sent as ``&#NNNN;``; UTF-16 pages use UTF-8 for queries."""
    url = "http://board.example/사진/하늘.jpg?name=하늘별&n=1#top"
    path = "http://board.example/%EC%82%AC%EC%A7%84/%ED%95%98%EB%8A%98.jpg"
    assert canonical_media_url(url, "euc-kr") == path + "?name=%C7%CF%B4%C3%BA%B0&n=1"
    assert canonical_media_url(url) == path + "?name=%ED%95%98%EB%8A%98%EB%B3%84&n=1"
    assert canonical_media_url(url, "utf-16") == canonical_media_url(url)
    assert canonical_media_url("http://b.example/a.jpg?t=😀", "euc-kr") == (
        "http://b.example/a.jpg?t=%26%23128512%3B"
    )
    page = Selector(text='<img src="/사진/하늘.jpg?name=하늘별&amp;n=1">')
    found = extract_media_urls(
        page, lambda raw: urljoin("http://board.example/bbs/1", raw), encoding="cp949"
    )
    assert found == [path + "?name=%C7%CF%B4%C3%BA%B0&n=1"]


PAGE = "<html><head>{meta}<title>게시판</title></head><body><p>하늘별 사진</p></body></html>"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", PAGE.format(meta='<meta charset="euc-kr">').encode("euc-kr")),
        (
            "text/html",
            PAGE.format(
                meta='<meta http-equiv="Content-Type" content="text/html; charset=euc-kr">'
            ).encode("euc-kr"),
        ),
        ("text/html; charset=EUC-KR", PAGE.format(meta="").encode("euc-kr")),
        ("text/html; charset=euc-kr", b"\xef\xbb\xbf" + PAGE.format(meta="").encode("utf-8")),
        ("text/html", PAGE.format(meta="").encode("utf-8")),
        ("text/html", PAGE.format(meta="").encode("euc-kr")),  # declared nowhere: a guess
        ("text/html", b"<html><body>plain</body></html>"),
        ("text/html; charset=shift_jis", "<p>写真</p>".encode("shift_jis")),
    ],
)
def test_pages_are_decoded_as_scrapy_decodes_them(content_type, body):
    """The re-check's decoding (page_encoding, decode_page) is the crawl's: Scrapy's
    TextResponse on the same bytes and headers finds the same encoding and text."""
    from scrapy.http import HtmlResponse

    response = HtmlResponse(
        "http://board.example/bbs/1", body=body, headers={"Content-Type": content_type}
    )
    assert decode_page(content_type, body) == (response.encoding, response.text)
    assert page_encoding(content_type, body) == response.encoding
