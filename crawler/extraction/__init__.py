"""Find the media URLs of a page: ordinary gallery markup, lazy loading and links to media files
(a thumbnail wrapped in a link to its full-size file counts as the full-size file only).

Pure functions over a parsel Selector (what ``response.css`` uses), so they can be tested on
HTML strings. By role: :mod:`~crawler.extraction.urls` (media URLs as text, page encodings),
:mod:`~crawler.extraction.markup` (elements), :mod:`~crawler.extraction.page` (a page's media).
"""

from crawler.extraction.markup import LAZY_ATTRIBUTES, LAZY_SRCSET_ATTRIBUTES
from crawler.extraction.page import extract_media_urls, linked_thumbnails
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
    "VIDEO_EXTENSIONS",
    "background_images",
    "canonical_media_url",
    "css_urls",
    "decode_page",
    "extract_media_urls",
    "is_media_link",
    "largest_srcset_candidate",
    "linked_thumbnails",
    "page_encoding",
    "parse_srcset",
]
