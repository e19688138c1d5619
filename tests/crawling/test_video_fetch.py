"""Large videos on a real nginx: sampled through Range requests, a small share of their bytes.

A 48 s reference slideshow is registered; the repost site serves it re-encoded at 640x480 and
2 Mbit/s, repeated to over 300 MB (20 minutes), as an MP4 with ``moov`` at the end, the same with
faststart, and a WebM (VP8, Cues at the end) likewise over 300 MB. nginx's access log says what
it sent. Python's ``http.server``-like ``/norange/`` location (nginx with ``max_ranges 0``) is a
server without Range: read up to the stream budget.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http import Response

from crawler.crawling.media_download import AlignedLine
from crawler.crawling.video_fetch import (
    MAX_DENSE_WINDOWS,
    _along,
    _windows,
    _within,
    content_range,
)
from crawler.delivery.sparse import MIN_CHUNK, ByteRange
from tests.support import streams
from tests.support.cli_runner import flags_json, migrated_environment, repostwatch
from tests.support.videos import slideshow

CASE = "ranged-case"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "hubble")
#: The repost files are at least this large, as the issue asks.
BIG = 300_000_000
#: The share of a big file a crawl may fetch (the issue's target for 1 GB is 5%).
MAX_SHARE = 0.05
STREAM_BUDGET = 12 * 1024 * 1024


def test_content_range_says_which_bytes_of_how_many():
    def answer(value: str) -> Response:
        return Response("http://a.test/v.mp4", status=206, headers={"Content-Range": value})

    assert content_range(answer("bytes 0-1023/4096")) == (0, 1023, 4096)
    assert content_range(answer("bytes 10-19/*")) == (10, 19, None)
    assert content_range(Response("http://a.test/v.mp4")) is None


def test_dense_windows_merge_and_stay_few():
    assert _windows([10.0, 12.0], 3.0, 100.0) == ((7.0, 15.0),)
    assert _windows([1.0], 3.0, 2.0) == ((0.0, 2.0),)
    spread = _windows([float(t) for t in range(0, 600, 10)], 3.0, 600.0)
    assert len(spread) == MAX_DENSE_WINDOWS
    assert spread[0][0] == 0.0 and spread[-1][1] > 590  # the first and the last, not two early


def test_ranges_within_the_budget_smallest_first_the_last_cut_to_fit():
    wanted = [ByteRange(0, 100), ByteRange(200, 210), ByteRange(300, 350)]
    assert _within(wanted, 60) == [ByteRange(200, 210), ByteRange(300, 350)]
    assert _within(wanted, 70) == [ByteRange(0, 10), ByteRange(200, 210), ByteRange(300, 350)]
    assert _within(wanted, 5) == [ByteRange(200, 205)]
    assert _within(wanted, 0) == []


def test_a_matched_line_is_followed_until_its_frames_stop_agreeing():
    reach: dict[int, tuple[float, float]] = {}
    # Found at 100-106 s; the reference (60 s) would run from 100 to 160 s along the line.
    line = AlignedLine(7, 100.0, 106.0, reference_first=100.0, reference_last=160.0)
    first = sorted(_along([line], reach, duration=1000.0))
    assert first == [97.0, 109.0, 112.0, 115.0, 118.0]  # back to the reference's start (+3 s)
    # The frames agree up to 118 s: on, a stretch as long as the line, never past 160 + slack.
    line = AlignedLine(7, 97.5, 118.0, reference_first=100.0, reference_last=160.0)
    second = sorted(_along([line], reach, duration=1000.0))
    assert second[0] > 118 and second[-1] == pytest.approx(139.0)
    line = AlignedLine(7, 97.5, 139.0, reference_first=100.0, reference_last=160.0)
    third = sorted(_along([line], reach, duration=1000.0))
    assert third[-1] < 160 + 3 + 0.05 * 21 + 0.01
    # They stopped agreeing at 150 s (sampled to 165 s): that end is not followed further.
    reach[7] = (97.0, 165.0)
    line = AlignedLine(7, 97.5, 150.0, reference_first=100.0, reference_last=160.0)
    assert _along([line], reach, duration=1000.0) == set()
    # A reference of unknown length: the line is followed within the video.
    line = AlignedLine(8, 990.0, 996.0, reference_first=None, reference_last=None)
    assert max(_along([line], {}, duration=1000.0)) == 1000.0


def _ffmpeg(*args: object, cwd: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True, cwd=cwd)


def _repeated(piece: Path, out: Path, minimum: int, *flags: str) -> Path:
    """``piece`` joined to itself (streams copied) until the whole is over ``minimum`` bytes."""
    copies = -(-minimum // piece.stat().st_size) + 1
    parts = out.parent / f"{out.stem}-parts.txt"
    parts.write_text(f"file '{piece.name}'\n" * copies)
    _ffmpeg("-f", "concat", "-safe", "0", "-i", parts.name, "-c", "copy", *flags, out.name,
            cwd=out.parent)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def big_videos(tmp_path_factory) -> dict[str, Path]:
    """The reference and the big reposts (made once per test session)."""
    folder = tmp_path_factory.mktemp("big-videos")
    reference = folder / "reference.mp4"
    reference.write_bytes(slideshow(PHOTOS, seconds=48.0))
    _ffmpeg("-i", reference.name, "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100",
            "-vf", "scale=640:480", "-r", "25", "-c:v", "libx264", "-preset", "ultrafast",
            "-qp", "12", "-g", "50", "-c:a", "aac", "-b:a", "96k", "-shortest", "piece.mp4",
            cwd=folder)  # fmt: skip
    _ffmpeg("-i", reference.name, "-vf", "scale=640:480", "-r", "25", "-c:v", "libvpx",
            "-deadline", "realtime", "-cpu-used", "8", "-b:v", "6M", "-g", "50", "piece.webm",
            cwd=folder)  # fmt: skip
    return {
        "reference": reference,
        "moov-at-end.mp4": _repeated(folder / "piece.mp4", folder / "moov-at-end.mp4", BIG),
        "faststart.mp4": _repeated(
            folder / "piece.mp4", folder / "faststart.mp4", BIG, "-movflags", "+faststart"
        ),
        "big.webm": _repeated(folder / "piece.webm", folder / "big.webm", BIG),
    }


def _site(nginx, videos: dict[str, str], tmp_path: Path, env: dict[str, str]) -> str:
    """A page on nginx showing ``videos`` (name -> URL); its site file; the site's name."""
    folder = nginx.site.folder("ranged")
    tags = "".join(f'<video src="{url}"></video>' for url in videos.values())
    page = nginx.site.write(folder / "index.html", f"<html><body>{tags}</body></html>")
    name = "ranged"
    (Path(env["REPOSTWATCH_SITES_DIR"]) / f"{name}.toml").write_text(
        f'name = "{name}"\nstart_urls = ["{page}"]\nallow_private_network = true\n'
    )
    return name


def _sampled_seconds(stderr: str) -> dict[str, float]:
    """Seconds each sampled video took, from the crawl's log."""
    found = re.findall(r"Sampled (\S+): .*?passes, ([\d.]+) s", stderr)
    return {urlsplit(url).path: float(seconds) for url, seconds in found}


def test_big_videos_are_flagged_from_a_small_share_of_their_bytes(nginx, big_videos, tmp_path):
    # Three videos share the hashing processes; beside other work on two cores (load 19) the
    # WebM ran out of REPOSTWATCH_VIDEO_SECONDS (30 s) before its spread samples were in. The
    # bound is the sampler's own; what it costs in time is a benchmark figure, not this test's.
    env = {**migrated_environment(tmp_path), "REPOSTWATCH_VIDEO_SECONDS": "600"}
    repostwatch("refs", "add", "--case", CASE, big_videos["reference"], env=env, cwd=tmp_path)
    names = ("moov-at-end.mp4", "faststart.mp4", "big.webm")
    urls = {name: nginx.site.publish(big_videos[name]) for name in names}
    # The reference itself (1.1 MB): over the first request's 1 MiB, fetched whole in two.
    exact = nginx.site.publish(big_videos["reference"])
    site = _site(nginx, {**urls, "reference": exact}, tmp_path, env)
    mark = nginx.mark()
    crawl = repostwatch("crawl", site, env=env, cwd=tmp_path)

    flags = {urlsplit(f["media_url"]).path: f for f in flags_json(env, tmp_path)}
    seconds = _sampled_seconds(crawl.stderr)
    for name, url in urls.items():
        path = urlsplit(url).path
        size = big_videos[name].stat().st_size
        sent = nginx.site.bytes_sent(url, since=mark)
        ranges = [r.range for r in nginx.site.requests(url, since=mark)]
        print(f"{name}: {sent:,} of {size:,} bytes ({sent / size:.2%}), {seconds.get(path)} s")
        assert size > BIG
        assert 0 < sent <= MAX_SHARE * size, (name, sent, size)
        assert all(r and r.startswith("bytes=") for r in ranges), ranges  # never a whole GET
        assert path in flags, (name, crawl.stdout, crawl.stderr[-3000:])
        assert flags[path]["algorithm"] == "vpdq"
        delivery = json.loads(flags[path]["evidence"])["delivery"]
        assert delivery["form"] == "ranged"
        assert delivery["bytes_total"] == size
        assert delivery["bytes_fetched"] <= sent  # what the crawl counted is what it received
        # How long sampling takes is a benchmark figure (benchmarks/video.py,
        # docs/benchmarks.md), not asserted here: beside the rest of the suite on two cores it
        # ran 20-35 s.
        assert path in seconds
    assert "'repostwatch/video/ranged': 3" in crawl.stderr
    assert flags[urlsplit(exact).path]["algorithm"] == "sha256"
    size = big_videos["reference"].stat().st_size
    assert [r.range for r in nginx.site.requests(exact, since=mark)] == [
        "bytes=0-1048575",
        f"bytes=1048576-{size - 1}",
    ]
    assert "delivery" in json.loads(flags[urlsplit(exact).path]["evidence"] or "{}")

    # Crawled again: the media cache knows them; each costs one conditional request, answered
    # 304, and the sampled hashes match again.
    again = nginx.mark()
    recrawl = repostwatch("crawl", site, env=env, cwd=tmp_path)
    assert nginx.site.bytes_sent(since=again) < 100_000  # the page, the 304s
    assert "'repostwatch/media/cache_hits': 4" in recrawl.stderr
    assert "0 new, 4 seen again" in recrawl.stdout


def test_a_server_without_range_is_read_up_to_the_stream_budget(nginx, big_videos, tmp_path):
    env = {
        **migrated_environment(tmp_path),
        "REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES": str(STREAM_BUDGET),
    }
    repostwatch("refs", "add", "--case", CASE, big_videos["reference"], env=env, cwd=tmp_path)
    published = nginx.site.publish(big_videos["faststart.mp4"])
    url = nginx.site.url(urlsplit(published).path, prefix="norange")
    site = _site(nginx, {"faststart.mp4": url}, tmp_path, env)
    mark = nginx.mark()
    crawl = repostwatch("crawl", site, env=env, cwd=tmp_path)

    (sent,) = [r.body_bytes_sent for r in nginx.site.requests(url, since=mark)]
    size = big_videos["faststart.mp4"].stat().st_size
    # nginx answered 200 with the whole file; the crawl stopped reading at the budget (what
    # nginx had written into the socket's buffers by then is all it sent).
    assert STREAM_BUDGET <= sent < STREAM_BUDGET + 8 * 1024 * 1024 < size
    assert "'repostwatch/video/no_range': 1" in crawl.stderr
    assert "'repostwatch/video/budget_stopped': 1" in crawl.stderr
    (flag,) = flags_json(env, tmp_path)
    delivery = json.loads(flag["evidence"])["delivery"]
    assert delivery["form"] == "stream-budget"
    assert STREAM_BUDGET <= delivery["bytes_fetched"] < STREAM_BUDGET + MIN_CHUNK * 8
    assert delivery["bytes_total"] == size


def test_a_long_video_holding_the_reference_whole_is_evidenced_over_all_of_it(nginx, tmp_path):
    """The 33-minute MP4 of the delivery-form benchmark (315 MB, ``moov`` at the end, made once
    into the test cache) shows the whole 60 s reference at 16:00-17:00. The sampler finds it
    from keyframes spread over the file, then follows the matched line both ways: the flag's
    evidence spans most of the reference, at its place, from a small share of the bytes."""
    big = streams.big_mp4(faststart=False)
    placement = big.placement
    assert placement is not None and placement.query_start > 600  # far from either end
    # How long sampling takes is a benchmark figure: a loaded machine must not cut it short.
    env = {**migrated_environment(tmp_path), "REPOSTWATCH_VIDEO_SECONDS": "600"}
    repostwatch("refs", "add", "--case", CASE, streams.reference().path, env=env, cwd=tmp_path)
    url = nginx.site.publish(big.path)
    site = _site(nginx, {"big.mp4": url}, tmp_path, env)
    mark = nginx.mark()
    crawl = repostwatch("crawl", site, env=env, cwd=tmp_path)

    size = big.path.stat().st_size
    sent = nginx.site.bytes_sent(url, since=mark)
    print(f"{sent:,} of {size:,} bytes ({sent / size:.2%})")
    assert size > BIG and 0 < sent <= MAX_SHARE * size
    (flag,) = flags_json(env, tmp_path)
    evidence = json.loads(flag["evidence"])
    print({key: evidence[key] for key in ("reference_start", "reference_end", "found_start",
                                          "found_end", "frames_aligned")})  # fmt: skip
    length = placement.reference_end - placement.reference_start
    assert evidence["reference_end"] - evidence["reference_start"] >= 0.8 * length
    assert evidence["found_start"] == pytest.approx(
        placement.query_start + evidence["reference_start"], abs=2.0
    )
    assert evidence["speed"] == pytest.approx(1.0, abs=0.05)
    assert evidence["delivery"]["form"] == "ranged"
    assert "'repostwatch/video/followed'" in crawl.stderr
