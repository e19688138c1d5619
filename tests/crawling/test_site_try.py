"""The try's worker (crawler/crawling/site_try.py): why a start page was not read is said as a
template the web app translates, and comes back from the worker's JSON answer as one."""

from __future__ import annotations

import json

from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError
from twisted.python.failure import Failure

from crawler.crawling.middlewares.private_network import PrivateNetworkRefused
from crawler.crawling.middlewares.retries import PageUnreachable
from crawler.crawling.site_try import _failed, _why
from crawler.problems import Problem
from crawler.sites.trying import TryResult

URL = "http://127.0.0.1:9/"


def _unreachable(cause: Exception) -> Failure:
    """What the retry middleware raises once a page's retries are spent."""
    try:
        try:
            raise cause
        except type(cause):
            raise PageUnreachable(str(cause)) from None
    except PageUnreachable as exc:
        return Failure(exc)


def test_why_a_start_page_was_not_read_is_a_template_with_the_errors_own_words():
    cause = ConnectionRefusedError("111: Connection refused")
    refused = _why(_unreachable(cause), URL)
    assert refused.template == "the server refused the connection (%(detail)s)"
    assert refused == f"the server refused the connection ({cause})"
    unknown = _why(Failure(DNSLookupError("no results for nowhere.invalid")), URL)
    assert unknown.template == "the host name does not resolve (%(detail)s)"
    http = _why(Failure(HttpError(Response(URL, status=404), "Ignoring non-200")), URL)
    assert (http, http.params) == ("HTTP 404", {"status": 404})
    private = _why(Failure(PrivateNetworkRefused(f"{URL}: 10.0.0.1 is private")), URL)
    assert private == "refused by the private-network guard: 10.0.0.1 is private"
    assert _why(Failure(RuntimeError("odd")), URL) == "odd"  # no known kind: its own words


def test_the_workers_answer_keeps_the_template_for_the_web_app():
    why = _why(_unreachable(ConnectionRefusedError("111: Connection refused")), URL)
    answer = {"site": "board", "pages": [], "refused": {}, "finish_reason": "finished"}
    answer["failed"] = [_failed(URL, why), _failed("http://other.example/", "odd")]
    result = TryResult.from_worker(json.loads(json.dumps(answer)), [])
    (url, came_back), (_, plain) = result.failed
    assert (url, came_back, plain) == (URL, why, "odd")
    assert isinstance(came_back, Problem) and came_back.template == why.template
    assert came_back.translated("<%s>".__mod__).startswith("<the server refused the connection")
