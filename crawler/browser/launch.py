"""How RepostWatch starts Chromium, for crawls, screenshots and PDF exports alike.

Chromium's sandbox stays on. It refuses to start as root with the sandbox on, so ``--no-sandbox``
is added for root only (a container run as root); every other user keeps the sandbox, which is
what stands between a hostile page and the process that drives the browser.
"""

from __future__ import annotations

import os

#: The Chromium features Playwright's driver enables (``chromiumSwitches.ts``): screenshots of
#: a new surface, and no account lookups at start.
PLAYWRIGHT_FEATURES = ("CDPScreenshotNewSurface", "SkipListAccountsWithoutGaiaCookies")

#: The switches every launch gets: no GPU, no /dev/shm (small in containers), no traffic of
#: Chromium's own (updates, sync, background fetches), and no ``Referer`` on any request: a
#: page's URL (a site search's, which names a victim) never reaches a third-party CDN or player
#: host. The crawl fetches media through Scrapy, which sends a page as Referer to its own
#: origin only (settings REFERRER_POLICY), so hotlink checks still pass. Chromium reads only the
#: last ``--enable-features`` and Playwright passes its own first, so ours repeats Playwright's
#: (:data:`PLAYWRIGHT_FEATURES`; tests/browser/test_launch.py checks them against the driver).
SWITCHES = (
    "--enable-features=" + ",".join(("NoReferrers", *PLAYWRIGHT_FEATURES)),
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
