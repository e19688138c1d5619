"""The test nginx (tests/support/nginx.py): Range, types, two hosts, and the bytes it logs."""

from __future__ import annotations

import http.client
import os
import urllib.request
from urllib.parse import urlsplit

import pytest


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def payload(nginx):
    """A file of 1 MB of random bytes on the site, and its bytes."""
    data = os.urandom(1_000_000)
    folder = nginx.site.folder("payload")
    return nginx.site.write(folder / "video.mp4", data), data


def test_a_range_request_gets_206_with_those_bytes_and_the_log_counts_them(nginx, payload):
    url, data = payload
    mark = nginx.mark()

    status, headers, body = _get(url, {"Range": "bytes=1000-4999"})

    assert status == 206
    assert headers["Content-Range"] == f"bytes 1000-4999/{len(data)}"
    assert body == data[1000:5000]
    assert headers["Content-Type"] == "video/mp4"
    (logged,) = nginx.requests(url, since=mark)
    assert (logged.host, logged.status, logged.range) == ("site", 206, "bytes=1000-4999")
    assert logged.body_bytes_sent == 4000
    assert nginx.bytes_sent(url, since=mark) == 4000


def test_a_suffix_range_reads_the_end_of_the_file(nginx, payload):
    url, data = payload
    status, headers, body = _get(url, {"Range": "bytes=-100"})
    assert (status, body) == (206, data[-100:])
    assert headers["Content-Range"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"


def test_bytes_sent_adds_up_every_request_since_the_mark(nginx, payload):
    url, data = payload
    _get(url)  # before the mark: not counted
    mark = nginx.mark()
    _get(url)
    _get(url, {"Range": "bytes=0-99"})
    assert nginx.bytes_sent(url, since=mark) == len(data) + 100
    assert [r.range for r in nginx.requests(url, since=mark)] == [None, "bytes=0-99"]
    assert nginx.bytes_sent(url) == 2 * len(data) + 100


def test_norange_serves_the_whole_file_whatever_the_range(nginx, payload):
    url, data = payload
    path = urlsplit(url).path
    plain = nginx.site.url(path, prefix="norange")
    status, headers, body = _get(plain, {"Range": "bytes=0-99"})
    assert (status, body) == (200, data)
    assert "Content-Range" not in headers


def test_streaming_manifests_and_segments_get_their_types(nginx):
    folder = nginx.site.folder("types")
    expected = {
        "index.m3u8": "application/vnd.apple.mpegurl",
        "manifest.mpd": "application/dash+xml",
        "segment0.ts": "video/mp2t",
        "chunk-1.m4s": "video/iso.segment",
        "clip.webm": "video/webm",
        "clip.mkv": "video/x-matroska",
        "key.key": "application/octet-stream",
        "thumbs.vtt": "text/vtt",
    }
    for name, mime in expected.items():
        status, headers, _ = _get(nginx.site.write(folder / name, b"x"))
        assert (name, status, headers["Content-Type"].split(";")[0]) == (name, 200, mime)


def test_the_embed_host_serves_its_own_folder_and_is_logged_as_embed(nginx):
    folder = nginx.embed.folder("player")
    url = nginx.embed.write(folder / "player.html", "<video></video>")
    assert nginx.embed.port != nginx.site.port
    mark = nginx.mark()

    status, headers, body = _get(url, {"Referer": nginx.site.url("page.html")})
    missing, _, _ = _get(nginx.site.url(urlsplit(url).path))

    assert (status, body) == (200, b"<video></video>")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert missing == 404  # the site's root does not have it
    (logged,) = nginx.embed.requests(url, since=mark)
    assert (logged.host, logged.referer) == ("embed", nginx.site.url("page.html"))
    assert [r.host for r in nginx.requests(urlsplit(url).path, since=mark)] == ["embed", "site"]


def test_publish_serves_a_file_where_it_is_without_copying(nginx, tmp_path):
    source = tmp_path / "made.ts"
    source.write_bytes(b"segment")
    url = nginx.site.publish(source)
    assert _get(url)[2] == b"segment"
    assert nginx.site.publish(source, nginx.site._file(urlsplit(url).path)) == url  # idempotent


def test_a_client_that_stops_reading_is_charged_only_what_nginx_sent(nginx):
    folder = nginx.site.folder("big")
    size = 200_000_000
    with open(folder / "big.mp4", "wb") as big:
        big.truncate(size)  # sparse: costs no disk
    url = nginx.site.url(folder / "big.mp4")
    mark = nginx.mark()

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", parts.path)
    response = connection.getresponse()
    assert len(response.read(65536)) == 65536
    connection.close()

    (logged,) = nginx.requests(url, since=mark)
    assert logged.status == 200
    assert 65536 <= logged.body_bytes_sent < size / 4
