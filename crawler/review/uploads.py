"""Reference files uploaded from the browser: held in memory, hashed by a worker thread, dropped.

No byte of an upload is ever written anywhere. Werkzeug spools a multipart file part larger than
500 KB to a temporary file by default; :class:`InMemoryRequest` (the app's request class, for
every request) gives each file part an in-memory buffer instead, which refuses to grow past the
request's size cap. Views marked :func:`accepts_upload` may receive up to
``REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES`` (plus a little for the other fields); every other view
keeps the app's 1 MiB.

Hashing a long video takes minutes, so the request does not wait for it: :class:`UploadJobs`
hands the bytes to a pool of ``WORKERS`` thread(s) of the web process and the page shows the
job, reloading itself until it is done (a ``<meta refresh>``: no script needed). Threads and not
processes: the bytes stay in this process's memory (a process would get them through a pipe, one
more copy) and PDQ, Pillow and PyAV release the GIL while they work. The registration is the
one `repostwatch refs add` uses (:func:`crawler.references.register.add_upload`). Jobs live in
this process only: `repostwatch web` is one process; if it stops mid-job, nothing was stored
and the file is uploaded again (the job's page says so). At most ``MAX_WAITING`` uploads are
held at once (each up to the cap), so memory stays bounded; more are refused with "busy".
"""

from __future__ import annotations

import functools
import io
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Request, current_app
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from crawler.db import audit, reference_files
from crawler.db import cases as db_cases
from crawler.references import register
from crawler.references.announcements import announce_change

logger = logging.getLogger(__name__)

#: Threads hashing uploads (one: a video's hashing uses a core; the web app keeps the other).
WORKERS = 1
#: Uploads held in memory at once, hashing or waiting; another one is refused as busy.
MAX_WAITING = 4
#: Bytes allowed beyond the file itself for the form's other fields and multipart framing.
FORM_ALLOWANCE = 64 * 1024
#: Seconds a finished job is kept for its page.
KEEP_SECONDS = 3600


def accepts_upload(view: Callable) -> Callable:
    """Mark a view as taking a reference upload: its requests may carry up to
    REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES (held in memory, never spooled to disk)."""
    view.accepts_upload = True  # type: ignore[attr-defined]
    return view


def upload_limit() -> int:
    return int(current_app.config["REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES"])


def too_large() -> RequestEntityTooLarge:
    limit = upload_limit()
    return RequestEntityTooLarge(
        _(
            "The file is larger than %(size)s MB, the most this installation takes "
            "(REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES). Nothing was kept. Split a long video "
            "(e.g. with ffmpeg) and upload the parts.",
            size=f"{limit / 1_000_000:,.1f}",
        )
    )


class _CappedBuffer(io.BytesIO):
    """An in-memory file part that refuses to grow past ``limit`` bytes."""

    def __init__(self, limit: int | None, error: Callable[[], Exception]) -> None:
        super().__init__()
        self._limit = limit
        self._error = error

    def write(self, data: Any) -> int:
        if self._limit is not None and self.tell() + len(data) > self._limit:
            self.close()  # drop what came so far
            raise self._error()
        return super().write(data)


class InMemoryRequest(Request):
    """Flask's request, with uploaded files kept in memory (never a temporary file) and a size
    cap per view: REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES for :func:`accepts_upload` views, the
    app's MAX_CONTENT_LENGTH for the others."""

    def _accepts_upload(self) -> bool:
        if not current_app or self.url_rule is None:
            return False
        view = current_app.view_functions.get(self.url_rule.endpoint)
        return bool(getattr(view, "accepts_upload", False))

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        if self._max_content_length is not None:
            return self._max_content_length
        if self._accepts_upload():
            return upload_limit() + FORM_ALLOWANCE
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ):
        if self._accepts_upload():
            return _CappedBuffer(upload_limit(), too_large)
        return _CappedBuffer(self.max_content_length, RequestEntityTooLarge)

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except RequestEntityTooLarge as exc:
            if self._accepts_upload() and exc.description == RequestEntityTooLarge.description:
                raise too_large() from None  # say what the cap is and what to do
            raise


@dataclass
class UploadJob:
    """One upload being hashed: what the page shows (no media, no file name)."""

    id: str
    case: str
    label: str
    user_id: int
    state: str = "waiting"  # waiting, hashing, done, failed
    report: register.RegisterReport | None = None
    problem: str | None = None  # failed: "closed", "not_media" or "error"
    detail: str = ""  # the library's reason (English), for the page's small print
    finished_at: float | None = None
    future: Future | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.state in ("waiting", "hashing")


class Busy(RuntimeError):
    """MAX_WAITING uploads are held already."""


class UploadJobs:
    """The web process's upload jobs and the threads that hash them."""

    def __init__(self, sessions, redis_url: str) -> None:
        self._sessions = sessions
        self._redis_url = redis_url
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="reference-upload")
        self._jobs: dict[str, UploadJob] = {}
        self._lock = threading.Lock()

    def submit(
        self,
        case: str,
        upload: register.Upload,
        *,
        user_id: int,
        username: str,
        ip: str,
    ) -> UploadJob:
        """Queue ``upload`` for hashing under ``case``; raises :class:`Busy` when MAX_WAITING
        uploads are held already."""
        with self._lock:
            self._forget_old()
            if sum(job.running for job in self._jobs.values()) >= MAX_WAITING:
                raise Busy
            job = UploadJob(secrets.token_urlsafe(12), case, upload.label, user_id)
            self._jobs[job.id] = job
        job.future = self._pool.submit(
            functools.partial(self._run, job, upload, username=username, ip=ip)
        )
        return job

    def get(self, job_id: str) -> UploadJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> UploadJob:
        """Block until the job is finished (tests; the page polls instead)."""
        job = self._jobs[job_id]
        if job.future is not None:
            job.future.result(timeout)
        return job

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and now - job.finished_at > KEEP_SECONDS:
                del self._jobs[job_id]

    def _run(self, job: UploadJob, upload: register.Upload, *, username: str, ip: str) -> None:
        job.state = "hashing"
        try:
            with self._sessions.begin() as session:
                db_cases.ensure_open(session, job.case)
                thumbnails = db_cases.wants_thumbnails(session, job.case)
                report = register.add_upload(session, job.case, upload, thumbnails=thumbnails)
                if report.skipped:
                    job.problem, job.detail = "not_media", report.skipped[0][1]
                else:
                    audit.record(
                        session,
                        "reference_add",
                        user_id=job.user_id,
                        username=username,
                        target_type="case",
                        target_id=reference_files.case_id(session, job.case),
                        details={  # counts and the file's digest: never the label or media
                            "media_sha256": report.media_sha256[0],
                            "hashes_added": report.hashes_added,
                            "frames_stored": report.frames_stored,
                            "already_registered": bool(report.files_existing),
                            "source": "web_upload",
                        },
                        ip=ip,
                    )
            job.report = report
        except db_cases.CaseClosed as exc:
            job.problem, job.detail = "closed", str(exc)
        except Exception as exc:  # a database outage, a bug: say so, keep the web app up
            logger.exception("hashing an uploaded reference of case %s failed", job.case)
            job.problem, job.detail = "error", type(exc).__name__
        if job.problem is None:
            announce_change(self._redis_url)  # committed: running crawls load it now
        job.state = "failed" if job.problem else "done"
        job.finished_at = time.monotonic()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
