"""Serve the review app with the real ``repostwatch web`` command on a free port."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.cli_runner import REPOSTWATCH
from tests.support.settings import TEST_WEB_LANGUAGE


@contextmanager
def served(env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """Run ``repostwatch web --host 127.0.0.1 --port 0``; yield its base URL; stop it. The app
    speaks English (TEST_WEB_LANGUAGE) unless ``env`` sets REPOSTWATCH_LOCALE."""
    process = subprocess.Popen(
        [REPOSTWATCH, "web", "--host", "127.0.0.1", "--port", "0"],
        env={**os.environ, **TEST_WEB_LANGUAGE, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            if line.startswith("Serving the review app on "):
                break
        if not line.startswith("Serving"):
            process.kill()
            raise AssertionError(f"repostwatch web did not start: {process.stderr.read()[-3000:]}")
        yield line.split(" on ", 1)[1].split()[0].rstrip("/")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
