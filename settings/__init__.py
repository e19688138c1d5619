"""Scrapy settings for RepostWatch: every default lives here, in one place.

Values marked "env" are read from the environment once, here; the rest of the code reads them from
the Scrapy settings it is handed (settings flow one way). The README lists every variable.
"""

import os
from pathlib import Path

from crawler.browser.launch import chromium_args


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
#: env REPOSTWATCH_SITES_DIR: directory of site files (NAME.toml). Deployed to scrapyd, the
#: default is inside the egg: crawler/sites.py reads the site files it ships from there.
REPOSTWATCH_SITES_DIR = os.environ.get(
    "REPOSTWATCH_SITES_DIR", str(Path(__file__).resolve().parent / "sites")
)
#: env REPOSTWATCH_SITES_SOURCE: where sites are read from (crawler.sites.configured_sites): the
#: dotted path of a callable given these settings that returns the source. The database
#: (REPOSTWATCH_DATABASE_URL) is the one source of sites once it holds any; until then the files
#: of REPOSTWATCH_SITES_DIR are read. "" reads only the files.
REPOSTWATCH_SITES_SOURCE = os.environ.get(
    "REPOSTWATCH_SITES_SOURCE", "crawler.db.sites.DatabaseSites.from_settings"
)
#: env REPOSTWATCH_SITE_TRY_SECONDS: the longest a try of a site may crawl (`repostwatch sites
#: try`, the site editor's Try button; crawler/sites/trying.py), then its worker is stopped.
REPOSTWATCH_SITE_TRY_SECONDS = _number("REPOSTWATCH_SITE_TRY_SECONDS", 30.0)
#: env REPOSTWATCH_KEYWORD_VARIANTS_FILE: a TOML file of the centre's own keyword spelling rules,
#: added to the shipped settings/keyword_variants.toml (crawler/keyword_variants.py); "" none.
REPOSTWATCH_KEYWORD_VARIANTS_FILE = os.environ.get("REPOSTWATCH_KEYWORD_VARIANTS_FILE", "")
#: env REPOSTWATCH_HASH_WORKERS: hashing processes; 0 means one per CPU core.
REPOSTWATCH_HASH_WORKERS = _whole_number("REPOSTWATCH_HASH_WORKERS", 0)
#: env REPOSTWATCH_MEDIA_MAXSIZE: largest media download in bytes; bigger ones are dropped unread.
REPOSTWATCH_MEDIA_MAXSIZE = _whole_number("REPOSTWATCH_MEDIA_MAXSIZE", 64 * 1024 * 1024)
#: env REPOSTWATCH_MEDIA_PROBE_BYTES: the first request for a media URL asks for this many bytes
#: (HTTP Range); what they hold decides the rest (fetch the remainder, sample a large video's
#: byte ranges, or read a stream).
REPOSTWATCH_MEDIA_PROBE_BYTES = _whole_number("REPOSTWATCH_MEDIA_PROBE_BYTES", 1024 * 1024)
#: env REPOSTWATCH_VIDEO_WHOLE_MAXSIZE: videos up to this many bytes are downloaded whole (a
#: frame a second, and their sha256); larger ones are sampled through byte ranges.
REPOSTWATCH_VIDEO_WHOLE_MAXSIZE = _whole_number("REPOSTWATCH_VIDEO_WHOLE_MAXSIZE", 16 * 1024 * 1024)
#: env REPOSTWATCH_VIDEO_SAMPLES: keyframes sampled over the whole duration of a large video.
REPOSTWATCH_VIDEO_SAMPLES = _whole_number("REPOSTWATCH_VIDEO_SAMPLES", 60)
#: env REPOSTWATCH_VIDEO_DENSE_SECONDS: around each sampled frame that looks like a reference
#: frame, this many seconds before and after are fetched and sampled every second (0: never).
REPOSTWATCH_VIDEO_DENSE_SECONDS = _number("REPOSTWATCH_VIDEO_DENSE_SECONDS", 3.0)
#: env REPOSTWATCH_VIDEO_BYTE_SHARE: most of a sampled video fetched, as a share of its size
#: (but never less than REPOSTWATCH_VIDEO_WHOLE_MAXSIZE bytes).
REPOSTWATCH_VIDEO_BYTE_SHARE = _number("REPOSTWATCH_VIDEO_BYTE_SHARE", 0.05)
#: env REPOSTWATCH_VIDEO_SECONDS: seconds a sampled video may take, fetching and decoding; past
#: them it is matched on the frames sampled so far.
REPOSTWATCH_VIDEO_SECONDS = _number("REPOSTWATCH_VIDEO_SECONDS", 30.0)
#: env REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES: a video whose server ignores Range is read up to
#: this many bytes, and its prefix hashed ...
REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES = _whole_number(
    "REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES", 32 * 1024 * 1024
)
#: env REPOSTWATCH_VIDEO_STREAM_BUDGET_SECONDS: ... or for this many seconds, whichever ends first.
REPOSTWATCH_VIDEO_STREAM_BUDGET_SECONDS = _number("REPOSTWATCH_VIDEO_STREAM_BUDGET_SECONDS", 20.0)
#: env REPOSTWATCH_VIDEO_STREAM_MIN_LINES: an HLS variant or DASH representation is chosen as the
#: smallest with at least this many lines (its short side), else the largest below.
REPOSTWATCH_VIDEO_STREAM_MIN_LINES = _whole_number("REPOSTWATCH_VIDEO_STREAM_MIN_LINES", 360)
#: env REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS: most segments of a stream hashed a frame a second
#: around the times whose frames look like a reference (half as many of those times, first to last).
REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS = _whole_number(
    "REPOSTWATCH_VIDEO_STREAM_DENSE_SEGMENTS", 6
)
#: env REPOSTWATCH_VIDEO_STREAM_CONCURRENCY: requests in flight per stream (playlists, keys,
#: segments); the downloader's own per-domain limits still apply.
REPOSTWATCH_VIDEO_STREAM_CONCURRENCY = _whole_number("REPOSTWATCH_VIDEO_STREAM_CONCURRENCY", 4)
#: env REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX: bytes asked for of each sampled segment (its
#: first keyframe is at its start); the whole segment only when they hold no frame (0: always).
REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX = _whole_number(
    "REPOSTWATCH_VIDEO_STREAM_SEGMENT_PREFIX", 128 * 1024
)
#: env REPOSTWATCH_HASH_TASK_SECONDS: seconds one media file may take to hash; past them its
#: hashing process is killed and replaced, and the media counted as media/failed/hash_timeout.
REPOSTWATCH_HASH_TASK_SECONDS = _number("REPOSTWATCH_HASH_TASK_SECONDS", 300.0)
#: env REPOSTWATCH_HASH_PIXEL_BUDGET: frames x area an animation's or a video's decoded frames
#: may add up to (a 15-minute 720p video fits); past it hashing stops with the frames so far.
REPOSTWATCH_HASH_PIXEL_BUDGET = _whole_number("REPOSTWATCH_HASH_PIXEL_BUDGET", 30_000_000_000)
#: env REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES, REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS: a video
#: matches a reference video when at least this many of its sampled frames agree with one offset
#: and one speed, over at least this many seconds of the reference (crawler.matching.video, whose
#: own defaults these are; settings does not import it: every command reads settings, and the
#: matcher brings numpy, Pillow and OpenCV).
REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES = _whole_number("REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES", 5)
REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS = _number("REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS", 5.0)
#: env REPOSTWATCH_VIDEO_SPARSE_ALIGNED_FRAMES, REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS: or, for
#: videos sampled sparsely (keyframes every few seconds), this many frames over this many seconds.
REPOSTWATCH_VIDEO_SPARSE_ALIGNED_FRAMES = _whole_number(
    "REPOSTWATCH_VIDEO_SPARSE_ALIGNED_FRAMES", 3
)
REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS = _number("REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS", 15.0)
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
#: env REPOSTWATCH_RUN_PROGRESS_SECONDS: seconds between a running crawl's writes of its figures
#: so far to its crawl run row (the web app's crawls page shows them); 0: only when it ends.
REPOSTWATCH_RUN_PROGRESS_SECONDS = _number("REPOSTWATCH_RUN_PROGRESS_SECONDS", 5.0)
#: env REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS: ... and with Redis (announcements are
#: instant; this poll is the safety net).
REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS = _number(
    "REPOSTWATCH_REFERENCE_POLL_SECONDS_WITH_REDIS", 30.0
)
#: env REPOSTWATCH_MEDIA_CACHE: remember media already hashed (validators + hashes, never the
#: media) so that re-crawls send one conditional request per unchanged media; 0 turns it off.
REPOSTWATCH_MEDIA_CACHE = os.environ.get("REPOSTWATCH_MEDIA_CACHE", "1") not in ("0", "false", "")
#: env REPOSTWATCH_MEDIA_CACHE_REHASH_DAYS: an "unchanged" answer (304, same ETag, Last-Modified
#: or length) is believed only this many days after the media was last hashed; then it is
#: downloaded and hashed again (a site can swap the bytes behind an unchanged ETag).
REPOSTWATCH_MEDIA_CACHE_REHASH_DAYS = _number("REPOSTWATCH_MEDIA_CACHE_REHASH_DAYS", 7.0)
#: A crawl run to join instead of opening a new one (``-s REPOSTWATCH_RUN_ID=N``; scrapyd:
#: ``setting=REPOSTWATCH_RUN_ID=N``): the scheduler opens the run before handing the job over.
REPOSTWATCH_RUN_ID = None
#: Media downloads in flight per page item (the downloader's own limits still apply).
REPOSTWATCH_MEDIA_CONCURRENCY = 16

# --- Distributed crawls (crawler/distributed/; README "Distributed crawling") ---------------------
#: env REPOSTWATCH_DISTRIBUTED: 1 makes every crawl a worker of a shared crawl run: the add-on
#: below applies REPOSTWATCH_DISTRIBUTED_SETTINGS (the scrapy-redis scheduler and dupefilter on
#: REPOSTWATCH_REDIS_URL); the run is REPOSTWATCH_RUN_ID. Also `-s REPOSTWATCH_DISTRIBUTED=1`.
REPOSTWATCH_DISTRIBUTED = os.environ.get("REPOSTWATCH_DISTRIBUTED", "0") not in ("0", "false", "")
REPOSTWATCH_DISTRIBUTED_SETTINGS = "settings.distributed"
#: env REPOSTWATCH_DISTRIBUTED_PREFIX: prefix of the Redis keys of distributed runs; databases
#: that share one Redis need one prefix each (run ids are per database).
REPOSTWATCH_DISTRIBUTED_PREFIX = os.environ.get("REPOSTWATCH_DISTRIBUTED_PREFIX", "repostwatch")
#: env REPOSTWATCH_DISTRIBUTED_KEY_TTL: seconds a run's Redis keys (queue, dupefilter, workers)
#: live after the last heartbeat of its last worker.
REPOSTWATCH_DISTRIBUTED_KEY_TTL = _whole_number("REPOSTWATCH_DISTRIBUTED_KEY_TTL", 6 * 3600)
#: env REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT: seconds without a heartbeat after which a worker
#: counts as lost (its run closes without it; a run whose workers are all lost closes as failed).
REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT = _whole_number(
    "REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT", 300
)
#: Seconds between a worker's heartbeats (which also keep the run's keys from expiring).
REPOSTWATCH_DISTRIBUTED_HEARTBEAT_SECONDS = 10.0
ADDONS = {"crawler.distributed.DistributedCrawl": 0}

# --- Review web app (`repostwatch web`) -----------------------------------------------------
#: env REPOSTWATCH_SECRET_KEY: signs the web app's session cookies; required (no fallback)
#: unless REPOSTWATCH_WEB_ENV=development. `repostwatch web keygen --secret` makes one.
REPOSTWATCH_SECRET_KEY = os.environ.get("REPOSTWATCH_SECRET_KEY", "")
#: env REPOSTWATCH_WEB_ENV: "production" (default) or "development" (random per-process secret
#: key, cookies without the Secure flag so that plain http://127.0.0.1 works).
REPOSTWATCH_WEB_ENV = os.environ.get("REPOSTWATCH_WEB_ENV", "production")
#: env REPOSTWATCH_EVIDENCE_PUBLIC_KEY: for crawls (`repostwatch evidence keygen`); when set,
#: crawls keep the found media of each flag sealed to it as evidence (they cannot decrypt it).
#: Unset: no evidence is kept.
REPOSTWATCH_EVIDENCE_PUBLIC_KEY = os.environ.get("REPOSTWATCH_EVIDENCE_PUBLIC_KEY", "")
#: env REPOSTWATCH_EVIDENCE_PRIVATE_KEY: for the web app only (never on crawl hosts): decrypts
#: the evidence to show it to reviewers.
REPOSTWATCH_EVIDENCE_PRIVATE_KEY = os.environ.get("REPOSTWATCH_EVIDENCE_PRIVATE_KEY", "")
#: env REPOSTWATCH_EVIDENCE_KEY: the old symmetric (Fernet) key, for the web app only: reads
#: evidence kept before sealed boxes. Crawls ignore it (and warn).
REPOSTWATCH_EVIDENCE_KEY = os.environ.get("REPOSTWATCH_EVIDENCE_KEY", "")
#: env REPOSTWATCH_LOGIN_RATE_LIMIT: failed logins (password or code) allowed per account before
#: it must wait (Flask-Limiter syntax; counted in Redis when REPOSTWATCH_REDIS_URL is set, else
#: in the process).
REPOSTWATCH_LOGIN_RATE_LIMIT = os.environ.get("REPOSTWATCH_LOGIN_RATE_LIMIT", "10 per minute")
#: env REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT: failed logins allowed per client address, whatever
#: the account (the second key: one address trying many accounts).
REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT = os.environ.get(
    "REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT", "30 per minute"
)
#: env REPOSTWATCH_TRUSTED_PROXIES: reverse proxies in front of the web app whose
#: X-Forwarded-For / -Proto / -Host the app believes (0: none; the client is the peer address).
REPOSTWATCH_TRUSTED_PROXIES = _whole_number("REPOSTWATCH_TRUSTED_PROXIES", 0)
#: env REPOSTWATCH_REVIEW_BATCH: flags a reviewer claims at once.
REPOSTWATCH_REVIEW_BATCH = _whole_number("REPOSTWATCH_REVIEW_BATCH", 20)
#: env REPOSTWATCH_CLAIM_MINUTES: how long a claim lasts before the flag returns to the queue.
REPOSTWATCH_CLAIM_MINUTES = _whole_number("REPOSTWATCH_CLAIM_MINUTES", 30)
#: env REPOSTWATCH_LOCALE: the web app's language for users who chose none on their account page
#: (and on the login page), and the language of the `repostwatch` commands' messages: "ko" or "en".
REPOSTWATCH_LOCALE = os.environ.get("REPOSTWATCH_LOCALE", "ko")
#: env REPOSTWATCH_CLI_LANG: the language of the `repostwatch` commands' messages for whoever sets
#: it (in their shell profile), "ko" or "en"; unset, REPOSTWATCH_LOCALE. `--lang` overrides both.
REPOSTWATCH_CLI_LANG = os.environ.get("REPOSTWATCH_CLI_LANG", "")
#: env REPOSTWATCH_TIMEZONE: the IANA time zone the web app shows times in for users who chose
#: none on their account page.
REPOSTWATCH_TIMEZONE = os.environ.get("REPOSTWATCH_TIMEZONE", "Asia/Seoul")
#: env REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES: the largest reference file staff may upload in
#: the web app (a case's References page). It is held in memory while it is hashed, never
#: written to disk: allow for up to four at once in the web process's memory.
REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES = _whole_number(
    "REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES", 256 * 1024 * 1024
)

# --- Takedown notices (crawler/takedown) ------------------------------------------------------
#: env REPOSTWATCH_SMTP_URL: where notices are sent: smtp://user:password@host:587?starttls=1,
#: smtps://user:password@host:465 or smtp://host:25; unset, notices can only be exported.
REPOSTWATCH_SMTP_URL = os.environ.get("REPOSTWATCH_SMTP_URL", "")
#: env REPOSTWATCH_SMTP_CA_FILE: PEM file of the CA that signed the mail server's certificate,
#: for a private CA; unset, the system's trusted CAs. The certificate and host name are always
#: checked.
REPOSTWATCH_SMTP_CA_FILE = os.environ.get("REPOSTWATCH_SMTP_CA_FILE", "")
#: env REPOSTWATCH_NOTICE_FROM: the From of notices, whose name signs them, e.g.
#: "Support Centre <takedown@centre.example>".
REPOSTWATCH_NOTICE_FROM = os.environ.get("REPOSTWATCH_NOTICE_FROM", "")
#: env REPOSTWATCH_NOTICE_RESEND_HOURS: a sent notice whose media is not all removed is sent
#: again after this many hours, until removal.
REPOSTWATCH_NOTICE_RESEND_HOURS = _number("REPOSTWATCH_NOTICE_RESEND_HOURS", 24.0)

# --- Digests of new flags for reviewer groups (crawler/scheduling/digests.py) -----------------
#: env REPOSTWATCH_WEB_URL: the web app's address as staff open it, e.g.
#: https://repostwatch.centre.example; digests link to its queue and flag pages (unset: no
#: digest is sent, each group records the error).
REPOSTWATCH_WEB_URL = os.environ.get("REPOSTWATCH_WEB_URL", "")
#: env REPOSTWATCH_DIGEST_WEBHOOK_HOSTS: host names (comma-separated) digest webhooks may post
#: to; unset, no webhook digest is sent. HTTPS only (plain HTTP only to this machine).
REPOSTWATCH_DIGEST_WEBHOOK_HOSTS = os.environ.get("REPOSTWATCH_DIGEST_WEBHOOK_HOSTS", "")

# --- Operations: scrapyd, scheduled crawls, crawl health (crawler/scheduling) ---------------
#: env REPOSTWATCH_SCRAPYD_URLS: the scrapyd nodes the scheduler hands crawls to, comma-separated,
#: each with its basic auth in the URL (required: scripts/scrapyd.sh always asks for it):
#: http://user:password@crawler2.example:6800/
REPOSTWATCH_SCRAPYD_URLS = os.environ.get("REPOSTWATCH_SCRAPYD_URLS", "http://127.0.0.1:6800/")
#: env REPOSTWATCH_SCRAPYD_PROJECT: the scrapyd project the crawler is deployed as (scrapy.cfg).
REPOSTWATCH_SCRAPYD_PROJECT = os.environ.get("REPOSTWATCH_SCRAPYD_PROJECT", "repostwatch")
#: env REPOSTWATCH_SCHEDULER_INTERVAL: seconds between two passes of `repostwatch scheduler`.
REPOSTWATCH_SCHEDULER_INTERVAL = _number("REPOSTWATCH_SCHEDULER_INTERVAL", 60.0)
#: env REPOSTWATCH_RECHECK_HOURS: the scheduler re-checks a confirmed flag whose media was last
#: found on its site longer ago than this (or never checked): is it removed yet?
REPOSTWATCH_RECHECK_HOURS = _number("REPOSTWATCH_RECHECK_HOURS", 6.0)
#: env REPOSTWATCH_RECHECK_BATCH: at most this many re-checks per scheduler pass (the longest
#: unchecked first); the rest wait for the next pass.
REPOSTWATCH_RECHECK_BATCH = _whole_number("REPOSTWATCH_RECHECK_BATCH", 200)
#: env REPOSTWATCH_RECHECK_GONE_HOURS: a flag becomes "removed" only when its media was seen gone
#: by two re-checks at least this many hours apart (with no sighting in between).
REPOSTWATCH_RECHECK_GONE_HOURS = _number("REPOSTWATCH_RECHECK_GONE_HOURS", 24.0)
#: env REPOSTWATCH_RECHECK_REQUEST_SECONDS: the longest one re-check request may take, all of it
#: (resolving names, connecting, headers, body, redirects); a slower answer is cut off and tells
#: nothing.
REPOSTWATCH_RECHECK_REQUEST_SECONDS = _number("REPOSTWATCH_RECHECK_REQUEST_SECONDS", 60.0)
#: env REPOSTWATCH_RECHECK_ROUND_SECONDS: the longest a round of re-checks (`repostwatch recheck`,
#: a scheduler pass) may take; the flags not checked by then are left for the next round.
REPOSTWATCH_RECHECK_ROUND_SECONDS = _number("REPOSTWATCH_RECHECK_ROUND_SECONDS", 600.0)
#: env REPOSTWATCH_RECHECK_USER_AGENT: the User-Agent re-check requests send: a neutral browser's,
#: so that a site answering crawlers differently cannot make media look removed (robots.txt is
#: still read for the crawler's USER_AGENT or the site file's user_agent).
REPOSTWATCH_RECHECK_USER_AGENT = os.environ.get(
    "REPOSTWATCH_RECHECK_USER_AGENT",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)
#: env REPOSTWATCH_ALERT_WEBHOOK: URL that gets a JSON POST when a site's health changes.
REPOSTWATCH_ALERT_WEBHOOK = os.environ.get("REPOSTWATCH_ALERT_WEBHOOK", "")
#: env REPOSTWATCH_ALERT_EMAIL: addresses (comma-separated) e-mailed when a site's health
#: changes, through REPOSTWATCH_SMTP_URL, from REPOSTWATCH_NOTICE_FROM.
REPOSTWATCH_ALERT_EMAIL = os.environ.get("REPOSTWATCH_ALERT_EMAIL", "")

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
    # --no-sandbox as root only (crawler.browser.launch): other users keep the sandbox.
    "args": chromium_args(),
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
# A site file's download_delay is the smallest time between two requests to the site: Scrapy's
# random 0.5x-1.5x jitter would go below it half of the time (Scrapy 2.19's name for the jitter;
# RANDOMIZE_DOWNLOAD_DELAY, its old switch, is deprecated and warns on every crawl).
DOWNLOAD_DELAY_JITTER = 0.0
# A page's URL goes as Referer to its own site only: never to a third-party CDN or another
# site (pages reached through a site search send none at all: spiders/search.py search_meta).
REFERRER_POLICY = "same-origin"
USER_AGENT = "RepostWatch/0.1 (+takedown monitoring for a victim support centre)"
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # pages; media requests carry their own limit
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2  # a site file's `retries`
#: Seconds before the first retry of a failed request, doubled for each further one (a site file's
#: `retry_backoff`); a 429/503 Retry-After waits at least what it asks
#: (crawler/crawling/middlewares/retries.py).
REPOSTWATCH_RETRY_BACKOFF = 1.0
#: Longest wait before a retry (a site file's `retry_backoff_max`); a Retry-After asking for more
#: gives the request up.
REPOSTWATCH_RETRY_BACKOFF_MAX = 60.0
#: Longest robots.txt Crawl-delay honoured, in seconds; a longer one is cut to this (and counted).
REPOSTWATCH_MAX_CRAWL_DELAY = 60.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = os.environ.get("REPOSTWATCH_LOG_LEVEL", "INFO")
LOGSTATS_INTERVAL = 15.0
FEED_EXPORT_ENCODING = "utf-8"

DOWNLOADER_MIDDLEWARES = {
    # Before every other middleware: refuse private addresses before anything is sent.
    "crawler.crawling.middlewares.private_network.PrivateNetworkGuardMiddleware": 50,
    # Scrapy's robots.txt, its refusals raised as their own type (RobotsTxtRefused).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.crawling.middlewares.robots.RobotsTxtRefusalMiddleware": 100,
    # Scrapy's retries, waiting before each one (exponential backoff, Retry-After).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.crawling.middlewares.retries.BackoffRetryMiddleware": 550,
    # Before Scrapy's RedirectMiddleware (600), so that it sees a page's 3xx itself: a redirect
    # off the site's registrable domain is refused and proposed as a domain move; dead start
    # URLs make it try the site's successor_urls.
    "crawler.crawling.middlewares.domain_moves.DomainMovesMiddleware": 650,
}
#: How many numbers after the start URL's a site's "{n}" successor URL is tried with when every
#: start URL died (successor_urls; crawler/crawling/middlewares/domain_moves.py).
REPOSTWATCH_SUCCESSOR_TRIES = 5
#: Scrapy's downloader, fixed to hold each site to its `concurrency`
#: (crawler/crawling/downloader.py).
DOWNLOADER = "crawler.crawling.downloader.SiteConcurrencyDownloader"
EXTENSIONS = {
    # Files the crawl writes (its log, the spill file) are 0600.
    "crawler.crawling.extensions.private_files.PrivateFiles": 0,
    # robots.txt Crawl-delay per host; after AutoThrottle (order 0), whose delays it bounds.
    "crawler.crawling.extensions.crawl_delay.CrawlDelay": 500,
    # -a search=1: the case keywords are read from the database inside the crawl, never passed
    # as (scrapyd job) arguments.
    "crawler.crawling.extensions.search_keywords.SearchKeywords": 510,
}
ITEM_PIPELINES = {
    "crawler.crawling.pipeline.HashMatchPipeline": 300,
}
