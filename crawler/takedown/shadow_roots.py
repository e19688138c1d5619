"""Closed shadow roots: the one part of a page the screenshot's blur cannot reach.

A page script cannot see into a closed shadow root, so neither can the blur, which runs as one.
:mod:`crawler.takedown.screenshot_browser` opens them where it can and refuses the page where it
cannot:

* ``attachShadow({mode: 'closed'})`` is made open by an init script.
* Declarative ones (``<template shadowrootmode="closed">``, and the legacy
  ``shadowroot="closed"`` that Chromium no longer reads) are made by the HTML parser, which no
  script patches: :func:`open_declarative_shadow_roots` rewrites them to open in the bytes of
  every HTML document before the browser gets them.
* Whatever is left (a document the route never sees, such as an ``iframe srcdoc`` with its
  attribute written in character references, or HTML a script hands to ``setHTMLUnsafe``) is
  found by :func:`closed_shadow_roots` in the browser's own view of the page (DevTools'
  ``DOM.getDocument`` with ``pierce``), and the page gets no screenshot.

The rewrite works on bytes, so only where an ASCII byte is that character: every encoding a
browser uses but UTF-16 and ISO-2022-JP. A document that may be in either raises
:class:`UnreadableEncoding` (the screenshot is then refused: it does not pass unchanged).

Pure standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: ``shadowrootmode=...`` with any value but ``open``, and the legacy ``shadowroot=closed``
#: (its name is also a script's ``shadowRoot = ...``: only the literal value is rewritten). A
#: value is quoted (also with a backslash, in a script's string) or unquoted: letters, digits
#: and character references, all that can spell ``closed``. The name keeps its case (a
#: script's property stays itself); the value becomes ``open`` and a space, which ends an
#: unquoted value.
_DECLARATIVE = re.compile(
    rb"""(?<![\w-])(?P<name>shadowrootmode|shadowroot(?=[\t\n\f\r ]*=[\t\n\f\r ]*
    (?:"closed"|'closed'|closed(?![\w-]))))
    [\t\n\f\r ]*=[\t\n\f\r ]*
    (?P<value>\\?"[^"]*"|\\?'[^']*'|(?:&[\#\w]*;?|\w)+)""",
    re.IGNORECASE | re.VERBOSE,
)
#: Labels of UTF-16 (WHATWG Encoding): a document in it has no ASCII bytes to rewrite.
UTF16_LABELS = frozenset(
    {
        "csunicode",
        "iso-10646-ucs-2",
        "ucs-2",
        "unicode",
        "unicodefeff",
        "unicodefffe",
        "utf-16",
        "utf-16be",
        "utf-16le",
    }
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^\s;"']+)""", re.IGNORECASE)


class UnreadableEncoding(Exception):
    """A document whose bytes cannot be rewritten safely; ``str()`` says why."""


def _charset(content_type: str) -> str | None:
    """The ``charset`` a Content-Type header names, lower case, or None."""
    match = _CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def check_ascii_compatible(body: bytes, content_type: str) -> None:
    """Raise :class:`UnreadableEncoding` unless the browser reads ``body``'s ASCII bytes as ASCII.

    UTF-16 comes only from a byte order mark or the Content-Type (a ``<meta>`` naming it means
    UTF-8 by HTML's rules), or from Chromium guessing at a document with NUL bytes; ISO-2022-JP
    turns ASCII bytes into other characters only after an escape (ESC) byte, whatever names it.
    A UTF-8 byte order mark overrides them all.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return
    if body.startswith((b"\xfe\xff", b"\xff\xfe")):
        raise UnreadableEncoding("UTF-16 (its byte order mark)")
    label = _charset(content_type)
    if label in UTF16_LABELS:
        raise UnreadableEncoding(f"UTF-16 (charset={label})")
    if b"\x00" in body:
        raise UnreadableEncoding("NUL bytes (perhaps UTF-16)")
    if b"\x1b" in body:
        raise UnreadableEncoding("escape bytes (perhaps ISO-2022-JP)")


def open_declarative_shadow_roots(body: bytes, content_type: str = "") -> bytes:
    """``body`` (an HTML document) with every declarative shadow root it declares made open.

    Raises :class:`UnreadableEncoding` for a document whose encoding may not be ASCII-compatible.
    """
    check_ascii_compatible(body, content_type)
    return _DECLARATIVE.sub(_opened, body)


def _opened(match: re.Match[bytes]) -> bytes:
    value = match.group("value").strip(b"\\\"'")
    if value.lower() == b"open":
        return match.group(0)
    return match.group("name") + b"=open "


def closed_shadow_roots(root: Mapping) -> list[str]:
    """The URLs of the documents that hold a closed shadow root, in a DevTools DOM tree
    (``DOM.getDocument`` with ``depth: -1, pierce: true``: frames' documents and shadow roots
    included), each once, in the order found."""
    found: list[str] = []
    stack: list[tuple[Mapping, str]] = [(root, "")]
    while stack:
        node, url = stack.pop()
        url = node.get("documentURL") or url
        for shadow in node.get("shadowRoots", ()):
            if shadow.get("shadowRootType") == "closed" and url not in found:
                found.append(url)
            stack.append((shadow, url))
        for key in ("children", "pseudoElements"):
            stack.extend((child, url) for child in reversed(node.get(key, ())))
        for key in ("contentDocument", "templateContent", "importedDocument"):
            if key in node:
                stack.append((node[key], url))
    return found
