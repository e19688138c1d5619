"""A WordPress-like blog served on 127.0.0.1: the markup WordPress and its plugins really write.

Block-editor image figures whose thumbnail links to the full-size upload (``photo.jpg`` beside
``photo-300x200.jpg`` and ``photo-1024x683.jpg``), a lazy-load plugin's ``data-lazy-src`` /
``data-lazy-srcset`` with a ``<noscript>`` fallback, a placeholder-``src`` lazy loader, a gallery
block (items linked to their files, and one linked to its attachment page), post thumbnails
linked to their posts, ``og:image`` and ``/page/2/`` pagination. Every size WordPress generates is
served, and each is the same photo: a crawl that fetched a thumbnail would flag it too.
"""

from __future__ import annotations

from crawler.demo import samples
from crawler.demo.localsite import Route, html

CASE = "case-wp"
REFERENCES = ("astronaut", "coffee", "chelsea", "rocket")

UPLOADS = "/wp-content/uploads"
#: upload (full-size path) -> (sample photo, the sizes WordPress made of it, as "WxH").
UPLOADED: dict[str, tuple[str, tuple[str, ...]]] = {
    f"{UPLOADS}/2026/11/photo.jpg": ("astronaut", ("150x150", "300x200", "1024x683")),
    f"{UPLOADS}/2026/10/cafe.jpg": ("coffee", ("300x200", "1024x683", "1536x1024")),
    f"{UPLOADS}/2026/10/moto.jpg": ("motorcycle", ()),
    f"{UPLOADS}/2026/09/cat.jpg": ("chelsea", ("150x150", "300x200", "1024x683")),
    f"{UPLOADS}/2026/09/camera.jpg": ("camera", ("150x150", "1024x683")),
    f"{UPLOADS}/2026/09/coins.jpg": ("coins", ("150x150", "1024x683")),
    f"{UPLOADS}/2026/09/hubble.jpg": ("hubble", ("150x150", "300x200", "1024x683")),
    f"{UPLOADS}/2026/08/rocket.png": ("rocket", ("300x200",)),
    f"{UPLOADS}/2026/08/moon.jpg": ("moon", ("300x200", "1024x683")),
}

#: What a crawl must download and hash: per image, the full-size file when the page links to
#: it, otherwise the largest candidate the page offers; never the thumbnails besides.
HASHED = {
    f"{UPLOADS}/2026/11/photo.jpg",  # figure: thumbnail linked to the full-size upload
    f"{UPLOADS}/2026/10/cafe-1536x1024.jpg",  # lazy plugin: largest data-lazy-srcset candidate
    f"{UPLOADS}/2026/10/moto.jpg",  # placeholder src, real one in data-src
    f"{UPLOADS}/2026/09/cat.jpg",  # gallery items linked to their files
    f"{UPLOADS}/2026/09/camera.jpg",
    f"{UPLOADS}/2026/09/coins.jpg",
    f"{UPLOADS}/2026/09/hubble-1024x683.jpg",  # gallery item linked to its attachment page
    f"{UPLOADS}/2026/08/rocket.png",  # page 2: figure linked to the full-size upload
    f"{UPLOADS}/2026/08/moon-1024x683.jpg",  # page 2: post thumbnail linked to its post
}
#: The reposts among them (copies of the case's references).
FLAGGED = {
    f"{UPLOADS}/2026/11/photo.jpg",
    f"{UPLOADS}/2026/10/cafe-1536x1024.jpg",
    f"{UPLOADS}/2026/09/cat.jpg",
    f"{UPLOADS}/2026/08/rocket.png",
}
PAGES = {"/", "/page/2/", "/2026/11/photo-post/", "/2026/08/moon-post/"}
#: Thumbnails linked to pages whose URL does not say what they are: the crawl asks once per kind
#: of link with a HEAD request (spiders/full_size.py); both are pages, so the thumbnails count.
PROBED = {"/?attachment_id=24", "/2026/08/moon-post/"}
PLACEHOLDER = "/wp-content/plugins/a3-lazy-load/assets/images/lazy_placeholder.gif"
#: A lazy-load plugin's inline placeholder (a data: URL, never fetched).
SVG_PLACEHOLDER = (
    "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%201024%20683'"
    "%3E%3C/svg%3E"
)


def sized(upload: str, size: str) -> str:
    """``/…/photo.jpg``, ``"300x200"`` → ``/…/photo-300x200.jpg`` (WordPress's naming)."""
    stem, _, extension = upload.rpartition(".")
    return f"{stem}-{size}.{extension}"


def srcset(upload: str, sizes: tuple[str, ...]) -> str:
    return ", ".join(f"{sized(upload, size)} {size.split('x')[0]}w" for size in sizes)


def _figure(upload: str, *, link: str | None, size: str, attachment_id: int) -> str:
    """A block-editor image: ``<figure class="wp-block-image">`` around a (linked) image."""
    _, sizes = UPLOADED[upload]
    width, height = size.split("x")
    img = (
        f'<img loading="lazy" decoding="async" width="{width}" height="{height}" '
        f'src="{sized(upload, size)}" alt="" class="wp-image-{attachment_id}" '
        f'srcset="{srcset(upload, sizes)}" sizes="(max-width: {width}px) 100vw, {width}px">'
    )
    if link is not None:
        img = f'<a href="{link}">{img}</a>'
    return f'<figure class="wp-block-image size-medium">{img}</figure>'


def _lazy_plugin_image(upload: str) -> str:
    """What lazy-load plugins (WP Rocket, Lazy Load by WP Rocket) write, with the fallback."""
    _, sizes = UPLOADED[upload]
    real = sized(upload, "1024x683")
    return (
        f'<img width="1024" height="683" src="{SVG_PLACEHOLDER}" class="wp-image-14" alt="" '
        f'data-lazy-src="{real}" data-lazy-srcset="{srcset(upload, sizes)}" '
        'data-lazy-sizes="(max-width: 1024px) 100vw, 1024px">'
        f'<noscript><img width="1024" height="683" src="{real}" class="wp-image-14" alt="" '
        f'srcset="{srcset(upload, sizes)}" sizes="(max-width: 1024px) 100vw, 1024px"></noscript>'
    )


def _gallery() -> str:
    items = [
        _figure(
            f"{UPLOADS}/2026/09/{name}",
            link=f"{UPLOADS}/2026/09/{name}",
            size="1024x683",
            attachment_id=number,
        )
        for number, name in ((21, "cat.jpg"), (22, "camera.jpg"), (23, "coins.jpg"))
    ]
    # An item linked to its attachment page (a page, not a file): its own largest size counts.
    items.append(
        _figure(
            f"{UPLOADS}/2026/09/hubble.jpg",
            link="/?attachment_id=24",
            size="1024x683",
            attachment_id=24,
        )
    )
    return (
        '<figure class="wp-block-gallery has-nested-images columns-3 is-cropped">'
        + "".join(items)
        + "</figure>"
    )


def _page(title: str, body: str, head: str = "") -> Route:
    return html(
        '<!doctype html><html lang="en-US"><head><meta charset="UTF-8">'
        f"<title>{title} - Repost Blog</title>"
        '<link rel="alternate" type="application/rss+xml" href="/feed/">'
        '<link rel="https://api.w.org/" href="/wp-json/">'
        f'{head}</head><body class="home blog"><div class="wp-site-blocks">'
        f'<main class="wp-block-group">{body}</main></div></body></html>'
    )


def _pagination(current: int) -> str:
    links = [
        '<a class="page-numbers" href="/">1</a>',
        '<a class="page-numbers" href="/page/2/">2</a>',
    ]
    if current == 1:
        links.append('<a class="next page-numbers" href="/page/2/">Next</a>')
    return f'<nav class="navigation pagination">{"".join(links)}</nav>'


def routes() -> dict[str, Route]:
    photo = f"{UPLOADS}/2026/11/photo.jpg"
    pages = {
        "/": _page(
            "Home",
            '<article class="post-12"><h2><a href="/2026/11/photo-post/">Photo post</a></h2>'
            + _figure(photo, link=photo, size="300x200", attachment_id=12)
            + "</article>"
            '<article class="post-14"><h2>Cafe</h2>'
            + _lazy_plugin_image(f"{UPLOADS}/2026/10/cafe.jpg")
            + f'<img class="lazy lazy-hidden" src="{PLACEHOLDER}" data-lazy-type="image" '
            f'data-src="{UPLOADS}/2026/10/moto.jpg" alt="">'
            "</article>"
            '<article class="post-20"><h2>Gallery</h2>'
            + _gallery()
            + "</article>"
            + _pagination(1),
        ),
        "/page/2/": _page(
            "Page 2",
            '<article class="post-8">'
            + _figure(
                f"{UPLOADS}/2026/08/rocket.png",
                link=f"{UPLOADS}/2026/08/rocket.png",
                size="300x200",
                attachment_id=8,
            )
            + "</article>"
            '<article class="post-6"><a href="/2026/08/moon-post/" class="post-thumbnail">'
            f'<img src="{sized(f"{UPLOADS}/2026/08/moon.jpg", "300x200")}" '
            f'srcset="{srcset(f"{UPLOADS}/2026/08/moon.jpg", ("300x200", "1024x683"))}" '
            'class="attachment-post-thumbnail wp-post-image" loading="lazy"></a></article>'
            + _pagination(2),
        ),
        "/2026/11/photo-post/": _page(
            "Photo post",
            _figure(photo, link=photo, size="1024x683", attachment_id=12) + '<a href="/">Home</a>',
            head=f'<meta property="og:image" content="{photo}">',
        ),
        "/2026/08/moon-post/": _page("Moon post", "<p>No photos here.</p>"),
        # The attachment page (not followed: the site file's follow rules leave it out).
        "/?attachment_id=24": _page(
            "hubble",
            f'<img class="attachment-full" src="{UPLOADS}/2026/09/hubble.jpg" alt="">',
        ),
        "/robots.txt": Route(
            b"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n",
            "text/plain",
        ),
        PLACEHOLDER: Route(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
    }
    jpeg = samples.reencoded_jpeg
    for upload, (name, sizes) in UPLOADED.items():
        full = samples.load_photo(name)
        if upload.endswith(".png"):
            pages[upload] = Route(samples.encode(full, "PNG"), "image/png")
        else:
            pages[upload] = Route(jpeg(name, quality=82), "image/jpeg")
        for size in sizes:
            scale = int(size.split("x")[0]) / full.width
            if upload.endswith(".png"):
                small = samples.encode(samples.resized(full, min(scale, 1.0)), "PNG")
                pages[sized(upload, size)] = Route(small, "image/png")
            else:
                small = jpeg(name, quality=82, scale=min(scale, 1.0))
                pages[sized(upload, size)] = Route(small, "image/jpeg")
    return pages


def site_file(name: str, base_url: str) -> str:
    """A site file for the blog: listing pages and posts, nothing of wp-admin or attachments."""
    return (
        f'name = "{name}"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        "[follow]\n"
        r"allow = ['/page/\d+/$', '/\d{4}/\d{2}/[\w-]+/$']"
        "\nmax_depth = 3\n"
    )
