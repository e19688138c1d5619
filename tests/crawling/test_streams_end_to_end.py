"""A repost served as HLS and as DASH on a real nginx, found by a real crawl: the page shows
``<video><source src=....m3u8>``, the pipeline's video dispatcher (crawler/crawling/video_fetch.py)
hands the playlist to the stream sampler, and the repost is flagged with its delivery."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.cli_runner import flags_json, migrated_environment, repostwatch
from tests.support.segments import stream_files

CASE = "stream-case"


def test_reposts_served_as_hls_and_dash_are_flagged_and_unrelated_streams_are_not(nginx, tmp_path):
    root = stream_files()
    env = migrated_environment(tmp_path)
    repostwatch("refs", "add", "--case", CASE, root / "source.mp4", env=env, cwd=tmp_path)
    base = nginx.site.publish(root, nginx.site.folder("e2e") / "s")
    folder = Path(nginx.site.root) / urlsplit(base).path.lstrip("/")
    streams = {
        "hls": f"{base}/hls-master.m3u8",
        "dash": f"{base}/dash-time/manifest.mpd",
        "unrelated": f"{base}/hls-unrelated/index.m3u8",
    }
    page = nginx.site.write(
        folder.parent / "index.html",
        "<html><body>"
        f'<video controls><source src="{streams["hls"]}" type="application/x-mpegURL"></video>'
        f'<video src="{streams["dash"]}"></video>'
        f'<div class="player" data-video="{streams["unrelated"]}"></div>'
        "</body></html>",
    )
    (Path(env["REPOSTWATCH_SITES_DIR"]) / "streams.toml").write_text(
        f'name = "streams"\nstart_urls = ["{page}"]\nallow_private_network = true\n'
    )
    crawl = repostwatch("crawl", "streams", env=env, cwd=tmp_path)

    flags = {f["media_url"]: f for f in flags_json(env, tmp_path)}
    assert set(flags) == {streams["hls"], streams["dash"]}, crawl.stderr[-3000:]
    for form in ("hls", "dash"):
        flag = flags[streams[form]]
        assert flag["case"] == CASE
        delivery = json.loads(flag["evidence"])["delivery"]
        assert delivery["form"] == form
        assert delivery["bytes_fetched"] > 0
    hls = json.loads(flags[streams["hls"]]["evidence"])["delivery"]
    assert hls["detail"].startswith("480x360 900 kbit/s")
    assert "'repostwatch/video/hls/streams': 2" in crawl.stderr
    assert "'repostwatch/video/dash/streams': 1" in crawl.stderr
