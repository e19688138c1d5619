"""Find every media URL a page can show: its markup (images, pictures, videos, backgrounds,
links to media files, ``<noscript>`` fallbacks, lightbox and zoom data attributes), its inline
scripts and JSON (state blobs, JSON-LD) and markup inside their strings; a thumbnail whose
full size the page names counts as the full-size file only.

Pure functions over a parsel Selector (what ``response.css`` uses), so they can be tested on
HTML strings. By role: :mod:`~crawler.extraction.urls` (media URLs as text, page encodings),
:mod:`~crawler.extraction.markup` (elements), :mod:`~crawler.extraction.scripts` (string
literals of scripts), :mod:`~crawler.extraction.embedded` (media in a page's data),
:mod:`~crawler.extraction.names` (which copy a name holds), :mod:`~crawler.extraction.page` (a
page's media, full size over thumbnail).
"""

from crawler.extraction.markup import LAZY_ATTRIBUTES, LAZY_SRCSET_ATTRIBUTES
from crawler.extraction.page import (
    SOURCES,
    PageMedia,
    extract_media_urls,
    linked_thumbnails,
    page_media,
)
from crawler.extraction.urls import (
    IMAGE_EXTENSIONS,
    MAX_STYLE_CHARS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    background_images,
    canonical_media_url,
    css_urls,
    decode_page,
    is_media_link,
    largest_srcset_candidate,
    page_encoding,
    parse_srcset,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "LAZY_ATTRIBUTES",
    "LAZY_SRCSET_ATTRIBUTES",
    "MAX_STYLE_CHARS",
    "MEDIA_EXTENSIONS",
    "SOURCES",
    "VIDEO_EXTENSIONS",
    "PageMedia",
    "background_images",
    "canonical_media_url",
    "css_urls",
    "decode_page",
    "extract_media_urls",
    "is_media_link",
    "largest_srcset_candidate",
    "linked_thumbnails",
    "page_encoding",
    "page_media",
    "parse_srcset",
]
