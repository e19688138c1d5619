"""A gallery whose full-size pictures load only in its viewer, served on 127.0.0.1.

``/album/`` shows two thumbnails as lightbox2 marks them up (``<a data-lightbox>``), but their
links name no picture: clicking one opens the page's viewer, which asks ``/api/album.json``
for the album's items and ``/api/item/<id>.json`` for each item as it is shown; the item's
answer names its full-size file (a picture, or a video the viewer plays). "Next" (the
``.lb-next`` button, or the right arrow key) shows the next item and goes round to the first
after the last. So the album's six full sizes are named nowhere in the page: only a visitor
who opens the viewer and presses next sees them, one at a time.

``/slider/`` is a slider with no opener (Swiper-like): its ``.swiper-button-next`` shows the
next slide, loaded from ``/api/slide/<n>.json``, three slides in all.
"""

from __future__ import annotations

import json
from functools import cache

from crawler.demo import samples
from crawler.demo.localsite import Route, html

CASE = "case-viewer"
REFERENCES = ("astronaut", "coffee", "chelsea")

#: The album's items in viewer order: id -> (full-size path, sample photo, copy of a reference).
ALBUM: dict[str, tuple[str, str, bool]] = {
    "p1": ("/full/9f1/p1.jpg", "astronaut", True),
    "p2": ("/full/03c/p2.jpg", "camera", False),
    "p3": ("/full/7aa/p3.jpg", "coffee", True),
    "p4": ("/full/5e0/p4.jpg", "moon", False),
    "p5": ("/full/c21/p5.jpg", "coins", False),
    "p6": ("/full/e42/p6.jpg", "chelsea", True),
}
SLIDES = {
    "/slides/a.jpg": ("hubble", False),
    "/slides/b.jpg": ("rocket", False),
    "/slides/c.jpg": ("astronaut", True),
}
THUMBNAILS = {"/thumbs/p1.jpg": "astronaut", "/thumbs/p2.jpg": "camera"}
FULL_SIZE = {path for path, _, _ in ALBUM.values()} | set(SLIDES)
FLAGGED = {path for path, _, copy in ALBUM.values() if copy} | {
    path for path, (_, copy) in SLIDES.items() if copy
}

_ALBUM_SCRIPT = """
const viewer = document.getElementById('viewer'), shown = document.getElementById('shown');
let ids = null, at = 0;
async function show(i) {
  const item = await (await fetch('/api/item/' + ids[i] + '.json')).json();
  shown.src = item.src;
}
async function step() { at = (at + 1) % ids.length; await show(at); }
document.querySelectorAll('a[data-lightbox]').forEach((link, k) => {
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    ids = await (await fetch('/api/album.json')).json();
    at = k; viewer.hidden = false; await show(at);
  });
});
viewer.querySelector('.lb-next').addEventListener('click', step);
document.addEventListener('keydown', (event) => {
  if (!viewer.hidden && event.key === 'ArrowRight') step();
  if (event.key === 'Escape') viewer.hidden = true;
});
"""

_SLIDER_SCRIPT = """
const slide = document.getElementById('slide');
let at = 0;
async function show(n) {
  slide.src = (await (await fetch('/api/slide/' + n + '.json')).json()).src;
}
document.querySelector('.swiper-button-next').addEventListener('click', () => {
  at = (at + 1) % 3; show(at);
});
show(0);
"""


def _json(value: object) -> Route:
    return Route(json.dumps(value).encode(), "application/json")


def _page(title: str, body: str, script: str) -> Route:
    return html(
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body>{body}<script>{script}</script></body></html>"
    )


@cache
def _pictures() -> dict[str, Route]:
    files = {path: photo for path, photo, _ in ALBUM.values()}
    files |= {path: photo for path, (photo, _) in SLIDES.items()}
    routes = {
        path: Route(samples.reencoded_jpeg(photo, quality=85, scale=0.5), "image/jpeg")
        for path, photo in files.items()
    }
    for path, photo in THUMBNAILS.items():
        routes[path] = Route(samples.reencoded_jpeg(photo, quality=70, scale=0.15), "image/jpeg")
    return routes


def routes() -> dict[str, Route]:
    album = (
        '<h1>Album</h1><div class="album">'
        '<a href="#p1" data-lightbox="album"><img src="/thumbs/p1.jpg" alt=""></a>'
        '<a href="#p2" data-lightbox="album"><img src="/thumbs/p2.jpg" alt=""></a></div>'
        '<div id="viewer" hidden><img id="shown" alt="">'
        '<button class="lb-next">next</button></div>'
        '<p><a href="/slider/">slider</a></p>'
    )
    slider = (
        '<div class="swiper"><img id="slide" alt="">'
        '<button class="swiper-button-next">next</button></div>'
    )
    items = {f"/api/item/{key}.json": _json({"src": path}) for key, (path, _, _) in ALBUM.items()}
    slides = {f"/api/slide/{n}.json": _json({"src": path}) for n, path in enumerate(SLIDES)}
    return {
        "/album/": _page("Album", album, _ALBUM_SCRIPT),
        "/slider/": _page("Slider", slider, _SLIDER_SCRIPT),
        "/api/album.json": _json(list(ALBUM)),
        **items,
        **slides,
        **_pictures(),
    }


def site_file(name: str, base_url: str, browser: str = "") -> str:
    """TOML for a site file crawling the album (and the slider it links) at ``base_url``."""
    return (
        f'name = "{name}"\nstart_urls = ["{base_url}/album/"]\nallow_private_network = true\n'
        f'render = "browser"\n[follow]\nmax_depth = 1\n[browser]\nviewer_pause = 0.3\n'
        f"player_wait = 0\n{browser}\n"
    )
