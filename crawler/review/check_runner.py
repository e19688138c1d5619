"""Manual URL checks for the web app, run beside it, never in a request.

The request opens the check's crawl run (trigger ``check``) and starts ``repostwatch check
--run-id RUN URL...`` as a child process of the web app, exactly as staff would at a terminal:
the crawl joins that run, writes its figures and flags to it, and closes it; if the check cannot
run at all, the command closes the run as failed. The page reads the run's row for the check's
state. The child gets the web app's environment with the app's database and site files (and
reads sites as the web app does: the database once it holds any, else the files), but not its
secrets (session key, evidence private key): a crawl seals evidence with the public key
only. Its output goes to the web app's own log (standard error). A thread of the web process
waits for it, so that no finished child is left behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from crawler.db.sites import DatabaseSites
from crawler.problems import N_, Problem

logger = logging.getLogger(__name__)

#: REPOSTWATCH_SITES_SOURCE of the child: the database, where the web app reads sites
#: (web.site_source) and so where the form found the check's site.
DATABASE_SITES = f"{DatabaseSites.__module__}.{DatabaseSites.__qualname__}.from_settings"
#: Settings of the web process a crawl must never get.
WITHHELD = (
    "REPOSTWATCH_SECRET_KEY",
    "REPOSTWATCH_EVIDENCE_PRIVATE_KEY",
    "REPOSTWATCH_EVIDENCE_KEY",
)


#: Why a check could not be started: the finish reason of its run (English), read back by
#: :func:`not_started_problem` to be shown in the user's language.
_NOT_INSTALLED = N_("the `repostwatch` command is not installed beside the web app")
_NOT_STARTED = N_("`repostwatch check` could not be started: %(error)s")
NOT_STARTED = (_NOT_INSTALLED, _NOT_STARTED)


class CheckNotStarted(RuntimeError):
    """The `repostwatch check` command could not be started; the message says why."""


def command_path() -> str:
    """The `repostwatch` command of this installation (beside this Python, else on PATH)."""
    beside = Path(sys.executable).with_name("repostwatch")
    if beside.exists():
        return str(beside)
    found = shutil.which("repostwatch")
    if found is None:
        raise CheckNotStarted(Problem(_NOT_INSTALLED))
    return found


def check_command(run_id: int, site: str | None, urls: Sequence[str]) -> list[str]:
    """The command line of the check of ``urls`` joining run ``run_id`` (``site``: the site
    whose settings apply; None: the default profile)."""
    command = [command_path(), "check", "--run-id", str(run_id)]
    if site is not None:
        command += ["--site", site]
    return [*command, "--", *urls]


def child_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The web process's environment with ``settings`` (the app's database and site files) on
    top and the secrets of :data:`WITHHELD` left out."""
    environment = {k: v for k, v in os.environ.items() if k not in WITHHELD}
    environment.update(settings)
    return environment


def start_check(command: Sequence[str], environment: Mapping[str, str]) -> int:
    """Start ``command`` in the background and return its process id; raises
    :class:`CheckNotStarted` when it cannot be started."""
    try:
        process = subprocess.Popen(
            list(command),
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a signal to the web app's group does not stop the check
        )
    except OSError as exc:
        raise CheckNotStarted(Problem(_NOT_STARTED, {"error": str(exc)})) from exc
    threading.Thread(
        target=_wait, args=(process,), name=f"repostwatch-check-{process.pid}", daemon=True
    ).start()
    return process.pid


def _wait(process: subprocess.Popen) -> None:
    code = process.wait()
    if code:
        logger.warning("repostwatch check (process %d) exited with status %d", process.pid, code)
