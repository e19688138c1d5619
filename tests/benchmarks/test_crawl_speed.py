"""The crawl-speed benchmark's site: every file distinct, about 2 megapixels, each linked once."""

from __future__ import annotations

import hashlib
import io
import re

from PIL import Image

from benchmarks import crawl_speed


def test_the_files_are_distinct_two_megapixel_jpegs_none_of_them_a_reference():
    files = crawl_speed.two_megapixel_jpegs(20)
    assert len({hashlib.sha256(body).digest() for body in files}) == 20
    for body in files:
        with Image.open(io.BytesIO(body)) as image:
            assert image.format == "JPEG"
            assert 1.8e6 <= image.width * image.height <= 2.1e6


def test_the_site_links_every_image_once_through_a_chain_of_pages():
    routes = crawl_speed.routes([b"x"] * 25, per_page=10)
    pages = [path for path in routes if path.startswith("/list/")]
    assert pages == ["/list/0", "/list/1", "/list/2"]
    shown = [
        src for page in pages for src in re.findall(r'src="([^"]+)"', routes[page].body.decode())
    ]
    assert sorted(shown) == sorted(f"/img/{i}.jpg" for i in range(25))
    assert 'href="/list/1"' in routes["/list/0"].body.decode()
    assert "href" not in routes["/list/2"].body.decode()
