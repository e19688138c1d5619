"""Media in markup: ``<img>`` (srcset, lazy attributes), ``<picture>``, ``<video>``, inline CSS
backgrounds, links to media files, ``og:`` meta tags, ``<noscript>`` fallbacks and the data
attributes of lightboxes and zoomers; and the full-size files elements name for the images they
show. Pure functions over a parsel Selector, adding to a page's :class:`~.page.PageCollector`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from parsel import Selector

from crawler.extraction import names
from crawler.extraction.urls import (
    background_images,
    is_media_link,
    largest_srcset_candidate,
    media_string,
    parse_srcset,
    srcset_descriptors,
    url_string,
)

if TYPE_CHECKING:
    from crawler.extraction.page import PageCollector

#: Attributes lazy-loading scripts keep the real image URL in, most specific first.
LAZY_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-url")
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")


def image_url(img: Selector) -> str | None:
    """The best URL of one ``<img>``: largest srcset candidate, then lazy attributes, then src."""
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        srcset = img.root.get(attribute)
        if srcset:
            best = largest_srcset_candidate(srcset)
            if best and not best.startswith("data:"):
                return best
    for attribute in (*LAZY_ATTRIBUTES, "src"):
        value = (img.root.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return None


def _picture_url(picture: Selector) -> str | None:
    """The one URL a ``<picture>`` stands for: its largest candidate.

    Its ``<source>`` elements differ by media query or type (AVIF, WebP, JPEG of one photo) and
    the ``<img>`` is the fallback, so they are one picture: the candidate with the largest width
    descriptor among the sources' and the img's srcsets wins; without width descriptors the
    largest density (``2x``; no descriptor is ``1x``); without any srcset the img's own URL.
    Ties go to the first in page order (the browser's first choice).
    """
    by_kind: dict[str, list[tuple[str, float]]] = {"w": [], "x": []}
    for element in picture.css("source, img"):
        for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
            for url, size, kind in srcset_descriptors(element.root.get(attribute, "")):
                if not url.startswith("data:"):
                    by_kind[kind].append((url, size))
    for kind in ("w", "x"):
        if by_kind[kind]:
            return max(by_kind[kind], key=lambda candidate: candidate[1])[0]
    img = picture.css("img")
    return image_url(img[0]) if img else None


def shown_url(img: Selector) -> str | None:
    """The URL an ``<img>`` is hashed by: its picture's one URL when it is a picture's fallback."""
    picture = img.xpath("ancestor::picture[1]")  # libxml2 may nest it inside a <source>
    return _picture_url(picture[0]) if picture else image_url(img)


def image_candidates(element: Selector) -> list[str]:
    """Every URL an ``<img>``/``<source>`` may show: src, lazy attributes, all srcset candidates."""
    urls = [element.root.get(name, "") for name in ("src", *LAZY_ATTRIBUTES)]
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        urls += [url for url, _ in parse_srcset(element.root.get(attribute, ""))]
    for style in element.xpath("@style").getall():
        urls += background_images(style)
    return [url.strip() for url in urls if url.strip()]


#: Sources of the URLs found here, as counted (``repostwatch/media/source/<source>``).
MARKUP, NOSCRIPT, DATA_ATTRIBUTE = "markup", "noscript", "data_attribute"
#: Anchors whose link is a picture by the lightbox markup around it, extension or not:
#: PhotoSwipe (``data-pswp-width``), Lightbox2 (``data-lightbox``), fancybox told the type.
_IMAGE_ANCHOR_ATTRIBUTES = ("data-pswp-width", "data-pswp-height", "data-lightbox")
_OG_MEDIA = frozenset(
    f"og:{kind}{suffix}" for kind in ("image", "video") for suffix in ("", ":url", ":secure_url")
)
#: Elements that may name larger copies of what they show: links around something shown,
#: and anything with a data attribute (libxml2 selects them; most links are neither).
_NAMING_ELEMENTS = (
    "//a[@href][@style or .//img or .//source or .//*[@style]]"
    " | //*[@*[starts-with(name(), 'data-')]]"
)


def anchor_media(anchor: Selector) -> str | None:
    """The media file an ``<a>`` links to: its href when the extension or the lightbox markup
    (PhotoSwipe, Lightbox2, fancybox with ``data-type="image"``) says it is one."""
    href = (anchor.root.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "data:", "mailto:")):
        return None
    get = anchor.root.get
    if is_media_link(href):
        return href
    if get("data-pswp-src") is not None:  # PhotoSwipe shows that one; the link may be a page
        return None
    if any(get(name) is not None for name in _IMAGE_ANCHOR_ATTRIBUTES):
        return href
    if get("data-fancybox") is not None and get("data-type") == "image":
        return href
    return None


def collect_markup(page: Selector, media: PageCollector, source: str = MARKUP) -> None:
    """Add the media ``page`` shows and names to ``media``, and pair each image with the
    full-size file its link, its own attributes or its wrapper names (:func:`_collect_named`).

    ``source`` is what the URLs count as: ``markup`` for a page (those inside ``<noscript>``
    as ``noscript``, those only in data attributes as ``data_attribute``), ``html_in_string``
    for markup found inside a string.
    """
    inside_noscript = (
        {element.root for element in page.xpath("//noscript//*")} if source == MARKUP else set()
    )

    def where(element: Selector, kind: str = MARKUP) -> str:
        if source != MARKUP:
            return source
        return NOSCRIPT if element.root in inside_noscript else kind

    for element, raw in _shown(page):
        media.add(where(element), raw)
    for element in page.xpath(_NAMING_ELEMENTS):
        _collect_named(element, media, where)


def _shown(page: Selector) -> Iterator[tuple[Selector, str]]:
    """(element, URL) of what the markup shows, in page order by kind."""
    for img in page.css("img"):
        url = shown_url(img)  # a <picture> is one image: its largest candidate
        if url:
            yield img, url
    for picture in page.css("picture"):
        if not picture.css("img") and (url := _picture_url(picture)):  # sources, no fallback
            yield picture, url
    for video in page.css("video"):
        if video.root.get("src"):
            yield video, video.root.get("src", "")
        for source in video.css("source"):
            if source.root.get("src"):
                yield source, source.root.get("src", "")
        # Its poster is not media of the page but a preview of the video: early evidence only
        # (crawler.extraction.previews, MediaPage.previews).
    for styled in page.css("[style]"):
        for url in background_images(styled.root.get("style", "")):
            yield styled, url
    for anchor in page.css("a[href]"):
        if url := anchor_media(anchor):
            yield anchor, url
    for meta in page.css("meta[property][content]"):
        if meta.root.get("property", "").strip().lower() in _OG_MEDIA:
            yield meta, meta.root.get("content", "")


_IMAGE_ATTRIBUTES = frozenset((*LAZY_ATTRIBUTES, *LAZY_SRCSET_ATTRIBUTES))


def _collect_named(
    element: Selector, media: PageCollector, where: Callable[[Selector, str], str]
) -> None:
    """The media ``element`` names in its data attributes (a link: in its href too), and what
    it shows paired with the largest copy named (:func:`crawler.extraction.names.tier`).

    An ``<img>`` naming its full size (``data-orig-file``, ``data-zoom-image``, ``data-big``)
    and a link or lightbox item around a thumbnail (``<a href=full.jpg>``, lightGallery's
    ``data-src``, PhotoSwipe's ``data-pswp-src``) are the same thing: the thumbnail is left out
    for the full size. A wrapper names the full size of its image by a data attribute only when
    it wraps one image (a container's own lazy background is no larger copy of a gallery); a
    link names it for all it wraps.
    """
    tag = element.root.tag if isinstance(element.root.tag, str) else ""
    parent = element.root.getparent()
    is_image = tag == "img" or (tag == "source" and parent is not None and parent.tag == "picture")
    named: list[tuple[int, str]] = []  # (tier, absolute URL), data attributes first
    for name, value in _attributes(element):
        if not name.startswith("data-") or (is_image and name in _IMAGE_ATTRIBUTES):
            continue
        value, kind = value.strip(), where(element, DATA_ATTRIBUTE)
        if value[:1] in ("{", "["):
            media.json_text(kind, value, key=name)  # its own records (product variations)
        elif value[:1] == "<":
            media.fragment(value)  # a caption or a video (lightGallery's data-sub-html)
        elif names.is_srcset(name):
            if largest := _srcset_largest(value, media, kind):
                named.append((names.tier(name), largest))
        elif (raw := media_string(value)) and (url := media.add(kind, raw)):
            named.append((names.tier(name), url))
    link = anchor_media(element) if tag == "a" else None
    if not named and link is None:
        return
    own = [element] if is_image else element.css("img, picture source, [style]")
    images = [img for img in own if img.root.tag == "img"]
    shown = list(dict.fromkeys(url for img in images if (url := _shown_abs(img, media))))
    if not is_image:
        if link is None and len(shown) != 1:
            named = []  # nothing is paired: the named URLs count on their own
        named = [(names.FULL if tier == names.SHOWN else tier, url) for tier, url in named]
        if link is not None and (url := media.url(link)):
            named.append((names.FULL, url))
    if not named:
        return
    members = named + [(names.SHOWN, url) for url in shown]
    best = media.group(members)
    if best is not None and max(tier for tier, _ in members) > names.SHOWN:
        for thumbnail in own:  # every copy they could show: srcset sizes, lazy, backgrounds
            for raw in image_candidates(thumbnail):
                media.pair(raw, best)


def _attributes(element: Selector) -> list[tuple[str, str]]:
    """An element's attributes. An unclosed quote leaves libxml2 with names no XML allows
    (``{&quot;a&quot;:<div``), which make lxml's ``attrib`` (and so parsel's) raise; read by
    name (``root.get``) or through XPath, they do not."""
    try:
        return list(element.root.items())
    except ValueError:
        return [(str(value.attrname), str(value)) for value in element.root.xpath("@*")]


def _shown_abs(img: Selector, media: PageCollector) -> str | None:
    raw = shown_url(img)
    return media.url(raw) if raw else None


def _srcset_largest(srcset: str, media: PageCollector, source: str) -> str | None:
    """Add the largest candidate of a data attribute's srcset; the others are its thumbnails."""
    candidates = [(url, size) for url, size in parse_srcset(srcset) if url_string(url)]
    if not candidates:
        return None
    largest = media.add(source, max(candidates, key=lambda candidate: candidate[1])[0])
    if largest is not None:
        for raw, _ in candidates:
            media.pair(raw, largest)
    return largest


def unknown_links(page: Selector) -> list[tuple[str, list[str]]]:
    """``(href, [shown image URLs])`` of the links around images whose URL does not say what
    it is (``<a href="/f/123"><img src="/t/123.jpg"></a>``): the full-size file served without
    an extension, or a page; only a request tells (spiders/full_size.py)."""
    found = []
    for link in page.xpath("//a[@href][.//img]"):
        href = link.root.get("href", "").strip()
        if not href or href.startswith(("#", "javascript:", "data:", "mailto:")):
            continue
        if anchor_media(link):
            continue
        images = [url for url in map(shown_url, link.css("img")) if url]
        if images:
            found.append((href, images))
    return found
