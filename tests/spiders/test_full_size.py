"""Thumbnails linked to extension-less URLs: one HEAD per kind of link, then the crawl knows."""

from __future__ import annotations

import json

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from spiders.full_size import link_kind, replace_thumbnails
from tests.support.cli_runner import repostwatch

JPEG = "image/jpeg"


def test_links_of_one_kind_differ_only_in_numbers():
    assert link_kind("http://b.example/file/123") == link_kind("http://B.example/file/9")
    assert link_kind("http://b.example/view.php?no=7&t=a") == "b.example/view.php?no&t"
    assert link_kind("http://b.example/view.php?t=b&no=8") == "b.example/view.php?no&t"
    assert link_kind("http://b.example/i/aB3x") == "b.example/i/*"
    assert link_kind("http://b.example/gallery/cats") != link_kind("http://b.example/gallery/dogs")
    assert link_kind("http://b.example/file/1") != link_kind("http://cdn.example/file/1")


def test_thumbnails_are_replaced_in_place_by_their_link():
    media = ["/a.jpg", "/t/1.jpg", "/b.jpg", "/t/2.jpg", "/t/2@2x.jpg"]
    linked = [("/file/1", ["/t/1.jpg"]), ("/file/2", ["/t/2.jpg", "/t/2@2x.jpg"])]
    assert replace_thumbnails(media, linked) == (
        ["/a.jpg", "/file/1", "/b.jpg", "/file/2"],
        3,
    )


def _board() -> dict[str, Route]:
    photos = {101: "astronaut", 102: "coffee", 103: "rocket", 7: "camera", 8: "coins"}
    routes = {
        "/": html(
            '<a href="/file/101"><img src="/t/101.jpg"></a>'
            '<a href="/file/102"><img src="/t/102.jpg"></a>'
            '<a href="/view.php?no=7"><img src="/t/7.jpg"></a>'
            '<a href="/view.php?no=8"><img src="/t/8.jpg"></a>'
            '<a href="/list?page=2">next</a>'
        ),
        "/list?page=2": html('<a href="/file/103"><img src="/t/103.jpg"></a><a href="/">1</a>'),
        "/view.php?no=7": html("<p>a post</p>"),
        "/view.php?no=8": html("<p>another post</p>"),
    }
    for number, name in photos.items():
        routes[f"/t/{number}.jpg"] = Route(samples.reencoded_jpeg(name, scale=0.2), JPEG)
        if number > 100:  # the full-size files, served without an extension
            routes[f"/file/{number}"] = Route(samples.reencoded_jpeg(name, quality=85), JPEG)
    return routes


def test_extensionless_full_size_links_are_learned_and_hashed_instead_of_thumbnails(tmp_path):
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    database_url = f"sqlite:///{tmp_path}/board.db"
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    with LocalSite(_board()) as site:
        (sites_dir / "board.toml").write_text(
            f'name = "board"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        )
        repostwatch("crawl", "board", env=env, cwd=tmp_path)
        exchanges = list(site.exchanges)

    heads = [path for method, path, _ in exchanges if method == "HEAD"]
    gets = sorted(path for method, path, _ in exchanges if method == "GET")
    # One question per kind of link: /file/N are media files, /view.php?no=N are pages.
    assert len(heads) == 2
    assert {path.split("?")[0].rstrip("0123456789") for path in heads} == {"/file/", "/view.php"}
    assert gets == sorted(
        [
            "/robots.txt",
            "/",
            "/list?page=2",
            "/view.php?no=7",
            "/view.php?no=8",
            # Hashed: the full-size files (each fetched once, never as a page), and the
            # thumbnails of links to pages.
            "/file/101",
            "/file/102",
            "/file/103",
            "/t/7.jpg",
            "/t/8.jpg",
        ]
    )

    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="board")
        stats = json.loads(run.stats)
    engine.dispose()
    assert stats["repostwatch/full_size/probes"] == 2
    assert stats["repostwatch/full_size/media_links"] == 1
    assert stats["repostwatch/full_size/page_links"] == 1
    assert stats["repostwatch/full_size/replaced"] == 3
    assert stats["repostwatch/media/hashed"] == 5
    assert run.pages == 4
