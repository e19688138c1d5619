"""Redis memory of a distributed crawl: the dupefilter per million URLs, and the shared queue.

    python -m benchmarks.redis_memory [--urls 1000000] [--redis redis://127.0.0.1:6379/14]

Fills a key in a Redis database of its own (default: index 14 of the local server; nothing else
should live there) the way a distributed crawl does: the dupefilter is a set of scrapy-redis
fingerprints (40 hex digits of SHA-1), one per page request of the run; the queue a sorted set of
page requests as JSON (crawler.distributed.serializer, the encoding distributed crawls use).
Reports Redis's own ``MEMORY USAGE`` of each key (``SAMPLES 0``: every element counted) and
deletes them.
Prints a markdown table; takes ~1 minute for a million URLs.
"""

from __future__ import annotations

import argparse
import hashlib
import time
import uuid

import redis
from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter

from crawler.distributed import serializer

BATCH = 10_000


def url(i: int) -> str:
    """A URL of the length crawled pages have (~70 characters)."""
    return f"https://board.example.net/threads/{i // 40}/page-{i % 40}?sort=new&view={i:08d}"


def fill_dupefilter(client: redis.Redis, key: str, count: int) -> None:
    """Fingerprints in scrapy-redis's format (the one below is checked to be), made faster."""
    fingerprint = RFPDupeFilter(client, key).request_fingerprint(Request(url(0)))
    assert len(fingerprint) == 40 and int(fingerprint, 16) >= 0
    for start in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + BATCH, count)):
            pipe.sadd(key, hashlib.sha1(url(i).encode()).hexdigest())
        pipe.execute()


def fill_queue(client: redis.Redis, key: str, count: int) -> None:
    """Page requests as the scheduler queues them (callback by name, depth in meta)."""
    for start in range(0, count, BATCH):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + BATCH, count)):
            request = {
                "url": url(i),
                "callback": "parse",
                "errback": None,
                "headers": {b"Referer": [url(i - 1).encode()]},
                "method": "GET",
                "body": b"",
                "cookies": {},
                "meta": {"depth": 3},
                "encoding": "utf-8",
                "priority": 0,
                "dont_filter": False,
                "flags": [],
                "cb_kwargs": {},
            }
            pipe.zadd(key, {serializer.dumps(request): 0})
        pipe.execute()


def measure(client: redis.Redis, key: str, count: int, fill) -> tuple[int, float]:
    start = time.perf_counter()
    fill(client, key, count)
    seconds = time.perf_counter() - start
    used = client.memory_usage(key, samples=0)
    client.delete(key)
    return int(used), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=1_000_000, help="fingerprints to store")
    parser.add_argument(
        "--queued", type=int, default=100_000, help="requests to queue (scaled to a million)"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis URL")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis)
    info = client.info("server")
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    print(f"Redis {info['redis_version']} at {args.redis}\n", flush=True)
    rows = []
    for label, count, fill in (
        ("dupefilter (set of fingerprints)", args.urls, fill_dupefilter),
        ("queue (sorted set of JSON requests)", args.queued, fill_queue),
    ):
        used, seconds = measure(client, f"{prefix}:{label.split()[0]}", count, fill)
        per_url = used / count
        rows.append((label, count, used, per_url, per_url * 1_000_000 / 2**20, count / seconds))
        print(f"  {label}: {count:,} in {seconds:.1f} s", flush=True)
    print("\n| key | entries | MEMORY USAGE | bytes per URL | MiB per million URLs |")
    print("|---|---|---|---|---|")
    for label, count, used, per_url, mib, _ in rows:
        print(f"| {label} | {count:,} | {used / 2**20:.1f} MiB | {per_url:.0f} | {mib:.0f} |")


if __name__ == "__main__":
    main()
