"""Video as repost sites serve it: recall per edit and per delivery form, false matches, bytes
and seconds per video, and the reference frame index at scale, as markdown tables.

    python -m benchmarks.video                          # every table (index at 1M and 10M frames)
    python -m benchmarks.video --tables edits,false     # some of them
    python -m benchmarks.video --index-sizes 1000000    # a smaller index

Footage:

- real: the clips Debian's ``opencv-doc`` ships (``Megamind.avi``, ``tree.avi``, ``vtest.avi``,
  and the ``box``/``cup`` phone clips of its HTML docs), fetched once with ``apt-get download``
  into ``var/bench/opencv-doc-videos/``;
- generated: tests/support/streams.py's 60 s reference (photos under a moving camera, Conway's
  life, a title card), its reposts and delivery forms, and five unrelated clips (two open on the
  reference's title card), from its cache under ``var/test-cache/``.

Every reference (the generated one and each real clip) gets each edit of `streams.EDITS` made
the way the tests make it (`streams.apply_edit`; the compilation only for the generated one).

Tables, one function each:

- `edit_recall`: per edit, how many references its copies match (and how many wrong ones), and
  the seconds hashing a copy took;
- `false_matches`: every unrelated clip and every real clip against every other reference;
- `form_costs`: per delivery form served by the test nginx (tests/support/nginx.py), whether the
  reference is found, the bytes fetched against the bytes of the file(s) (nginx's own log),
  and seconds per video. Today's path downloads a file whole and hashes it; the ranged, HLS and
  DASH paths of issue 13 plug in as other `FETCHERS`;
- `index_scale`: a query of 60 frames against 1M and 10M reference frames (random PDQ hashes in
  videos of 100 frames), build seconds, query milliseconds and memory.

Matching is `crawler.matching.video.VideoMatcher` on `crawler.hashing.video.hash_video` frames:
references hashed as ``refs add`` stores them, copies as a crawl samples them.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crawler.hashing import MediaError
from crawler.hashing.types import FrameHash, HashValue
from crawler.hashing.video import (
    DEFAULT_MAX_FRAMES,
    REFERENCE_SECONDS_PER_SAMPLE,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import VideoMatcher
from settings import REPOSTWATCH_MEDIA_MAXSIZE
from tests.support import streams
from tests.support.nginx import NginxServer

CACHE = Path("var/bench")
OPENCV_PACKAGE = "opencv-doc"
#: Clips in opencv-doc: (name, path in the package, gzipped). Megamind_bugy.avi is left out: it
#: is Megamind.avi again (a damaged copy), not a clip of its own.
OPENCV_CLIPS = (
    ("megamind", "usr/share/doc/opencv-doc/examples/data/Megamind.avi", False),
    ("tree", "usr/share/doc/opencv-doc/examples/data/tree.avi", False),
    ("vtest", "usr/share/doc/opencv-doc/examples/data/vtest.avi", False),
    ("box", "usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz", True),
    ("cup", "usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz", True),
)
INDEX_SIZES = (1_000_000, 10_000_000)
FRAMES_PER_INDEXED_VIDEO = 100
QUERY_FRAMES = 60
TABLES = ("edits", "false", "forms", "index")


@dataclass(frozen=True)
class Reference:
    name: str
    path: Path
    frames: tuple[FrameHash, ...]  # as refs add stores them
    duration: float | None = None


def progress(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- footage -------------------------------------------------------------------------------------


def opencv_clips(cache: Path = CACHE) -> tuple[dict[str, Path], str]:
    """The opencv-doc clips, fetched once into ``cache``; and the package version."""
    target = cache / "opencv-doc-videos"
    marker = target / ".version"
    if not marker.exists():
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            subprocess.run(
                ["apt-get", "download", OPENCV_PACKAGE], cwd=tmp, check=True, capture_output=True
            )
            deb = next(Path(tmp).glob(f"{OPENCV_PACKAGE}_*.deb"))
            unpacked = Path(tmp) / "unpacked"
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
            for name, inside, gzipped in OPENCV_CLIPS:
                source = unpacked / inside
                suffix = Path(inside.removesuffix(".gz")).suffix
                with (gzip.open if gzipped else open)(source, "rb") as data:
                    (target / f"{name}{suffix}").write_bytes(data.read())
            marker.write_text(deb.name.split("_")[1] + "\n")
    clips = {name: next(target.glob(f"{name}.*")) for name, _, _ in OPENCV_CLIPS}
    return clips, marker.read_text().strip()


def real_copies(clips: dict[str, Path], cache: Path = CACHE) -> dict[str, dict[str, Path]]:
    """Each edit of `streams.EDITS` (but the compilation) of each clip, made once."""
    copies: dict[str, dict[str, Path]] = {}
    for name, clip in clips.items():
        copies[name] = {}
        for edit in streams.EDITS:
            if edit == "compilation":
                continue
            out = cache / "video-edits" / name / f"{edit}.mp4"
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                partial = out.with_name(f"partial-{edit}.mp4")
                streams.apply_edit(edit, clip, partial)
                partial.rename(out)
            copies[name][edit] = out
    return copies


def reference_frames(path: Path) -> tuple[tuple[FrameHash, ...], float]:
    stored = hash_video(
        path.read_bytes(),
        seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
        max_frames=4 * DEFAULT_MAX_FRAMES,
        variants=False,
    )
    return unique_frame_hashes(stored.frames), stored.duration


def query_frames(data: bytes) -> tuple[FrameHash, ...]:
    """A copy's frames, sampled as a crawl samples a downloaded video (with their variants)."""
    return hash_video(data).frames


def references(clips: dict[str, Path]) -> list[Reference]:
    found = [Reference("generated", streams.reference().path, ())]
    found += [Reference(name, path, ()) for name, path in clips.items()]
    return [Reference(r.name, r.path, *reference_frames(r.path)) for r in found]


def matcher_of(refs: list[Reference]) -> VideoMatcher:
    matcher = VideoMatcher()
    for number, ref in enumerate(refs):
        matcher.add(number, number, ref.frames, ref.duration)
    return matcher


# --- tables --------------------------------------------------------------------------------------


def edit_recall(refs: list[Reference], copies: dict[str, dict[str, Path]]) -> str:
    """Per edit: references whose copy matched its own reference, wrong matches, seconds per
    copy (hashing the whole file)."""
    matcher = matcher_of(refs)
    rows = []
    for edit in ("original", *streams.EDITS):
        hits = wrong = tried = 0
        seconds: list[float] = []
        missed: list[str] = []
        for number, ref in enumerate(refs):
            if edit == "original":
                path = ref.path
            elif ref.name == "generated":
                path = streams.edited(edit).path
            elif edit in copies[ref.name]:
                path = copies[ref.name][edit]
            else:
                continue
            tried += 1
            started = time.perf_counter()
            try:
                frames = query_frames(path.read_bytes())
            except MediaError as error:
                progress(f"{edit} of {ref.name}: {error}")
                continue
            seconds.append(time.perf_counter() - started)
            matches = matcher.match(frames)
            found = any(m.video_id == number for m in matches)
            hits += found
            wrong += sum(m.video_id != number for m in matches)
            if not found:
                missed.append(ref.name)
        rows.append(
            [
                edit,
                f"{hits}/{tried}",
                str(wrong),
                f"{np.mean(seconds):.2f}" if seconds else "-",
                ", ".join(missed) or "-",
            ]
        )
    return table(["edit", "matched own reference", "wrong matches", "s per copy", "missed"], rows)


def false_matches(refs: list[Reference]) -> str:
    """Unrelated clips against every reference, and each real clip against the others."""
    matcher = matcher_of(refs)
    rows = []
    pairs = flagged = 0
    for clip in streams.unrelated():
        matches = matcher.match(query_frames(clip.path.read_bytes()))
        pairs += len(refs)
        flagged += len(matches)
        rows.append([clip.name, str(len(refs)), ", ".join(refs[m.video_id].name for m in matches)])
    for number, ref in enumerate(refs):
        matches = [
            m for m in matcher.match(query_frames(ref.path.read_bytes())) if m.video_id != number
        ]
        pairs += len(refs) - 1
        flagged += len(matches)
        rows.append(
            [ref.name, str(len(refs) - 1), ", ".join(refs[m.video_id].name for m in matches)]
        )
    rows = [[name, count, found or "none"] for name, count, found in rows]
    return (
        table(["query", "references compared", "matched (false)"], rows)
        + f"\n\n{flagged} false matches over {pairs} unrelated pairs."
    )


@dataclass(frozen=True)
class Fetched:
    frames: tuple[FrameHash, ...] | None  # None: the form is not handled by this fetcher
    note: str = ""


def whole_download(url: str) -> Fetched:
    """Today's path: a file is downloaded whole, unless its Content-Length is over
    ``REPOSTWATCH_MEDIA_MAXSIZE`` (then it is dropped unread), and hashed; a manifest is not
    media."""
    with urllib.request.urlopen(url, timeout=60) as response:
        length = int(response.headers.get("Content-Length") or 0)
        if length > REPOSTWATCH_MEDIA_MAXSIZE:
            return Fetched(None, f"{length:,} bytes: over REPOSTWATCH_MEDIA_MAXSIZE, dropped")
        data = response.read()
    try:
        return Fetched(query_frames(data))
    except MediaError as error:
        return Fetched(None, f"not media: {error}")


#: How a crawl fetches a video, by name. Issue 13's ranged/HLS/DASH delivery (branches s-ranged,
#: s-streams) adds its own here, driving the crawler's video_fetch on the URL.
FETCHERS: dict[str, Callable[[str], Fetched]] = {"whole": whole_download}


def delivery_forms() -> list[streams.Video]:
    return [
        streams.reference(),
        streams.big_mp4(False),
        streams.big_mp4(True),
        streams.webm(),
        streams.mkv(),
        streams.hls("mpegts"),
        streams.hls("fmp4"),
        streams.hls_aes(),
        streams.hls_live(),
        *(streams.dash(layout) for layout in streams.DASH_LAYOUTS),
    ]


def form_costs(refs: list[Reference], fetcher: str = "whole") -> str:
    """Per delivery form: found or not, bytes nginx sent against the bytes served, seconds."""
    matcher = matcher_of(refs)
    generated = next(number for number, ref in enumerate(refs) if ref.name == "generated")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, NginxServer.running(Path(tmp)) as nginx:
        for video in delivery_forms():
            url = video.serve(nginx.site)
            mark = nginx.mark()
            started = time.perf_counter()
            fetched = FETCHERS[fetcher](url)
            seconds = time.perf_counter() - started
            sent = nginx.bytes_sent(since=mark)
            found = "-" if fetched.frames is None else "no"
            if fetched.frames is not None and any(
                m.video_id == generated for m in matcher.match(fetched.frames)
            ):
                found = "yes"
            rows.append(
                [
                    video.name,
                    f"{video.size / 1e6:.1f}",
                    f"{sent / 1e6:.1f} ({sent / video.size:.1%})",
                    found,
                    f"{seconds:.1f}",
                    fetched.note[:60],
                ]
            )
    return table(
        ["form", "MB served", "MB fetched (share)", "reference found", "s per video", "note"],
        rows,
    )


def index_scale(sizes: tuple[int, ...] = INDEX_SIZES, queries: int = 5) -> str:
    """Random PDQ frames in videos of `FRAMES_PER_INDEXED_VIDEO`; a query of `QUERY_FRAMES`
    frames of one indexed video (the planted one, which the answer must hold)."""
    rows = []
    for size in sizes:
        rng = np.random.default_rng(size)
        before = _rss_mb()
        started = time.perf_counter()
        matcher = VideoMatcher()
        videos = size // FRAMES_PER_INDEXED_VIDEO
        planted: tuple[FrameHash, ...] = ()
        seconds = np.arange(FRAMES_PER_INDEXED_VIDEO) / 4
        qualities = np.full(FRAMES_PER_INDEXED_VIDEO, 100)
        for video_id in range(videos):
            codes = rng.bytes(32 * FRAMES_PER_INDEXED_VIDEO)
            packed = np.frombuffer(codes, dtype=np.uint8).reshape(-1, 32)
            matcher.add_rows(video_id, video_id, seconds, packed, qualities)
            if video_id == videos // 2:
                planted = tuple(
                    FrameHash(n / 4, HashValue("pdq", codes[32 * n : 32 * n + 32].hex(), 100))
                    for n in range(FRAMES_PER_INDEXED_VIDEO)
                )
        matcher.match(planted[:1])  # builds its table
        build = time.perf_counter() - started
        query = planted[:QUERY_FRAMES]
        timings = []
        for _ in range(queries):
            started = time.perf_counter()
            matches = matcher.match(query)
            timings.append(time.perf_counter() - started)
        found = any(m.video_id == videos // 2 for m in matches)
        rows.append(
            [
                f"{size:,}",
                f"{videos:,}",
                "yes" if found else "no",
                f"{build:.1f}",
                f"{np.median(timings) * 1000:.0f}",
                f"{_rss_mb() - before:.0f}",
            ]
        )
        progress(" | ".join(rows[-1]))
        del matcher
    return table(
        [
            "reference frames",
            "videos",
            "planted video found",
            "build s",
            "query ms (median)",
            "memory MB (peak growth)",
        ],
        rows,
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES), help=f"of {', '.join(TABLES)}")
    parser.add_argument(
        "--index-sizes",
        default=",".join(map(str, INDEX_SIZES)),
        help="reference frames in the index table, comma-separated",
    )
    parser.add_argument("--fetcher", default="whole", choices=sorted(FETCHERS))
    args = parser.parse_args(argv)
    wanted = set(args.tables.split(","))
    print(f"Machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs")
    refs: list[Reference] = []
    if wanted & {"edits", "false", "forms"}:
        progress("fetching opencv-doc's clips (once, into var/bench) and making the edits")
        clips, version = opencv_clips()
        print(f"Real footage: opencv-doc {version}: {', '.join(clips)}")
        copies = real_copies(clips)
        progress("hashing the references")
        refs = references(clips)
    if "edits" in wanted:
        progress("recall per edit")
        print("\n### Recall per edit\n\n" + edit_recall(refs, copies))
    if "false" in wanted:
        progress("false matches")
        print("\n### False matches\n\n" + false_matches(refs))
    if "forms" in wanted:
        progress(f"delivery forms, fetched by {args.fetcher!r}")
        print(f"\n### Delivery forms ({args.fetcher})\n\n" + form_costs(refs, args.fetcher))
    if "index" in wanted:
        sizes = tuple(int(size) for size in args.index_sizes.split(","))
        progress(f"index at {', '.join(f'{s:,}' for s in sizes)} reference frames")
        print("\n### Reference frame index\n\n" + index_scale(sizes))


if __name__ == "__main__":
    if shutil.which("ffmpeg") is None or not Path("/usr/sbin/nginx").exists():
        sys.exit("ffmpeg or nginx is missing: run `make services`")
    main()
