"""crawler.stats: every stats key spelled once, as stored runs and the README have it."""

from __future__ import annotations

import functools
import re

from crawler import stats
from tests.support.project import ROOT

#: Every constant key, as crawls have always written it (stored runs are read by these names).
KNOWN = {
    "RUN_ID": "repostwatch/run_id",
    "FLAGS_REFUSED": "repostwatch/flags/refused",
    "REFERENCES": "repostwatch/references",
    "REFERENCES_ADDED_LIVE": "repostwatch/references/added_live",
    "REFERENCES_WITHDRAWN_LIVE": "repostwatch/references/withdrawn_live",
    "WORKERS": "repostwatch/workers",
    "REQUEUED_FROM_LOST_WORKERS": "repostwatch/workers/requeued_from_lost",
    "REQUEUED_NEVER_RECEIVED": "repostwatch/workers/requeued_never_received",
    "REDIS_DEFERRED": "repostwatch/workers/redis_deferred",
    "PAGES": "repostwatch/pages",
    "MEDIA_DOWNLOADED": "repostwatch/media/downloaded",
    "MEDIA_BYTES": "repostwatch/media/bytes",
    "MEDIA_HASHED": "repostwatch/media/hashed",
    "MEDIA_MATCHED": "repostwatch/media/matched",
    "MEDIA_SEEN_AGAIN": "repostwatch/media/seen_again",
    "MEDIA_CACHE_HITS": "repostwatch/media/cache_hits",
    "MEDIA_CACHE_REHASHED": "repostwatch/media/cache_rehashed",
    "MEDIA_FAILED": "repostwatch/media/failed",
    "MEDIA_FAILED_PREFIX": "repostwatch/media/failed/",
    "MEDIA_SKIPPED_PREFIX": "repostwatch/media/skipped/",
    "MEDIA_OVER_PIXEL_BUDGET": "repostwatch/media/over_pixel_budget",
    "CROPS_REFUSED": "repostwatch/media/crops_refused",
    "CROPS_UNCHECKED": "repostwatch/media/crops_unchecked",
    "VIDEO_RANGED": "repostwatch/video/ranged",
    "VIDEO_RANGED_BYTES": "repostwatch/video/ranged_bytes",
    "VIDEO_DENSE_WINDOWS": "repostwatch/video/dense_windows",
    "VIDEO_FOLLOWED": "repostwatch/video/followed",
    "VIDEO_SAMPLING_LIMITED": "repostwatch/video/sampling_limited",
    "VIDEO_NO_RANGE": "repostwatch/video/no_range",
    "VIDEO_BUDGET_STOPPED": "repostwatch/video/budget_stopped",
    "MEDIA_CAPPED": "repostwatch/media/capped",
    "MEDIA_GUESSED": "repostwatch/media/guessed",
    "MEDIA_DATA_UNREAD": "repostwatch/media/data_unread",
    "FLAGS_RECORDED": "repostwatch/flags/recorded",
    "FLAGS_NEW": "repostwatch/flags/new",
    "FLAGS_SEEN_AGAIN": "repostwatch/flags/seen_again",
    "FLAGS_SPILLED": "repostwatch/flags/spilled",
    "FLAGS_REPLAYED": "repostwatch/flags/replayed",
    "EVIDENCE_KEPT": "repostwatch/evidence/kept",
    "REFUSED_PREFIX": "repostwatch/refused/",
    "REFUSED_PRIVATE_NETWORK": "repostwatch/refused/private_network",
    "REFUSED_SCHEME": "repostwatch/refused/scheme",
    "REFUSED_HOST_NAME": "repostwatch/refused/host_name",
    "REFUSED_UNRESOLVABLE": "repostwatch/refused/unresolvable",
    "REFUSED_UNKNOWN_PEER": "repostwatch/refused/unknown_peer",
    "REFUSED_ROBOTS_TXT": "repostwatch/refused/robots_txt",
    "REFUSED_MAX_PAGES": "repostwatch/refused/max_pages",
    "REFUSED_DOMAIN_MOVE": "repostwatch/refused/domain_move",
    "SUCCESSORS_TRIED": "repostwatch/domain_moves/successors_tried",
    "SUCCESSORS_ANSWERED": "repostwatch/domain_moves/successors_answered",
    "REFUSED_MAX_DEPTH": "repostwatch/refused/max_depth",
    "REFUSED_MAX_RESULT_PAGES": "repostwatch/refused/max_result_pages",
    "REFUSED_UNSERIALIZABLE": "repostwatch/refused/unserializable",
    "REFUSED_UNREADABLE_QUEUE_ENTRY": "repostwatch/refused/unreadable_queue_entry",
    "ROBOTS_CRAWL_DELAY": "repostwatch/robots/crawl_delay",
    "ROBOTS_CRAWL_DELAY_CAPPED": "repostwatch/robots/crawl_delay_capped",
    "FULL_SIZE_PROBES": "repostwatch/full_size/probes",
    "FULL_SIZE_REPLACED": "repostwatch/full_size/replaced",
    "FULL_SIZE_NAMED": "repostwatch/full_size/named",
    "SEARCH_KEYWORDS": "repostwatch/search/keywords",
    "SEARCH_REQUESTS": "repostwatch/search/requests",
    "SEARCH_RESULT_PAGES": "repostwatch/search/result_pages",
    "SEARCH_RESULTS": "repostwatch/search/results",
    "SEARCH_UNENCODABLE": "repostwatch/search/unencodable",
    "SEARCH_FORM_NOT_FOUND": "repostwatch/search/form_not_found",
    "BROWSER_PAGES": "repostwatch/browser/pages",
    "BROWSER_CLICKED": "repostwatch/browser/clicked",
    "BROWSER_SCROLLS": "repostwatch/browser/scrolls",
    "BROWSER_WAIT_FOR_TIMEOUT": "repostwatch/browser/wait_for_timeout",
    "BROWSER_MEDIA_FROM_NETWORK": "repostwatch/browser/media_from_network",
    "BROWSER_MEDIA_NOT_LOADED": "repostwatch/browser/media_not_loaded",
    "BROWSER_BLOCKED_HOST": "repostwatch/browser/blocked/host",
    "BROWSER_PROXY_REFUSED_PREFIX": "repostwatch/browser/proxy_refused/",
    "BROWSER_PLAYER_STREAMS": "repostwatch/browser/player/streams",
    "BROWSER_PLAYER_VIDEOS": "repostwatch/browser/player/videos",
    "BROWSER_PLAYER_PARTS": "repostwatch/browser/player/parts_of_streams",
    "BROWSER_PLAYER_STARTED": "repostwatch/browser/player/started",
    "BROWSER_PLAYER_SILENT": "repostwatch/browser/player/silent",
    "BROWSER_VIEWER_WALKS": "repostwatch/browser/viewer/walks",
    "BROWSER_VIEWER_STEPS": "repostwatch/browser/viewer/steps",
    "BROWSER_VIEWER_MEDIA": "repostwatch/browser/viewer/media",
    "BROWSER_EMBEDS_DEFERRED": "repostwatch/browser/embeds_deferred",
    "EMBEDS_FOUND": "repostwatch/embeds/found",
    "EMBEDS_FOLLOWED": "repostwatch/embeds/followed",
    "EMBEDS_REFUSED": "repostwatch/embeds/refused",
    "EMBEDS_CAPPED": "repostwatch/embeds/capped",
    "PREVIEWS_FOUND": "repostwatch/previews/found",
    "PREVIEWS_HASHED": "repostwatch/previews/hashed",
    "PREVIEWS_MATCHED_HINT": "repostwatch/previews/matched_hint",
    "PREVIEWS_CACHE_HITS": "repostwatch/previews/cache_hits",
    "SCRAPY_RESPONSE_BYTES": "downloader/response_bytes",
    "SCRAPY_ERRORS_LOGGED": "log_count/ERROR",
    "SCRAPY_FINISH_REASON": "finish_reason",
    "SCRAPY_ELAPSED": "elapsed_time_seconds",
}
#: The keys built from a reason, with the reason the README writes for them.
BUILT = {
    stats.media_hashed: ("image|video", "repostwatch/media/hashed/image|video"),
    stats.media_source: ("<source>", "repostwatch/media/source/<source>"),
    stats.media_skipped: ("<Error>", "repostwatch/media/skipped/<Error>"),
    stats.media_failed: ("<reason>", "repostwatch/media/failed/<reason>"),
    stats.refused: ("<IgnoreRequest>", "repostwatch/refused/<IgnoreRequest>"),
    stats.error: ("<kind>", "repostwatch/errors/<kind>"),
    stats.full_size: ("media_links", "repostwatch/full_size/media_links"),
    stats.browser_blocked: ("<type>", "repostwatch/browser/blocked/<type>"),
    stats.browser_proxy_refused: ("<reason>", "repostwatch/browser/proxy_refused/<reason>"),
    functools.partial(stats.video_stream, "hls"): ("<what>", "repostwatch/video/hls/<what>"),
    functools.partial(stats.video_stream, "dash"): ("<what>", "repostwatch/video/dash/<what>"),
}


def _constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(stats).items()
        if name.isupper() and isinstance(value, str) and name != "PREFIX"
    }


def test_every_key_is_spelled_as_stored_runs_have_it():
    assert _constants() == KNOWN
    for build, (reason, key) in BUILT.items():
        assert build(reason) == key


def test_own_keys_are_namespaced_and_named_back():
    assert stats.key("media/hashed") == stats.MEDIA_HASHED
    assert stats.name(stats.REFUSED_SCHEME) == "refused/scheme"
    assert stats.is_own(stats.PAGES) and not stats.is_own(stats.SCRAPY_RESPONSE_BYTES)
    assert stats.refused("max_pages") == stats.REFUSED_MAX_PAGES
    assert stats.media_failed("too_large").startswith(stats.MEDIA_FAILED_PREFIX)


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Crawl statistics\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has no '## Crawl statistics' section"
    return " ".join(section.group(1).split())


def test_the_readme_lists_every_key():
    listed = set(re.findall(r"`([^`]+)`", _readme_section()))
    own = [value for value in _constants().values() if stats.is_own(value)]
    own += [key for _, key in BUILT.values()]
    missing = [
        stats.name(key) for key in own if not key.endswith("/") and stats.name(key) not in listed
    ]
    assert not missing, f"README.md, Crawl statistics: add {missing}"


def test_the_readme_names_every_source_of_media_urls():
    from crawler.extraction import SOURCES

    listed = set(re.findall(r"`([^`]+)`", _readme_section()))
    assert "media/source/<source>" in listed
    missing = [source for source in SOURCES if source not in listed]
    assert not missing, f"README.md, Crawl statistics: name the sources {missing}"
