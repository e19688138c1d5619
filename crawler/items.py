"""The items spiders yield."""

from __future__ import annotations

from dataclasses import dataclass, field

SPIDER = "site"  # the spider every site is crawled with (spiders/site.py), by its Scrapy name

#: Kinds of :class:`Preview`: a ``<video poster>`` image, and a storyboard (a WebVTT file whose
#: cues name tiles of sprite images by ``#xywh=``: a player's seek-bar thumbnails).
POSTER, STORYBOARD = "poster", "storyboard"


@dataclass(frozen=True)
class Preview:
    """A still a player shows for a video before or beside it: early, cheap evidence.

    Hashed as images (a storyboard: each sprite tile, by its cue's time), never on its own the
    evidence of a video match: a tile that matches a reference video's frame only says which
    video to look at first (crawler/crawling/previews.py).
    """

    url: str
    kind: str  # POSTER or STORYBOARD
    #: The video it belongs to (a ``<video>``'s source or the stream its player loaded), or
    #: None when the page does not say.
    video: str | None = None


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
    #: Posters and storyboards of the page's videos (not in ``media_urls``: never evidence of a
    #: match by themselves).
    previews: list[Preview] = field(default_factory=list)
    #: An embedded player's page (an ``<iframe>`` followed one level): the page that embeds it.
    embedded_in: str | None = None
    #: Those of ``media_urls`` the page's video player asked for in the browser
    #: (``render = "browser"``): a stream's delivery says it was captured (``browser-hls``).
    captured: list[str] = field(default_factory=list)
