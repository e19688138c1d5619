"""The screenshot browser's route, without a browser: what counts as media, and what the
watch on responses notices (the browser tests are tests/takedown/test_screenshot_browser.py)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from PIL import Image

from crawler.takedown.screenshot_route import STUB_HEADER, STUB_PNG, RouteWatch, is_media


def test_media_is_recognised_by_type_or_by_its_first_bytes():
    assert is_media("image/jpeg", b"")
    assert is_media("VIDEO/mp4; codecs=x", b"")
    assert is_media("application/octet-stream", STUB_PNG)
    assert is_media("text/plain", b"\xff\xd8\xff\xe0" + bytes(12))
    assert is_media("", b"\x00\x00\x00\x18ftypmp42")
    assert is_media("", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not is_media("text/html", b"<!doctype html>")
    assert not is_media("application/json", b'["/a.jpg"]')
    assert Image.open(io.BytesIO(STUB_PNG)).getextrema() == (128, 128)  # one grey


def test_a_media_response_without_the_stub_is_noticed():
    """What refuses the screenshot when media reached the page around the route."""

    def response(url, resource_type, headers):
        request = SimpleNamespace(resource_type=resource_type)
        return SimpleNamespace(url=url, request=request, headers=headers)

    watch = RouteWatch()
    watch.on_response(response("http://a/p.png", "image", {STUB_HEADER: "1"}))
    watch.on_response(response("http://a/page", "document", {"content-type": "text/html"}))
    watch.on_response(response("data:image/png;base64,AA", "image", {}))
    assert watch.slipped == []
    watch.on_response(response("http://a/x.bin", "fetch", {"content-type": "video/mp4"}))
    watch.on_response(response("http://a/y.jpg", "image", {"content-type": "image/jpeg"}))
    assert watch.slipped == ["http://a/x.bin", "http://a/y.jpg"]
