"""Video players on render = "browser" sites, with real Chromium and a real hls.js: what the
player asks the network for reaches the pipeline (the stream's master playlist, not its
variants or segments), a player behind a play button is started, an iframe player on another
host is followed one level, and posters and storyboards are previews, not media.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from crawler.demo.localsite import LocalSite, Route, html
from tests.sites import players as tube
from tests.sites.jsgallery import RecordingSite
from tests.support import players
from tests.support.cli_runner import migrated_environment, repostwatch


def _final_stats(stderr: str) -> dict[str, object]:
    dump = stderr.rsplit("Dumping Scrapy stats:", 1)[1]
    text = dump[dump.index("{") : dump.index("}") + 1]
    return ast.literal_eval(re.sub(r"datetime\.datetime\([^)]*\)", "None", text))


def _publish(host, files: dict[str, bytes]) -> str:
    """Write ``files`` into a new folder of an nginx host; the folder's URL."""
    folder = host.folder("tube")
    for path, body in files.items():
        host.write(folder / path, body)
    return host.url(folder) + "/"


def test_streams_a_player_requests_reach_the_pipeline(tmp_path, nginx):
    stream, hls_js = players.hls_stream(), players.hls_js()
    env = migrated_environment(tmp_path)
    embed = _publish(nginx.embed, tube.player_host_files(stream, hls_js)) + "embed.html"
    start = _publish(nginx.site, tube.tube_files(stream, hls_js, embed))
    base, embed_base = urlsplit(start).path, urlsplit(embed).path.rsplit("/", 1)[0] + "/"
    (tmp_path / "sites" / "tube.toml").write_text(
        tube.site_file("tube", start, f"127.0.0.1:{nginx.embed.port}")
    )
    mark = nginx.mark()
    crawl = repostwatch("crawl", "tube", env=env, cwd=tmp_path)

    stats = _final_stats(crawl.stderr)
    # scrapy-playwright sends the crawl's User-Agent from the browser too: who asked is told
    # by how often (the player once, the pipeline once more).
    site = Counter(
        r.path[len(base) :] for r in nginx.site.requests(since=mark) if r.path.startswith(base)
    )
    for stream in ("hls", "hls2"):
        # The player loaded the master and the variant playlist (hls.js fetches them by XHR:
        # no <video src> names them); the pipeline fetched the stream by its master playlist.
        assert site[f"{stream}/master.m3u8"] >= 2
        assert site[f"{stream}/v0/index.m3u8"] >= 1
    # Each stream was handed over once, by its master playlist: the variant playlists and the
    # segments the players asked for are parts of them, and the segment requests were recorded
    # and stopped in the browser (the stream is the crawler's to sample: once the stream
    # sampler samples it, it fetches what it chooses, through the downloader).
    assert stats["repostwatch/browser/player/streams"] == 3
    assert "repostwatch/browser/player/videos" not in stats
    assert stats["repostwatch/browser/player/parts_of_streams"] >= 3  # variants, segments
    assert stats["repostwatch/browser/media_not_loaded"] >= 3  # a segment of each, at least
    # The poster is a preview, not media of the page: the browser's request for it was stopped;
    # the pipeline fetched it once, as a preview (hashed, a hint at most, never a flag).
    assert site["img/poster.jpg"] == 1
    assert stats["repostwatch/previews/found"] == 2  # the poster and the storyboard of /
    assert stats["repostwatch/previews/hashed"] >= 1
    # click.html asked for nothing until its play button was clicked.
    assert stats["repostwatch/browser/player/started"] == 1
    # The embed on the other host: kept from loading inline, followed through the downloader
    # (its robots.txt read first), rendered once, and its stream handed over too.
    assert stats["repostwatch/browser/embeds_deferred"] == 1
    assert stats["repostwatch/embeds/found"] == 1
    assert stats["repostwatch/embeds/followed"] == 1
    on_host = [r.path for r in nginx.embed.requests(since=mark)]
    assert on_host[0] == "/robots.txt"
    assert Counter(on_host)[embed_base + "embed.html"] == 1
    assert Counter(on_host)[embed_base + "hls/master.m3u8"] >= 2
    assert stats["repostwatch/browser/pages"] == 4  # /, /click, /embedding, the embed
    # Three media reached the pipeline: the three streams (manifests it skips as "not media"
    # until the stream sampler is there, and samples since); not the poster.
    hashed = stats.get("repostwatch/media/hashed", 0)
    skipped = sum(v for k, v in stats.items() if k.startswith("repostwatch/media/skipped/"))
    assert hashed + skipped == 3
    # Each sampled as a stream the browser captured: a flag's delivery would say "browser-hls".
    sampled = re.findall(r"Sampled HLS stream \S+/master\.m3u8( \(captured in the browser\))?",
                         crawl.stderr)  # fmt: skip
    assert sampled == [" (captured in the browser)"] * 3, crawl.stderr[-3000:]


@pytest.mark.parametrize("follow", ["follow = false", 'deny = ["127.0.0.1"]'])
def test_a_site_file_can_keep_embeds_from_being_followed(tmp_path, nginx, follow):
    stream, hls_js = players.hls_stream(), players.hls_js()
    env = migrated_environment(tmp_path)
    embed = _publish(nginx.embed, tube.player_host_files(stream, hls_js)) + "embed.html"
    start = _publish(nginx.site, tube.tube_files(stream, hls_js, embed)) + "embedding.html"
    text = tube.site_file("tube", start, f"127.0.0.1:{nginx.embed.port}")
    text = text.replace('allow = ["127.0.0.1"]', follow).replace("max_depth = 1", "enabled = false")
    (tmp_path / "sites" / "tube.toml").write_text(text)
    mark = nginx.mark()
    crawl = repostwatch("crawl", "tube", env=env, cwd=tmp_path)
    stats = _final_stats(crawl.stderr)
    # Neither the browser nor the crawler went to the player host.
    assert nginx.embed.requests(since=mark) == []
    assert stats["repostwatch/embeds/found"] == 1
    assert stats["repostwatch/embeds/refused"] == 1
    assert "repostwatch/embeds/followed" not in stats


def test_a_player_that_waits_for_play_is_played_muted(tmp_path):
    # No play button: the <video> loads nothing (preload="none") until play() is called.
    env = migrated_environment(tmp_path)
    routes = {
        "/": html('<!doctype html><main><video preload="none" src="/v/lazy.mp4"></video></main>'),
        "/v/lazy.mp4": Route(b"\x00\x00\x00\x18ftypmp42" + bytes(64), "video/mp4"),
    }
    with RecordingSite(routes) as site:
        text = f'name = "lazy"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
        text += 'render = "browser"\n[browser]\nplayer_wait = 2.0\n'
        (tmp_path / "sites" / "lazy.toml").write_text(text)
        crawl = repostwatch("crawl", "lazy", env=env, cwd=tmp_path)
    stats = _final_stats(crawl.stderr)
    assert stats["repostwatch/browser/player/started"] == 1
    assert stats["repostwatch/browser/player/videos"] == 1
    assert "/v/lazy.mp4" in site.fetched_by_scrapy()  # handed to the pipeline
    assert "/v/lazy.mp4" not in site.fetched_by_browser()  # recorded and stopped


def test_iframes_of_a_plain_site_are_followed_one_level_under_the_embed_hosts_robots(tmp_path):
    env = migrated_environment(tmp_path)
    host_routes = {
        "/robots.txt": Route(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/embed/1": html(
            '<video src="/v/e.mp4"></video><iframe src="/embed/deeper"></iframe>'
            '<a href="/embed/linked">more</a>'
        ),
        "/private/2": html('<video src="/v/p.mp4"></video>'),
        "/v/e.mp4": Route(b"\x00\x00\x00\x18ftypmp42" + bytes(64), "video/mp4"),
    }
    with LocalSite(host_routes) as host:
        page = (
            f'<iframe src="{host.url}/embed/1"></iframe>'
            f'<iframe data-src="{host.url}/private/2"></iframe><iframe src="about:blank"></iframe>'
        )
        with LocalSite({"/": html(page)}) as site:
            text = (
                f'name = "plain"\nstart_urls = ["{site.url}/"]\nallow_private_network = true\n'
                f'private_hosts = ["127.0.0.1:{host.port}"]\n'
            )
            (tmp_path / "sites" / "plain.toml").write_text(text)
            crawl = repostwatch("crawl", "plain", env=env, cwd=tmp_path)
    stats = _final_stats(crawl.stderr)
    # Both iframes were followed by the site file; robots.txt of the embed host kept one out.
    assert stats["repostwatch/embeds/found"] == 2
    assert stats["repostwatch/embeds/followed"] == 2
    assert stats["robotstxt/forbidden"] == 1
    # The embed's video reached the pipeline; the embed's own iframe and link were not
    # followed (one level).
    assert host.requests == ["/robots.txt", "/embed/1", "/v/e.mp4"]
    assert "pages           2" in crawl.stdout  # the page and its embed


def test_previews_of_a_blob_player_belong_to_the_one_stream_it_played():
    from crawler.items import POSTER, STORYBOARD, Preview
    from spiders.site import _with_videos

    stream = "https://tube.example/hls/master.m3u8"
    poster = Preview("https://tube.example/p.jpg", POSTER)  # <video src="blob:...">
    own = Preview("https://tube.example/own.vtt", STORYBOARD, "https://tube.example/v.mp4")
    fetched = "https://tube.example/thumbs.vtt"  # only the player's traffic named it
    assert _with_videos([poster, own], [fetched, own.url], [stream]) == [
        Preview(poster.url, POSTER, stream),
        own,
        Preview(fetched, STORYBOARD, stream),
    ]
    # Two videos on the page: which one a poster belongs to is not guessed.
    assert _with_videos([poster], [], [stream, "https://tube.example/2.mp4"]) == [poster]


def test_a_dash_js_player_hands_over_its_manifest(tmp_path, nginx):
    env = migrated_environment(tmp_path)
    start = _publish(nginx.site, tube.dash_files(players.dash_stream(), players.dash_js()))
    base = urlsplit(start).path
    text = f'name = "dash"\nstart_urls = ["{start}"]\nallow_private_network = true\n'
    (tmp_path / "sites" / "dash.toml").write_text(text + 'render = "browser"\n')
    mark = nginx.mark()
    crawl = repostwatch("crawl", "dash", env=env, cwd=tmp_path)
    stats = _final_stats(crawl.stderr)
    site = Counter(
        r.path[len(base) :] for r in nginx.site.requests(since=mark) if r.path.startswith(base)
    )
    # The player's request and the pipeline's; its init and media segments (under the
    # manifest's folder) are parts of it: recorded, stopped in the browser, not handed over.
    assert site["dash/stream.mpd"] >= 2
    assert stats["repostwatch/browser/player/streams"] == 1
    assert stats["repostwatch/browser/player/parts_of_streams"] >= 1
    assert stats["repostwatch/browser/media_not_loaded"] >= 1
    assert "repostwatch/browser/player/videos" not in stats
    # One media reached the pipeline: the stream (a manifest it skips as "not media" until the
    # stream sampler is there, and samples since).
    hashed = stats.get("repostwatch/media/hashed", 0)
    skipped = sum(v for k, v in stats.items() if k.startswith("repostwatch/media/skipped/"))
    assert hashed + skipped == 1
    # Sampled as a stream the browser captured: a flag's delivery would say "browser-dash".
    assert re.search(r"Sampled DASH stream \S+/dash/stream\.mpd \(captured in the browser\)",
                     crawl.stderr), crawl.stderr[-3000:]  # fmt: skip
