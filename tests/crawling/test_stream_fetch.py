"""HLS and DASH streams served by a real nginx, sampled inside a real Scrapy crawl: every byte
through the engine, frames placed on the stream's timeline, the delivery said as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from crawler.hashing.pdq import PDQ_MIN_QUALITY
from crawler.hashing.video import hash_video
from tests.support.project import ROOT
from tests.support.segments import SECONDS, source, stream_files

#: PDQ bits between a sampled frame and the source frame at its time (match threshold: 31).
NEAR = 31
#: Where each stream is, under the published folder, and what else it may fetch.
STREAMS = {
    "hls-master": ("hls-master.m3u8", ("hls-master.m3u8", "hls-360/")),
    "hls-ts": ("hls-ts/index.m3u8", ("hls-ts/",)),
    "hls-fmp4": ("hls-fmp4/index.m3u8", ("hls-fmp4/",)),
    "hls-range": ("hls-range/index.m3u8", ("hls-range/",)),
    "hls-aes": ("hls-aes/index.m3u8", ("hls-aes/",)),
    "hls-live": ("hls-live/index.m3u8", ("hls-live/",)),
    "dash-number": ("dash-number/manifest.mpd", ("dash-number/",)),
    "dash-time": ("dash-time/manifest.mpd", ("dash-time/",)),
    "dash-list": ("dash-list/manifest.mpd", ("dash-list/",)),
    "dash-base": ("dash-base/manifest.mpd", ("dash-base/",)),
}
#: Streams that cannot be sampled, and why.
UNUSABLE = {"hls-missing": "fetch", "hls-drm": "unsupported"}
#: Sampling settings of the crawl: 3 segments spread, then 4 segments around the first and the
#: last candidate time hashed a frame a second.
SAMPLING = {
    "REPOSTWATCH_VIDEO_SAMPLES": "3",
    "REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS": "4",
    "REPOSTWATCH_VIDEO_DENSE_SECONDS": "1",
    # the test segments are 25-55 kB, their keyframe about 25 kB: some first bytes hold it
    "REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX": "30000",
}


@pytest.fixture(scope="module")
def crawled(nginx, tmp_path_factory):
    """One crawl of every stream: what it found per stream, its stats, and nginx's log."""
    root = stream_files()
    base = nginx.site.publish(root, nginx.site.folder("streams") / "s")
    prefix = base.split("/", 3)[3]
    urls = {name: f"{base}/{path}" for name, (path, _) in STREAMS.items()}
    urls.update({name: f"{base}/{name}/index.m3u8" for name in UNUSABLE})
    out = tmp_path_factory.mktemp("stream-crawl") / "found.json"
    mark = nginx.mark()
    env = {
        **os.environ,
        **SAMPLING,
        "SCRAPY_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run(
        [sys.executable, "-m", "tests.support.stream_crawl", str(out), str(root / "source.mp4"),
         *urls.values()],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    found = json.loads(out.read_text())
    by_name = {name: found["streams"][url] for name, url in urls.items()}
    requests = [r for r in nginx.requests(since=mark) if r.path != "/robots.txt"]
    return by_name, found["stats"], requests, "/" + prefix + "/"


@pytest.fixture(scope="module")
def reference():
    return hash_video(source(), seconds_per_sample=0.25, max_frames=100).frames


def _requests(requests, prefix: str, name: str):
    wanted = tuple(prefix + part for part in STREAMS[name][1])
    return [r for r in requests if r.path.startswith(wanted)]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_form_is_sampled_with_frames_at_their_stream_times(crawled, reference, name):
    found = crawled[0][name]
    assert "error" not in found, found
    frames = found["frames"]
    assert len(frames) >= 3
    assert found["size"] == [480, 360]
    offset = 4.0 if name == "hls-live" else 0.0  # the live window starts at segment 4
    for seconds, value in frames:
        assert 0 <= seconds + offset < SECONDS
        nearest = min(reference, key=lambda r: abs(r.seconds - (seconds + offset)))
        if nearest.value.quality < PDQ_MIN_QUALITY:
            continue  # the black lead-in
        distance = (int(value, 16) ^ int(nearest.value.hex, 16)).bit_count()
        assert distance <= NEAR, (seconds, distance)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_byte_counted_went_through_the_crawl_to_the_server(crawled, name):
    found, _, requests, prefix = crawled
    mine = _requests(requests, prefix, name)
    assert found[name]["bytes_fetched"] == sum(r.body_bytes_sent for r in mine)
    assert {r.status for r in mine} <= {200, 206}
    assert found[name]["form"] == ("dash" if name.startswith("dash") else "hls")


def test_sampling_fetches_spread_segments_then_some_near_candidate_times(crawled):
    found, stats, requests, prefix = crawled
    ts = found["hls-ts"]
    # 3 spread over the 12 s (at 2, 6 and 10 s), then around the first and the last of those,
    # all near the reference: 1-3 s and 9-11 s, 2 of them new
    assert ts["segments"] == 5
    assert "5 of 12 segments" in ts["detail"]
    segments = [r for r in _requests(requests, prefix, "hls-ts") if r.path.endswith(".ts")]
    names = {r.path.rsplit("/", 1)[1] for r in segments}
    assert names == {"index1.ts", "index2.ts", "index6.ts", "index9.ts", "index10.ts"}
    seconds = sorted({seconds for seconds, _ in ts["frames"]})
    assert seconds == [1.0, 2.0, 6.0, 9.0, 10.0]  # 1 s segments: one frame a second each
    # the spread ones asked for by their first bytes, then the rest of those that held no
    # whole frame or are hashed a frame a second; the new ones whole: no byte twice
    by_path: dict[str, list] = {}
    for request in segments:
        by_path.setdefault(request.path, []).append(request.range)
    first = "bytes=0-29999"
    for ranges in by_path.values():
        assert ranges in ([None], [first]) or (
            ranges[0] == first and ranges[1].startswith("bytes=30000-") and len(ranges) == 2
        ), ranges
    assert sum(ranges[0] == first for ranges in by_path.values()) == 3  # the spread ones
    # at least the 2 new ones per stream (and the rest of sampled ones hashed densely)
    assert stats["repostwatch/video/hls/dense_segments"] >= 2 * 5  # not the live one's
    assert stats["repostwatch/video/hls/streams"] == 6  # and 2 that fail
    assert stats["repostwatch/video/dash/streams"] == 4
    total = sum(found[name]["bytes_fetched"] for name in ("hls-ts", "hls-fmp4", "hls-aes"))
    total += found["hls-master"]["bytes_fetched"] + found["hls-range"]["bytes_fetched"]
    total += found["hls-live"]["bytes_fetched"]
    failed = tuple(f"{prefix}{name}/" for name in UNUSABLE)  # their playlists and 404s count
    total += sum(r.body_bytes_sent for r in requests if r.path.startswith(failed))
    assert stats["repostwatch/video/hls/bytes"] == total


def test_the_master_playlist_gives_the_360_line_variant(crawled):
    found, _, requests, prefix = crawled
    assert found["hls-master"]["detail"].startswith("480x360 900 kbit/s")
    assert not [r for r in requests if r.path.startswith(prefix + "hls-180/")]


def test_aes_segments_are_decrypted_with_a_key_fetched_once(crawled):
    found, stats, requests, prefix = crawled
    assert "AES-128" in found["hls-aes"]["detail"]
    assert len([r for r in requests if r.path == prefix + "hls-aes/key.bin"]) == 1
    assert stats["repostwatch/video/hls/encrypted"] == 1


def test_a_live_playlist_is_sampled_in_its_window(crawled):
    found, stats, _, _ = crawled
    assert "live window" in found["hls-live"]["detail"]
    assert stats["repostwatch/video/hls/live"] == 1


@pytest.mark.parametrize("name", ["hls-range", "dash-list", "dash-base"])
def test_byte_range_forms_fetch_ranges_and_know_the_total(crawled, name):
    found, _, requests, prefix = crawled
    root = stream_files()
    folder = root / STREAMS[name][1][0]
    (media_file,) = [p for p in folder.iterdir() if p.suffix in (".mp4", ".ts")]
    size = media_file.stat().st_size
    ranged = [r for r in requests if r.path == prefix + media_file.relative_to(root).as_posix()]
    assert ranged and all(r.range and r.status == 206 for r in ranged)
    total, fetched = found[name]["bytes_total"], sum(r.body_bytes_sent for r in ranged)
    assert total is not None and total <= size
    assert len({r.range for r in ranged}) == len(ranged)  # no byte range fetched twice
    # 5 segments (of 12 x 1 s, or 6 x 2 s for dash-list), the init and the index
    assert fetched < (0.9 if name == "dash-list" else 0.6) * size


def test_streams_that_cannot_be_sampled_say_why_and_are_counted(crawled):
    found, stats, _, _ = crawled
    assert "not one segment could be sampled" in found["hls-missing"]["error"]
    assert "HTTP 404" in found["hls-missing"]["error"]
    assert "SAMPLE-AES" in found["hls-drm"]["error"]
    for name, reason in UNUSABLE.items():
        assert stats[f"repostwatch/video/hls/failed/{reason}"] == 1, name


def test_a_stream_the_browser_captured_says_so_in_its_delivery(nginx, tmp_path):
    """A stream the page's player asked for (render = "browser") is sampled as any other and
    counted under its own form; its delivery's form says the browser captured it."""
    root = stream_files()
    base = nginx.site.publish(root, nginx.site.folder("captured") / "s")
    out = tmp_path / "found.json"
    env = {
        **os.environ,
        **SAMPLING,
        "SCRAPY_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    hls, dash = f"{base}/hls-ts/index.m3u8", f"{base}/dash-time/manifest.mpd"
    named = f"{base}/hls-fmp4/index.m3u8"  # named by the page: no browser in it
    subprocess.run(
        [sys.executable, "-m", "tests.support.stream_crawl", str(out), str(root / "source.mp4"),
         f"captured:{hls}", f"captured:{dash}", named],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    found = json.loads(out.read_text())
    forms = {url: found["streams"][url]["form"] for url in (hls, dash, named)}
    assert forms == {hls: "browser-hls", dash: "browser-dash", named: "hls"}
    assert found["streams"][hls]["detail"].startswith("480x360")  # the detail as for any HLS
    assert found["stats"]["repostwatch/video/hls/streams"] == 2
    assert found["stats"]["repostwatch/video/dash/streams"] == 1


def test_a_stream_out_of_time_is_given_up_and_says_so(nginx, tmp_path):
    root = stream_files()
    base = nginx.site.publish(root, nginx.site.folder("late") / "s")
    out = tmp_path / "found.json"
    env = {
        **os.environ,
        "REPOSTWATCH_VIDEO_SECONDS": "0",
        "SCRAPY_SETTINGS_MODULE": "settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    url = f"{base}/hls-ts/index.m3u8"
    subprocess.run(
        [sys.executable, "-m", "tests.support.stream_crawl", str(out), str(root / "source.mp4"),
         url],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    found = json.loads(out.read_text())
    assert "within REPOSTWATCH_VIDEO_SECONDS (0 s)" in found["streams"][url]["error"]
    assert found["stats"]["repostwatch/video/hls/failed/time_limited"] == 1
