"""Reading one page's markup as the crawl reads it, for the extraction tests."""

from __future__ import annotations

from urllib.parse import urljoin

from parsel import Selector

from crawler.extraction import PageMedia, page_media

BASE = "https://board.example/gallery/1"


def read(html: str) -> PageMedia:
    return page_media(Selector(text=html), lambda url: urljoin(BASE, url))


def paths(urls) -> list[str]:
    """URLs on board.example as paths (others as they are), in order."""
    return [url.removeprefix("https://board.example") for url in urls]
