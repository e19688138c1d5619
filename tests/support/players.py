"""Video players for the browser tests: hls.js (pinned, from the npm registry) and a small HLS
stream made by ffmpeg, each made once into a cache folder and reused by later sessions.

hls.js is fetched with ``npm pack hls.js@HLS_JS_VERSION`` (npm is Debian's ``npm`` package;
``scripts/services.sh`` does not need it: the first test that asks for hls.js does this, and a
machine without npm or the registry skips those tests with the reason) and checked against
:data:`HLS_JS_INTEGRITY`, the registry's sha512 of that exact tarball, so a test never runs a
player other than the one pinned here.
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


def hls_js() -> bytes:
    """hls.js's ``dist/hls.min.js`` of the pinned version (skips the test when it cannot be
    had)."""
    target = CACHE / f"hls.js-{HLS_JS_VERSION}" / "hls.min.js"
    if not target.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed (apt-get install npm): hls.js cannot be fetched")
        with tempfile.TemporaryDirectory() as work:
            try:
                subprocess.run(
                    ["npm", "pack", f"hls.js@{HLS_JS_VERSION}", "--silent"],
                    cwd=work,
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"npm pack hls.js@{HLS_JS_VERSION} failed: {exc}")
            tarball = Path(work) / f"hls.js-{HLS_JS_VERSION}.tgz"
            digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            assert f"sha512-{digest}" == HLS_JS_INTEGRITY, "hls.js tarball differs from the pin"
            with tarfile.open(tarball) as archive:
                member = archive.extractfile("package/dist/hls.min.js")
                assert member is not None
                data = member.read()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target.read_bytes()


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
