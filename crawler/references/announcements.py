"""Announce reference changes to running crawls through Redis (publish/subscribe).

Whatever adds, re-adds or withdraws references (``refs add``, ``refs import``, ``refs withdraw``,
``cases close`` and the review app's case closing, the demo) calls :func:`announce_change` after its
transaction has committed; every running crawl, on any machine, listens with
:func:`wait_for_announcements` and polls the database at once
(:mod:`crawler.crawling.live_references`). Without Redis nothing is announced and crawls see the
change at their next regular poll. Only the word "changed" travels: crawls read the change from the
database. Imports neither Scrapy nor hashing, so the review app may use it.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

#: The Redis channel on which reference changes are announced.
CHANNEL = "repostwatch:references"


def announce_change(redis_url: str | None) -> bool:
    """Tell running crawls (through Redis, when configured) that references changed.

    Returns False when there is no Redis or it cannot be reached: crawls then see the change at
    their next regular poll, so this never fails the command that changed the references.
    """
    if not redis_url:
        return False
    import redis

    try:
        with redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5) as client:
            client.publish(CHANNEL, "changed")
    except redis.RedisError as exc:
        logger.warning("Could not announce the reference change through Redis: %s", exc)
        return False
    return True


async def wait_for_announcements(redis_url: str, on_change) -> None:
    """Call ``on_change()`` for every announcement on :data:`CHANNEL` (runs until cancelled;
    reconnects after errors)."""
    import asyncio

    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    while True:
        client = aioredis.Redis.from_url(redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        on_change()
        except (RedisError, OSError) as exc:
            logger.warning("Redis announcements unavailable (%s); retrying in 5 s", exc)
            await asyncio.sleep(5)
        finally:
            await client.aclose()
