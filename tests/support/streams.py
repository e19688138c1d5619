"""Video as repost sites serve it, made by ffmpeg once and cached: reposts, streams, huge files.

Every function returns a `Video`: where it is (``path``: the file, or the entry manifest of a
stream's folder), what it is (duration, size, form, renditions) and where the reference footage
sits in it (``placement``: times in it and in the reference, speed, mirrored/turned; None for
unrelated footage). ``video.serve(nginx.site)`` publishes it on the test nginx
(tests/support/nginx.py) and returns its URL.

The reference (`reference`): 60 s, 640x360, 25 fps, H.264 (Main profile: CABAC, B-frames) + AAC, MP4
with faststart, a keyframe every 2 s. Scenes (`REFERENCE_SCENES`, `scene_times`): the shared
title card (0-2 s), photos under a moving camera, Conway's life; ``REFERENCE_PHOTOS`` are used by
no other video here.

Reposts of it (`edited(name)`, names in `EDITS`; `apply_edit` makes the same edit of any file).
Placement ``speed`` is reference seconds per second of the repost, so 2.0 is twice as fast. All
are low-quality H.264 (Constrained Baseline) + AAC, 480 wide unless said:

=========== ==================================================================================
480p        re-encoded at 854x480
240p        re-encoded at 426x240
15fps       re-encoded at 15 frames per second
excerpt     15 s from the middle: 0-15 s of it are 22.5-37.5 s of the reference
compilation 300 s, 640x360, not re-encoded: unrelated footage, the whole reference at 120-180 s,
            unrelated footage
speed-1.25x played faster: 48 s (also speed-0.5x: 120 s, speed-2x: 30 s)
mirrored    flipped left-right (variant "flipx")
turned      turned 90 degrees clockwise, 270x480 (variant "rot270": the matcher names turns
            counter-clockwise, as PIL does)
cropped     the middle 90% of width and height, then 432 wide
greyscale   colour removed
subtitled   burned-in subtitles, English and Korean (libass; Noto CJK when installed)
banner      a red banner with a watermark burned in over the top sixth
letterboxed 360 wide inside a 4:3 frame, black bars above and below
=========== ==================================================================================

Unrelated videos (`unrelated`): five clips of 48 s made of other photos and other generated
pictures; the first two open on the same title card as the reference (``details["title_card"]``).

Delivery forms of the reference (the whole 60 s, 4 s segments):

- `hls("mpegts")`, `hls("fmp4")`: a master playlist with 240p, 360p and 720p variants
  (``renditions``), TS segments or fMP4 (init.mp4 + .m4s);
- `hls_aes`: one AES-128 media playlist (TS, 360p) whose ``#EXT-X-KEY`` names ``key.key``
  beside it (``details["key"]`` holds the 16 bytes);
- `hls_live`: a live media playlist (no ENDLIST) whose window is 6 segments of the 360p TS variant,
  media sequence 5: 20-44 s of the reference (placement);
- `dash(layout)`: 240p + 360p + audio; ``"template"`` (SegmentTemplate with $Number$),
  ``"timeline"`` (SegmentTemplate + SegmentTimeline), ``"list"`` (SegmentList of files),
  ``"base"`` (SegmentBase: one fragmented MP4 per representation with a sidx, byte ranges);
- `big_mp4(faststart)`: >= 300 MB MP4 (high bitrate, 640x360): unrelated footage repeated, the
  reference in the middle (placement), ``moov`` at the end (``faststart=False``) or at the front;
- `webm` (VP9 + Opus, Cues at the end) and `mkv` (H.264 + AAC, Cues at the front).

Cache: ``var/test-cache/streams/<key>/`` in the checkout, where the key hashes `RECIPES_VERSION`,
tests/support/footage.py and the ffmpeg version: kept between runs (a change to a recipe makes a
new key; delete ``var/test-cache`` to reclaim the space), shared by pytest-xdist workers (a file
lock per video: one makes it, the others wait). A clean checkout makes each video the first time
a test asks for it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

from tests.support import footage
from tests.support.footage import (
    AAC,
    FPS,
    X264_CODEC,
    X264_FRAMES,
    card,
    ffmpeg,
    pan,
    source,
    zoom,
)

ROOT = Path(__file__).resolve().parents[2] / "var" / "test-cache" / "streams"
#: Part of the cache key with footage.py and the ffmpeg version: add one whenever a recipe here
#: changes what a video looks like (tests/support/test_streams.py checks the facts).
RECIPES_VERSION = 1
SEGMENT_SECONDS = 4
REFERENCE_SECONDS = 60.0
REFERENCE_PHOTOS = ("astronaut", "coffee", "rocket", "chelsea", "motorcycle")
REFERENCE_SCENES = (
    card(2),
    pan("astronaut", 10),
    zoom("coffee", 10),
    source("life", 8),
    pan("rocket", 10, "down"),
    zoom("chelsea", 10),
    pan("motorcycle", 10, "left"),
)
UNRELATED_SCENES = (
    (card(2), zoom("hubble", 16), source("cellauto", 14), pan("retina", 16)),
    (card(2), pan("ihc", 16, "up"), source("gradients", 14), zoom("camera", 16)),
    (pan("coins", 16), source("testsrc2", 16), zoom("moon", 16)),
    (pan("page", 16), zoom("brick", 16), pan("text", 16, "left")),
    (pan("grass", 24, "down"), zoom("gravel", 24)),
)
#: Reposts: lower quality and the fastest preset (Constrained Baseline: no B-frames), as cheap
#: to make as possible; the reference, unrelated clips, variants and big files use `X264`.
REPOST_X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", *X264_FRAMES)
#: Most reposts are also scaled down to this width (the reference is 640x360).
REPOST_SCALE = "scale=480:-2"
AES_KEY = hashlib.sha256(b"repostwatch test key").digest()[:16]


@dataclass(frozen=True)
class Placement:
    """Where reference footage sits in a video: ``query_start``-``query_end`` seconds of the
    video show ``reference_start``-``reference_end`` of the reference at ``speed`` (reference
    seconds per second of the video) as ``variant`` ("original", "flipx", "rot90")."""

    query_start: float
    query_end: float
    reference_start: float
    reference_end: float
    speed: float = 1.0
    variant: str = "original"


@dataclass(frozen=True)
class Rendition:
    """One variant of a stream: its picture size, bits per second and playlist or file."""

    width: int
    height: int
    bandwidth: int
    uri: str  # relative to the stream's folder


class Publisher(Protocol):
    def publish(self, source: Path, target: str | Path | None = None) -> str: ...
    def folder(self, name: str = "t") -> Path: ...


@dataclass(frozen=True)
class Video:
    name: str
    path: Path  # the file, or a stream's entry manifest
    form: str  # "mp4", "webm", "mkv", "hls", "dash"
    duration: float
    width: int
    height: int
    placement: Placement | None  # None: unrelated to the reference
    renditions: tuple[Rendition, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def is_stream(self) -> bool:
        return self.form in ("hls", "dash")

    @property
    def size(self) -> int:
        """Bytes of the file, or of every file of the stream."""
        if not self.is_stream:
            return self.path.stat().st_size
        return sum(p.stat().st_size for p in self.path.parent.rglob("*") if p.is_file())

    def serve(self, host: Publisher) -> str:
        """Publish on ``host`` (``nginx.site`` or ``nginx.embed``); the URL of `path`."""
        if not self.is_stream:
            return host.publish(self.path)
        folder_url = host.publish(self.path.parent, host.folder(self.name) / self.name)
        return f"{folder_url}/{self.path.name}"


# --- the cache -----------------------------------------------------------------------------------


@cache
def cache_dir() -> Path:
    """This version's folder: the key hashes the recipes and the ffmpeg that runs them."""
    version = subprocess.run(
        ["ffmpeg", "-version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    digest = hashlib.sha256(f"{version} {RECIPES_VERSION}".encode())
    digest.update(Path(footage.__file__).read_bytes())
    folder = ROOT / digest.hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(name: str):
    with open(cache_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _made(name: str, make: Callable[[Path], dict | None]) -> tuple[Path, dict]:
    """The folder of ``name``, made by ``make(folder)`` unless made before; its stored facts."""
    folder = cache_dir() / name
    facts_file = folder / "facts.json"
    if not facts_file.exists():
        with _locked(name):
            if not facts_file.exists():
                building = cache_dir() / f"{name}.building"
                shutil.rmtree(building, ignore_errors=True)
                building.mkdir()
                facts = make(building) or {}
                (building / "facts.json").write_text(json.dumps(facts))
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(building, folder)
    return folder, json.loads(facts_file.read_text())


def _workdir() -> Path:
    """Where scaled photos are kept between videos."""
    folder = cache_dir() / "photos"
    folder.mkdir(exist_ok=True)
    return folder


def _probe(path: Path) -> tuple[float, int, int]:
    fields = footage.ffprobe(path, "width", "height")
    return footage.duration(path), int(fields["width"]), int(fields["height"])


def _file_video(name: str, path: Path, placement: Placement | None, **details) -> Video:
    seconds, width, height = _probe(path)
    form = {".mp4": "mp4", ".webm": "webm", ".mkv": "mkv"}[path.suffix]
    return Video(name, path, form, seconds, width, height, placement, details=details)


# --- the reference and unrelated footage ---------------------------------------------------------


def scene_times(scenes=REFERENCE_SCENES) -> list[tuple[float, float, footage.Scene]]:
    """(start, end, scene) of each scene."""
    times, start = [], 0.0
    for scene in scenes:
        times.append((start, start + scene.seconds, scene))
        start += scene.seconds
    return times


@cache
def reference() -> Video:
    """The 60 s reference video every repost here is made from."""
    folder, _ = _made(
        "reference", lambda out: footage.render(REFERENCE_SCENES, out / "ref.mp4", _workdir())
    )
    whole = Placement(0.0, REFERENCE_SECONDS, 0.0, REFERENCE_SECONDS)
    return _file_video("reference", folder / "ref.mp4", whole, title_card=(0.0, 2.0))


@cache
def unrelated() -> tuple[Video, ...]:
    """Five 48 s clips sharing nothing with the reference but (the first two) its title card."""
    videos = []
    for number, scenes in enumerate(UNRELATED_SCENES, 1):
        name = f"unrelated-{number}"
        folder, _ = _made(
            name,
            lambda out, s=scenes, n=number: footage.render(
                s, out / "clip.mp4", _workdir(), tone=220.0 + 60 * n
            ),
        )
        has_card = scenes[0].kind == "card"
        videos.append(_file_video(name, folder / "clip.mp4", None, title_card=has_card))
    return tuple(videos)


# --- reposts -------------------------------------------------------------------------------------

SUBTITLES = """1
00:00:03,000 --> 00:00:09,000
You won't believe what happens next

2
00:00:10,000 --> 00:00:18,000
이 영상은 삭제되기 전에 보세요

3
00:00:20,000 --> 00:00:35,000
Full video at the link in bio

4
00:00:38,000 --> 00:00:58,000
무단 전재 및 재배포 금지
"""

_WHOLE = Placement(0.0, 60.0, 0.0, 60.0)
EXCERPT_SECONDS = 15.0
_BANNER = (
    "drawbox=x=0:y=0:w=iw:h=ih/6:c=0xc01020@0.85:t=fill,"
    f"drawtext=fontfile={footage.FONT}:text='HOT CLIPS 24/7 - hotclips.example':"
    "fontcolor=white:fontsize=h/16:x=(w-text_w)/2:y=h/12-text_h/2"
)
#: name: (ffmpeg's video filters, speed, variant); "excerpt" also seeks, "compilation" joins.
_EDITS: dict[str, tuple[str, float, str]] = {
    "480p": ("scale=-2:480", 1.0, "original"),
    "240p": ("scale=-2:240", 1.0, "original"),
    "15fps": (f"{REPOST_SCALE},fps=15", 1.0, "original"),
    "excerpt": (REPOST_SCALE, 1.0, "original"),
    "speed-1.25x": (f"{REPOST_SCALE},setpts=PTS/1.25", 1.25, "original"),
    "speed-0.5x": (f"{REPOST_SCALE},setpts=PTS/0.5", 0.5, "original"),
    "speed-2x": (f"{REPOST_SCALE},setpts=PTS/2", 2.0, "original"),
    "mirrored": (f"{REPOST_SCALE},hflip", 1.0, "flipx"),
    "turned": (f"{REPOST_SCALE},transpose=clock", 1.0, "rot270"),
    "cropped": ("crop=iw*0.9:ih*0.9,scale=432:-2", 1.0, "cropped"),
    "greyscale": (f"{REPOST_SCALE},hue=s=0", 1.0, "original"),
    "subtitled": (f"{REPOST_SCALE},subtitles=subs.srt:force_style='Fontsize=26'", 1.0, "original"),
    "banner": (f"{REPOST_SCALE},{_BANNER}", 1.0, "original"),
    "letterboxed": ("scale=360:-2,pad=iw:trunc(ih*4/3/2)*2:0:(oh-ih)/2", 1.0, "original"),
    "compilation": ("", 1.0, "original"),
}
EDITS = tuple(_EDITS)


def edit_placement(name: str, seconds: float) -> Placement:
    """Where a source of ``seconds`` sits in its copy made with the edit ``name`` (any of
    `EDITS` but "compilation")."""
    _, speed, variant = _EDITS[name]
    if name == "excerpt":
        length = min(EXCERPT_SECONDS, seconds)
        start = (seconds - length) / 2
        return Placement(0.0, length, start, start + length)
    return Placement(0.0, seconds / speed, 0.0, seconds, speed, variant)


def apply_edit(name: str, source_path: Path, out: Path) -> Placement:
    """Make ``out`` from ``source_path`` with the edit ``name`` (any of `EDITS` but
    "compilation"), as `edited` makes it from the reference; where the source sits in it."""
    filters, speed, _ = _EDITS[name]
    placement = edit_placement(name, footage.duration(source_path))
    seek: tuple[str, ...] = ()
    if name == "excerpt":
        seek = ("-ss", f"{placement.reference_start}", "-t", f"{placement.query_end}")
    audio = ("-af", f"atempo={speed}") if speed != 1.0 else ()
    if name == "subtitled":
        (out.parent / "subs.srt").write_text(SUBTITLES)
    ffmpeg(
        "-i", source_path.resolve(), *seek, "-vf", filters, *audio, *REPOST_X264, *AAC,
        "-movflags", "+faststart", out.name, cwd=out.parent,
    )  # fmt: skip
    return placement


@cache
def edited(name: str) -> Video:
    """The reference as reposted with the edit ``name`` (one of `EDITS`)."""
    if name not in _EDITS:
        raise KeyError(f"no edit {name!r}; choose from {', '.join(EDITS)}")
    if name == "compilation":
        return _compilation()
    folder, facts = _made(
        f"edit-{name}",
        lambda out: asdict(apply_edit(name, reference().path, out / "repost.mp4")),
    )
    # the variant is a name, not a fact of the file: the recipe's (not a cached older name)
    placement = Placement(**{**facts, "variant": _EDITS[name][2]})
    return _file_video(name, folder / "repost.mp4", placement, edit=name)


def edits() -> dict[str, Video]:
    """Every repost of `EDITS`, by name."""
    return {name: edited(name) for name in EDITS}


def _compilation() -> Video:
    """Unrelated clips 1, 2 and the first 24 s of 3; the reference; the rest of 3, 4, 5: the
    pieces were encoded alike, so they are joined without re-encoding (ffmpeg's concat demuxer)."""
    clips = unrelated()
    pieces = [
        (clips[0].path, None, None),
        (clips[1].path, None, None),
        (clips[2].path, None, 24.0),
        (reference().path, None, None),
        (clips[2].path, 24.0, None),
        (clips[3].path, None, None),
        (clips[4].path, None, None),
    ]

    def make(out: Path) -> None:
        lines = []
        for path, inpoint, outpoint in pieces:
            lines.append(f"file '{path}'")
            if inpoint is not None:
                lines.append(f"inpoint {inpoint}")
            if outpoint is not None:
                lines.append(f"outpoint {outpoint}")
        (out / "pieces.txt").write_text("\n".join(lines) + "\n")
        ffmpeg(
            "-f", "concat", "-safe", "0", "-i", "pieces.txt", "-c", "copy",
            "-movflags", "+faststart", "repost.mp4", cwd=out,
        )  # fmt: skip

    folder, _ = _made("edit-compilation", make)
    placement = Placement(120.0, 180.0, 0.0, REFERENCE_SECONDS)
    return _file_video("compilation", folder / "repost.mp4", placement, edit="compilation")


# --- streams -------------------------------------------------------------------------------------

#: HLS variants: (height, width, x264 CRF).
VARIANTS = ((240, 426, 28), (360, 640, 25), (720, 1280, 23))


def _variant(height: int) -> Path:
    """The reference re-encoded at ``height`` lines (for HLS and DASH variants)."""
    width, crf = next((w, c) for h, w, c in VARIANTS if h == height)

    def make(out: Path) -> None:
        ffmpeg(
            "-i", reference().path, "-vf", f"scale={width}:{height}",
            *X264_CODEC, "-crf", str(crf), *X264_FRAMES, *AAC, "variant.mp4", cwd=out,
        )  # fmt: skip

    folder, _ = _made(f"variant-{height}p", make)
    return folder / "variant.mp4"


def _hls_package(variant: Path, out: Path, segment_type: str, extra: tuple[str, ...] = ()) -> None:
    ext = "ts" if segment_type == "mpegts" else "m4s"
    ffmpeg(
        "-i", variant, "-c", "copy", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
        "-hls_playlist_type", "vod", "-hls_segment_type", segment_type,
        *(("-hls_fmp4_init_filename", "init.mp4") if segment_type == "fmp4" else ()),
        "-hls_segment_filename", f"seg%03d.{ext}", *extra, "index.m3u8", cwd=out,
    )  # fmt: skip


def _bandwidth(folder: Path, ext: str) -> int:
    """Peak bits per second over the segments, as a master playlist states it."""
    segments = sorted(folder.glob(f"*.{ext}"))
    return max(p.stat().st_size for p in segments) * 8 // SEGMENT_SECONDS


def _codecs(variant: Path) -> str:
    fields = footage.ffprobe(variant, "profile", "level")
    profile = {"High": "6400", "Main": "4d40", "Constrained Baseline": "42c0"}[fields["profile"]]
    return f"avc1.{profile}{int(fields['level']):02x},mp4a.40.2"


@cache
def hls(segment_type: str = "mpegts") -> Video:
    """The reference as HLS: a master playlist, variants 240p/360p/720p, ``segment_type``
    "mpegts" (.ts) or "fmp4" (init.mp4 + .m4s)."""
    ext = {"mpegts": "ts", "fmp4": "m4s"}[segment_type]

    def make(out: Path) -> dict:
        lines = ["#EXTM3U", "#EXT-X-VERSION:7" if segment_type == "fmp4" else "#EXT-X-VERSION:3"]
        renditions = []
        for height, width, _ in VARIANTS:
            variant = _variant(height)
            (out / f"{height}p").mkdir()
            _hls_package(variant, out / f"{height}p", segment_type)
            bandwidth = _bandwidth(out / f"{height}p", ext)
            lines.append(
                f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={width}x{height},"
                f'CODECS="{_codecs(variant)}"'
            )
            lines.append(f"{height}p/index.m3u8")
            renditions.append([width, height, bandwidth, f"{height}p/index.m3u8"])
        (out / "master.m3u8").write_text("\n".join(lines) + "\n")
        return {"renditions": renditions}

    folder, facts = _made(f"hls-{segment_type}", make)
    return Video(
        f"hls-{segment_type}",
        folder / "master.m3u8",
        "hls",
        REFERENCE_SECONDS,
        1280,
        720,
        _WHOLE,
        tuple(Rendition(*r) for r in facts["renditions"]),
        {"segment_type": segment_type, "segment_seconds": SEGMENT_SECONDS},
    )


@cache
def hls_aes() -> Video:
    """One AES-128 media playlist (TS, 360p); the key is ``key.key`` beside it."""

    def make(out: Path) -> None:
        (out / "key.key").write_bytes(AES_KEY)
        (out / "keyinfo").write_text(f"key.key\n{out / 'key.key'}\n")
        _hls_package(_variant(360), out, "mpegts", ("-hls_key_info_file", str(out / "keyinfo")))
        (out / "keyinfo").unlink()

    folder, _ = _made("hls-aes", make)
    return Video(
        "hls-aes",
        folder / "index.m3u8",
        "hls",
        REFERENCE_SECONDS,
        640,
        360,
        _WHOLE,
        details={"key": AES_KEY, "key_uri": "key.key", "encryption": "AES-128"},
    )


@cache
def hls_live(first: int = 5, window: int = 6) -> Video:
    """A live media playlist: ``window`` segments of the 360p TS variant from sequence ``first``,
    no ENDLIST (a player reloads it; the crawler samples the window)."""
    variant = hls("mpegts").path.parent / "360p"

    def make(out: Path) -> None:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
        ]
        for number in range(first, first + window):
            name = f"seg{number:03d}.ts"
            shutil.copy(variant / name, out / name)
            lines += [f"#EXTINF:{SEGMENT_SECONDS}.000000,", name]
        (out / "live.m3u8").write_text("\n".join(lines) + "\n")

    folder, _ = _made(f"hls-live-{first}-{window}", make)
    start, end = first * SEGMENT_SECONDS, (first + window) * SEGMENT_SECONDS
    return Video(
        "hls-live",
        folder / "live.m3u8",
        "hls",
        float(end - start),
        640,
        360,
        Placement(0.0, float(end - start), float(start), float(end)),
        details={"live": True, "media_sequence": first},
    )


DASH_LAYOUTS = ("template", "timeline", "list", "base")


@cache
def dash(layout: str = "template") -> Video:
    """The reference as DASH (240p and 360p video, audio) with the MPD ``layout`` of
    `DASH_LAYOUTS`."""
    if layout not in DASH_LAYOUTS:
        raise KeyError(f"no DASH layout {layout!r}; choose from {', '.join(DASH_LAYOUTS)}")

    def make(out: Path) -> dict:
        low, mid = _variant(240), _variant(360)
        if layout == "base":
            return _dash_segment_base(low, mid, out)
        options = {
            "template": ("-use_template", "1", "-use_timeline", "0"),
            "timeline": ("-use_template", "1", "-use_timeline", "1"),
            "list": ("-use_template", "0", "-use_timeline", "0"),
        }[layout]
        ffmpeg(
            "-i", low, "-i", mid, "-map", "0:v", "-map", "1:v", "-map", "1:a", "-c", "copy",
            "-f", "dash", "-seg_duration", str(SEGMENT_SECONDS), *options,
            "-adaptation_sets", "id=0,streams=v id=1,streams=a", "manifest.mpd", cwd=out,
        )  # fmt: skip
        return {}

    folder, _ = _made(f"dash-{layout}", make)
    renditions = tuple(Rendition(w, h, 0, "") for h, w, _ in VARIANTS[:2])
    return Video(
        f"dash-{layout}",
        folder / "manifest.mpd",
        "dash",
        REFERENCE_SECONDS,
        640,
        360,
        _WHOLE,
        renditions,
        {"layout": layout},
    )


def _dash_segment_base(low: Path, mid: Path, out: Path) -> dict:
    """SegmentBase: each representation one fragmented MP4 with a global sidx; the MPD gives the
    byte ranges of the init (ftyp+moov) and of the index (sidx): ffmpeg's DASH muxer cannot."""
    representations = []
    for number, (variant, kind) in enumerate(((low, "v"), (mid, "v"), (mid, "a"))):
        name = f"{kind}{number}.mp4"
        ffmpeg(
            "-i", variant, "-map", f"0:{kind}", "-c", "copy", "-movflags",
            "+frag_keyframe+empty_moov+default_base_moof+global_sidx+dash",
            "-frag_duration", str(SEGMENT_SECONDS * 1_000_000), name, cwd=out,
        )  # fmt: skip
        boxes = _top_boxes(out / name)
        moov_end = boxes["moov"][0] + boxes["moov"][1] - 1
        sidx = boxes["sidx"]
        representations.append((kind, name, moov_end, sidx, variant))
    video = []
    for kind, name, moov_end, (start, size), variant in representations:
        segment_base = (
            f'<BaseURL>{name}</BaseURL><SegmentBase indexRange="{start}-{start + size - 1}">'
            f'<Initialization range="0-{moov_end}"/></SegmentBase>'
        )
        if kind == "v":
            fields = footage.ffprobe(variant, "width", "height")
            codec = _codecs(variant).split(",")[0]
            video.append(
                f'<Representation id="{name}" mimeType="video/mp4" codecs="{codec}" '
                f'width="{fields["width"]}" height="{fields["height"]}" '
                f'bandwidth="{_bits(out / name)}">{segment_base}</Representation>'
            )
        else:
            audio = (
                f'<Representation id="{name}" mimeType="audio/mp4" codecs="mp4a.40.2" '
                f'audioSamplingRate="44100" bandwidth="{_bits(out / name)}">{segment_base}'
                "</Representation>"
            )
    mpd = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" minBufferTime="PT2S" '
        f'mediaPresentationDuration="PT{REFERENCE_SECONDS:.1f}S">\n<Period id="0">\n'
        f'<AdaptationSet id="0" contentType="video" segmentAlignment="true">{"".join(video)}'
        "</AdaptationSet>\n"
        f'<AdaptationSet id="1" contentType="audio">{audio}</AdaptationSet>\n</Period>\n</MPD>\n'
    )
    (out / "manifest.mpd").write_text(mpd)
    return {}


def _bits(path: Path) -> int:
    return path.stat().st_size * 8 // int(REFERENCE_SECONDS)


def _top_boxes(path: Path) -> dict[str, tuple[int, int]]:
    """Offset and size of the first top-level MP4 box of each type."""
    boxes: dict[str, tuple[int, int]] = {}
    with path.open("rb") as mp4:
        offset = 0
        while header := mp4.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", mp4.read(8))[0]
            elif size == 0:
                size = path.stat().st_size - offset
            boxes.setdefault(kind.decode("latin-1"), (offset, size))
            offset += size
            mp4.seek(offset)
    return boxes


def top_boxes(path: Path) -> list[str]:
    """The types of the top-level MP4 boxes in order, e.g. ["ftyp", "mdat", "moov"]."""
    return [kind for kind, _ in sorted(_top_boxes(path).items(), key=lambda item: item[1][0])]


# --- big files and other containers ---------------------------------------------------------------

#: High bitrate, so that a few minutes make hundreds of megabytes; the same settings for the
#: filler and the reference so that they join without re-encoding.
BIG_X264 = (*X264_CODEC, "-qp", "6", *X264_FRAMES)


@cache
def big_mp4(faststart: bool = False, megabytes: int = 300) -> Video:
    """An MP4 of at least ``megabytes`` MB: unrelated clip 3 at a high bitrate repeated, the
    reference at the same bitrate in the middle, repeats again; ``moov`` at the end, or at the
    front with ``faststart``."""

    def make_parts(out: Path) -> dict:
        for name, path in (("filler", unrelated()[2].path), ("reference", reference().path)):
            ffmpeg("-i", path, *BIG_X264, *AAC, f"{name}.mp4", cwd=out)
        return {}

    parts, _ = _made("big-parts", make_parts)
    filler, middle = parts / "filler.mp4", parts / "reference.mp4"
    filler_seconds = footage.duration(filler)
    repeats = max(
        1,
        -(-(megabytes * 1_000_000 - middle.stat().st_size) // (2 * filler.stat().st_size)),
    )
    before = repeats * filler_seconds

    def make(out: Path) -> dict:
        lines = (
            [f"file '{filler}'"] * repeats + [f"file '{middle}'"] + [f"file '{filler}'"] * repeats
        )
        (out / "parts.txt").write_text("\n".join(lines) + "\n")
        flags = ("-movflags", "+faststart") if faststart else ()
        ffmpeg(
            "-f", "concat", "-safe", "0", "-i", "parts.txt", "-c", "copy", *flags, "big.mp4",
            cwd=out,
        )  # fmt: skip
        (out / "parts.txt").unlink()
        return {}

    name = f"big-{megabytes}mb-{'faststart' if faststart else 'moov-at-end'}"
    folder, _ = _made(name, make)
    placement = Placement(before, before + REFERENCE_SECONDS, 0.0, REFERENCE_SECONDS)
    return _file_video(name, folder / "big.mp4", placement, moov_at_end=not faststart)


@cache
def webm() -> Video:
    """The reference as WebM (VP9 + Opus), Cues (the index) at the end as ffmpeg writes them."""

    def make(out: Path) -> None:
        ffmpeg(
            "-i", reference().path, "-vf", REPOST_SCALE, "-c:v", "libvpx-vp9", "-deadline",
            "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "400k", "-g", str(FPS * 2),
            "-c:a", "libopus", "-b:a", "48k", "repost.webm", cwd=out,
        )  # fmt: skip

    folder, _ = _made("webm", make)
    return _file_video("webm", folder / "repost.webm", _WHOLE, cues="end")


@cache
def mkv() -> Video:
    """The reference's H.264 + AAC copied into Matroska with the Cues at the front."""

    def make(out: Path) -> None:
        ffmpeg("-i", reference().path, "-c", "copy", "-cues_to_front", "1", "repost.mkv", cwd=out)

    folder, _ = _made("mkv", make)
    return _file_video("mkv", folder / "repost.mkv", _WHOLE, cues="front")
