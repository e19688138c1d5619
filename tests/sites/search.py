"""Two repost boards with a search box, served on 127.0.0.1 for the search crawl tests.

``routes()``: a modern board searched by URL (``/search?q={query}``, UTF-8), with result pages
linked by ``rel="next"``. ``legacy_routes()``: an older Korean board in EUC-KR whose search is a
GET form (``/bbs/search.php``), as many boards built on old board software still are.

The server only answers the exact percent-encoded query strings below: a keyword encoded any
other way gets a 404, so a crawl finds the posts only if it encodes the keywords right. The
keywords are made-up nicknames. Posts hold copies of the cases' reference photos and unrelated
photos, which must never be flagged.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from crawler.demo import samples
from crawler.demo.localsite import Route

#: Cases, their keywords and reference photos.
SKY = "case-sky"
MOON = "case-moon"
SKY_KEYWORD = "하늘별"  # "sky star"
SKY_WITHDRAWN = "별빛바다"  # "starlit sea": added, then withdrawn: never searched
MOON_KEYWORD = "달빛고양이"  # "moonlight cat"
UNENCODABLE = "แมวจันทร์"  # Thai: cannot be written in EUC-KR
REFERENCES = {SKY: ("astronaut", "rocket", "chelsea"), MOON: ("coffee",)}


def q(keyword: str, encoding: str = "utf-8") -> str:
    """The keyword as it must appear in a query string, e.g. %ED%95%98... for UTF-8."""
    return quote_plus(keyword.encode(encoding))


def _jpeg(name: str, quality: int = 70, scale: float = 1.0) -> Route:
    return Route(samples.reencoded_jpeg(name, quality=quality, scale=scale), "image/jpeg")


def _page(title: str, body: str) -> Route:
    return Route(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>".encode()
    )


def _results(posts: list[int], pages: str = "") -> str:
    items = "".join(f'<li><a href="/post/{n}">글 {n}</a></li>' for n in posts)
    return (
        '<img src="/img/banner.jpg" alt="banner">'
        f'<ul class="results">{items}</ul><nav class="pages">{pages}</nav>'
        # Outside the results: a popular post and a link to the front page.
        '<aside><a href="/post/9">인기글</a> <a href="/">홈</a></aside>'
    )


#: The template board: media path -> the photo it shows.
MEDIA = {
    "/img/banner.jpg": "moon",  # on every result page
    "/img/1.jpg": "astronaut",
    "/img/p/camera.jpg": "camera",
    "/img/2.jpg": "coffee",
    "/img/p/coins.jpg": "coins",
    "/img/3.jpg": "rocket",
    "/img/p/hubble.jpg": "hubble",
    "/img/4.jpg": "astronaut",  # on a post only the third result page links to
    "/img/5.jpg": "coffee",
    "/img/6.jpg": "chelsea",  # found only by the withdrawn keyword
    "/img/7.jpg": "chelsea",  # two links away from a result page
    "/img/9.jpg": "rocket",  # on the popular post, outside the results
}


def routes() -> dict[str, Route]:
    sky = f"/search?q={q(SKY_KEYWORD)}"
    return {
        "/": _page("보드", " ".join(f'<a href="/post/{n}">{n}</a>' for n in range(1, 10))),
        # 하늘별: three result pages; the site file reads two.
        sky: _page(
            "검색: 하늘별",
            _results(
                [1, 2],
                f'<a href="{sky}&amp;page=2" rel="next">다음</a> '
                f'<a href="{sky}&amp;sort=new">최신순</a>',
            ),
        ),
        f"{sky}&page=2": _page(
            "검색: 하늘별 (2)",
            _results(
                [3], f'<a href="{sky}">이전</a> <a href="{sky}&amp;page=3" rel="next">다음</a>'
            ),
        ),
        f"{sky}&page=3": _page("검색: 하늘별 (3)", _results([4], f'<a href="{sky}">처음</a>')),
        f"/search?q={q(MOON_KEYWORD)}": _page("검색: 달빛고양이", _results([5])),
        f"/search?q={q(SKY_WITHDRAWN)}": _page("검색: 별빛바다", _results([6])),
        "/post/1": _page(
            "글 1",
            '<img src="/img/1.jpg"><img src="/img/p/camera.jpg"><a href="/post/7">다음 글</a>',
        ),
        # A photo of the other case, found through this case's keyword.
        "/post/2": _page("글 2", '<img src="/img/2.jpg"><img src="/img/p/coins.jpg">'),
        "/post/3": _page("글 3", '<img src="/img/3.jpg"><img src="/img/p/hubble.jpg">'),
        "/post/4": _page("글 4", '<img src="/img/4.jpg">'),
        "/post/5": _page("글 5", '<img src="/img/5.jpg">'),
        "/post/6": _page("글 6", '<img src="/img/6.jpg">'),
        "/post/7": _page("글 7", '<img src="/img/7.jpg">'),
        "/post/9": _page("글 9", '<img src="/img/9.jpg">'),
        **{path: _jpeg(photo, quality=65, scale=0.6) for path, photo in MEDIA.items()},
    }


def site_file(name: str, base_url: str) -> str:
    return (
        f'name = "{name}"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f"[follow]\nallow = ['/post/\\d+']\n"
        f'[search]\nurl = "{base_url}/search?q={{query}}"\nmax_result_pages = 2\n'
        'result_links = ".results"\n'
    )


# --- the legacy EUC-KR board -------------------------------------------------------------------
#: media path -> the photo it shows.
LEGACY_MEDIA = {
    "/data/file/free/11.jpg": "chelsea",
    "/data/file/free/12.jpg": "motorcycle",
    "/data/file/free/13.jpg": "rocket",  # on page 2 of the results
}


def _legacy_page(title: str, body: str) -> Route:
    text = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=euc-kr'>"
        f"<title>{title}</title></head><body>{body}</body></html>"
    )
    return Route(text.encode("euc-kr"), "text/html; charset=euc-kr")


def _legacy_list(stx: str, posts: list[int], next_page: int | None = None) -> Route:
    # Links carry the search words in raw Korean, as old boards write them: a browser (and
    # the crawler) encodes them as the page is encoded, EUC-KR.
    rows = "".join(
        f'<tr><td><a href="./board.php?bo_table=free&amp;wr_id={n}&amp;sfl=wr_subject'
        f'&amp;stx={stx}">글 {n}</a></td></tr>'
        for n in posts
    )
    pages = (
        f'<a href="./board.php?bo_table=free&amp;sfl=wr_subject&amp;stx={stx}&amp;page={next_page}"'
        ' class="pg_next">다음</a>'
        if next_page
        else ""
    )
    return _legacy_page("자유게시판", f"<table>{rows}</table>{pages}")


def legacy_routes() -> dict[str, Route]:
    sky = q(SKY_KEYWORD, "euc-kr")
    listing = "/bbs/board.php?bo_table=free&sfl=wr_subject&stx="
    post = "/bbs/board.php?bo_table=free&wr_id={n}&sfl=wr_subject&stx=" + sky
    return {
        "/bbs/search.php": _legacy_page(
            "검색",
            # A login form first: the search form is the one with the query field.
            '<form name="flogin" action="/bbs/login.php" method="post">'
            '<input name="mb_id"><input type="password" name="mb_password"></form>'
            '<form name="fsearch" action="/bbs/board.php" method="get">'
            '<input type="hidden" name="bo_table" value="free">'
            '<select name="sfl"><option value="wr_subject" selected>제목</option></select>'
            '<input name="stx" value=""><button type="submit">검색</button></form>',
        ),
        listing + sky: _legacy_list(SKY_KEYWORD, [11, 12], next_page=2),
        f"{listing}{sky}&page=2": _legacy_list(SKY_KEYWORD, [13]),
        listing + q(MOON_KEYWORD, "euc-kr"): _legacy_page("자유게시판", "검색 결과가 없습니다."),
        post.format(n=11): _legacy_page("글", '<img src="/data/file/free/11.jpg">'),
        post.format(n=12): _legacy_page("글", '<img src="/data/file/free/12.jpg">'),
        post.format(n=13): _legacy_page("글", '<img src="/data/file/free/13.jpg">'),
        **{path: _jpeg(photo, quality=70, scale=0.7) for path, photo in LEGACY_MEDIA.items()},
    }


def legacy_site_file(name: str, base_url: str) -> str:
    return (
        f'name = "{name}"\nstart_urls = ["{base_url}/bbs/"]\nallow_private_network = true\n'
        "[follow]\nallow = ['wr_id=\\d+']\n"
        f'[search]\nform_url = "{base_url}/bbs/search.php"\nfield = "stx"\n'
        'next_page = "a.pg_next"\n'
    )
