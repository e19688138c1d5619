"""Video players for the browser tests: hls.js and dash.js (pinned, from the npm registry) and
small HLS and DASH streams made by ffmpeg, each made once into a cache folder
(``~/.cache/repostwatch-tests``) and reused by later sessions.

A player is fetched with ``npm pack PACKAGE@VERSION`` (npm is Debian's ``npm`` package) by the
first test that asks for it, and checked against the registry's sha512 of that exact tarball
(:data:`HLS_JS_INTEGRITY`, :data:`DASH_JS_INTEGRITY`), so a test never runs a player other than
the one pinned here; a machine without npm or the registry skips those tests with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

HLS_JS_VERSION = "1.7.4"
#: ``npm view hls.js@1.7.4 dist.integrity``
HLS_JS_INTEGRITY = (
    "sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/"
    "Tpm+tg=="
)
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "repostwatch-tests"


DASH_JS_VERSION = "4.7.4"
#: ``npm view dashjs@4.7.4 dist.integrity``
DASH_JS_INTEGRITY = (
    "sha512-+hldo25QPP3H/NOwqUrvt4uKdMse60/Gsz9AUAnoYfhga8qHWq4nWiojUosOiigbigkDTCAn9ORcvUaKCv"
    "mfCA=="
)


def hls_js() -> bytes:
    """hls.js's ``dist/hls.min.js`` of the pinned version (skips the test when it cannot be
    had)."""
    return npm_file("hls.js", HLS_JS_VERSION, HLS_JS_INTEGRITY, "dist/hls.min.js")


def dash_js() -> bytes:
    """dash.js's ``dist/dash.all.min.js`` of the pinned version."""
    return npm_file("dashjs", DASH_JS_VERSION, DASH_JS_INTEGRITY, "dist/dash.all.min.js")


def npm_file(package: str, version: str, integrity: str, member: str) -> bytes:
    """One file of an npm package's pinned release, fetched once with ``npm pack`` and checked
    against the registry's ``integrity``; the test is skipped when npm or the registry is not
    there."""
    target = CACHE / f"{package}-{version}" / member
    if not target.exists():
        if shutil.which("npm") is None:
            pytest.skip(f"npm is not installed (apt-get install npm): {package} cannot be fetched")
        with tempfile.TemporaryDirectory() as work:
            try:
                subprocess.run(
                    ["npm", "pack", f"{package}@{version}", "--silent"],
                    cwd=work,
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"npm pack {package}@{version} failed: {exc}")
            tarball = Path(work) / f"{package}-{version}.tgz"
            digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            assert f"sha512-{digest}" == integrity, f"{package} tarball differs from the pin"
            with tarfile.open(tarball) as archive:
                extracted = archive.extractfile(f"package/{member}")
                assert extracted is not None
                data = extracted.read()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target.read_bytes()


def dash_stream() -> dict[str, bytes]:
    """A 4-second 160x120 H.264 DASH stream (fMP4, SegmentTemplate, 1-second segments):
    ``{relative path: bytes}`` with ``stream.mpd``, ``init-0.m4s`` and ``chunk-0-N.m4s``."""
    folder = CACHE / "dash-small"
    if not (folder / "stream.mpd").exists():
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed (make services installs it)")
        CACHE.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=CACHE))
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             "testsrc=size=160x120:rate=10:duration=4", "-c:v", "libx264", "-g", "10",
             "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-f", "dash", "-seg_duration", "1",
             "-use_template", "1", "-use_timeline", "0",
             "-init_seg_name", "init-$RepresentationID$.m4s",
             "-media_seg_name", "chunk-$RepresentationID$-$Number$.m4s",
             str(work / "stream.mpd")],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def hls_stream() -> dict[str, bytes]:
    """A 4-second 160x120 H.264 HLS stream (MPEG-TS, 1-second segments) behind a master
    playlist: ``{relative path: bytes}`` with ``master.m3u8``, ``v0/index.m3u8`` and
    ``v0/segN.ts``."""
    folder = CACHE / "hls-small"
    if not (folder / "master.m3u8").exists():
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed (make services installs it)")
        CACHE.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=CACHE))
        (work / "v0").mkdir()
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             "testsrc=size=160x120:rate=10:duration=4", "-c:v", "libx264", "-g", "10",
             "-pix_fmt", "yuv420p", "-profile:v", "baseline", "-f", "hls", "-hls_time", "1",
             "-hls_playlist_type", "vod", "-hls_segment_filename", str(work / "v0" / "seg%d.ts"),
             str(work / "v0" / "index.m3u8")],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        (work / "master.m3u8").write_text(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=150000,RESOLUTION=160x120\nv0/index.m3u8\n"
        )
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
