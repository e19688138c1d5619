"""The items spiders yield."""

from __future__ import annotations

from dataclasses import dataclass, field

SPIDER = "site"  # the spider every site is crawled with (spiders/site.py), by its Scrapy name


@dataclass
class MediaPage:
    """A crawled page and the media URLs found on it, in page order, without duplicates.

    The hash-and-match pipeline downloads each media URL, hashes it in memory and records a flag
    for every match; ``flags`` is filled in by the pipeline (the number of matches on this page).
    """

    url: str
    site: str
    media_urls: list[str] = field(default_factory=list)
    depth: int = 0
    flags: int = 0
    #: Search crawls: the case keyword whose site search led to this page (None otherwise).
    keyword: str | None = None
