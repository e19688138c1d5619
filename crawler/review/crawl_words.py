"""The crawl's codes as staff read them: why requests were refused (``robots_txt``,
``private_network`` ...: the ``refused/<reason>`` stats), what kind of error a request or a
media file met (``http_503``, ``DNSLookupError``, ``media: too_large``), and why a crawl run
ended (Scrapy's finish reasons, ``finished``, ``closespider_timeout`` ..., RepostWatch's own,
and the scheduler's and the check runner's sentences, read back into their templates).

Each is a label in the user's language; the code itself stays on the page (small, and as a
``title``) for the monitoring team, who search logs and stats by it. A code with no label is
shown as it is.
"""

from __future__ import annotations

import re

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from crawler.problems import Problem
from crawler.review.check_runner import NOT_STARTED
from crawler.scheduling.scheduler import REFUSALS

#: Requests not made on purpose, by the reason they are counted under (crawler/stats.py, the
#: link rules' traps in spiders/traps.py, the private-network guard in crawler/network.py).
REFUSAL_WORDS = {
    "robots_txt": _l("forbidden by robots.txt"),
    "private_network": _l("address on a private network"),
    "host_name": _l("host name that must not be reached (loopback, mDNS or single-label)"),
    "unresolvable": _l("host name that does not resolve"),
    "unknown_peer": _l("response from an unknown address"),
    "scheme": _l("not an http(s) address"),
    "max_pages": _l("over the site's page limit (follow.max_pages)"),
    "max_depth": _l("deeper than the site's link depth (follow.max_depth)"),
    "max_result_pages": _l("over the search's result page limit"),
    "domain_move": _l("redirect to another domain (proposed as a domain move)"),
    "unserializable": _l("request that cannot be queued for other workers"),
    "unreadable_queue_entry": _l("unreadable entry of the shared queue"),
    "url_too_long": _l("address too long (a crawler trap)"),
    "repeated_segments": _l("repeated path segments (a crawler trap)"),
    "calendar": _l("too many calendar pages (a crawler trap)"),
    "query_variants": _l("too many query variants of one page (a crawler trap)"),
    "IgnoreRequest": _l("dropped by the crawl's rules"),
}
#: Requests given up after their retries, and media that could not be fetched or hashed, by
#: kind (``http_<status>`` is said from its status).
ERROR_WORDS = {
    "retry_after_too_long": _l("the server asked to wait too long (Retry-After)"),
    "logged": _l("errors in the crawl's log"),
    "too_large": _l("file too large"),
    "download": _l("download failed"),
    "hasher_died": _l("hashing process died"),
    "hash_timeout": _l("hashing took too long"),
    "video_sampling": _l("video could not be sampled"),
    "refused": _l("refused"),
    "DNSLookupError": _l("host name does not resolve"),
    "CannotResolveHostError": _l("host name does not resolve"),
    "ConnectionRefusedError": _l("connection refused"),
    "DownloadConnectionRefusedError": _l("connection refused"),
    "TimeoutError": _l("no answer in time"),
    "TCPTimedOutError": _l("no answer in time"),
    "DownloadTimeoutError": _l("no answer in time"),
    "ConnectionLost": _l("connection broke off"),
    "ConnectionDone": _l("connection broke off"),
    "ResponseNeverReceived": _l("connection broke off"),
    "ResponseFailed": _l("connection broke off"),
    "ResponseDataLossError": _l("connection broke off"),
}
#: Why a crawl run ended: Scrapy's finish reasons (its closespider extension's included), and
#: those RepostWatch writes itself.
FINISH_WORDS = {
    "finished": _l("finished"),
    "shutdown": _l("stopped (the crawl process was asked to shut down)"),
    "cancelled": _l("cancelled"),
    "closespider_timeout": _l("stopped at its time limit"),
    "closespider_timeout_no_item": _l("stopped: nothing found for too long"),
    "closespider_pagecount": _l("stopped at its page limit"),
    "closespider_pagecount_no_item": _l("stopped: too many pages without anything found"),
    "closespider_itemcount": _l("stopped at its item limit"),
    "closespider_errorcount": _l("stopped after too many errors"),
    "no_page_crawled": _l("no page could be crawled"),
    "did not start": _l("did not start"),
    "browser_unavailable": _l("the browser (Chromium) could not be started"),
    "search_keywords_unavailable": _l("the search keywords could not be read"),
    "the check could not run (see its log)": _l("the check could not run (see its log)"),
    "closed by hand": _l("closed by hand"),
    "recreated for matches replayed from the spill file": _l(
        "recreated for matches replayed from the spill file"
    ),
}
_HTTP = re.compile(r"http_([0-9]{3})")
_MEDIA = "media: "


def refusal_word(code: str) -> str:
    """Why requests were refused, by their ``refused/<code>``, in the user's language."""
    return str(REFUSAL_WORDS.get(code, code))


def error_word(kind: str) -> str:
    """A kind of error (``http_503``, ``DNSLookupError``, ``media: too_large``) in the user's
    language."""
    if kind.startswith(_MEDIA):
        return gettext("media: %(kind)s", kind=error_word(kind.removeprefix(_MEDIA)))
    found = _HTTP.fullmatch(kind)
    if found:
        return gettext("HTTP %(status)s", status=found.group(1))
    return str(ERROR_WORDS.get(kind, kind))


def finish_problem(reason: str) -> Problem | None:
    """A finish reason (or a refusal) that the scheduler or the check runner wrote, read back
    into its Problem, or None."""
    return Problem.parse(reason, (*REFUSALS, *NOT_STARTED))


def finish_word(reason: str | None) -> str:
    """Why a run ended (or why a crawl was refused) in the user's language: a known code's
    label, a known sentence translated, anything else as it is."""
    if not reason:
        return ""
    if reason in FINISH_WORDS:
        return str(FINISH_WORDS[reason])
    found = finish_problem(reason)
    return reason if found is None else found.translated(gettext)


def is_code(text: str | None) -> bool:
    """Whether ``text`` is a code worth showing beside its label (not a sentence)."""
    return bool(text) and " " not in text.strip()
