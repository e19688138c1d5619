"""What a distributed crawl changes: the scrapy-redis scheduler and dupefilter, on Redis.

Applied on top of the project settings by the add-on ``crawler.distributed.DistributedCrawl``
when ``REPOSTWATCH_DISTRIBUTED`` is on (``repostwatch crawl SITE --distributed``, ``scrapy crawl
site -a site=NAME -s REPOSTWATCH_DISTRIBUTED=1 -s REPOSTWATCH_RUN_ID=N``, or the environment
variable); read by dotted path, never imported. It holds only what changes, so it is not a
``SCRAPY_SETTINGS_MODULE`` of its own: turn distributed crawls on with the switch instead.

Redis is ``REPOSTWATCH_REDIS_URL`` (one source for the media cache, live reference updates and
the shared queue): ``redis://:PASSWORD@host:6379/0``, or ``rediss://`` for TLS with, if needed,
``?ssl_ca_certs=/path/ca.pem``. The queue holds requests as JSON (never pickle, so whoever can
write to the Redis cannot run code in a worker); the Redis must still be private to the crawlers
and password-protected, as it decides what they fetch (README "Distributed crawling").
"""

#: The scrapy-redis scheduler, with keys of its own per crawl run, a worker registry, the site's
#: max_pages shared by every worker, and no flush when one worker closes (its keys expire).
SCHEDULER = "crawler.distributed.scheduler.RunScheduler"
#: How queued requests are written to Redis: JSON with tagged bytes, tuples, spiders functions
#: and scrapy-playwright page methods (crawler/distributed/serializer.py), not scrapy-redis's
#: default pickle; a request holding anything else is refused with an error, never half-queued.
SCHEDULER_SERIALIZER = "crawler.distributed.serializer"
#: Never block the reactor waiting on the queue: an idle worker checks the run's worker
#: registry instead and closes only when no living worker can queue anything more.
SCHEDULER_IDLE_BEFORE_CLOSE = 0
#: Connection options on top of the URL (redis-py keywords), e.g. client certificates for TLS:
#: {"ssl_certfile": "...", "ssl_keyfile": "..."}. The scheduler calls Redis on the reactor
#: thread, so a Redis that stops answering (a network partition, a half-open connection) stops
#: the whole worker for as long as a call waits: 5 s at most (it was a minute: 30 s, twice).
#: A call that timed out is never sent again (Redis may have run it: taking a request from the
#: queue twice, the worker would hold one it never got, and lose it); a connection found broken
#: is retried once, at once (crawler.distributed.redis_client). The scheduler waits out a
#: longer outage itself.
REDIS_PARAMS = {
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    "retry_on_timeout": False,
    "health_check_interval": 30,
}
