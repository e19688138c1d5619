"""Gallery software's own markup, served on 127.0.0.1: one page per library, as each writes it.

* ``/galleria/``: Galleria's ``var data = [...]`` of ``thumb``/``image``/``big`` records and a
  ``layer`` holding a ``<video>``, run by ``Galleria.run('.galleria', {dataSource: data})``. The
  page has no ``<img>`` at all: only a script puts the pictures on it.
* ``/photoswipe/``: PhotoSwipe 5's ``<a href=full data-pswp-width data-pswp-height><img
  src=thumb></a>``, one item naming its full size by ``data-pswp-src`` instead (its link is a
  page), and the lightbox's module script.
* ``/next/``: a Next.js page: ``next/image``'s ``<img srcset="/_next/image?url=...&w=...">`` and
  ``<script id="__NEXT_DATA__" type="application/json">`` with the page's photos, one of them only
  there (shown after a click, as a client-side gallery does).
* ``/wordpress/``: a Jetpack tiled gallery (thumbnails linked to attachment pages, the original
  upload named by ``data-orig-file``) and a lightbox plugin's ``data-rel="lightbox-gallery-1"``
  link to the ``-scaled.jpg`` full size.

Thumbnails are centre-cropped squares or resized copies of the full sizes, and every size is
served: a crawl that fetched one would show it among the requests. Some full sizes are copies of
the case's references (one mirrored, a video); the rest are unrelated photos.
"""

from __future__ import annotations

import json
from functools import cache

from PIL import ImageOps

from crawler.demo import samples
from crawler.demo.localsite import Route, html
from tests.support import videos

CASE = "case-galleries"
REFERENCES = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle")
#: The case's reference video, and the copy the Galleria page shows in a layer.
REFERENCE_VIDEO_PHOTOS = ("retina", "rocket")

UPLOADS = "/wp-content/uploads/2026"
#: Full-size file -> (sample photo, is a copy of a reference). What the crawl must fetch, once.
FULL_SIZE: dict[str, tuple[str, bool]] = {
    "/galleria/big/astronaut.jpg": ("astronaut", True),  # mirrored
    "/galleria/images/camera.jpg": ("camera", False),  # no big size: the image is the full size
    "/galleria/images/coffee.jpg": ("coffee", True),  # no thumbnail at all
    "/photoswipe/full/chelsea.jpg": ("chelsea", True),
    "/photoswipe/full/coins.jpg": ("coins", False),  # named by data-pswp-src
    "/uploads/rocket.jpg": ("rocket", True),  # next/image's original
    "/uploads/moon.jpg": ("moon", False),  # only in __NEXT_DATA__
    f"{UPLOADS}/11/moto.jpg": ("motorcycle", True),  # Jetpack's data-orig-file
    f"{UPLOADS}/10/hubble-scaled.jpg": ("hubble", False),  # lightbox plugin
}
VIDEO = "/galleria/video/clip.webm"
HASHED = {*FULL_SIZE, VIDEO}
FLAGGED = {path for path, (_, copy) in FULL_SIZE.items() if copy} | {VIDEO}
#: Smaller copies the pages show or name: served, never to be fetched.
THUMBNAILS = {
    "/galleria/thumbnails/astronaut.jpg",
    "/galleria/images/astronaut.jpg",  # Galleria's display size, below "big"
    "/galleria/thumbnails/camera.jpg",
    "/galleria/thumbnails/clip.jpg",
    "/photoswipe/thumb/chelsea.jpg",
    "/photoswipe/thumb/coins.jpg",
    "/_next/image?url=%2Fuploads%2Frocket.jpg&w=640&q=75",
    "/_next/image?url=%2Fuploads%2Frocket.jpg&w=1080&q=75",
    "/uploads/moon-thumb.jpg",
    f"{UPLOADS}/11/moto-300x200.jpg",
    f"{UPLOADS}/11/moto-1024x683.jpg",
    f"{UPLOADS}/10/hubble-300x200.jpg",
    f"{UPLOADS}/10/hubble-1024x683.jpg",
}
PAGES = ("/", "/galleria/", "/photoswipe/", "/next/", "/wordpress/")

_GALLERIA_DATA = """
  var data = [
    {
      thumb: 'thumbnails/astronaut.jpg',
      image: 'images/astronaut.jpg',
      big: 'big/astronaut.jpg',
      title: 'Spacewalk',
      description: 'Mirrored'
    },
    { thumb: 'thumbnails/camera.jpg', image: 'images/camera.jpg', title: 'Camera' },
    {
      thumb: 'thumbnails/clip.jpg',
      title: 'Clip',
      layer: "<video controls width='320'><source src='video/clip.webm' type='video/webm'></video>"
    },
    { image: 'images/coffee.jpg', title: 'Coffee' }
  ];
"""

_NEXT_DATA = {
    "props": {
        "pageProps": {
            "album": {
                "title": "Trip",
                "photos": [
                    {"id": 1, "src": "/uploads/rocket.jpg", "width": 1024, "height": 683},
                    {
                        "id": 2,
                        "src": "/uploads/moon.jpg",
                        "thumbnail": "/uploads/moon-thumb.jpg",
                        "width": 512,
                        "height": 512,
                    },
                ],
            }
        },
        "__N_SSG": True,
    },
    "page": "/albums/[id]",
    "query": {"id": "trip"},
    "buildId": "b1Xk2aJq",
    "isFallback": False,
    "gsp": True,
    "scriptLoader": [],
}


def _page(title: str, body: str, head: str = "") -> Route:
    return html(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body>{body}</body></html>"
    )


def _galleria() -> Route:
    return _page(
        "Galleria",
        '<div class="galleria" style="width: 100%; height: 480px"></div>'
        '<script src="https://cdnjs.example/ajax/libs/galleria/1.6.1/galleria.min.js"></script>'
        f"<script>{_GALLERIA_DATA}"
        "  Galleria.loadTheme('https://cdnjs.example/galleria/1.6.1/themes/classic/"
        "galleria.classic.min.js');\n"
        "  Galleria.run('.galleria', { dataSource: data, lightbox: true });\n</script>",
        head='<link rel="stylesheet" href="https://cdnjs.example/galleria/1.6.1/themes/classic/'
        'galleria.classic.min.css">',
    )


def _photoswipe() -> Route:
    return _page(
        "PhotoSwipe",
        '<div class="pswp-gallery pswp-gallery--single-column" id="gallery--getting-started">'
        '<a href="/photoswipe/full/chelsea.jpg" data-pswp-width="451" data-pswp-height="300"'
        ' target="_blank"><img src="/photoswipe/thumb/chelsea.jpg" alt=""></a>'
        '<a href="/photos/2" data-pswp-src="/photoswipe/full/coins.jpg" data-pswp-width="384"'
        ' data-pswp-height="303" target="_blank"><img src="/photoswipe/thumb/coins.jpg" alt="">'
        "</a></div>"
        '<script type="module">\n'
        "import PhotoSwipeLightbox from '/photoswipe/photoswipe-lightbox.esm.js';\n"
        "const lightbox = new PhotoSwipeLightbox({\n"
        "  gallery: '#gallery--getting-started',\n  children: 'a',\n"
        "  pswpModule: () => import('/photoswipe/photoswipe.esm.js')\n});\n"
        "lightbox.init();\n</script>",
        head='<link rel="stylesheet" href="/photoswipe/photoswipe.css">',
    )


def _next() -> Route:
    image = "/_next/image?url=%2Fuploads%2Frocket.jpg&amp;"
    return _page(
        "Trip",
        '<div id="__next"><main><h1>Trip</h1>'
        f'<img alt="Rocket" loading="lazy" width="640" height="427" decoding="async"'
        ' data-nimg="1" style="color:transparent"'
        f' srcset="{image}w=640&amp;q=75 1x, {image}w=1080&amp;q=75 2x"'
        f' src="{image}w=1080&amp;q=75">'
        '<button type="button">More photos</button></main></div>'
        '<script id="__NEXT_DATA__" type="application/json">'
        f"{json.dumps(_NEXT_DATA, separators=(',', ':'))}</script>",
        head='<script src="/_next/static/chunks/webpack-9b0.js" defer=""></script>',
    )


def _jetpack_image(upload: str, attachment_id: int) -> str:
    stem = upload.removesuffix(".jpg")
    return (
        f'<img data-attachment-id="{attachment_id}" data-permalink="/2026/11/post/{attachment_id}/"'
        f' data-orig-file="{upload}" data-orig-size="1024,683" data-comments-opened="1"'
        ' data-image-meta="{&quot;aperture&quot;:&quot;0&quot;,&quot;credit&quot;:&quot;&quot;,'
        '&quot;camera&quot;:&quot;&quot;,&quot;orientation&quot;:&quot;0&quot;}"'
        f' data-image-title="{attachment_id}" data-image-description=""'
        f' data-medium-file="{stem}-300x200.jpg" data-large-file="{stem}-1024x683.jpg"'
        f' width="300" height="200" src="{stem}-300x200.jpg"'
        f' srcset="{stem}-300x200.jpg 300w, {stem}-1024x683.jpg 1024w"'
        f' sizes="(max-width: 300px) 100vw, 300px" class="wp-image-{attachment_id}" alt="">'
    )


def _wordpress() -> Route:
    moto, hubble = f"{UPLOADS}/11/moto.jpg", f"{UPLOADS}/10/hubble-scaled.jpg"
    jetpack_hubble = _jetpack_image(hubble, 31).replace("hubble-scaled-", "hubble-")
    return _page(
        "Gallery - Repost Blog",
        '<div class="tiled-gallery type-rectangular" data-original-width="1024"'
        ' data-carousel-extra="{&quot;blog_id&quot;:1,&quot;permalink&quot;:'
        '&quot;/2026/11/post/&quot;}"><div class="gallery-row">'
        f'<div class="gallery-group"><div class="tiled-gallery-item">'
        f'<a href="/2026/11/post/30/" border="0">{_jetpack_image(moto, 30)}</a>'
        "</div></div></div></div>"
        # Responsive Lightbox & Gallery: the link to the full size, the same image markup.
        f'<figure class="wp-block-image"><a href="{hubble}" data-rel="lightbox-gallery-1"'
        f' title="hubble">{jetpack_hubble}</a></figure>',
        head='<meta name="generator" content="WordPress 6.6">',
    )


def _square(name: str, side: int = 150) -> bytes:
    return samples.encode(ImageOps.fit(samples.load_photo(name), (side, side)), "JPEG", quality=80)


def _resized(name: str, width: int) -> bytes:
    photo = samples.load_photo(name)
    return samples.encode(samples.resized(photo, min(1.0, width / photo.width)), "JPEG")


@cache
def reference_video() -> bytes:
    return videos.slideshow(REFERENCE_VIDEO_PHOTOS, "webm", seconds=2.0)


@cache
def _media() -> dict[str, bytes]:
    media = {
        path: samples.reencoded_jpeg(name, quality=85) for path, (name, _) in FULL_SIZE.items()
    }
    media["/galleria/big/astronaut.jpg"] = samples.encode(
        ImageOps.mirror(samples.load_photo("astronaut")), "JPEG", quality=85
    )
    media[VIDEO] = reference_video()
    for name in ("astronaut", "camera"):
        media[f"/galleria/thumbnails/{name}.jpg"] = _square(name)
    media["/galleria/images/astronaut.jpg"] = _resized("astronaut", 400)
    media["/galleria/thumbnails/clip.jpg"] = _square("retina")
    for name in ("chelsea", "coins"):
        media[f"/photoswipe/thumb/{name}.jpg"] = _square(name, 200)
    for width in (640, 1080):
        media[f"/_next/image?url=%2Fuploads%2Frocket.jpg&w={width}&q=75"] = _resized(
            "rocket", width
        )
    media["/uploads/moon-thumb.jpg"] = _square("moon")
    for upload, name in ((f"{UPLOADS}/11/moto", "motorcycle"), (f"{UPLOADS}/10/hubble", "hubble")):
        media[f"{upload}-300x200.jpg"] = _resized(name, 300)
        media[f"{upload}-1024x683.jpg"] = _resized(name, 1024)
    return media


def routes() -> dict[str, Route]:
    links = "".join(f'<li><a href="{page}">{page.strip("/")}</a></li>' for page in PAGES[1:])
    routes = {
        "/": _page("Galleries", f"<ul>{links}</ul>"),
        "/galleria/": _galleria(),
        "/photoswipe/": _photoswipe(),
        "/next/": _next(),
        "/wordpress/": _wordpress(),
        "/photos/2": _page("Coins", "<p>A photo page.</p>"),
    }
    for path, body in _media().items():
        kind = "video/webm" if path.endswith(".webm") else "image/jpeg"
        routes[path] = Route(body, kind)
    return routes


def site_file(name: str, base_url: str) -> str:
    """The gallery pages, nothing else (links to photo and attachment pages are not followed)."""
    return (
        f'name = "{name}"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        "[follow]\n"
        r"allow = ['/(galleria|photoswipe|next|wordpress)/$']"
        "\nmax_depth = 1\n"
    )
