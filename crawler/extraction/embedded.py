"""Media URLs in a page's data: inline scripts, JSON scripts (state blobs such as Next.js's
``__NEXT_DATA__``), JSON-LD, JSON in data attributes and strings that hold more data.

A string is a media URL when it is written as one and its file name has a media extension
(:func:`~crawler.extraction.urls.media_string`), resolved against the page as the browser would
resolve it once a script puts it into an ``<img>``. A string that is markup (Galleria's
``layer: "<video><source src='y.webm'>"``) is read as markup; one holding CSS, its ``url()``s;
one holding JSON or script text (``JSON.parse("...")``, React server payloads), its strings.
Without an extension a string is taken only where its property names a picture and its path
lies under a media directory (``/uploads/``, ``/media/``, ``/images/`` ...), or as a JSON-LD
``ImageObject``'s or ``VideoObject``'s ``contentUrl``/``url``: the download tells whether it is
media (`crawler.extraction.page.MAX_GUESSED_MEDIA` a page at most).

The URLs of one record are one picture's copies: they are grouped by record, and by the record
above for a record holding only a URL (``{thumbnail: {url}, image: {url}}``), and
:class:`~crawler.extraction.page.PageCollector` keeps the largest of each group.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from parsel import Selector

from crawler.extraction import names
from crawler.extraction.scripts import Value, json_values, may_hold_media, script_values
from crawler.extraction.urls import (
    MAX_URL_CHARS,
    css_urls,
    looks_like_html,
    media_string,
    parse_srcset,
    url_string,
)

if TYPE_CHECKING:
    from crawler.extraction.page import PageCollector

#: Sources of the URLs found here, as counted (``repostwatch/media/source/<source>``).
JSON_LD, JSON, SCRIPT, HTML_IN_STRING = "json_ld", "json", "script", "html_in_string"
#: Script types read as JavaScript; other types are read as JSON (``...json``) or, holding
#: markup, as markup (``text/template``, ``text/x-handlebars-template``).
JAVASCRIPT_TYPES = frozenset(
    ("", "text/javascript", "application/javascript", "module", "text/ecmascript",
     "application/ecmascript", "application/x-javascript", "text/jsx", "text/babel")
)  # fmt: skip
#: JSON-LD types whose ``url``/``contentUrl`` is the media file itself.
MEDIA_OBJECT_TYPES = frozenset(("imageobject", "videoobject", "mediaobject", "photograph"))
#: Path segments of directories that hold media files, for URLs without an extension.
MEDIA_DIRECTORIES = frozenset(
    ("uploads", "upload", "media", "images", "image", "img", "imgs", "photos", "photo",
     "pictures", "pics", "files", "attachments", "videos", "video")
)  # fmt: skip


def collect_scripts(page: Selector, media: PageCollector, source: str | None = None) -> None:
    """Add the media of ``page``'s inline scripts to ``media``; ``source`` overrides what they
    count as (``html_in_string`` for scripts inside a string's markup)."""
    for script in page.xpath("//script[not(@src)]"):
        text = script.root.text or ""
        if not text.strip():
            continue
        kind = (script.root.get("type") or "").split(";")[0].strip().lower()
        if kind == "application/ld+json":
            media.json_text(source or JSON_LD, text)
        elif kind.endswith("json"):
            media.json_text(source or JSON, text)
        elif kind not in JAVASCRIPT_TYPES and looks_like_html(text):
            media.fragment(text)  # a template: markup a script will show
        elif media.read(text):
            collect_values(script_values(text, media.budget), media, source or SCRIPT)
            media.read_to_the_end()


def collect_json(text: str, media: PageCollector, source: str) -> None:
    """Add the media of JSON ``text`` (script text when it is not JSON) to ``media``."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # JavaScript rather than JSON, or nested too deep
        collect_values(script_values(text, media.budget), media, source)
    else:
        collect_values(json_values(document, media.budget), media, source)


def collect_values(values: Iterable[Value], media: PageCollector, source: str) -> None:
    """Add the media URLs among ``values`` to ``media``, grouped by record."""
    types: dict[int, str] = {}
    worth: list[Value] = []
    for value in values:
        if value.key == "@type" and value.record:
            types[value.record] = value.text.lower()
        elif may_hold_media(value.text):  # most strings of data are words
            if not media.take_string():
                break
            worth.append(value)
    groups: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for value in worth:
        urls = _media_of(value, media, source, types)
        if not urls:
            continue
        if value.record:
            groups[value.record] += [(names.tier(value.key), url) for url in urls]
        if value.outer_record and names.is_generic(value.key):
            groups[value.outer_record] += [(names.tier(value.outer_key), url) for url in urls]
    for members in groups.values():
        if len(members) > 1:
            media.group(members)


def _media_of(value: Value, media: PageCollector, source: str, types: dict[int, str]) -> list[str]:
    """The absolute media URLs one string stands for (added to ``media``)."""
    text = value.text
    if len(text) <= MAX_URL_CHARS and (raw := media_string(text)):
        url = media.add(source, raw)
        return [url] if url else []
    if looks_like_html(text):
        return media.fragment(text)
    if names.is_srcset(value.key):
        return _srcset(text, media, source)
    if "url(" in text:
        found = (media.add(source, raw) for raw in map(media_string, css_urls(text)) if raw)
        return [url for url in found if url]
    if '"' in text and ":" in text and len(text) > 8:
        media.json_text(source, text)  # JSON or script text inside a string: its own records
        return []
    if _guessable(value, types) and (url := media.add(source, text, guessed=True)):
        return [url]
    return []


def _srcset(text: str, media: PageCollector, source: str) -> list[str]:
    candidates = [(raw, size) for url, size in parse_srcset(text) if (raw := media_string(url))]
    if not candidates:
        return []
    largest = media.add(source, max(candidates, key=lambda candidate: candidate[1])[0])
    if largest is None:
        return []
    for raw, _ in candidates:
        media.pair(raw, largest)
    return [largest]


def _guessable(value: Value, types: dict[int, str]) -> bool:
    """Whether a string without a media extension may still be a media file (see above)."""
    key = "".join(names.words(value.key or ""))
    media_object = key in ("url", "contenturl") and types.get(value.record) in MEDIA_OBJECT_TYPES
    named = names.names_media(value.key) or (
        names.is_generic(value.key) and names.names_media(value.outer_key)
    )
    if not (media_object or named):
        return False
    url = url_string(value.text)
    if url is None or "/" not in url:
        return False
    if media_object:
        return True
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    directories, _, name = path.lower().rpartition("/")
    return bool(name) and not MEDIA_DIRECTORIES.isdisjoint(directories.split("/"))
