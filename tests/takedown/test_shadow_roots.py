"""Closed shadow roots: the rewrite that opens declarative ones in a document's bytes, and the
search for any left in the browser's tree (the browser side: test_screenshot_browser.py)."""

from __future__ import annotations

import pytest

from crawler.takedown.shadow_roots import (
    UnreadableEncoding,
    closed_shadow_roots,
    open_declarative_shadow_roots,
)


@pytest.mark.parametrize(
    ("declared", "opened"),
    [
        (b'<template shadowrootmode="closed">', b"<template shadowrootmode=open >"),
        (b"<template SHADOWROOTMODE = 'Closed'>", b"<template SHADOWROOTMODE=open >"),
        # a value in character references, unquoted, before a self-closing slash
        (b"<template shadowrootmode=&#99losed/>", b"<template shadowrootmode=open />"),
        (b'<template a="1"shadowrootmode="closed">', b'<template a="1"shadowrootmode=open >'),
        # the legacy attribute (Chromium no longer reads it; another browser might)
        (b'<template shadowroot="closed">', b"<template shadowroot=open >"),
        (b"<template shadowroot=closed>", b"<template shadowroot=open >"),
        # HTML in a script's string, for setHTMLUnsafe
        (
            b"h.setHTMLUnsafe('<template shadowrootmode=\\'closed\\'>')",
            b"h.setHTMLUnsafe('<template shadowrootmode=open >')",
        ),
    ],
)
def test_a_closed_declarative_shadow_root_is_rewritten_open(declared, opened):
    assert open_declarative_shadow_roots(b"<div>" + declared + b"<img></template></div>") == (
        b"<div>" + opened + b"<img></template></div>"
    )


@pytest.mark.parametrize(
    "untouched",
    [
        b'<template shadowrootmode="open">',
        b"<i data-shadowrootmode=closed>",
        b"const shadowRoot = this.attachShadow({mode: 'closed'});",  # the init script's
        b"this.shadowRoot=closedOnes[0];",
        "<p>shadowrootmode 닫힘</p>".encode("euc-kr"),
    ],
)
def test_what_declares_no_closed_shadow_root_is_left_as_it_is(untouched):
    assert open_declarative_shadow_roots(untouched, "text/html; charset=euc-kr") == untouched


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('<template shadowrootmode="closed">'.encode("utf-16"), "text/html"),  # its BOM
        ('<template shadowrootmode="closed">'.encode("utf-16-le"), "text/html; charset=UTF-16"),
        ('<template shadowrootmode="closed">'.encode("utf-16-be"), "text/html"),  # NUL bytes
        ("<p>\x1b$B$3$s\x1b(B".encode("ascii"), "text/html; charset=iso-2022-jp"),
    ],
)
def test_a_document_whose_ascii_bytes_may_not_be_ascii_is_not_rewritten(body, content_type):
    with pytest.raises(UnreadableEncoding):
        open_declarative_shadow_roots(body, content_type)


def test_a_utf8_byte_order_mark_outranks_the_content_type():
    body = b'\xef\xbb\xbf<template shadowrootmode="closed">'
    assert open_declarative_shadow_roots(body, "text/html; charset=utf-16") == (
        b"\xef\xbb\xbf<template shadowrootmode=open >"
    )


def test_closed_shadow_roots_are_found_in_frames_and_shadow_roots_alike():
    """A tree as DOM.getDocument (depth -1, pierce) gives it: user-agent and open roots are
    no finding; a closed one is named by its document, in a frame or nested in a shadow root."""

    def document(url, *children):
        return {"nodeName": "#document", "documentURL": url, "children": list(children)}

    def element(*children, shadow=None, frame=None):
        node = {"nodeName": "DIV", "children": list(children)}
        if shadow:
            node["shadowRoots"] = [shadow]
        if frame:
            node["contentDocument"] = frame
        return node

    def root(kind, *children):
        return {
            "nodeName": "#document-fragment",
            "shadowRootType": kind,
            "children": list(children),
        }

    clean = document(
        "http://a/", element(shadow=root("user-agent")), element(shadow=root("open", element()))
    )
    assert closed_shadow_roots(clean) == []
    nested = document(
        "http://a/",
        element(shadow=root("open", element(shadow=root("closed")))),
        element(frame=document("about:srcdoc", element(shadow=root("closed")))),
        element(shadow=root("closed")),
    )
    assert closed_shadow_roots(nested) == ["http://a/", "about:srcdoc"]
