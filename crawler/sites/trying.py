"""Try a site before saving it: its start pages crawled once, in a worker process with a time
limit, and what the crawl would follow and hash, shown (`repostwatch sites try`, the site
editor's Try button).

The worker (``python -m crawler.crawling.site_try``) crawls with the crawl's own settings and
stores nothing; see that module. It starts in a session of its own with the environment minus
the database's URL and the secrets (:data:`WITHHELD`): a try reads no site from the database
and writes nothing to it. The caller waits at most the time limit plus :data:`GRACE_SECONDS`:
the worker closes its crawl at the time limit (Scrapy's CLOSESPIDER_TIMEOUT), and a worker
still running after the grace is killed with its whole process group (Chromium included), so a
web request that tries a site never hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from crawler.problems import Problem
from crawler.sites.config import SiteConfig
from crawler.sites.private import private_urls

WORKER_MODULE = "crawler.crawling.site_try"
#: Seconds the worker gets past the time limit to close its crawl (and Chromium) and answer.
GRACE_SECONDS = 15.0
#: Variables the worker never gets: the database (a try stores nothing) and every secret.
WITHHELD = (
    "REPOSTWATCH_DATABASE_URL",
    "REPOSTWATCH_SECRET_KEY",
    "REPOSTWATCH_EVIDENCE_PRIVATE_KEY",
    "REPOSTWATCH_EVIDENCE_KEY",
    "REPOSTWATCH_REDIS_URL",
    "REPOSTWATCH_SMTP_URL",
    "REPOSTWATCH_ALERT_WEBHOOK",
    "REPOSTWATCH_ALERT_EMAIL",
    "REPOSTWATCH_SCRAPYD_URLS",
)
#: Refusal reasons (``repostwatch/refused/<reason>``) that mean the guard kept the try off a
#: private network.
PRIVATE_REFUSALS = ("private_network", "host_name", "unknown_peer")
#: TryResult.outcome of a try that could not finish.
STOPPED, TIME_LIMIT, FAILED = "stopped", "time_limit", "failed"


@dataclass(frozen=True)
class TriedMedia:
    url: str
    kind: str  # image, video, stream or unknown (crawler.crawling.site_try.media_kind)


@dataclass(frozen=True)
class TriedPage:
    url: str
    media: list[TriedMedia] = field(default_factory=list)
    previews: list[TriedMedia] = field(default_factory=list)  # kind: poster or storyboard
    follow: list[str] = field(default_factory=list)
    embedded_in: str | None = None


@dataclass(frozen=True)
class TryResult:
    """What a try of a site saw. ``problem``: why it could not finish (too slow, the worker
    failed), or None; ``warnings``: the site's own URLs a crawl would refuse (`sites check`)."""

    site: str
    pages: list[TriedPage] = field(default_factory=list)
    #: (start URL, why): a Problem (its English text) the web app translates, or plain text.
    failed: list[tuple[str, str]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    finish_reason: str = ""
    #: Why the try could not finish: "" (it did), STOPPED (killed after the time limit and the
    #: grace), TIME_LIMIT (it closed itself at the limit: what it saw so far) or FAILED (the
    #: worker failed: ``detail`` says how).
    outcome: str = ""
    time_limit: float = 0.0
    detail: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def problem(self) -> str | None:
        """Why the try could not finish, in English (the web app says it in the user's language)."""
        if self.outcome == STOPPED:
            return f"the try did not end within {self.time_limit:g} seconds and was stopped"
        if self.outcome == TIME_LIMIT:
            return (
                f"the try reached its time limit of {self.time_limit:g} seconds: what it saw so far"
            )
        if self.outcome == FAILED:
            return f"the try failed: {self.detail}"
        return None

    @property
    def private_refusals(self) -> int:
        """Requests the private-network guard refused."""
        return sum(self.refused.get(reason, 0) for reason in PRIVATE_REFUSALS)

    @property
    def media(self) -> int:
        return sum(len(page.media) for page in self.pages)

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.pages) and not self.failed

    @classmethod
    def from_worker(cls, data: Mapping, warnings: list[str]) -> TryResult:
        return cls(
            site=str(data["site"]),
            pages=[
                TriedPage(
                    url=page["url"],
                    media=[TriedMedia(url, kind) for url, kind in page["media"]],
                    previews=[TriedMedia(url, kind) for url, kind in page["previews"]],
                    follow=list(page["follow"]),
                    embedded_in=page.get("embedded_in"),
                )
                for page in data["pages"]
            ],
            failed=[(f["url"], _reason(f)) for f in data["failed"]],
            refused={str(k): int(v) for k, v in data["refused"].items()},
            finish_reason=str(data["finish_reason"]),
            warnings=warnings,
        )


def _reason(failed: Mapping) -> str:
    """Why a start page was not read, from the worker's answer: its Problem when the worker
    gave its template, else the English text."""
    if failed.get("template"):
        return Problem(str(failed["template"]), dict(failed.get("params") or {}))
    return str(failed["reason"])


def worker_environment(environ: Mapping[str, str] | None = None, **settings: str) -> dict[str, str]:
    """The worker's environment: ``environ`` without :data:`WITHHELD`, sites read from no
    database, no distributed crawl, then ``settings`` (e.g. the web app's REPOSTWATCH_CHROMIUM)."""
    environ = os.environ if environ is None else environ
    env = {name: value for name, value in environ.items() if name not in WITHHELD}
    env.update(REPOSTWATCH_SITES_SOURCE="", REPOSTWATCH_DISTRIBUTED="0", **settings)
    return env


def try_site(
    config: SiteConfig,
    *,
    time_limit: float,
    log_level: str = "WARNING",
    show_log: bool = False,
    environ: Mapping[str, str] | None = None,
    **settings: str,
) -> TryResult:
    """Try ``config`` (validated, saved or not) in the worker, waiting at most ``time_limit``
    plus :data:`GRACE_SECONDS`. ``settings``: environment variables for the worker's crawl
    settings, over ``environ`` (default: this process's environment). ``show_log``: the
    worker's log goes to this process's stderr (else it is read for the reason of a failure)."""
    warnings = private_urls(config)
    request = {
        "config": config.model_dump(mode="json"),
        "time_limit": time_limit,
        "log_level": log_level,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", WORKER_MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None if show_log else subprocess.PIPE,
        env=worker_environment(environ, **settings),
        text=True,
        start_new_session=True,  # its own process group: Chromium is stopped with it
    )
    try:
        out, err = worker.communicate(json.dumps(request), timeout=time_limit + GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate()
        return TryResult(config.name, outcome=STOPPED, time_limit=time_limit, warnings=warnings)
    lines = out.strip().splitlines()
    if worker.returncode != 0 or not lines:
        last = ((err or "").strip().splitlines() or ["see the log above"])[-1]
        detail = f"exit status {worker.returncode}: {last}"
        return TryResult(config.name, outcome=FAILED, detail=detail, warnings=warnings)
    result = TryResult.from_worker(json.loads(lines[-1]), warnings)
    if result.finish_reason == "closespider_timeout":
        result = replace(result, outcome=TIME_LIMIT, time_limit=time_limit)
    return result
