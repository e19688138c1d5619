"""The strings a page's scripts and data hold, with the property names that say what they are.

JavaScript galleries keep their pictures in data, not in markup: Galleria's
``var data = [{thumb: "t/x.jpg", image: "x.jpg", big: "big/x.jpg"}]``, PhotoSwipe's and
lightGallery's ``dataSource``/``dynamicEl``, Next.js's ``__NEXT_DATA__``, JSON-LD, a
WooCommerce ``data-product_variations`` attribute. This module reads such text without running
or parsing code: :func:`script_values` finds the string literals of JavaScript (and so of JSON)
with the name of the property or array each one is the value of and the object it belongs to;
:func:`json_values` gives the same for parsed JSON. :mod:`crawler.extraction.embedded` decides which
values are media URLs, which are thumbnails of which, and where they were found.

Everything is read in time linear in the text: the scanner jumps from one quote, slash, brace
or bracket to the next with compiled searches and never goes back over what it read (a string
left open to the end of its line ends the line's reading instead of being tried again from the
next quote). Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

#: A string longer than this is not looked at (no URL or gallery caption is that long).
MAX_STRING_CHARS = 65_536
#: Longer property names are not taken for names (minified code has no such identifiers).
MAX_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class Value:
    """A string found in script or JSON text, and where it sits.

    ``key`` is the property it is the value of (``image`` in ``{image: "x.jpg"}``), or the
    property holding the array it is an item of; ``record`` numbers the object it belongs to
    (items of an array belong to the object holding the array). ``outer_key`` and
    ``outer_record`` are the same one level up: the property holding that object and the
    object holding it (``thumbnail`` and the post in ``{thumbnail: {url: "t.jpg"}}``).
    Records are numbered per scan; 0 is "none".
    """

    text: str
    key: str | None = None
    record: int = 0
    outer_key: str | None = None
    outer_record: int = 0


class Budget:
    """How many more tokens (a quote, slash, brace or bracket of a script; a value of a JSON
    document) a page's scripts and data may cost: :func:`script_values` and :func:`json_values`
    stop when it is spent, and leave it below zero when they stopped early."""

    def __init__(self, tokens: int):
        self.left = tokens

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


_UNBOUNDED = 2**62


@dataclass(slots=True)
class _Container:
    kind: str  # "{" or "["
    key: str | None
    record: int
    outer_key: str | None
    outer_record: int


_NEXT = re.compile(r"[\"'`/{}\[\]]")
_STRING_STOP = {
    '"': re.compile(r'["\\\n]'),
    "'": re.compile(r"['\\\n]"),
    "`": re.compile(r"[`\\]"),
}
_REGEX_STOP = re.compile(r"[\\\[\]/\n]")
_SPACE = " \t\r\n\f\v\u00a0\ufeff"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
#: A ``/`` after one of these (or at the start) begins a regular expression literal, not a
#: division: the usual rule of JavaScript tokenizers that run without a parser.
_BEFORE_REGEX = frozenset("(,=:[!&|?{};+-*%<>~^")
_KEYWORDS_BEFORE_REGEX = frozenset(
    ("return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw",
     "instanceof", "yield", "await")
)  # fmt: skip


class _Scan:
    """One left-to-right pass over a script; see :func:`script_values`."""

    def __init__(self, text: str, budget: Budget):
        self.text = text
        self.budget = budget
        self.stack: list[_Container] = []
        self.records = 0
        self.last_string_at = -1  # where the last string literal's closing quote is
        self.last_string = ""

    def values(self) -> Iterator[Value]:
        text, position, take = self.text, 0, self.budget.take
        while (match := _NEXT.search(text, position)) and take():
            start, char = match.start(), match.group()
            if char in "\"'`":
                end = self._string_end(start, char)
                if end < 0:  # open to the end of its line: skip the line, do not try again
                    newline = text.find("\n", start)
                    position = len(text) if newline < 0 or char == "`" else newline
                    continue
                position = end + 1
                raw = text[start + 1 : end]
                if len(raw) > MAX_STRING_CHARS or (char == "`" and "${" in raw):
                    continue
                value = decode_js_escapes(raw) if "\\" in raw else raw
                key, record, outer_key, outer_record = self._place(start)
                self.last_string_at, self.last_string = end, value
                yield Value(value, key, record, outer_key, outer_record)
            elif char == "/":
                position = self._after_slash(start)
            elif char in "{[":
                key, record, outer_key, outer_record = self._place(start)
                if char == "{":  # a new record, named by the property holding it
                    self.records += 1
                    self.stack.append(_Container(char, key, self.records, key, record))
                else:  # an array: its items belong to the record holding it
                    self.stack.append(_Container(char, key, record, outer_key, outer_record))
                position = start + 1
            else:  # "}" or "]": close the innermost matching container, if any is open
                opening = "{" if char == "}" else "["
                if self.stack and self.stack[-1].kind == opening:
                    self.stack.pop()
                position = start + 1

    def _string_end(self, start: int, quote: str) -> int:
        """Index of the quote closing the string opened at ``start``; -1 if none on its line."""
        stop, text, position = _STRING_STOP[quote], self.text, start + 1
        while match := stop.search(text, position):
            char = match.group()
            if char == quote:
                return match.start()
            if char == "\n":
                return -1
            position = match.start() + 2  # a backslash escapes the next character
        return -1

    def _after_slash(self, start: int) -> int:
        """Where reading goes on after the ``/`` at ``start``: past a comment, a regular
        expression literal, or just the slash (a division)."""
        text = self.text
        following = text[start + 1 : start + 2]
        if following in ("/", "*"):
            end = text.find("\n" if following == "/" else "*/", start + 2)
            return len(text) if end < 0 else end + (1 if following == "/" else 2)
        before = self._previous(start)
        word = self._name_before(before + 1) if before >= 0 else ""
        if before >= 0 and text[before] not in _BEFORE_REGEX and word not in _KEYWORDS_BEFORE_REGEX:
            return start + 1  # a division
        position, in_class = start + 1, False
        while match := _REGEX_STOP.search(text, position):
            char = match.group()
            if char == "\n":
                return match.start()  # not a regular expression after all: skip the line
            if char == "\\":
                position = match.start() + 2
                continue
            if char == "/" and not in_class:
                return match.start() + 1
            in_class = (char == "[") or (in_class and char != "]")
            position = match.start() + 1
        return len(text)

    def _previous(self, index: int) -> int:
        """Index of the last non-space character before ``index`` (-1 if none)."""
        text, index = self.text, index - 1
        while index >= 0 and text[index] in _SPACE:
            index -= 1
        return index

    def _name_before(self, end: int) -> str:
        """The identifier ending just before ``end`` ('' if none, or if too long)."""
        text, start = self.text, end
        while start > 0 and end - start <= MAX_NAME_CHARS and text[start - 1] in _NAME_CHARS:
            start -= 1
        if end - start > MAX_NAME_CHARS or (start > 0 and text[start - 1] in _NAME_CHARS):
            return ""
        return text[start:end]

    def _place(self, start: int) -> tuple[str | None, int, str | None, int]:
        """(key, record, outer_key, outer_record) of a value starting at ``start``."""
        top = self.stack[-1] if self.stack else None
        before = self._previous(start)
        char = self.text[before] if before >= 0 else ""
        if char == ":":
            name_end = self._previous(before)
            if name_end >= 0 and name_end == self.last_string_at:
                key: str | None = self.last_string
            else:
                key = (self._name_before(name_end + 1) or None) if name_end >= 0 else None
        elif char in ",[" and top is not None and top.kind == "[":
            key = top.key  # an array item: named by the property holding the array
        else:
            key = None
        if top is None:
            return key, 0, None, 0
        return key, top.record, top.outer_key, top.outer_record


def script_values(text: str, budget: Budget | None = None) -> Iterator[Value]:
    """The string literals of JavaScript (or JSON) ``text``, escapes decoded, in order.

    Not a parser: quotes, comments, regular expression literals (by the usual rule on the
    character before a ``/``), braces and brackets are told apart, the rest is skipped.
    Template literals count only without ``${...}``. Strings longer than
    `MAX_STRING_CHARS` are passed over. Each token costs one of ``budget``.
    """
    return _Scan(text, budget or Budget(_UNBOUNDED)).values()


def json_values(document: object, budget: Budget | None = None) -> Iterator[Value]:
    """The strings of a parsed JSON ``document`` placed as :func:`script_values` places them.

    Property names count as strings too (state blobs key maps by URL), as the scanner sees them.
    Strings that cannot hold a URL or markup (no ``/``, ``.`` or ``<``: words, numbers, ids) are
    left out, but for JSON-LD's ``@type``. Iterative, so any nesting that ``json.loads``
    accepted is walked; each value costs one of ``budget``.
    """
    records, take = 0, (budget or Budget(_UNBOUNDED)).take
    # (value, key, record it belongs to, outer_key, outer_record)
    pending: list[tuple[object, str | None, int, str | None, int]] = [(document, None, 0, None, 0)]
    while pending and take():
        value, key, record, outer_key, outer_record = pending.pop()
        if isinstance(value, str):
            if len(value) <= MAX_STRING_CHARS and (key == "@type" or may_hold_media(value)):
                yield Value(value, key, record, outer_key, outer_record)
        elif isinstance(value, dict):
            records += 1
            own = records
            items: list[tuple[object, str | None, int, str | None, int]] = []
            for name, item in value.items():
                items += [(name, None, own, key, record), (item, name, own, key, record)]
            pending.extend(reversed(items))
        elif isinstance(value, list):
            pending.extend((item, key, record, outer_key, outer_record) for item in reversed(value))


def may_hold_media(text: str) -> bool:
    """Whether a string can be a URL or markup at all (most strings of data are words)."""
    return "/" in text or "." in text or "<" in text


_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def decode_js_escapes(raw: str) -> str:
    """A JavaScript string literal's text as the string it stands for: ``\\/`` is ``/``,
    ``\\u002F`` is ``/``, ``\\x41`` is ``A``, surrogate pairs are joined, a backslash before a
    line break continues the line."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] == "u" and len(escape) > 1:
            digits = escape[2:-1] if escape[1] == "{" else escape[1:]
            code = int(digits, 16)
            return chr(code) if code <= 0x10FFFF else ""
        if escape[0] == "x" and len(escape) == 3:
            return chr(int(escape[1:], 16))
        if escape in ("\n", "\r\n", "\r", "\u2028", "\u2029"):
            return ""
        return _SIMPLE_ESCAPES.get(escape, escape)

    decoded = _ESCAPE.sub(replace, raw)
    if any("\ud800" <= char <= "\udfff" for char in decoded):
        decoded = decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return decoded
