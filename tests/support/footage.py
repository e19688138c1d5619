"""Footage for the video tests, rendered by the ffmpeg binary from scenes (see streams.py).

A scene is a few seconds of one kind of picture, at `SIZE` and `FPS`:

- ``card``: the dark title card with a channel name many videos open on (featureless for a
  matcher: shared by unrelated videos, it must never make a match by itself);
- ``pan``/``zoom``: one of the bundled photos (crawler/demo/samples.py) under a moving camera;
- ``source``: one of ffmpeg's generated pictures with motion (Conway's life, a cellular automaton,
  moving gradients, the testsrc2 pattern).

`render` joins scenes into one MP4 with a tone for audio; `ffmpeg` runs any other command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from crawler.demo.samples import load_photo

SIZE = (640, 360)
FPS = 25
#: Keyframe interval, seconds: segments of 2, 4, 6 ... seconds can be cut without re-encoding.
GOP_SECONDS = 2
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CHANNEL = "NIGHT OWL CLIPS"

#: H.264 as tube sites encode it (Main profile: CABAC, B-frames) at ultrafast's speed otherwise;
#: a fixed GOP without scene-cut keyframes, so segments and joins fall on keyframes.
X264_CODEC = (
    "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "cabac=1:bframes=2:b-adapt=0",
)  # fmt: skip
X264_FRAMES = (
    "-pix_fmt", "yuv420p",
    "-g", str(FPS * GOP_SECONDS), "-keyint_min", str(FPS * GOP_SECONDS), "-sc_threshold", "0",
)  # fmt: skip
X264 = (*X264_CODEC, "-crf", "23", *X264_FRAMES)
AAC = ("-c:a", "aac", "-b:a", "64k", "-ac", "1", "-ar", "44100")

#: ffmpeg sources for ``source`` scenes, by name; {w}x{h} is filled in.
SOURCES = {
    "life": "life=s=160x90:rate={fps}:mold=10:ratio=0.12:seed=7:life_color=#40e070"
    ":death_color=#602090:mold_color=#101838,scale={w}:{h}:flags=neighbor",
    "cellauto": "cellauto=s=320x180:rate={fps}:rule=110:random_fill_ratio=0.4:seed=11"
    ":scroll=1,scale={w}:{h}:flags=neighbor,lutrgb=r=val*0.9:g=val*0.6:b=val*0.3",
    "gradients": "gradients=s={w}x{h}:rate={fps}:speed=0.03:seed=5:nb_colors=5",
    "testsrc2": "testsrc2=s={w}x{h}:rate={fps}",
}


class FfmpegError(RuntimeError):
    pass


def ffmpeg(*args: str | Path, cwd: Path | None = None) -> None:
    """Run ffmpeg quietly; raise with its message when it fails."""
    command = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *map(str, args)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise FfmpegError(f"{' '.join(command)}\n{done.stderr[-3000:]}")


def ffprobe(path: Path, *entries: str) -> dict[str, str]:
    """Stream fields of the first video stream, e.g. ``ffprobe(p, "width", "profile")``."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         f"stream={','.join(entries)}", "-of", "default=nw=1", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def duration(path: Path) -> float:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout.strip())


@dataclass(frozen=True)
class Scene:
    kind: str  # "card", "pan", "zoom", "source"
    seconds: float
    subject: str = ""  # the photo's name or the source's name
    direction: str = "right"  # pans: "right", "left", "down", "up"


def card(seconds: float) -> Scene:
    return Scene("card", seconds)


def pan(photo: str, seconds: float, direction: str = "right") -> Scene:
    return Scene("pan", seconds, photo, direction)


def zoom(photo: str, seconds: float) -> Scene:
    return Scene("zoom", seconds, photo)


def source(name: str, seconds: float) -> Scene:
    return Scene("source", seconds, name)


def render(
    scenes: Sequence[Scene], out: Path, workdir: Path, *, tone: float = 330.0, size=SIZE
) -> None:
    """Join ``scenes`` into ``out`` (H.264 + AAC), a stepping tone starting at ``tone`` Hz."""
    inputs: list[str] = []
    chains: list[str] = []
    for number, scene in enumerate(scenes):
        args, chain = _scene(scene, workdir, size)
        inputs += args
        chains.append(f"[{number}:v]{chain},fps={FPS},format=yuv420p,setsar=1[v{number}]")
    total = sum(scene.seconds for scene in scenes)
    joined = "".join(f"[v{number}]" for number in range(len(scenes)))
    chains.append(f"{joined}concat=n={len(scenes)}:v=1:a=0[v]")
    melody = f"0.2*sin(2*PI*({tone}+{tone / 8}*mod(floor(t*2),6))*t)"
    ffmpeg(
        *inputs,
        "-f", "lavfi", "-t", f"{total}", "-i", f"aevalsrc='{melody}':s=44100",
        "-filter_complex", ";".join(chains),
        "-map", "[v]", "-map", f"{len(scenes)}:a",
        *X264, *AAC, "-movflags", "+faststart", "-t", f"{total}", out,
    )  # fmt: skip


def _scene(scene: Scene, workdir: Path, size: tuple[int, int]) -> tuple[list[str], str]:
    """ffmpeg input arguments and the filter chain of one scene."""
    width, height = size
    seconds = scene.seconds
    if scene.kind == "card":
        color = f"color=c=0x0f1729:s={width}x{height}:r={FPS}:d={seconds}"
        chain = f"drawbox=x={width // 4}:y={height * 3 // 5}:w={width // 2}:h=6:c=0xf0b030:t=fill"
        if FONT.exists():
            chain += (
                f",drawtext=fontfile={FONT}:text='{CHANNEL}':fontcolor=white:fontsize="
                f"{height // 9}:x=(w-text_w)/2:y=(h-text_h)/2"
            )
        return ["-f", "lavfi", "-i", color], chain
    if scene.kind == "source":
        graph = SOURCES[scene.subject].format(w=width, h=height, fps=FPS)
        return ["-f", "lavfi", "-t", f"{seconds}", "-i", graph], "null"
    photo = _photo(scene.subject, workdir, (width * 3 // 2, height * 3 // 2))
    if scene.kind == "zoom":
        frames = round(seconds * FPS)
        chain = (
            f"zoompan=z='1+0.5*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            f":d={frames}:s={width}x{height}:fps={FPS}"
        )
        return ["-i", str(photo)], chain
    progress = f"(t/{seconds})"
    x, y = "(in_w-out_w)/2", "(in_h-out_h)/2"
    if scene.direction in ("right", "left"):
        x = f"(in_w-out_w)*{progress if scene.direction == 'right' else '(1-' + progress + ')'}"
    else:
        y = f"(in_h-out_h)*{progress if scene.direction == 'down' else '(1-' + progress + ')'}"
    # The photo is decoded once and its frame repeated (a looped image input decodes it anew
    # for every frame).
    repeat = f"loop=loop={round(seconds * FPS) - 1}:size=1,setpts=N/{FPS}/TB"
    return ["-i", str(photo)], f"{repeat},crop={width}:{height}:x='{x}':y='{y}'"


def _photo(name: str, workdir: Path, size: tuple[int, int]) -> Path:
    """The bundled photo scaled and centre-cropped to ``size``, as a PNG in ``workdir``."""
    path = workdir / f"{name}-{size[0]}x{size[1]}.png"
    if not path.exists():
        photo = load_photo(name)
        scale = max(size[0] / photo.width, size[1] / photo.height)
        scaled = photo.resize(
            (round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS
        )
        left, top = (scaled.width - size[0]) // 2, (scaled.height - size[1]) // 2
        scaled.crop((left, top, left + size[0], top + size[1])).save(path)
    return path
