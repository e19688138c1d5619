"""Media in markup: ``<img>`` (srcset, lazy attributes), ``<picture>``, ``<video>``, inline CSS
backgrounds, links to media files and ``og:`` meta tags; thumbnails wrapped in links to their
full-size files. Pure functions over a parsel Selector.
"""

from __future__ import annotations

from collections.abc import Iterable

from parsel import Selector

from crawler.extraction.urls import (
    background_images,
    is_media_link,
    largest_srcset_candidate,
    parse_srcset,
    srcset_descriptors,
)

#: Attributes lazy-loading scripts keep the real image URL in, most specific first.
LAZY_ATTRIBUTES = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-url")
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")


def image_url(img: Selector) -> str | None:
    """The best URL of one ``<img>``: largest srcset candidate, then lazy attributes, then src."""
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        srcset = img.attrib.get(attribute)
        if srcset:
            best = largest_srcset_candidate(srcset)
            if best and not best.startswith("data:"):
                return best
    for attribute in (*LAZY_ATTRIBUTES, "src"):
        value = (img.attrib.get(attribute) or "").strip()
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
            for url, size, kind in srcset_descriptors(element.attrib.get(attribute, "")):
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


def _image_candidates(element: Selector) -> list[str]:
    """Every URL an ``<img>``/``<source>`` may show: src, lazy attributes, all srcset candidates."""
    urls = [element.attrib.get(name, "") for name in ("src", *LAZY_ATTRIBUTES)]
    for attribute in ("srcset", *LAZY_SRCSET_ATTRIBUTES):
        urls += [url for url, _ in parse_srcset(element.attrib.get(attribute, ""))]
    for style in element.xpath("@style").getall():
        urls += background_images(style)
    return [url.strip() for url in urls if url.strip()]


def wrapped_thumbnails(page: Selector) -> tuple[set[object], list[str]]:
    """Elements inside an ``<a href>`` to a media file, and every URL they could show.

    A gallery shows a small copy and links it to the full-size file: the link is what is
    hashed (it is the best copy to match and to report), the thumbnail is not fetched at all.
    """
    elements: set[object] = set()
    urls: list[str] = []
    for link in page.css("a[href]"):
        if not is_media_link(link.attrib["href"].strip()):
            continue
        for element in link.css("img, picture source, [style]"):  # the link's own style too
            elements.add(element.root)
            urls += _image_candidates(element)
    return elements, urls


def raw_media_urls(page: Selector, thumbnails: set[object]) -> Iterable[str]:
    for img in page.css("img"):
        if img.root in thumbnails:
            continue
        url = shown_url(img)  # a <picture> is one image: its largest candidate
        if url:
            yield url
    for picture in page.css("picture"):
        if picture.css("img") or any(s.root in thumbnails for s in picture.css("source")):
            continue
        if url := _picture_url(picture):  # sources without their fallback <img>
            yield url
    for video in page.css("video"):
        if video.attrib.get("src"):
            yield video.attrib["src"]
        for source in video.css("source"):
            if source.attrib.get("src"):
                yield source.attrib["src"]
        if video.attrib.get("poster"):  # the still a tube page shows: often a frame of the clip
            yield video.attrib["poster"]
    for styled in page.css("[style]"):
        if styled.root not in thumbnails:
            yield from background_images(styled.attrib["style"])
    for href in page.css("a::attr(href)").getall():
        if is_media_link(href.strip()):
            yield href
    yield from page.css(
        'meta[property="og:image"]::attr(content), '
        'meta[property="og:image:url"]::attr(content), '
        'meta[property="og:image:secure_url"]::attr(content), '
        'meta[property="og:video"]::attr(content), '
        'meta[property="og:video:url"]::attr(content), '
        'meta[property="og:video:secure_url"]::attr(content)'
    ).getall()
