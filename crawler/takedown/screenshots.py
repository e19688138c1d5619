"""Screenshots of flagged pages for notices, with every medium of the page neutralised.

Chromium never runs in the process that asks for a screenshot (the web app holds the session
secret, the evidence key and the database; the CLI holds them too). :func:`take_screenshots`
starts ``python -m crawler.takedown.screenshot_worker`` with an environment that keeps only
what a browser needs (:data:`WORKER_ENVIRONMENT`: no ``REPOSTWATCH_*`` variable, so no secret),
writes the targets to its stdin as JSON and reads one JSON line per target back from its stdout
(the PNG in base64, or why there is none). PDF exports are printed by the same worker
(:func:`crawler.takedown.exports.html_to_pdf`). What the worker does in Chromium is described in
:mod:`crawler.takedown.screenshot_browser`: every image and media response is answered with a
grey stub, every frame is blurred on top, and a page that cannot be neutralised (or answers
4xx/5xx) gives no screenshot. The caller stores the results.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

from crawler.network import NO_OPT_IN, PrivateOptIn
from crawler.sites import BrowserConfig

#: The only environment variables the worker gets: a browser needs a PATH, a home, a locale and
#: a temporary directory; PYTHONPATH finds this code where it is not installed.
WORKER_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "PYTHONPATH")
WORKER_MODULE = "crawler.takedown.screenshot_worker"


@dataclass(frozen=True)
class ShotTarget:
    key: int  # the caller's id for it (a notice item)
    page_url: str
    media_urls: tuple[str, ...]  # the notice's media URLs (every medium is neutralised anyway)
    allow_private_network: bool = False
    #: With allow_private_network: the site's own private (host, port)s (its start and search
    #: URLs, its private_hosts) besides the page's; no other private address is reached.
    private_origins: tuple[tuple[str, int], ...] = ()
    #: Browser sites (render = "browser"): their [browser] click and wait_for, so that an age
    #: gate is answered and the gallery is built before the screenshot.
    click: tuple[str, ...] = ()
    wait_for: str | None = None
    #: Seconds for wait_for; unless given, the site file's own default for [browser].
    wait_timeout: float = BrowserConfig.model_fields["wait_timeout"].default

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ShotTarget:
        return cls(
            key=int(data["key"]),
            page_url=str(data["page_url"]),
            media_urls=tuple(data.get("media_urls") or ()),
            allow_private_network=bool(data.get("allow_private_network")),
            private_origins=tuple(
                (str(host), int(port)) for host, port in data.get("private_origins") or ()
            ),
            click=tuple(data.get("click") or ()),
            wait_for=data.get("wait_for"),
            wait_timeout=float(data.get("wait_timeout", cls.wait_timeout)),
        )

    @property
    def opt_in(self) -> PrivateOptIn:
        """The private addresses this page may use: none, or its own origin and the site's."""
        if not self.allow_private_network:
            return NO_OPT_IN
        own = PrivateOptIn.of_urls([self.page_url])
        return PrivateOptIn(origins=own.origins | frozenset(self.private_origins))


@dataclass(frozen=True)
class Shot:
    key: int
    png: bytes | None
    blurred: int  # elements blurred on the page (every medium of every frame)
    error: str | None = None

    def to_json(self) -> str:
        png = base64.b64encode(self.png).decode("ascii") if self.png is not None else None
        return json.dumps(
            {"key": self.key, "png": png, "blurred": self.blurred, "error": self.error}
        )

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Shot:
        png = data.get("png")
        return cls(
            int(data["key"]),
            base64.b64decode(png) if isinstance(png, str) else None,
            int(data.get("blurred") or 0),
            data.get("error"),
        )


def worker_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: :data:`WORKER_ENVIRONMENT` from ``environ``, nothing else."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in WORKER_ENVIRONMENT if name in environ}


def run_worker(request: Mapping[str, object]) -> Iterator[dict]:
    """Start the worker with ``request`` on its stdin; yield each line it answers (decoded),
    then ``{"exit": CODE}``. Raises RuntimeError with the worker's reason when it says that
    Chromium cannot start (``{"fatal": REASON}``)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", WORKER_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=worker_environment(),
        text=True,
    )
    fatal = None
    try:
        worker.stdin.write(json.dumps(request))
        worker.stdin.close()
        for line in worker.stdout:
            data = json.loads(line)
            if "fatal" in data:
                fatal = str(data["fatal"])
            else:
                yield data
    finally:
        worker.stdout.close()
        code = worker.wait()
    if fatal is not None:
        raise RuntimeError(fatal)
    yield {"exit": code}


def take_screenshots(
    targets: Sequence[ShotTarget],
    *,
    chromium: str,
    timeout: float = 30.0,
    progress: Callable[[Shot], None] | None = None,
) -> list[Shot]:
    """One Shot per target, taken by the screenshot worker in the Chromium at ``chromium``
    (REPOSTWATCH_CHROMIUM). A target the worker could not photograph safely has ``error`` and
    no PNG. Raises RuntimeError when the worker cannot start Chromium at all."""
    shots: list[Shot] = []
    if not targets:
        return shots
    request = {
        "chromium": chromium,
        "timeout": timeout,
        "targets": [asdict(target) for target in targets],
    }
    code = None
    for data in run_worker(request):
        if "exit" in data:
            code = data["exit"]
            continue
        shot = Shot.from_json(data)
        shots.append(shot)
        if progress is not None:
            progress(shot)
    done = {shot.key for shot in shots}
    for target in targets:
        if target.key not in done:
            shot = Shot(
                target.key,
                None,
                0,
                f"the screenshot worker stopped (exit code {code}) before this page; take it again",
            )
            shots.append(shot)
            if progress is not None:
                progress(shot)
    return shots
