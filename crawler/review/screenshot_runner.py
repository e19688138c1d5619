"""Screenshots for the web app, taken beside it, never in a request.

A request only queues the work in the database (``request_screenshots``) and wakes the
:class:`ScreenshotRunner`: a thread of the web process that takes the queued screenshots
through ``crawler.takedown``, whose worker process runs Chromium without the app's secrets.
The notice page shows queued items as pending until they are done. Work queued by another web
process, or before a restart, is taken at the next wake-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from crawler.sites import SiteConfig

logger = logging.getLogger(__name__)


class ScreenshotRunner:
    """One background thread per web app, started at its first wake-up."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sites: Callable[[], Mapping[str, SiteConfig]],
        chromium: str,
    ) -> None:
        self._sessions = sessions
        self._sites = sites
        self._chromium = chromium
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Take whatever is queued, soon (the call returns at once)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="repostwatch-screenshots", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        from crawler.takedown.drafting import capture_requested

        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                shots = capture_requested(self._sessions, self._sites(), chromium=self._chromium)
            except Exception:  # the thread must outlive any one failure; the items stay queued
                logger.exception("screenshots could not be taken; they stay queued")
                continue
            failed = [shot for shot in shots if shot.error is not None]
            if shots:
                logger.info(
                    "took %d screenshot(s), %d failed", len(shots) - len(failed), len(failed)
                )
