"""A small tube site whose videos play through hls.js (MSE: the <video> plays a blob: URL), one
behind a play button, one embedded from a player host on another port, with a poster and a
storyboard (WebVTT sprite thumbnails). Everything it serves is made by ffmpeg and Pillow in the
test set-up (tests/support/players.py), hls.js is the pinned npm release.
"""

from __future__ import annotations

import io

from PIL import Image

from crawler.demo import samples
from crawler.demo.localsite import Route, html

HLS_TYPE = "application/vnd.apple.mpegurl"
#: The storyboard's tiles: 64x48 each, two in a row of one sprite, one second apart.
TILE = (64, 48)
TILE_PHOTOS = ("astronaut", "coffee")


def sprite() -> bytes:
    """A JPEG sprite of two tiles: the astronaut and the coffee photos, side by side."""
    image = Image.new("RGB", (TILE[0] * len(TILE_PHOTOS), TILE[1]))
    for index, name in enumerate(TILE_PHOTOS):
        tile = samples.load_photo(name).convert("RGB").resize(TILE)
        image.paste(tile, (index * TILE[0], 0))
    data = io.BytesIO()
    image.save(data, "JPEG", quality=92)
    return data.getvalue()


STORYBOARD = (
    "WEBVTT\n\n"
    f"00:00:00.000 --> 00:00:01.000\n/img/sprite.jpg#xywh=0,0,{TILE[0]},{TILE[1]}\n\n"
    f"00:00:01.000 --> 00:00:02.000\n/img/sprite.jpg#xywh={TILE[0]},0,{TILE[0]},{TILE[1]}\n"
)


def _player_page(body: str, script: str) -> Route:
    return html(
        f"<!doctype html><html><body><main>{body}</main>"
        '<script src="/js/hls.min.js"></script>'
        f"<script>{script}</script></body></html>"
    )


def _stream(prefix: str, files: dict[str, bytes]) -> dict[str, Route]:
    return {
        f"{prefix}/{path}": Route(body, HLS_TYPE if path.endswith(".m3u8") else "video/mp2t")
        for path, body in files.items()
    }


def tube_routes(stream: dict[str, bytes], hls_js: bytes, embed_url: str) -> dict[str, Route]:
    """The tube site: ``/`` plays a stream by itself, ``/click`` after its play button,
    ``/embedding`` embeds ``embed_url`` (the player host's page)."""
    attach = (
        "const h = new Hls(); h.loadSource('{src}'); h.attachMedia(document.getElementById('v'));"
    )
    return {
        "/": _player_page(
            '<video id="v" muted poster="/img/poster.jpg">'
            '<track kind="metadata" src="/thumbs.vtt"></video>'
            '<a href="/click">next</a> <a href="/embedding">embedded</a>',
            attach.format(src="/hls/master.m3u8"),
        ),
        "/click": _player_page(
            '<video id="v"></video><button id="go">Play</button>',
            "document.getElementById('go').onclick = () => { "
            + attach.format(src="/hls2/master.m3u8")
            + " };",
        ),
        "/embedding": html(
            f'<!doctype html><main><iframe src="{embed_url}" allowfullscreen></iframe></main>'
        ),
        "/js/hls.min.js": Route(hls_js, "text/javascript"),
        "/thumbs.vtt": Route(STORYBOARD.encode(), "text/vtt"),
        "/img/sprite.jpg": Route(sprite(), "image/jpeg"),
        "/img/poster.jpg": Route(
            samples.encode(samples.load_photo("coffee"), "JPEG"), "image/jpeg"
        ),
        **_stream("/hls", stream),
        **_stream("/hls2", stream),
    }


def player_host_routes(stream: dict[str, bytes], hls_js: bytes) -> dict[str, Route]:
    """The player host: ``/embed/1`` plays a stream through hls.js."""
    return {
        "/embed/1": _player_page(
            '<video id="v" muted></video>',
            "const h = new Hls(); h.loadSource('/hls/master.m3u8');"
            " h.attachMedia(document.getElementById('v'));",
        ),
        "/js/hls.min.js": Route(hls_js, "text/javascript"),
        **_stream("/hls", stream),
    }


def site_file(name: str, base_url: str, player_host: str) -> str:
    """TOML for a site file crawling the tube site, its player host opted in as private."""
    return (
        "\n".join(
            [
                f'name = "{name}"',
                f'start_urls = ["{base_url}/"]',
                "allow_private_network = true",
                f'private_hosts = ["{player_host}"]',
                'render = "browser"',
                "[follow]",
                "max_depth = 1",
                "[browser]",
                "play = ['#go']",
                "player_wait = 3.0",
                "[embeds]",
                'allow = ["127.0.0.1"]',
            ]
        )
        + "\n"
    )
