"""Case keywords' one spelling, shared by the database and the search spider.

A keyword is kept, searched and matched in Unicode NFC (Hangul typed on macOS arrives
decomposed and would otherwise be a different keyword, encoded differently), trimmed, with
inner whitespace runs as one space. Pure: no database, no Scrapy.
"""

from __future__ import annotations

import unicodedata

#: The longest keyword kept, in characters (the database column is this long).
KEYWORD_LENGTH = 200


def keyword_spelling(keyword: str) -> str:
    """The one spelling of ``keyword``: NFC, trimmed, inner whitespace runs as one space; ""
    for a blank keyword."""
    return " ".join(unicodedata.normalize("NFC", keyword).split())


def normalize_keyword(keyword: str) -> str:
    """The spelling a keyword is stored in (:func:`keyword_spelling`), checked.

    Raises ValueError for an empty keyword, one with control characters or one too long.
    """
    text = keyword_spelling(keyword)
    if not text:
        raise ValueError("a keyword cannot be empty")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise ValueError(f"{keyword!r}: a keyword cannot contain control characters")
    if len(text) > KEYWORD_LENGTH:
        raise ValueError(f"{text[:20]!r}...: a keyword has at most {KEYWORD_LENGTH} characters")
    return text
