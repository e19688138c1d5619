"""Streams made by ffmpeg from one test slideshow, once per test session, for the stream
sampler's tests: HLS with MPEG-TS and fMP4 segments, byte ranges, AES-128, a master playlist of
two variants and a live window; DASH with SegmentTemplate ($Number$, $Time$ + SegmentTimeline),
SegmentList and SegmentBase (a sidx).

    >>> root = stream_files()            # a folder: serve it, or read the files
    >>> (root / "hls-ts" / "index.m3u8").read_text()

Each stream is the same 12 s slideshow (`SOURCE_PHOTOS`, keyframes every second) so that every
form's frames can be matched against `source()`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from tests.support.videos import slideshow

SOURCE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
UNRELATED_PHOTOS = ("motorcycle", "hubble", "moon", "coins")
SECONDS = 12.0
#: The AES-128 key and IV of the encrypted stream (test material only).
KEY = bytes(range(16))
IV = bytes(range(16, 32))
_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
_GOP = ["-g", "15", "-keyint_min", "15", "-sc_threshold", "0", "-an"]


def source() -> bytes:
    """The video every stream here is made from: an MP4, 12 s at 15 fps, 320x240."""
    return slideshow(SOURCE_PHOTOS, seconds=SECONDS)


@cache
def stream_files() -> Path:
    """A folder holding every stream, made on first use in this test session."""
    root = Path(tempfile.mkdtemp(prefix="repostwatch-streams-"))
    (root / "source.mp4").write_bytes(source())
    _hls(root, "hls-ts", 480, 360, [])
    _hls(root, "hls-180", 240, 180, [])
    _master(root)
    _hls(root, "hls-fmp4", 480, 360, ["-hls_segment_type", "fmp4"])
    _hls(root, "hls-range", 480, 360, ["-hls_flags", "single_file"])
    _aes(root)
    _live(root)
    _unusable(root)
    _unrelated(root)
    _dash(root, "dash-number", ["-use_template", "1", "-use_timeline", "0"])
    _dash(root, "dash-time", ["-media_seg_name", "chunk-$RepresentationID$-$Time%08d$.m4s"])
    _dash(root, "dash-list", ["-single_file", "1", "-use_template", "0", "-use_timeline", "0"])
    _segment_base(root)
    return root


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _hls(root: Path, name: str, width: int, height: int, extra: list[str]) -> None:
    folder = root / name
    folder.mkdir()
    _ffmpeg(
        "-i", str(root / "source.mp4"), "-vf", f"scale={width}:{height}", *_X264, *_GOP,
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", *extra,
        str(folder / "index.m3u8"),
    )  # fmt: skip


def _master(root: Path) -> None:
    """Two variants; the sampler must choose the 480x360 one."""
    shutil.copytree(root / "hls-ts", root / "hls-360")  # its own copy, to count its bytes
    (root / "hls-master.m3u8").write_text(
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\naudio/index.m3u8\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=240x180\nhls-180/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=480x360\nhls-360/index.m3u8\n"
    )


def _aes(root: Path) -> None:
    folder = root / "hls-aes"
    folder.mkdir()
    (folder / "key.bin").write_bytes(KEY)
    info = root / "keyinfo.txt"
    info.write_text(f"key.bin\n{folder / 'key.bin'}\n{IV.hex()}\n")
    _ffmpeg(
        "-i", str(root / "source.mp4"), "-vf", "scale=480:360", *_X264, *_GOP,
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
        "-hls_key_info_file", str(info), str(folder / "index.m3u8"),
    )  # fmt: skip


def _live(root: Path) -> None:
    """A live playlist: the TS stream's segments 4-8 listed, no ENDLIST."""
    folder = root / "hls-live"
    shutil.copytree(root / "hls-ts", folder)
    lines = (folder / "index.m3u8").read_text().splitlines()
    header = [line for line in lines if line.startswith(("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-T"))]
    pairs = [(lines[i], lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXTINF")]
    window = pairs[4:9]
    body = [*header, "#EXT-X-MEDIA-SEQUENCE:4"] + [line for pair in window for line in pair]
    (folder / "index.m3u8").write_text("\n".join(body) + "\n")


def _unrelated(root: Path) -> None:
    """An HLS stream of other photos, which must match nothing."""
    other = root / "unrelated.mp4"
    other.write_bytes(slideshow(UNRELATED_PHOTOS, seconds=SECONDS))
    folder = root / "hls-unrelated"
    folder.mkdir()
    _ffmpeg(
        "-i", str(other), "-vf", "scale=480:360", *_X264, *_GOP,
        "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", str(folder / "index.m3u8"),
    )  # fmt: skip


def _unusable(root: Path) -> None:
    """Streams that cannot be sampled: segments that are missing, and SAMPLE-AES (DRM)."""
    for name, key in (("hls-missing", ""), ("hls-drm", '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"\n')):
        (root / name).mkdir()
        entries = "".join(f"#EXTINF:1.0,\ngone{n}.ts\n" for n in range(4))
        playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n{key}{entries}#EXT-X-ENDLIST\n"
        (root / name / "index.m3u8").write_text(playlist)


def _dash(root: Path, name: str, extra: list[str]) -> None:
    folder = root / name
    folder.mkdir()
    _ffmpeg(
        "-i", str(root / "source.mp4"), "-vf", "scale=480:360", *_X264, *_GOP,
        "-f", "dash", "-seg_duration", "2", *extra, str(folder / "manifest.mpd"),
    )  # fmt: skip


def _segment_base(root: Path) -> None:
    """A fragmented MP4 with a sidx (ffmpeg's ``global_sidx``) and an MPD naming its
    indexRange, as SegmentBase (on-demand profile) manifests do."""
    folder = root / "dash-base"
    folder.mkdir()
    video = folder / "video.mp4"
    _ffmpeg(
        "-i", str(root / "source.mp4"), "-vf", "scale=480:360", *_X264, *_GOP,
        "-movflags", "frag_keyframe+empty_moov+global_sidx+dash", "-frag_duration", "2000000",
        str(video),
    )  # fmt: skip
    data = video.read_bytes()
    position = 0
    boxes = {}
    while position < len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        boxes.setdefault(data[position + 4 : position + 8].decode(), (position, size))
        position += size
    sidx_at, sidx_size = boxes["sidx"]
    moov_at, moov_size = boxes["moov"]
    (folder / "manifest.mpd").write_text(
        '<?xml version="1.0"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        f'mediaPresentationDuration="PT{SECONDS}S" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">'
        '<Period><AdaptationSet mimeType="video/mp4">'
        '<Representation id="v" bandwidth="500000" width="480" height="360">'
        "<BaseURL>video.mp4</BaseURL>"
        f'<SegmentBase indexRange="{sidx_at}-{sidx_at + sidx_size - 1}">'
        f'<Initialization range="0-{moov_at + moov_size - 1}"/></SegmentBase>'
        "</Representation></AdaptationSet></Period></MPD>\n"
    )
