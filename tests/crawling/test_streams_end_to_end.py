"""A repost served as HLS and as DASH on a real nginx, found by a real crawl: the page shows
``<video><source src=....m3u8>``, the pipeline's video dispatcher (crawler/crawling/video_fetch.py)
hands the playlist to the stream sampler, and the repost is flagged with its delivery."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

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


def test_every_stream_form_of_the_reference_footage_is_flagged(nginx, tmp_path):
    """tests/support/streams.py's reference (60 s, 640x360, 25 fps, B-frames) as each stream
    form a site serves: HLS masters of TS and fMP4 variants, AES-128, a live window, and DASH
    SegmentTemplate ($Number$, SegmentTimeline), SegmentList and SegmentBase."""
    from tests.support import streams as footage_streams

    env = migrated_environment(tmp_path)
    reference = footage_streams.reference()
    repostwatch("refs", "add", "--case", CASE, reference.path, env=env, cwd=tmp_path)
    videos = {
        "hls-ts": footage_streams.hls("mpegts"),
        "hls-fmp4": footage_streams.hls("fmp4"),
        "hls-aes": footage_streams.hls_aes(),
        "hls-live": footage_streams.hls_live(),
        **{
            f"dash-{layout}": footage_streams.dash(layout)
            for layout in footage_streams.DASH_LAYOUTS
        },
    }
    urls = {name: video.serve(nginx.site) for name, video in videos.items()}
    folder = nginx.site.folder("forms")
    tags = "".join(f'<video><source src="{url}"></video>' for url in urls.values())
    page = nginx.site.write(folder / "index.html", f"<html><body>{tags}</body></html>")
    (Path(env["REPOSTWATCH_SITES_DIR"]) / "forms.toml").write_text(
        f'name = "forms"\nstart_urls = ["{page}"]\nallow_private_network = true\n'
    )
    mark = nginx.mark()
    crawl = repostwatch("crawl", "forms", env=env, cwd=tmp_path)

    flags = {f["media_url"]: f for f in flags_json(env, tmp_path)}
    # The live window is 24 s of the 60 s reference, sampled a segment (4 s) at a time: an
    # excerpt, which the share rule of today's video matcher does not match (the temporal
    # alignment of issue 13 will); here it must at least be sampled.
    assert "'repostwatch/video/hls/live': 1" in crawl.stderr
    assert "video/hls/failed" not in crawl.stderr and "video/dash/failed" not in crawl.stderr
    live = urls.pop("hls-live")
    assert re.search(rf"Sampled HLS stream {re.escape(live)}: .*live window", crawl.stderr)
    for name, url in urls.items():
        assert url in flags, (name, crawl.stderr[-4000:])
        delivery = json.loads(flags[url]["evidence"])["delivery"]
        assert delivery["form"] == name.split("-")[0]
        folder_path = urlsplit(url).path.rsplit("/", 1)[0] + "/"
        sent = sum(r.body_bytes_sent for r in nginx.requests(since=mark)
                   if r.path.startswith(folder_path))  # fmt: skip
        assert delivery["bytes_fetched"] <= sent
        share = delivery["bytes_fetched"] / videos[name].size
        print(f"{name}: {delivery['bytes_fetched']:,} of {videos[name].size:,} bytes served "
              f"({share:.0%}): {delivery['detail']}")  # fmt: skip
    # the 360p variant of each master, never the 720p one
    assert not [r for r in nginx.requests(since=mark) if "/720p/" in r.path]


def test_a_cropped_repost_is_flagged_through_its_crops_and_an_unrelated_clip_is_not(
    nginx, tmp_path
):
    """The reference footage registered with ``refs add`` (which stores each second's middle),
    reposted cropped to 90% of each side and scaled (ffmpeg), served by nginx: the crawl flags
    it, and the evidence says it was found through its crops; an unrelated clip that opens on
    the same title card is not flagged."""
    from tests.support import streams as footage_streams

    env = migrated_environment(tmp_path)
    repostwatch(
        "refs", "add", "--case", CASE, footage_streams.reference().path, env=env, cwd=tmp_path
    )
    cropped = footage_streams.edited("cropped")
    unrelated = footage_streams.unrelated()[0]
    assert unrelated.details["title_card"]
    urls = {"cropped": cropped.serve(nginx.site), "unrelated": unrelated.serve(nginx.site)}
    tags = "".join(f'<video src="{url}"></video>' for url in urls.values())
    page = nginx.site.write(nginx.site.folder("crops") / "index.html", f"<p>{tags}</p>")
    (Path(env["REPOSTWATCH_SITES_DIR"]) / "crops.toml").write_text(
        f'name = "crops"\nstart_urls = ["{page}"]\nallow_private_network = true\n'
    )
    crawl = repostwatch("crawl", "crops", env=env, cwd=tmp_path)

    flags = {f["media_url"]: f for f in flags_json(env, tmp_path)}
    assert set(flags) == {urls["cropped"]}, crawl.stderr[-4000:]
    evidence = json.loads(flags[urls["cropped"]]["evidence"])
    assert evidence["variant"] == "cropped"
    assert evidence["frames_aligned"] >= 5
    assert evidence["speed"] == pytest.approx(1.0, abs=0.1)
    assert evidence["reference_end"] - evidence["reference_start"] >= 20
