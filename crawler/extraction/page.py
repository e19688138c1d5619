"""A page's media URLs, each once, with full-size files in place of their thumbnails."""

from __future__ import annotations

from collections.abc import Callable

from parsel import Selector

from crawler.extraction.markup import raw_media_urls, shown_url, wrapped_thumbnails
from crawler.extraction.urls import absolute_urls, is_media_link


def extract_media_urls(
    page: Selector,
    urljoin: Callable[[str], str],
    thumbnails: set[str] | None = None,
    *,
    encoding: str = "utf-8",
) -> list[str]:
    """Absolute http(s) media URLs of a page, in page order, each once.

    Thumbnails wrapped in a link to their full-size file are left out (the link is in); pass a
    set as ``thumbnails`` to learn their URLs, e.g. to ignore them among what a browser loaded.
    ``encoding`` is the page's (:func:`page_encoding`): queries are encoded in it, as browsers do.
    """
    wrapped, thumbnail_urls = wrapped_thumbnails(page)
    media = absolute_urls(raw_media_urls(page, wrapped), urljoin, encoding)
    if thumbnails is not None:
        thumbnails.update(
            url for url in absolute_urls(thumbnail_urls, urljoin, encoding) if url not in media
        )
    return media


def linked_thumbnails(
    page: Selector, urljoin: Callable[[str], str], *, encoding: str = "utf-8"
) -> list[tuple[str, list[str]]]:
    """Images wrapped in a link whose URL does not say what it is (``<a href="/f/123"><img
    src="/t/123.jpg"></a>``): ``(link, [the image URLs extract_media_urls took])`` per link.

    The link may be the full-size file served without an extension, or a page; only a request
    tells (spiders/full_size.py asks once per kind of link and remembers the answer).
    """
    found: list[tuple[str, list[str]]] = []
    for link in page.css("a[href]"):
        href = link.attrib["href"].strip()
        if not href or href.startswith(("#", "javascript:", "data:", "mailto:")):
            continue
        if is_media_link(href):
            continue
        images = [url for url in map(shown_url, link.css("img")) if url]
        if not images:
            continue
        absolute = absolute_urls([href], urljoin, encoding)
        if absolute:
            found.append((absolute[0], absolute_urls(images, urljoin, encoding)))
    return found
