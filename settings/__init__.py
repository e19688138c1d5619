"""Scrapy settings for RepostWatch: every default lives here, in one place.

Values marked "env" are read from the environment once, here; the rest of the code reads them from
the Scrapy settings it is handed (settings flow one way). The README lists every variable.
"""

import os
from pathlib import Path


def _number(name: str, default: float) -> float:
    """An environment variable holding a number of seconds, or a clear error naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number (seconds, e.g. {default})") from None


def _whole_number(name: str, default: int) -> int:
    """An environment variable holding a whole number, or a clear error naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value.replace("_", ""))
    except ValueError:
        raise ValueError(
            f"{name}={value!r} is not a whole number (write bytes or a count, e.g. {default})"
        ) from None


BOT_NAME = "repostwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- RepostWatch ---------------------------------------------------------------------------
#: env REPOSTWATCH_DATABASE_URL: SQLAlchemy URL of the database (SQLite or PostgreSQL).
REPOSTWATCH_DATABASE_URL = os.environ.get(
    "REPOSTWATCH_DATABASE_URL", "sqlite:///var/repostwatch.db"
)
#: env REPOSTWATCH_SITES_DIR: directory of site files (NAME.toml).
REPOSTWATCH_SITES_DIR = os.environ.get(
    "REPOSTWATCH_SITES_DIR", str(Path(__file__).resolve().parent / "sites")
)
#: env REPOSTWATCH_HASH_WORKERS: hashing processes; 0 means one per CPU core.
REPOSTWATCH_HASH_WORKERS = _whole_number("REPOSTWATCH_HASH_WORKERS", 0)
#: env REPOSTWATCH_MEDIA_MAXSIZE: largest media download in bytes; bigger ones are dropped unread.
REPOSTWATCH_MEDIA_MAXSIZE = _whole_number("REPOSTWATCH_MEDIA_MAXSIZE", 64 * 1024 * 1024)
#: env REPOSTWATCH_MAX_PIXELS: largest image (width x height) that is decoded.
REPOSTWATCH_MAX_PIXELS = _whole_number("REPOSTWATCH_MAX_PIXELS", 50_000_000)
#: env REPOSTWATCH_SPILL_FILE: where matches wait when the database cannot take them; the next
#: crawl or `repostwatch flags replay` writes them.
REPOSTWATCH_SPILL_FILE = os.environ.get("REPOSTWATCH_SPILL_FILE", "var/unrecorded-matches.jsonl")
#: env REPOSTWATCH_REDIS_URL: Redis (redis://, rediss://, with a password) through which
#: reference changes reach running crawls at once; unset, crawls only poll the database.
REPOSTWATCH_REDIS_URL = os.environ.get("REPOSTWATCH_REDIS_URL", "")
#: env REPOSTWATCH_REFERENCE_POLL_SECONDS: seconds between a running crawl's checks for
#: references added or withdrawn meanwhile, without Redis ...
REPOSTWATCH_REFERENCE_POLL_SECONDS = _number("REPOSTWATCH_REFERENCE_POLL_SECONDS", 2.0)
#: env REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS: ... and with Redis (announcements are
#: instant; this poll is the safety net).
REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS = _number(
    "REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS", 30.0
)
#: env REPOSTWATCH_MEDIA_CACHE: remember media already hashed (validators + hashes, never the
#: media) so that re-crawls send one conditional request per unchanged media; 0 turns it off.
REPOSTWATCH_MEDIA_CACHE = os.environ.get("REPOSTWATCH_MEDIA_CACHE", "1") not in ("0", "false", "")
#: A crawl run to join instead of opening a new one (``-s REPOSTWATCH_RUN_ID=N``; scrapyd:
#: ``setting=REPOSTWATCH_RUN_ID=N``): the scheduler opens the run before handing the job over.
REPOSTWATCH_RUN_ID = None
#: Media downloads in flight per page item (the downloader's own limits still apply).
REPOSTWATCH_MEDIA_CONCURRENCY = 16

# --- JavaScript sites (render = "browser") ---------------------------------------------------
#: env REPOSTWATCH_CHROMIUM: the Chromium that renders browser sites (Debian's package;
#: `make services` installs it). Playwright's own browser download is never used.
REPOSTWATCH_CHROMIUM = os.environ.get("REPOSTWATCH_CHROMIUM", "/usr/bin/chromium")
#: Download handlers the site spider installs for render = "browser" sites only (HTML sites never
#: load Playwright). Only requests with meta playwright=True are rendered; robots.txt and media go
#: through Scrapy's HTTP client as usual.
REPOSTWATCH_BROWSER_DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
#: Longest wait, in seconds, for a rendered page's network to go quiet (after load, clicks and
#: scrolls) before its media is read; pages that never go quiet are read after this.
REPOSTWATCH_BROWSER_SETTLE_SECONDS = 2.0
# scrapy-playwright (read only by its download handler, i.e. only for browser sites).
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": REPOSTWATCH_CHROMIUM,
    "headless": True,
    "args": [
        # Chromium refuses to start as root with its sandbox on; other users keep the sandbox.
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
}
#: Milliseconds a page may take to load (navigation), before clicks, waits and scrolls.
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
#: Browser pages open at once (each is a tab; the site's concurrency applies as well).
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 8

# --- Scrapy ----------------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
ROBOTSTXT_OBEY = True  # a site file may turn it off, with robots_reason
# AutoThrottle: adapt the delay to the site's latency; never faster than the site's own delay.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
USER_AGENT = "RepostWatch/0.1 (+takedown monitoring for a victim support centre)"
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # pages; media requests carry their own limit
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = os.environ.get("REPOSTWATCH_LOG_LEVEL", "INFO")
LOGSTATS_INTERVAL = 15.0
FEED_EXPORT_ENCODING = "utf-8"

DOWNLOADER_MIDDLEWARES = {
    # Before every other middleware: refuse private addresses before anything is sent.
    "crawler.middlewares.PrivateNetworkGuardMiddleware": 50,
}
ITEM_PIPELINES = {
    "crawler.pipelines.HashMatchPipeline": 300,
}
