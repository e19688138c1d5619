"""Which Referer the sites a crawl reaches see: a page's URL goes to its own origin only.

A real crawl through the console script of a page on one port whose media lives on another
(a third-party CDN, as far as origins go), both served on 127.0.0.1.
"""

from __future__ import annotations

from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from tests.support.cli_runner import migrated_environment, repostwatch

JPEG = "image/jpeg"


def _crawl(tmp_path, site: LocalSite, cdn: LocalSite, more: str = "") -> None:
    """Crawl ``site`` through the console script; ``cdn`` is another origin it may reach."""
    env = migrated_environment(tmp_path)
    sites_dir = tmp_path / "sites"
    (sites_dir / "pages.toml").write_text(
        f'name = "pages"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        f'private_hosts = ["127.0.0.1:{cdn.port}"]\n{more}'  # the "CDN": another origin
    )
    repostwatch("crawl", "pages", env=env, cwd=tmp_path)


def test_media_on_another_origin_gets_no_referer(tmp_path):
    photo = Route(samples.reencoded_jpeg("camera", quality=70, scale=0.25), JPEG)
    with LocalSite({"/cdn/1.jpg": photo, "/cdn/2.jpg": photo}) as cdn:
        routes = {
            "/": html(
                f'<img src="{cdn.url}/cdn/1.jpg"><img src="/own.jpg"><a href="/next">next</a>'
            ),
            "/next": html(f'<img src="{cdn.url}/cdn/2.jpg">'),
            "/own.jpg": photo,
        }
        with LocalSite(routes) as site:
            _crawl(tmp_path, site, cdn)
    # The other origin was asked for both photos, and told nothing of the pages.
    assert {path: cdn.referers[path] for path in ("/cdn/1.jpg", "/cdn/2.jpg")} == {
        "/cdn/1.jpg": None,
        "/cdn/2.jpg": None,
    }
    # The site's own requests still carry its pages, as a browser's would (hotlink checks).
    assert site.referers["/own.jpg"] == f"{site.url}/"
    assert site.referers["/next"] == f"{site.url}/"


def test_same_origin_referer():
    from crawler.network import same_origin_referer

    page = "https://board.example/view?id=1"
    assert same_origin_referer(page, "https://board.example/img/1.jpg") == {"Referer": page}
    for other in (
        "https://cdn.example/img/1.jpg",
        "http://board.example/img/1.jpg",  # another scheme
        "https://board.example:8443/img/1.jpg",  # another port
        "https://board.example:x/img/1.jpg",  # not a port at all
    ):
        assert same_origin_referer(page, other) == {}, other
    assert same_origin_referer("", "https://board.example/img/1.jpg") == {}  # a search's page


def test_a_rendered_page_sends_no_referer_anywhere(tmp_path):
    """render = "browser": Chromium fetches the page's scripts and styles itself while it
    renders, and sends no Referer at all (a search's page URL names a victim), not even to its
    own origin. Pictures are still fetched by the pipeline (the browser does not load them)."""
    photo = Route(samples.reencoded_jpeg("camera", quality=70, scale=0.25), JPEG)
    script = Route(b"document.title = 'rendered';", "text/javascript")
    with LocalSite({"/cdn/player.js": script, "/cdn/1.jpg": photo}) as cdn:
        routes = {
            "/": html(
                f'<script src="{cdn.url}/cdn/player.js"></script><script src="/own.js"></script>'
                f'<img src="{cdn.url}/cdn/1.jpg"><img src="/own.jpg">'
            ),
            "/own.js": script,
            "/own.jpg": photo,
        }
        with LocalSite(routes) as site:
            _crawl(tmp_path, site, cdn, 'render = "browser"\n')
    # Chromium asked the "CDN" for the script, the pipeline for the photo: neither said whence.
    assert sorted(path for path, _ in cdn.all_referers) == [
        "/cdn/1.jpg",
        "/cdn/player.js",
        "/robots.txt",
    ]
    assert {ref for _, ref in cdn.all_referers} == {None}
    # On its own origin Chromium names nothing either; the pipeline names the page (hotlinks).
    assert site.referers["/own.js"] is None
    assert site.referers["/own.jpg"] == f"{site.url}/"
