"""Queued requests of a distributed crawl as JSON (crawler/distributed/serializer.py), never pickle.

The requests are the ones our spiders make (a browser site's page, a search form, a full-size
link), written and read back as scrapy-redis does, and through the real Redis with the
scheduler a distributed crawl uses.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import uuid

import pytest
import redis
from scrapy import FormRequest, Request
from scrapy.settings import Settings
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.distributed import serializer
from crawler.distributed.scheduler import RunScheduler
from crawler.distributed.serializer import UnserializableRequest
from crawler.sites import parse_site
from spiders import browser
from spiders.search import KEYWORD, RESULT_PAGE
from spiders.site import SiteSpider

SITE = """
name = "js"
start_urls = ["http://127.0.0.1:8000/"]
render = "browser"
allow_private_network = true
[browser]
scroll = 3
click = "#enter"
[search]
url = "http://127.0.0.1:8000/search?q={query}"
"""


@pytest.fixture
def spider() -> SiteSpider:
    spider = SiteSpider(config=parse_site(SITE, "js.toml"))
    spider.browser_settle_seconds = 0.5
    return spider


def round_trip(request: Request, spider: SiteSpider) -> Request:
    data = serializer.dumps(request.to_dict(spider=spider))
    assert isinstance(data, bytes)
    json.loads(data)  # plain JSON, readable by anything
    return request_from_dict(serializer.loads(data), spider=spider)


def test_a_browser_page_request_comes_back_whole(spider):
    meta = spider._page_meta() | {KEYWORD: "하늘별", "depth": 2, "redirect_urls": ["http://a/"]}
    request = Request(
        "http://127.0.0.1:8000/page/1",
        callback=spider.parse,
        headers={"Referer": "http://127.0.0.1:8000/", "Accept": ["text/html", "*/*"]},
        meta=meta,
        cb_kwargs={"thumbnails": ("a.jpg", "b.jpg"), "raw": b"\x00\xff"},
        priority=-3,
        flags=["from-listing"],
    )
    copy = round_trip(request, spider)

    assert copy.url == request.url and copy.callback == spider.parse
    assert copy.headers == request.headers and copy.headers.getlist("Accept") == [
        b"text/html",
        b"*/*",
    ]
    assert (copy.priority, copy.flags) == (-3, ["from-listing"])
    assert copy.cb_kwargs == {"thumbnails": ("a.jpg", "b.jpg"), "raw": b"\x00\xff"}
    # The browser's meta: its callbacks are the same functions, its page method runs the same.
    assert copy.meta["playwright"] is True
    assert copy.meta["playwright_page_init_callback"] is browser.init_page
    (method,) = copy.meta["playwright_page_methods"]
    (original,) = meta["playwright_page_methods"]
    assert method.method is browser.prepare_page
    assert (method.args, method.kwargs, method.result) == (original.args, original.kwargs, None)
    assert copy.meta[browser.OPTIONS_KEY]["click"] == ["#enter"]
    plain = {k: v for k, v in meta.items() if k != "playwright_page_methods"}
    assert {k: v for k, v in copy.meta.items() if k != "playwright_page_methods"} == plain


def test_a_retried_browser_page_keeps_what_the_page_recorded(spider):
    # A retry is queued again with the meta the browser filled in (dont_filter).
    meta = spider._page_meta()
    meta["playwright_page_methods"][0].result = {"clicked": ["#enter"], "scrolls": 2}
    meta[browser.NETWORK_MEDIA_KEY] = ["http://127.0.0.1:8000/a.jpg"]
    meta |= {"retry_times": 1, "download_latency": 0.25, "download_slot": "127.0.0.1"}
    request = Request("http://127.0.0.1:8000/", callback=spider.parse, meta=meta, dont_filter=True)
    copy = round_trip(request, spider)
    assert copy.dont_filter and copy.meta["retry_times"] == 1
    assert browser.page_report(copy.meta) == browser.page_report(meta)


def test_a_search_form_post_comes_back_as_a_form_request(spider):
    request = FormRequest(
        "http://127.0.0.1:8000/search",
        formdata={"q": "하늘별", "board": "free"},
        callback=spider.parse,
        meta=spider._result_meta("하늘별", 1),
    )
    copy = round_trip(request, spider)
    assert type(copy) is FormRequest and copy.method == "POST"
    assert copy.body == request.body and b"%ED%95%98" in copy.body  # the keyword, URL-encoded
    assert (copy.meta[KEYWORD], copy.meta[RESULT_PAGE], copy.meta["depth_reset"]) == (
        "하늘별",
        1,
        True,
    )


def test_dicts_with_other_keys_and_the_tag_itself_come_back(spider):
    cb_kwargs = {"by_status": {404: "gone", 200: "ok"}, "odd": {"__rw__": "not a tag"}}
    copy = round_trip(Request("http://127.0.0.1:8000/", cb_kwargs=cb_kwargs), spider)
    assert copy.cb_kwargs == cb_kwargs


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (lambda page: None, "<lambda>"),
        (json.dumps, "function json.dumps: only top-level functions"),
        (os.getcwd, "builtin_function_or_method"),
        ({1, 2}, "a builtins.set"),
        (object(), "a builtins.object"),
        (math.nan, "not finite"),
    ],
)
def test_what_json_cannot_carry_is_refused_by_name(spider, value, named):
    request = Request("http://127.0.0.1:8000/", meta={"extra": [1, {"deep": value}]})
    with pytest.raises(UnserializableRequest) as refused:
        serializer.dumps(request.to_dict(spider=spider))
    message = str(refused.value)
    assert "request['meta']['extra'][1]['deep']" in message and named in message
    assert "Redis queue" in message


def test_a_pickled_request_in_the_queue_is_never_unpickled(spider):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch /tmp/should-never-exist",))

    with pytest.raises(UnserializableRequest, match="not JSON"):
        serializer.loads(pickle.dumps({"url": "http://127.0.0.1/", "x": Boom()}))


@pytest.mark.parametrize(
    ("entry", "refusal"),
    [
        ({"url": "u", "meta": {"f": {"__rw__": "function", "name": "os.system"}}}, "os.system"),
        (
            {
                "url": "u",
                "meta": {"f": {"__rw__": "function", "name": "crawler.db.migrate.upgrade"}},
            },
            "not in a module of spiders",
        ),
        (
            {"url": "u", "meta": {"f": {"__rw__": "function", "name": "spiders.browser.os"}}},
            "not a function",
        ),
        ({"url": "u", "_class": "subprocess.Popen"}, "subprocess.Popen"),
        ({"url": "u", "body": {"__rw__": "bytes", "b64": "***"}}, "malformed 'bytes'"),
        ({"url": "u", "meta": {"__rw__": "code"}}, "unknown tagged value 'code'"),
        ([1, 2], "not a request"),
    ],
)
def test_the_queue_builds_only_what_it_wrote(entry, refusal):
    with pytest.raises(UnserializableRequest, match=refusal):
        serializer.loads(json.dumps(entry))


def test_the_distributed_scheduler_queues_json_in_the_real_redis(spider, redis_url):
    prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
    settings = Settings()
    settings.setmodule("settings")
    settings.setmodule("settings.distributed")
    settings.setdict(
        {
            "REPOSTWATCH_REDIS_URL": redis_url,
            "REPOSTWATCH_RUN_ID": 7,
            "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
        }
    )
    ours = ("REPOSTWATCH_", "REDIS_", "SCHEDULER", "DUPEFILTER")  # get_crawler's own reactor
    project = {k: v for k, v in settings.copy_to_dict().items() if k.startswith(ours)}
    crawler = get_crawler(SiteSpider, project)
    crawler.spider = spider
    spider.crawler = crawler
    scheduler = RunScheduler.from_crawler(crawler)
    assert scheduler.serializer is serializer
    # scrapy-redis's own open (the queue), without the heartbeat that needs a running reactor.
    super(RunScheduler, scheduler).open(spider)
    scheduler.registry.join()
    try:
        page = Request("http://127.0.0.1:8000/", callback=spider.parse, meta=spider._page_meta())
        assert scheduler.enqueue_request(page)
        odd = Request("http://127.0.0.1:8000/odd", meta={"handle": object()})
        assert not scheduler.enqueue_request(odd)  # refused, with an error...
        assert crawler.stats.get_value("repostwatch/refused/unserializable") == 1
        assert not scheduler.df.request_seen(odd)  # ...and neither seen nor counted

        with redis.Redis.from_url(redis_url) as client:
            (raw,) = client.zrange(f"{prefix}:run:7:requests", 0, -1)
            assert json.loads(raw)["url"] == page.url  # JSON, not a pickle
            client.zadd(f"{prefix}:run:7:requests", {pickle.dumps({"url": "x"}): -10})
        assert scheduler.next_request() is None  # the pickle first (priority): dropped
        assert crawler.stats.get_value("repostwatch/refused/unreadable_queue_entry") == 1
        taken = scheduler.next_request()
        assert taken.url == page.url and taken.meta["playwright_page_init_callback"] is (
            browser.init_page
        )
    finally:
        scheduler.close("finished")
        with redis.Redis.from_url(redis_url) as client:
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)
