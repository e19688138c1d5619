"""A repost site that only works with JavaScript, served on 127.0.0.1 for the browser tests.

* ``/``: the gallery's ``<img>`` elements are built by a script from ``/api/photos.json`` after
  a delay; a script sets a CSS background image and preloads another image (both only visible in
  the browser's network traffic, never in the DOM's markup; their URLs come from the API too, so
  no reading of the page's scripts finds them); a web font and a "tracker" script on another
  host must never load.
* ``/scroll``: infinite scroll; three more batches of photos are appended as you scroll down
  (the first photo is named in the page's script: an HTML crawl finds that one).
* ``/gate``: an age gate, drawn by a script after a delay; its button sets a cookie and reloads,
  and only then are photos shown.
* ``/stuck``: a page that never gets ready (its ``wait_for`` times out; it is read as it is).
* ``/missing`` (404) and a link to a port where nothing listens: pages that fail.

Some photos are copies of the references the tests register; the rest are unrelated.
"""

from __future__ import annotations

import json
import threading
from functools import cache

from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html

CASE = "case-js"
REFERENCES = ("astronaut", "coffee", "chelsea", "rocket")

#: media path -> (sample photo, is a copy of a reference). Every one is fetched by the crawl.
MEDIA: dict[str, tuple[str, bool]] = {
    "/img/js/a.jpg": ("astronaut", True),  # built by the gallery script
    "/img/js/b.jpg": ("camera", False),
    "/img/bg/wall.jpg": ("coffee", True),  # CSS background set by script: in the rendered DOM
    "/img/preload/next.jpg": ("moon", False),  # new Image().src: network only
    "/img/s/0.jpg": ("coins", False),  # /scroll, before any scrolling
    "/img/s/1.jpg": ("hubble", False),  # after the 1st scroll
    "/img/s/2.jpg": ("chelsea", True),  # after the 2nd
    "/img/s/3.jpg": ("rocket", True),  # after the 3rd
    "/img/g/behind.jpg": ("rocket", True),  # behind the age gate
    "/img/g/other.jpg": ("motorcycle", False),
}
REPOSTS = {path for path, (_, copy) in MEDIA.items() if copy}
#: Requests the browser must never make (blocked resource type, blocked host).
NEVER_REQUESTED = {"/fonts/site.woff2", "/ads/tracker.js"}
#: The pages that render (the two failing ones are not counted).
PAGES = {"/", "/scroll", "/gate", "/stuck"}

_HEAD = """<style>
@font-face { font-family: SiteFont; src: url(/fonts/site.woff2) format("woff2"); }
body { font-family: SiteFont, sans-serif; margin: 0; }
img { display: block; width: 600px; height: 900px; }
#wall { width: 300px; height: 200px; background-size: cover; }
</style>"""


def _page(title: str, body: str, script: str) -> Route:
    return html(
        f"<!doctype html><html><head><title>{title}</title>{_HEAD}</head>"
        f"<body><main>{body}</main><script>{script}</script></body></html>"
    )


_READY = "document.querySelector('main').dataset.ready = '1';"
_SHOW = """
function show(urls) {
  const box = document.getElementById('gallery');
  for (const url of urls) { const img = document.createElement('img'); img.src = url;
    box.appendChild(img); }
}"""

_INDEX_SCRIPT = (
    _SHOW
    + """
setTimeout(async () => {
  const photos = await (await fetch('/api/photos.json')).json();
  show(photos.gallery);
  document.getElementById('wall').style.backgroundImage = 'url(' + photos.wall + ')';
  new Image().src = photos.preload;
  const tracker = document.createElement('script');
  tracker.src = 'http://localhost:' + location.port + '/ads/tracker.js';
  document.head.appendChild(tracker);
  """
    + _READY
    + """
}, 300);"""
)

_SCROLL_SCRIPT = (
    _SHOW
    + """
let batch = 0, loading = false;
window.addEventListener('scroll', async () => {
  const bottom = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 50;
  if (!bottom || loading || batch >= 3) return;
  loading = true; batch += 1;
  show(await (await fetch('/api/more?page=' + batch)).json());
  loading = false;
});
show(['/img/s/0.jpg']);
"""
    + _READY
)

_GATE_SCRIPT = (
    _SHOW
    + """
if (document.cookie.includes('adult=1')) {
  fetch('/api/gate.json').then(r => r.json()).then(urls => { show(urls); """
    + _READY
    + """ });
} else {
  setTimeout(() => {  // the gate is drawn late, as the gallery would be
    const gate = document.createElement('div'); gate.id = 'gate';
    gate.innerHTML = '<p>Adults only</p><button>I am 18 or older</button>';
    document.querySelector('main').prepend(gate);
    gate.querySelector('button').addEventListener('click', () => {
      document.cookie = 'adult=1; path=/'; location.reload();
    });
  }, 400);
}"""
)


def _json(value: object) -> Route:
    return Route(json.dumps(value).encode(), "application/json")


@cache
def _media_routes() -> dict[str, Route]:
    return {
        path: Route(samples.reencoded_jpeg(photo, quality=80, scale=0.5), "image/jpeg")
        for path, (photo, _) in MEDIA.items()
    }


def routes(dead_url: str) -> dict[str, Route]:
    """The site's routes; ``dead_url`` is a page link where nothing answers."""
    nav = (
        '<nav><a href="/scroll">more</a> <a href="/gate">members</a> <a href="/stuck">new</a> '
        f'<a href="/missing">old</a> <a href="{dead_url}">mirror</a></nav>'
    )
    return {
        "/": _page(
            "JS gallery", nav + '<div id="gallery"></div><div id="wall"></div>', _INDEX_SCRIPT
        ),
        "/scroll": _page("Endless", nav + '<div id="gallery"></div>', _SCROLL_SCRIPT),
        "/gate": _page("Members", nav + '<div id="gallery"></div>', _GATE_SCRIPT),
        "/stuck": _page("Coming soon", "<p>Uploads are being processed.</p>", ""),
        "/api/photos.json": _json(
            {
                "gallery": ["/img/js/a.jpg", "/img/js/b.jpg"],
                "wall": "/img/bg/wall.jpg",
                "preload": "/img/preload/next.jpg",
            }
        ),
        "/api/more?page=1": _json(["/img/s/1.jpg"]),
        "/api/more?page=2": _json(["/img/s/2.jpg"]),
        "/api/more?page=3": _json(["/img/s/3.jpg"]),
        "/api/gate.json": _json(["/img/g/behind.jpg", "/img/g/other.jpg"]),
        "/fonts/site.woff2": Route(b"wOF2" + bytes(64), "font/woff2"),
        "/ads/tracker.js": Route(b"console.log('tracked')", "text/javascript"),
        **_media_routes(),
    }


def site_file(name: str, base_url: str, *, render: str = "browser", browser: str = "") -> str:
    """TOML for a site file crawling this site at ``base_url``."""
    lines = [
        f'name = "{name}"',
        f'start_urls = ["{base_url}/"]',
        "allow_private_network = true",
        f'render = "{render}"',
        "[follow]",
        "max_depth = 2",
    ]
    if render == "browser":
        lines += [
            "[browser]",
            "wait_for = 'main[data-ready]'",
            "wait_timeout = 5.0",  # the gate is drawn after 0.4 s, later on a loaded machine
            "scroll = 6",
            "scroll_pause = 0.3",
            "click = ['#gate button', '.consent-accept']",
            'block_hosts = ["localhost"]',
            browser,
        ]
    return "\n".join(lines) + "\n"


class RecordingSite(LocalSite):
    """A LocalSite that also tells the browser's requests from Scrapy's.

    ``fetches`` lists ``(path, by_browser)``: Chromium sends ``Sec-Fetch-*`` headers with its
    subresource requests, Scrapy's HTTP client never does.
    """

    def __init__(self, routes: dict[str, Route], port: int = 0):
        super().__init__(routes, port)
        self.fetches: list[tuple[str, bool]] = []
        lock = threading.Lock()
        site = self
        base = self.server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                with lock:
                    site.fetches.append((self.path, "Sec-Fetch-Dest" in self.headers))
                super().do_GET()

        self.server.RequestHandlerClass = Handler

    def fetched_by_scrapy(self) -> list[str]:
        return [path for path, by_browser in self.fetches if not by_browser]

    def fetched_by_browser(self) -> list[str]:
        return [path for path, by_browser in self.fetches if by_browser]
