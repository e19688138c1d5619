"""Gallery software's own markup (tests/sites/galleries.py): exactly the full sizes are flagged.

Issue #14: Galleria keeps its pictures in a script, PhotoSwipe and lightbox plugins in link and
data attributes, Next.js in ``__NEXT_DATA__``, Jetpack in ``data-orig-file``. One crawl of the
four pages must fetch and hash each picture's full size once (a video shown only in a Galleria
layer too) and no thumbnail or intermediate size, ask nothing with HEAD (every page said what
its links are), and flag exactly the copies of the references.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from tests.sites import galleries
from tests.support.cli_runner import flags_json, migrated_environment, repostwatch


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_gallery_software_markup_flags_exactly_the_full_size_copies(database_url, tmp_path):
    env = migrated_environment(tmp_path, database_url)
    sites_dir = tmp_path / "sites"
    video = tmp_path / "reference.webm"
    video.write_bytes(galleries.reference_video())
    photos = [samples.photo_path(name) for name in galleries.REFERENCES]
    repostwatch("refs", "add", "--case", galleries.CASE, *photos, video, env=env, cwd=tmp_path)

    with LocalSite(galleries.routes()) as site:
        # The site lives in the database (sites import); a stale site file of the same name in
        # REPOSTWATCH_SITES_DIR, pointing nowhere, is not read once the database holds sites.
        incoming = tmp_path / "galleries.toml"
        incoming.write_text(galleries.site_file("galleries", site.url))
        repostwatch("sites", "import", incoming, env=env, cwd=tmp_path)
        (sites_dir / "galleries.toml").write_text(
            galleries.site_file("galleries", "http://127.0.0.1:9")
        )
        repostwatch("crawl", "galleries", env=env, cwd=tmp_path)
        exchanges = list(site.exchanges)

    gets = [path for method, path, _ in exchanges if method == "GET"]
    assert sorted(path for path in gets if path not in galleries.PAGES) == sorted(
        ["/robots.txt", *galleries.HASHED]
    )
    assert galleries.THUMBNAILS.isdisjoint(gets)
    assert sorted(path for path in gets if path in galleries.PAGES) == sorted(galleries.PAGES)
    assert [path for method, path, _ in exchanges if method != "GET"] == []  # no HEAD probes

    flags = flags_json(env, tmp_path)
    assert {urlsplit(f["media_url"]).path for f in flags} == galleries.FLAGGED
    assert all(f["case"] == galleries.CASE for f in flags)
    by_path = {urlsplit(f["media_url"]).path: f for f in flags}
    assert by_path["/galleria/big/astronaut.jpg"]["variant"] == "flipx"
    assert urlsplit(by_path[galleries.VIDEO]["page_url"]).path == "/galleria/"

    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="galleries")
    engine.dispose()
    stats = json.loads(run.stats)
    sources = {
        key.removeprefix("repostwatch/media/source/"): value
        for key, value in stats.items()
        if key.startswith("repostwatch/media/source/")
    }
    assert sources == {
        "script": 3,  # Galleria: big, the camera's image, the coffee image
        "html_in_string": 1,  # Galleria's layer video
        "markup": 3,  # PhotoSwipe's link, next/image's original, the lightbox plugin's link
        "data_attribute": 2,  # data-pswp-src, data-orig-file
        "json": 1,  # the photo only in __NEXT_DATA__
    }
    # Smaller copies left out: Galleria's 4 (3 thumbs and the display size below "big"),
    # PhotoSwipe's 2, next/image's and __NEXT_DATA__'s 2, WordPress's 4 (the thumbnails shown,
    # the data-large-file sizes named).
    assert stats["repostwatch/full_size/named"] == 4 + 2 + 2 + 4
    assert stats["repostwatch/media/hashed"] == len(galleries.HASHED)
