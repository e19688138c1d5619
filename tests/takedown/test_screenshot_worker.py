"""The screenshot worker holds no secret: it is started with a scrubbed environment, and so
is every Chromium process under it; targets go in on stdin, PNGs come back on stdout."""

from __future__ import annotations

import os
from pathlib import Path

from crawler.demo.localsite import LocalSite, html
from crawler.takedown.screenshots import WORKER_MODULE, ShotTarget, take_screenshots
from tests.support.processes import command_line, descendants
from tests.support.settings import CHROMIUM

SECRETS = {
    "REPOSTWATCH_SECRET_KEY": "session-secret-4f1c",
    "REPOSTWATCH_EVIDENCE_KEY": "evidence-key-9a2b",
    "REPOSTWATCH_EVIDENCE_KEYS": "old-evidence-key-77d0",
    "REPOSTWATCH_DATABASE_URL": "postgresql://rw:db-password-51e3@127.0.0.1/rw",
    "REPOSTWATCH_SMTP_URL": "smtp://mailer:smtp-password-0c8d@127.0.0.1:587",
}


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


def test_the_worker_and_its_chromium_see_no_secret(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    seen: dict[int, tuple[str, dict[str, str]]] = {}
    with LocalSite({"/": html("<p>a page</p>")}) as site:
        serve = site.server.RequestHandlerClass

        class Inspecting(serve):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                # While the page loads, the worker and Chromium are running: read their env.
                for worker in descendants(os.getpid()):
                    if WORKER_MODULE in command_line(worker):
                        for pid in {worker} | descendants(worker):
                            seen[pid] = (command_line(pid), _environ(pid))
                super().do_GET()

        site.server.RequestHandlerClass = Inspecting
        (shot,) = take_screenshots([ShotTarget(1, site.url + "/", (), True)], chromium=CHROMIUM)
    assert shot.error is None and shot.png is not None  # it came back over stdout
    workers = [pid for pid, (command, _) in seen.items() if WORKER_MODULE in command]
    chromiums = [pid for pid, (command, _) in seen.items() if "chromium" in command]
    assert workers and chromiums, seen
    for command, environ in seen.values():
        assert not [name for name in environ if name.startswith("REPOSTWATCH_")], command
        leaked = [value for value in SECRETS.values() if value in "\n".join(environ.values())]
        assert leaked == [], command


def test_pdf_exports_are_printed_by_the_worker_without_secrets(monkeypatch):
    import threading
    import time

    from crawler.takedown.exports import html_to_pdf

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    printed: list[bytes] = []
    job = threading.Thread(
        target=lambda: printed.append(html_to_pdf("<h1>Notice</h1>", chromium=CHROMIUM))
    )
    job.start()
    seen: dict[int, tuple[str, dict[str, str]]] = {}
    while job.is_alive():
        for pid in descendants(os.getpid()):
            if pid not in seen and WORKER_MODULE in (command := command_line(pid)):
                seen[pid] = (command, _environ(pid))
        time.sleep(0.02)
    job.join()
    assert printed and printed[0].startswith(b"%PDF-")
    assert seen, "the PDF was printed without the worker"
    for _command, environ in seen.values():
        assert not [name for name in environ if name.startswith("REPOSTWATCH_")]
