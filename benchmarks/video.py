"""Video as repost sites serve it: recall per edit and per delivery form, false matches, bytes
and seconds per video, and the reference frame index at scale, as markdown tables.

    python -m benchmarks.video                          # every table (index at 1M and 10M frames)
    python -m benchmarks.video --tables edits,false     # some of them
    python -m benchmarks.video --index-sizes 1000000    # a smaller index
    python -m benchmarks.video --tables forms --forms hls-aes,browser-hls.js

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

- `edit_recall`: per edit, how many references its copies match, how many of those matches
  have the copy's offset, speed and variant (`streams.Placement`), wrong matches, and the
  seconds hashing a copy took;
- `false_matches`: every unrelated clip and every real clip against every other reference;
- `form_costs`: per delivery form served by the test nginx (tests/support/nginx.py), whether the
  reference is found, the bytes fetched against the bytes of the file(s) (nginx's own log),
  and seconds per video. `FETCHERS`: ``crawl`` (the default) registers the reference with
  ``repostwatch refs add`` and runs a real ``repostwatch crawl`` per form (whole, ranged, HLS,
  DASH, and an hls.js player on a ``render = "browser"`` site); ``whole`` is the path before
  issue 13 (download whole, hash), kept as the baseline;
- index: `benchmarks.video_index` at 1M and 10M reference frames, each size in a process of its
  own.

Matching is `crawler.matching.video.VideoMatcher` on `crawler.hashing.video.hash_video` frames:
references hashed as ``refs add`` stores them (frames four a second and middles once a second,
for cropped copies), copies as a crawl samples them (with their variants and grid crops).
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
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

from benchmarks import video_index
from crawler.hashing import MediaError
from crawler.hashing.types import FrameHash
from crawler.hashing.video import (
    DEFAULT_MAX_FRAMES,
    REFERENCE_SECONDS_PER_SAMPLE,
    hash_video,
    unique_frame_hashes,
)
from crawler.matching.video import VideoMatch, VideoMatcher
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
TABLES = ("edits", "false", "forms", "index")


@dataclass(frozen=True)
class Reference:
    name: str
    path: Path
    frames: tuple[FrameHash, ...]  # as refs add stores them
    duration: float | None = None
    middles: tuple[FrameHash, ...] = ()  # as refs add stores them, for cropped copies


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


def reference_frames(path: Path) -> tuple[tuple[FrameHash, ...], float, tuple[FrameHash, ...]]:
    """A reference as ``refs add`` stores it (`crawler.references.register`): its frames four
    a second and its middles (`crawler.hashing.crops.MIDDLE`) once a second, each without the
    repeats of still shots; and its duration."""
    stored = hash_video(
        path.read_bytes(),
        seconds_per_sample=REFERENCE_SECONDS_PER_SAMPLE,
        max_frames=4 * DEFAULT_MAX_FRAMES,
        variants=False,
        middles=True,
    )
    return (
        unique_frame_hashes(stored.frames),
        stored.duration,
        unique_frame_hashes(stored.middles),
    )


def query_frames(data: bytes) -> tuple[FrameHash, ...]:
    """A copy's frames, sampled as a crawl samples a downloaded video (with their variants and
    their 2,025 grid crops)."""
    return hash_video(data).frames


def references(clips: dict[str, Path]) -> list[Reference]:
    found = [Reference("generated", streams.reference().path, ())]
    found += [Reference(name, path, ()) for name, path in clips.items()]
    return [Reference(r.name, r.path, *reference_frames(r.path)) for r in found]


def matcher_of(refs: list[Reference]) -> VideoMatcher:
    matcher = VideoMatcher()
    for number, ref in enumerate(refs):
        matcher.add(number, number, ref.frames, ref.duration, ref.middles)
    return matcher


# --- tables --------------------------------------------------------------------------------------


#: How far a match's line may be from the truth and still count as placed right: the offset
#: (reference seconds at the copy's second 0) within 1.5 s, the speed within 10%.
OFFSET_TOLERANCE = 1.5
SPEED_TOLERANCE = 0.10


def placed_right(match: VideoMatch, placement: streams.Placement) -> bool:
    """Whether ``match`` found the line ``placement`` describes, in its variant: a copy of the
    original picture may be found through its "trimmed" variant (a copy with bars) or its
    "cropped" one (its grid crops against the reference's middles: a copy cut, or covered at an
    edge)."""
    expected_offset = placement.reference_start - placement.speed * placement.query_start
    variant = match.variant == placement.variant or (
        placement.variant == "original" and match.variant in ("trimmed", "cropped")
    )
    return (
        abs(match.offset - expected_offset) <= OFFSET_TOLERANCE
        and abs(match.speed / placement.speed - 1) <= SPEED_TOLERANCE
        and variant
    )


def edit_recall(
    refs: list[Reference], copies: dict[str, dict[str, Path]], only: set[str] | None = None
) -> str:
    """Per edit: references whose copy matched its own reference, those whose match has the
    copy's offset, speed and variant (its `streams.Placement`), wrong matches, seconds per copy
    (hashing the whole file) and milliseconds matching it (`VideoMatcher.match`)."""
    matcher = matcher_of(refs)
    rows = []
    for edit in ("original", *streams.EDITS):
        if only and edit not in only:
            continue
        hits = placed = wrong = tried = 0
        seconds: list[float] = []
        matching: list[float] = []
        missed: list[str] = []
        found_as: list[str] = []
        for number, ref in enumerate(refs):
            if edit == "original":
                path = ref.path
                placement = streams.Placement(0.0, ref.duration, 0.0, ref.duration)
            elif ref.name == "generated":
                video = streams.edited(edit)
                path, placement = video.path, video.placement
            elif edit in copies[ref.name]:
                path = copies[ref.name][edit]
                placement = streams.edit_placement(edit, ref.duration)
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
            started = time.perf_counter()
            matches = matcher.match(frames)
            matching.append(time.perf_counter() - started)
            own = [m for m in matches if m.video_id == number]
            hits += bool(own)
            wrong += sum(m.video_id != number for m in matches)
            if not own:
                missed.append(ref.name)
                continue
            best = max(own, key=lambda m: m.frames_aligned)
            placed += any(placed_right(m, placement) for m in own)
            found_as.append(
                f"{ref.name} {best.variant} x{best.speed:.2f} "
                f"{best.reference_start:.0f}-{best.reference_end:.0f}s"
            )
        rows.append(
            [
                edit,
                f"{hits}/{tried}",
                f"{placed}/{tried}",
                str(wrong),
                f"{np.mean(seconds):.2f}" if seconds else "-",
                f"{np.mean(matching) * 1e3:.0f}" if matching else "-",
                ", ".join(missed) or "-",
                "; ".join(found_as) or "-",
            ]
        )
    return table(
        [
            "edit",
            "matched own reference",
            "placed right",
            "wrong matches",
            "s per copy",
            "ms matching",
            "missed",
            "found as (variant, speed, reference seconds)",
        ],
        rows,
    )


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
    frames: tuple[FrameHash, ...] | None = None  # None: not hashed here (or not media)
    note: str = ""
    found: bool | None = None  # set by fetchers that match themselves (a crawl flags or not)


Fetcher = Callable[[str], Fetched]


def whole_download(url: str) -> Fetched:
    """The path before issue 13: a file is downloaded whole, unless its Content-Length is over
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


class CrawlFetcher:
    """The product's path: the generated reference registered with ``repostwatch refs add``
    (SQLite), then per video a real ``repostwatch crawl`` of a page on the test nginx showing
    only that video (``<video><source src=...>``), as tests/crawling/test_streams_end_to_end.py
    does. Found: the crawl flagged the video's URL; the note is the flag's delivery evidence."""

    CASE = "bench-case"

    def __init__(self, nginx: NginxServer, workdir: Path) -> None:
        from tests.support.cli_runner import migrated_environment, repostwatch

        self.nginx = nginx
        self.workdir = workdir
        self.env = migrated_environment(workdir)
        self.crawls = 0
        repostwatch(
            "refs", "add", "--case", self.CASE, streams.reference().path,
            env=self.env, cwd=workdir,
        )  # fmt: skip

    def page(self, body: str, *, files: dict[str, bytes] | None = None, site: str = "") -> str:
        """A site file for a page with ``body`` (and ``files`` beside it), with ``site`` added
        to the site file; the site's name."""
        self.crawls += 1
        name = f"form{self.crawls}"
        folder = self.nginx.site.folder(name)
        for file, data in (files or {}).items():
            self.nginx.site.write(folder / file, data)
        page = self.nginx.site.write(folder / "index.html", f"<html><body>{body}</body></html>")
        (Path(self.env["REPOSTWATCH_SITES_DIR"]) / f"{name}.toml").write_text(
            f'name = "{name}"\nstart_urls = ["{page}"]\nallow_private_network = true\n{site}'
        )
        return name

    def hls_js_player(self, url: str) -> Fetched:
        """``url`` (an HLS master) played by hls.js into a ``blob:`` <video> (MSE): nothing in
        the page's HTML names it, so only a ``render = "browser"`` crawl that captures what the
        player requests finds it."""
        from tests.support import players

        body = (
            '<video id="v" muted autoplay></video><script src="hls.min.js"></script>'
            f'<script>var hls = new Hls(); hls.loadSource("{url}");'
            'hls.attachMedia(document.getElementById("v"));</script>'
        )
        site = 'render = "browser"\n[browser]\nplayer_wait = 3.0\n'
        return self.fetch(url, self.page(body, files={"hls.min.js": players.hls_js()}, site=site))

    def crawl(self, site: str) -> str:
        from tests.support.cli_runner import repostwatch

        result = repostwatch(
            "crawl", site, env=self.env, cwd=self.workdir, check=False, timeout=900
        )
        return result.stderr

    def __call__(self, url: str) -> Fetched:
        return self.fetch(url, self.page(f'<video controls><source src="{url}"></video>'))

    def fetch(self, url: str, site: str) -> Fetched:
        import json

        from tests.support.cli_runner import flags_json

        log = self.crawl(site)
        flags = [f for f in flags_json(self.env, self.workdir) if f["media_url"] == url]
        if not flags:
            lines = [line for line in log.splitlines() if "video" in line.lower()]
            return Fetched(None, (lines[-1][-90:] if lines else "no flag"), found=False)
        evidence = json.loads(flags[0]["evidence"] or "{}")
        delivery = evidence.get("delivery") or {}
        how = f"{delivery.get('form', '?')} {delivery.get('detail', '')}".strip()
        if "reference_start" in evidence:
            how += (
                f"; reference {evidence['reference_start']:.0f}-{evidence['reference_end']:.0f} s"
                f" at {evidence['found_start']:.0f} s, x{evidence['speed']:.2f},"
                f" {evidence['frames_aligned']} frames aligned"
            )
        else:
            how += f"; matched by {flags[0].get('algorithm') or flags[0].get('variant') or 'hash'}"
        return Fetched(None, how, found=True)


#: How videos are fetched, by name: each makes its fetcher on the nginx serving the forms.
FETCHERS: dict[str, Callable[[NginxServer, Path], Fetcher]] = {
    "whole": lambda nginx, workdir: whole_download,
    "crawl": CrawlFetcher,
}


def unrelated_crawl(fetch: CrawlFetcher, nginx: NginxServer) -> list[str]:
    """The five unrelated clips on one page, crawled once: a table row (none may be flagged)."""
    from tests.support.cli_runner import flags_json

    clips = streams.unrelated()
    urls = [clip.serve(nginx.site) for clip in clips]
    mark = nginx.mark()
    started = time.perf_counter()
    fetch.crawl(fetch.page("".join(f'<video src="{url}"></video>' for url in urls)))
    seconds = time.perf_counter() - started
    nginx.settle()
    sent = nginx.bytes_sent(since=mark)
    served = sum(clip.size for clip in clips)
    flagged = [
        f["media_url"] for f in flags_json(fetch.env, fetch.workdir) if f["media_url"] in urls
    ]
    return [
        f"unrelated x{len(clips)} (one page)",
        f"{served / 1e6:.1f}",
        f"{sent / 1e6:.2f} ({sent / served:.1%})",
        f"{len(flagged)} flagged",
        f"{seconds:.1f} (the page)",
        "must stay unflagged",
    ]


#: Delivery forms run only when ``--forms`` names them: the 1 GB MP4s of the issue's target
#: (106 minutes, the reference in the middle; made once and kept, about 2 GB of disk).
ON_REQUEST_FORMS = {
    "big-1000mb-moov-at-end": lambda: streams.big_mp4(False, megabytes=1000),
    "big-1000mb-faststart": lambda: streams.big_mp4(True, megabytes=1000),
}


def delivery_forms(only: set[str] | None = None) -> list[streams.Video]:
    """The forms of the table (all, or those of ``only``), made when first asked for."""
    forms = {
        "reference": streams.reference,
        "big-300mb-moov-at-end": lambda: streams.big_mp4(False),
        "big-300mb-faststart": lambda: streams.big_mp4(True),
        "webm": streams.webm,
        "mkv": streams.mkv,
        "hls-mpegts": lambda: streams.hls("mpegts"),
        "hls-fmp4": lambda: streams.hls("fmp4"),
        "hls-aes": streams.hls_aes,
        "hls-live": streams.hls_live,
        **{
            f"dash-{layout}": (lambda layout=layout: streams.dash(layout))
            for layout in streams.DASH_LAYOUTS
        },
    }
    if only:
        forms |= {name: make for name, make in ON_REQUEST_FORMS.items() if name in only}
    return [make() for name, make in forms.items() if not only or name in only]


def form_costs(refs: list[Reference], fetcher: str = "crawl", only: set[str] | None = None) -> str:
    """Per delivery form: found or not, bytes nginx sent against the bytes served, seconds.
    With the crawl fetcher, a first crawl of a page without video gives the start-up seconds
    every crawl pays (Scrapy, the database, the reference load)."""
    matcher = matcher_of(refs) if refs else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp, NginxServer.running(Path(tmp)) as nginx:
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        fetch = FETCHERS[fetcher](nginx, workdir)
        if isinstance(fetch, CrawlFetcher):
            started = time.perf_counter()
            fetch.crawl(fetch.page("<p>no video</p>"))
            rows.append(
                [
                    "(page without video)",
                    "-",
                    "-",
                    "-",
                    f"{time.perf_counter() - started:.1f}",
                    "start-up of one crawl",
                ]
            )
        for video in delivery_forms(only):
            progress(f"{video.name} ({video.size / 1e6:.0f} MB)")
            url = video.serve(nginx.site)
            nginx.settle()
            mark = nginx.mark()
            started = time.perf_counter()
            fetched = fetch(url)
            seconds = time.perf_counter() - started
            nginx.settle()
            sent = nginx.bytes_sent(since=mark)
            if fetched.found is not None:
                found = "yes" if fetched.found else "no"
            elif fetched.frames is None or matcher is None:
                found = "-"
            else:
                generated = next(n for n, ref in enumerate(refs) if ref.name == "generated")
                found = (
                    "yes"
                    if any(m.video_id == generated for m in matcher.match(fetched.frames))
                    else "no"
                )
            rows.append(
                [
                    video.name,
                    f"{video.size / 1e6:.1f}",
                    f"{sent / 1e6:.2f} ({sent / video.size:.1%})",
                    found,
                    f"{seconds:.1f}",
                    fetched.note[:200].replace("|", "/"),
                ]
            )
            progress(" | ".join(rows[-1]))
        if isinstance(fetch, CrawlFetcher) and (not only or "unrelated" in only):
            rows.append(unrelated_crawl(fetch, nginx))
            progress(" | ".join(rows[-1]))
        if isinstance(fetch, CrawlFetcher) and (not only or "browser-hls.js" in only):
            video = streams.hls("mpegts")
            url = video.serve(nginx.site)
            mark = nginx.mark()
            started = time.perf_counter()
            fetched = fetch.hls_js_player(url)
            seconds = time.perf_counter() - started
            nginx.settle()
            sent = nginx.bytes_sent(since=mark) - len(players_js())
            rows.append(
                [
                    "browser-hls.js (hls-mpegts)",
                    f"{video.size / 1e6:.1f}",
                    f"{sent / 1e6:.2f} ({sent / video.size:.1%})",
                    "yes" if fetched.found else "no",
                    f"{seconds:.1f}",
                    fetched.note[:200].replace("|", "/"),
                ]
            )
            progress(" | ".join(rows[-1]))
    return table(
        ["form", "MB served", "MB fetched (share)", "reference found", "s per video", "note"],
        rows,
    )


def players_js() -> bytes:
    from tests.support import players

    return players.hls_js()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES), help=f"of {', '.join(TABLES)}")
    parser.add_argument(
        "--index-sizes",
        default=",".join(map(str, INDEX_SIZES)),
        help="reference frames in the index table, comma-separated",
    )
    parser.add_argument("--fetcher", default="crawl", choices=sorted(FETCHERS))
    parser.add_argument("--forms", default="", help="only these delivery forms, comma-separated")
    parser.add_argument("--edits", default="", help="only these edits, comma-separated")
    args = parser.parse_args(argv)
    wanted = set(args.tables.split(","))
    print(f"Machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs")
    refs: list[Reference] = []
    copies: dict[str, dict[str, Path]] = {}
    if wanted & {"edits", "false"} or ("forms" in wanted and args.fetcher == "whole"):
        progress("fetching opencv-doc's clips (once, into var/bench) and making the edits")
        clips, version = opencv_clips()
        print(f"Real footage: opencv-doc {version}: {', '.join(clips)}")
        copies = real_copies(clips)
        progress("hashing the references")
        refs = references(clips)
    if "edits" in wanted:
        progress("recall per edit")
        print(
            "\n### Recall per edit\n\n"
            + edit_recall(refs, copies, set(filter(None, args.edits.split(","))))
        )
    if "false" in wanted:
        progress("false matches")
        print("\n### False matches\n\n" + false_matches(refs))
    if "forms" in wanted:
        progress(f"delivery forms, fetched by {args.fetcher!r}")
        print(
            f"\n### Delivery forms ({args.fetcher})\n\n"
            + form_costs(refs, args.fetcher, set(filter(None, args.forms.split(","))))
        )
    if "index" in wanted:
        sizes = tuple(int(size) for size in args.index_sizes.split(","))
        progress(f"index at {', '.join(f'{s:,}' for s in sizes)} reference frames")
        print("\n### Reference frame index\n", flush=True)
        video_index.main(["--sizes", *map(str, sizes)])  # each size in a process of its own


if __name__ == "__main__":
    if shutil.which("ffmpeg") is None or not Path("/usr/sbin/nginx").exists():
        sys.exit("ffmpeg or nginx is missing: run `make services`")
    main()
