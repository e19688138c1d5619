"""A site full of crawler traps, served on 127.0.0.1 for the end-to-end tests.

From ``/start``: a calendar whose every month links the next, relative links that keep nesting, a
listing whose every page links a new sort order, a chain of pages deeper than the crawl may go, a
link too long to follow and a page that is gone (404); and what must *not* look like a trap: a
board of 20 posts by ``?wr_id=N`` and 8 WordPress posts under ``/2026/MM/slug/``. Each trap
ends after its limit (:data:`SITE_FILE_FOLLOW`) with exactly one refused link; the media of the
pages behind the refused links is never fetched. The media files are the gallery's
(:mod:`tests.sites.gallery`).
"""

from __future__ import annotations

from itertools import pairwise

from crawler.demo.localsite import Route, html
from tests.sites import gallery

#: The [follow] table of the trap site's site file: the limits the counts below come from.
SITE_FILE_FOLLOW = (
    "[follow]\nmax_depth = 6\nmax_pages = 400\nmax_url_length = 100\nmax_query_variants = 3\n"
    "max_calendar_pages = 5\nmax_repeated_segments = 3\n"
)
BOARD_POSTS = 20
WORDPRESS_POSTS = 8
#: Each trap is refused exactly once: at the link after its last allowed page.
REFUSED = {
    "calendar": 1,  # /calendar/2026/06/, after 5 months
    "repeated_segments": 1,  # /nest/more/more/more/more/
    "query_variants": 1,  # /list?sort=s4, after 3 sort orders
    "max_depth": 1,  # /deep/7, 7 links away from /start
    "url_too_long": 1,  # /long/xxx...
}
#: /start, 5 months, 4 nested pages, 3 sort orders, 6 deep pages, the posts (not the 404).
PAGES = 1 + 5 + 4 + 3 + 6 + BOARD_POSTS + WORDPRESS_POSTS
#: Media fetched and hashed: unrelated photos and three reposts of the gallery case.
HASHED = {
    "/img/p/camera.jpg",  # /start
    "/img/p/moon.jpg",  # calendar months
    "/img/p/hubble.jpg",  # sort orders
    "/img/p/coins.jpg",  # board posts 1-19
    "/img/uploads/x1.jpg",  # board post 20: past the old limit of 3 query variants
    "/img/e/padded.jpg",  # WordPress post 8: past the old limit of 5 calendar pages
    "/img/e/mirror.jpg",  # /deep/6, the deepest page followed
}
FLAGGED = {"/img/uploads/x1.jpg", "/img/e/padded.jpg", "/img/e/mirror.jpg"}
#: Reposts on pages behind refused links: never fetched.
NEVER_FETCHED = {"/img/e/cropped.jpg", "/img/e/turned.jpg"}


def _page(links: list[str], media: str | None = None) -> Route:
    anchors = "".join(f'<a href="{href}">link</a>' for href in links)
    image = f'<img src="{media}">' if media else ""
    return html(f"<!doctype html><html><body>{anchors}{image}</body></html>")


def routes() -> dict[str, Route]:
    months = [f"/calendar/2026/{month:02d}/" for month in range(1, 8)]
    board = [f"/board.php?bo_table=free&wr_id={n}" for n in range(1, BOARD_POSTS + 1)]
    wordpress = [f"/2026/{n:02d}/post-{n}/" for n in range(1, WORDPRESS_POSTS + 1)]
    traps = [months[0], "/nest/", "/list?sort=s1", "/deep/1", "/long/" + "x" * 100, "/gone"]
    pages = {
        "/start": _page([*traps, *board, *wordpress], "/img/p/camera.jpg"),
        **{
            month: _page(
                [next_month], "/img/e/cropped.jpg" if "/06/" in month else "/img/p/moon.jpg"
            )
            for month, next_month in pairwise(months)
        },
        **{"/nest/" + "more/" * n: _page(["more/"]) for n in range(6)},
        **{
            f"/list?sort=s{n}": _page([f"/list?sort=s{n + 1}"], "/img/p/hubble.jpg")
            for n in range(1, 6)
        },
        **{f"/deep/{n}": _page([f"/deep/{n + 1}"]) for n in range(1, 6)},
        "/deep/6": _page(["/deep/7"], "/img/e/mirror.jpg"),
        "/deep/7": _page(["/deep/8"], "/img/e/turned.jpg"),
        **{
            post: _page([], "/img/uploads/x1.jpg" if post == board[-1] else "/img/p/coins.jpg")
            for post in board
        },
        **{
            post: _page([], "/img/e/padded.jpg" if post == wordpress[-1] else None)
            for post in wordpress
        },
    }
    media = {path: route for path, route in gallery.routes().items() if path.startswith("/img/")}
    return {**media, "/robots.txt": Route(b"User-agent: *\nAllow: /\n", "text/plain"), **pages}


def site_file(base_url: str) -> str:
    return (
        f'name = "trap"\nstart_urls = ["{base_url}/start"]\nallow_private_network = true\n'
        + SITE_FILE_FOLLOW
    )
