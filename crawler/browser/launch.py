"""How RepostWatch starts Chromium, for crawls, screenshots and PDF exports alike.

Chromium's sandbox stays on. It refuses to start as root with the sandbox on, so ``--no-sandbox``
is added for root only (a container run as root); every other user keeps the sandbox, which is
what stands between a hostile page and the process that drives the browser.
"""

from __future__ import annotations

import os

#: The switches every launch gets: no GPU, no /dev/shm (small in containers), no traffic of
#: Chromium's own (updates, sync, background fetches).
SWITCHES = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_args() -> list[str]:
    """Chromium's command-line switches: :data:`SWITCHES`, and ``--no-sandbox`` only when this
    process runs as root (Chromium will not start as root with its sandbox)."""
    return [*(["--no-sandbox"] if os.geteuid() == 0 else []), *SWITCHES]
