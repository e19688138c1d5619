"""A small tube site whose videos play through hls.js (MSE: the <video> plays a blob: URL), one
behind a play button, one embedded from a player host on another port, with a poster and a
storyboard (WebVTT sprite thumbnails). Everything it serves is made by ffmpeg and Pillow in the
test set-up (tests/support/players.py), hls.js is the pinned npm release.
"""

from __future__ import annotations

import io

from PIL import Image

from crawler.demo import samples
from crawler.demo.localsite import Route

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
    f"00:00:00.000 --> 00:00:01.000\nimg/sprite.jpg#xywh=0,0,{TILE[0]},{TILE[1]}\n\n"
    f"00:00:01.000 --> 00:00:02.000\nimg/sprite.jpg#xywh={TILE[0]},0,{TILE[0]},{TILE[1]}\n"
)


#: Content types by extension, for serving these files from a LocalSite (nginx has its own).
TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript",
    "m3u8": HLS_TYPE,
    "ts": "video/mp2t",
    "vtt": "text/vtt",
    "jpg": "image/jpeg",
}


def _player_page(body: str, script: str) -> bytes:
    return (
        f"<!doctype html><html><body><main>{body}</main>"
        '<script src="js/hls.min.js"></script>'
        f"<script>{script}</script></body></html>"
    ).encode()


def _stream(prefix: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{prefix}/{path}": body for path, body in files.items()}


_ATTACH = "const h = new Hls(); h.loadSource('{src}'); h.attachMedia(document.getElementById('v'));"


def tube_files(stream: dict[str, bytes], hls_js: bytes, embed_url: str) -> dict[str, bytes]:
    """The tube site's files, every link relative: ``index.html`` plays a stream by itself,
    ``click.html`` after its play button, ``embedding.html`` embeds ``embed_url`` (the player
    host's page)."""
    return {
        "index.html": _player_page(
            '<video id="v" muted poster="img/poster.jpg">'
            '<track kind="metadata" src="thumbs.vtt"></video>'
            '<a href="click.html">next</a> <a href="embedding.html">embedded</a>',
            _ATTACH.format(src="hls/master.m3u8"),
        ),
        "click.html": _player_page(
            '<video id="v"></video><button id="go">Play</button>',
            "document.getElementById('go').onclick = () => { "
            + _ATTACH.format(src="hls2/master.m3u8")
            + " };",
        ),
        "embedding.html": (
            f'<!doctype html><main><iframe src="{embed_url}" allowfullscreen></iframe></main>'
        ).encode(),
        "js/hls.min.js": hls_js,
        "thumbs.vtt": STORYBOARD.encode(),
        "img/sprite.jpg": sprite(),
        "img/poster.jpg": samples.encode(samples.load_photo("coffee"), "JPEG"),
        **_stream("hls", stream),
        **_stream("hls2", stream),
    }


def player_host_files(stream: dict[str, bytes], hls_js: bytes) -> dict[str, bytes]:
    """The player host's files: ``embed.html`` plays a stream through hls.js."""
    return {
        "embed.html": _player_page(
            '<video id="v" muted></video>', _ATTACH.format(src="hls/master.m3u8")
        ),
        "js/hls.min.js": hls_js,
        **_stream("hls", stream),
    }


def dash_files(stream: dict[str, bytes], dash_js: bytes) -> dict[str, bytes]:
    """A page whose dash.js player plays ``dash/stream.mpd`` (not autoplaying: it buffers)."""
    page = (
        '<!doctype html><html><body><main><video id="v" muted></video></main>'
        '<script src="js/dash.all.min.js"></script><script>'
        "dashjs.MediaPlayer().create().initialize(document.getElementById('v'), "
        "'dash/stream.mpd', false);</script></body></html>"
    )
    return {"index.html": page.encode(), "js/dash.all.min.js": dash_js, **_stream("dash", stream)}


def routes(files: dict[str, bytes]) -> dict[str, Route]:
    """``files`` as a LocalSite's routes (``index.html`` is ``/`` too)."""
    served = {
        f"/{path}": Route(body, TYPES[path.rsplit(".", 1)[-1]]) for path, body in files.items()
    }
    if "/index.html" in served:
        served["/"] = served["/index.html"]
    return served


def site_file(name: str, start_url: str, player_host: str) -> str:
    """TOML for a site file crawling the tube site, its player host opted in as private."""
    return (
        "\n".join(
            [
                f'name = "{name}"',
                f'start_urls = ["{start_url}"]',
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
