"""The names of RepostWatch's crawl statistics: every key is written here once.

Scrapy keeps a crawl's counters in its stats collector; RepostWatch's own live under
``repostwatch/`` (as Scrapy's own under ``downloader/``, ``retry/`` ...). Whatever counts, and
whatever reads the counts back (the crawl summary, a crawl run's stored figures, a distributed
run's merge), takes the key from here, so that a name cannot drift between the two. The keys
are stored with every crawl run and listed in the README (Crawl statistics): never rename one.

Pure: no Scrapy, so spiders, the crawl and the CLI share it.
"""

from __future__ import annotations

#: The namespace of RepostWatch's own stats.
PREFIX = "repostwatch"


def key(name: str) -> str:
    """The stats key of RepostWatch's counter ``name``: ``media/hashed`` →
    ``repostwatch/media/hashed``."""
    return f"{PREFIX}/{name}"


def name(stat: str) -> str:
    """The inverse of :func:`key`: the name of one of RepostWatch's own keys."""
    return stat.removeprefix(f"{PREFIX}/")


def is_own(stat: str) -> bool:
    """Whether ``stat`` is one of RepostWatch's own keys (not one of Scrapy's)."""
    return stat.startswith(f"{PREFIX}/")


# --- the crawl run ----------------------------------------------------------------------------
RUN_ID = "repostwatch/run_id"
#: Reference hashes loaded when the crawl opened, and those added or withdrawn while it ran.
REFERENCES = "repostwatch/references"
REFERENCES_ADDED_LIVE = "repostwatch/references/added_live"
REFERENCES_WITHDRAWN_LIVE = "repostwatch/references/withdrawn_live"
#: Workers of a distributed run (each sets 1; summed over the run).
WORKERS = "repostwatch/workers"
#: Requests a lost (killed) worker had taken from the queue, put back for the others.
REQUEUED_FROM_LOST_WORKERS = "repostwatch/workers/requeued_from_lost"
#: Requests taken from the queue in a worker's name whose reply never reached it (the
#: connection to Redis dropped after the pop), queued again when it went idle.
REQUEUED_NEVER_RECEIVED = "repostwatch/workers/requeued_never_received"
#: Requests a worker kept while Redis was unreachable, queued once it answered again.
REDIS_DEFERRED = "repostwatch/workers/redis_deferred"

# --- pages and media --------------------------------------------------------------------------
PAGES = "repostwatch/pages"
MEDIA_DOWNLOADED = "repostwatch/media/downloaded"
MEDIA_BYTES = "repostwatch/media/bytes"
MEDIA_HASHED = "repostwatch/media/hashed"
MEDIA_MATCHED = "repostwatch/media/matched"
#: A media URL met again in the same run (downloaded and hashed once).
MEDIA_SEEN_AGAIN = "repostwatch/media/seen_again"
#: Media unchanged since the last crawl: matched from the media cache.
MEDIA_CACHE_HITS = "repostwatch/media/cache_hits"
#: Media the media cache knew, hashed too long ago to trust "unchanged": downloaded again.
MEDIA_CACHE_REHASHED = "repostwatch/media/cache_rehashed"
MEDIA_FAILED = "repostwatch/media/failed"
MEDIA_FAILED_PREFIX = f"{MEDIA_FAILED}/"
MEDIA_SKIPPED_PREFIX = "repostwatch/media/skipped/"
#: Animations and videos whose frames were hashed only up to the pixel budget.
MEDIA_OVER_PIXEL_BUDGET = "repostwatch/media/over_pixel_budget"
#: Crop (crhash) matches dropped because the media's pixels where the match placed the
#: reference did not hash near its crpdq (`crawler.hashing.crpdq`) ...
CROPS_REFUSED = "repostwatch/media/crops_refused"
#: ... and crop matches kept without that check: matched from the media cache (no bytes to
#: check), or the bytes would not decode again.
CROPS_UNCHECKED = "repostwatch/media/crops_unchecked"

# --- video delivery (crawler/crawling/video_fetch.py) -------------------------------------------
#: Large progressive videos sampled through Range requests, the bytes fetched for them (probe
#: included), and the dense windows fetched around frames that looked like a reference.
VIDEO_RANGED = "repostwatch/video/ranged"
VIDEO_RANGED_BYTES = "repostwatch/video/ranged_bytes"
VIDEO_DENSE_WINDOWS = "repostwatch/video/dense_windows"
#: Times sampled along matched lines, to see how far the reference runs in the video.
VIDEO_FOLLOWED = "repostwatch/video/followed"
#: Sampled videos whose sampling stopped at its byte, time or pass limit with targets left.
VIDEO_SAMPLING_LIMITED = "repostwatch/video/sampling_limited"
#: Videos whose server ignored Range (200 with the whole body), and of those, the ones read only
#: up to REPOSTWATCH_VIDEO_STREAM_BUDGET_BYTES / _SECONDS (their prefix hashed).
VIDEO_NO_RANGE = "repostwatch/video/no_range"
VIDEO_BUDGET_STOPPED = "repostwatch/video/budget_stopped"


def video_stream(form: str, what: str) -> str:
    """Streams sampled by segments, by form (``hls``, ``dash``): ``streams``, ``segments``,
    ``dense_segments``, ``bytes``, ``segment_refetched``, ``live``, ``encrypted``,
    ``time_limited``, ``segment_failed``,
    ``failed/<reason>`` (crawler/crawling/stream_fetch.py)."""
    return f"{PREFIX}/video/{form}/{what}"


#: Media URLs of pages' scripts and data over the per-page bounds (crawler/extraction/page.py),
#: left out; of those kept, the ones without a media extension (their download tells).
MEDIA_CAPPED = "repostwatch/media/capped"
MEDIA_GUESSED = "repostwatch/media/guessed"
#: Scripts, JSON and strings of pages not read: over the per-page bounds.
MEDIA_DATA_UNREAD = "repostwatch/media/data_unread"


def media_source(source: str) -> str:
    """Media URLs of pages by where they were found (first): ``markup``, ``noscript``,
    ``data_attribute``, ``json_ld``, ``json``, ``script``, ``html_in_string``
    (crawler.extraction.SOURCES)."""
    return f"{PREFIX}/media/source/{source}"


def media_hashed(kind: str) -> str:
    """Media hashed, by kind (``image``, ``video``)."""
    return f"{MEDIA_HASHED}/{kind}"


def media_failed(kind: str) -> str:
    """Media that could not be fetched or hashed, by kind (``http_404``, ``too_large``,
    ``download``, ``hasher_died``, ``hash_timeout``)."""
    return MEDIA_FAILED_PREFIX + kind


def media_skipped(error: str) -> str:
    """Media fetched but not hashed, by the hashing error's class name (``UnsupportedMedia``)."""
    return MEDIA_SKIPPED_PREFIX + error


# --- flags and evidence -----------------------------------------------------------------------
FLAGS_RECORDED = "repostwatch/flags/recorded"
FLAGS_NEW = "repostwatch/flags/new"
FLAGS_SEEN_AGAIN = "repostwatch/flags/seen_again"
FLAGS_SPILLED = "repostwatch/flags/spilled"
FLAGS_REPLAYED = "repostwatch/flags/replayed"
#: Matches the database refused, by reason: ``.../case_closed`` (no new flags for a closed case).
FLAGS_REFUSED = "repostwatch/flags/refused"
EVIDENCE_KEPT = "repostwatch/evidence/kept"

# --- refusals and errors ----------------------------------------------------------------------
REFUSED_PREFIX = "repostwatch/refused/"


def refused(reason: str) -> str:
    """A request not made on purpose, by reason (``robots_txt``, ``max_pages``, a trap ...)."""
    return REFUSED_PREFIX + reason


REFUSED_PRIVATE_NETWORK = refused("private_network")
REFUSED_SCHEME = refused("scheme")
#: The private-network guard's other refusals: a loopback, mDNS or single-label host name, a
#: name that does not resolve, a response from an unknown peer address.
REFUSED_HOST_NAME = refused("host_name")
REFUSED_UNRESOLVABLE = refused("unresolvable")
REFUSED_UNKNOWN_PEER = refused("unknown_peer")
REFUSED_ROBOTS_TXT = refused("robots_txt")
REFUSED_MAX_PAGES = refused("max_pages")
REFUSED_MAX_DEPTH = refused("max_depth")
REFUSED_MAX_RESULT_PAGES = refused("max_result_pages")
#: Distributed crawls: a request that cannot be queued as JSON, a queue entry that is not JSON.
REFUSED_UNSERIALIZABLE = refused("unserializable")
REFUSED_UNREADABLE_QUEUE_ENTRY = refused("unreadable_queue_entry")


def error(kind: str) -> str:
    """A request given up after its retries, by kind (``http_503``, ``retry_after_too_long``,
    the exception's class name)."""
    return f"{PREFIX}/errors/{kind}"


# --- politeness -------------------------------------------------------------------------------
ROBOTS_CRAWL_DELAY = "repostwatch/robots/crawl_delay"
ROBOTS_CRAWL_DELAY_CAPPED = "repostwatch/robots/crawl_delay_capped"

# --- thumbnails linked to their full-size file ------------------------------------------------
FULL_SIZE_PROBES = "repostwatch/full_size/probes"
FULL_SIZE_REPLACED = "repostwatch/full_size/replaced"
#: Thumbnails and other smaller copies a page shows or names, left out for the full-size file
#: the page names (a link, a lightbox or zoom attribute, a script record, an image URL naming
#: its original).
FULL_SIZE_NAMED = "repostwatch/full_size/named"


def full_size(answer: str) -> str:
    """Kinds of thumbnail links asked about, by answer (``media_links``, ``page_links``,
    ``unanswered``)."""
    return f"{PREFIX}/full_size/{answer}"


# --- search crawls ----------------------------------------------------------------------------
SEARCH_KEYWORDS = "repostwatch/search/keywords"
SEARCH_REQUESTS = "repostwatch/search/requests"
SEARCH_RESULT_PAGES = "repostwatch/search/result_pages"
SEARCH_RESULTS = "repostwatch/search/results"
SEARCH_UNENCODABLE = "repostwatch/search/unencodable"
SEARCH_FORM_NOT_FOUND = "repostwatch/search/form_not_found"

# --- pages rendered in the browser ------------------------------------------------------------
BROWSER_PAGES = "repostwatch/browser/pages"
BROWSER_CLICKED = "repostwatch/browser/clicked"
BROWSER_SCROLLS = "repostwatch/browser/scrolls"
BROWSER_WAIT_FOR_TIMEOUT = "repostwatch/browser/wait_for_timeout"
BROWSER_MEDIA_FROM_NETWORK = "repostwatch/browser/media_from_network"
#: Image and video requests of the browser recorded and stopped (the crawler fetches them).
BROWSER_MEDIA_NOT_LOADED = "repostwatch/browser/media_not_loaded"
BROWSER_BLOCKED_HOST = "repostwatch/browser/blocked/host"
#: Browser requests the guard proxy answered 403, by reason (``host_name``, ``unresolvable``,
#: ``private_network``, ``scheme``, ``bad_request``).
BROWSER_PROXY_REFUSED_PREFIX = "repostwatch/browser/proxy_refused/"


#: Video players (render = "browser"): the streams (manifests) and video files a player asked
#: for that were handed to the pipeline; the captured variants and segments left out as parts
#: of a captured stream; pages whose player was started (clicked, play()); pages with a
#: <video> whose player asked for nothing even then.
BROWSER_PLAYER_STREAMS = "repostwatch/browser/player/streams"
BROWSER_PLAYER_VIDEOS = "repostwatch/browser/player/videos"
BROWSER_PLAYER_PARTS = "repostwatch/browser/player/parts_of_streams"
BROWSER_PLAYER_STARTED = "repostwatch/browser/player/started"
BROWSER_PLAYER_SILENT = "repostwatch/browser/player/silent"
#: Picture viewers (lightboxes, sliders) walked on rendered pages (spiders.viewer): the pages
#: whose viewer was walked, the "next" presses, and the media the walks loaded that the page
#: had not loaded before (each is fetched by the crawler like any found on the page).
BROWSER_VIEWER_WALKS = "repostwatch/browser/viewer/walks"
BROWSER_VIEWER_STEPS = "repostwatch/browser/viewer/steps"
BROWSER_VIEWER_MEDIA = "repostwatch/browser/viewer/media"
#: Iframes on another origin the browser was kept from loading inline (followed as embeds,
#: through the downloader, when the site file's [embeds] allows).
BROWSER_EMBEDS_DEFERRED = "repostwatch/browser/embeds_deferred"


def browser_proxy_refused(reason: str) -> str:
    """Browser requests the guard proxy refused, by reason."""
    return BROWSER_PROXY_REFUSED_PREFIX + reason


def browser_blocked(resource_type: str) -> str:
    """Browser requests stopped by the site file's ``browser.block``, by resource type."""
    return f"{PREFIX}/browser/blocked/{resource_type}"


# --- embedded players and previews -----------------------------------------------------------
#: <iframe>s found on pages; followed (one level); refused by the site file's [embeds] (not
#: followed, denied or not allowed); over embeds.max_per_page.
EMBEDS_FOUND = "repostwatch/embeds/found"
EMBEDS_FOLLOWED = "repostwatch/embeds/followed"
EMBEDS_REFUSED = "repostwatch/embeds/refused"
EMBEDS_CAPPED = "repostwatch/embeds/capped"
#: Posters and storyboards handed to the pipeline as previews (early evidence, never alone).
PREVIEWS_FOUND = "repostwatch/previews/found"
#: Preview images (posters, storyboard tiles) the pipeline hashed; those that looked like a
#: reference video's frame (a hint for sampling, and a note on the video's own flag).
PREVIEWS_HASHED = "repostwatch/previews/hashed"
PREVIEWS_MATCHED_HINT = "repostwatch/previews/matched_hint"
#: Posters unchanged since an earlier crawl hashed them: their hashes came from the media cache.
PREVIEWS_CACHE_HITS = "repostwatch/previews/cache_hits"


# --- Scrapy's own, read back ------------------------------------------------------------------
SCRAPY_RESPONSE_BYTES = "downloader/response_bytes"
SCRAPY_ERRORS_LOGGED = "log_count/ERROR"
SCRAPY_FINISH_REASON = "finish_reason"
SCRAPY_ELAPSED = "elapsed_time_seconds"

# --- domain moves (crawler/crawling/middlewares/domain_moves.py) -------------------------------
#: A page's redirect to another registrable domain, not followed but proposed as a move.
REFUSED_DOMAIN_MOVE = refused("domain_move")
#: Every start URL died: successor URLs tried, and those that answered.
SUCCESSORS_TRIED = "repostwatch/domain_moves/successors_tried"
SUCCESSORS_ANSWERED = "repostwatch/domain_moves/successors_answered"
