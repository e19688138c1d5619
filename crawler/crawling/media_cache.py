"""Where a crawl remembers the media it has hashed, so that re-crawls skip unchanged media.

Keyed by media URL, each entry holds the HTTP validators the server sent (ETag, Last-Modified,
length) and the media's hashes as JSON, never the media. In Redis when ``REPOSTWATCH_REDIS_URL``
is set (shared by every worker, entries expire), in the database otherwise. Both are called from
worker threads, never the reactor thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from crawler import db

#: Redis entries expire after this many seconds without being seen again.
REDIS_TTL = 90 * 24 * 3600
REDIS_PREFIX = "repostwatch:media:"


class MediaCache(Protocol):
    def get(self, url: str) -> db.CachedMedia | None: ...

    def put(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        content_length: int | None,
        media_sha256: str,
        hashes: str,
    ) -> None: ...

    def touch(self, url: str) -> None: ...


class DatabaseMediaCache:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def get(self, url: str) -> db.CachedMedia | None:
        with self.sessions() as session:
            return db.get_cached_media(session, url)

    def put(self, url: str, **entry) -> None:
        with self.sessions.begin() as session:
            db.put_cached_media(session, url, **entry)

    def touch(self, url: str) -> None:
        with self.sessions.begin() as session:
            db.touch_cached_media(session, url)


class RedisMediaCache:
    """One Redis hash per URL, ``repostwatch:media:<sha256 of the URL>``, expiring when unused."""

    def __init__(self, redis_url: str, ttl: int = REDIS_TTL):
        import redis

        # Timeouts: a Redis that stops answering (a half-open connection) must cost a cache
        # miss, not a crawl that waits for ever on a page's media.
        self.client = redis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
        )
        self.ttl = ttl

    def _key(self, url: str) -> str:
        return REDIS_PREFIX + db.url_key(url)

    def get(self, url: str) -> db.CachedMedia | None:
        entry = self.client.hgetall(self._key(url))
        if not entry or entry.get("url") != url:
            return None
        return db.CachedMedia(
            url=url,
            etag=entry.get("etag") or None,
            last_modified=entry.get("last_modified") or None,
            content_length=int(entry["content_length"]) if entry.get("content_length") else None,
            media_sha256=entry["media_sha256"],
            hashes=entry["hashes"],
            hashed_at=datetime.fromisoformat(entry["hashed_at"]),
        )

    def put(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        content_length: int | None,
        media_sha256: str,
        hashes: str,
    ) -> None:
        key = self._key(url)
        with self.client.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(
                key,
                mapping={
                    "url": url,
                    "etag": etag or "",
                    "last_modified": last_modified or "",
                    "content_length": "" if content_length is None else str(content_length),
                    "media_sha256": media_sha256,
                    "hashes": hashes,
                    "hashed_at": datetime.now(UTC).isoformat(),
                },
            )
            pipe.expire(key, self.ttl)
            pipe.execute()

    def touch(self, url: str) -> None:
        self.client.expire(self._key(url), self.ttl)


def media_cache(redis_url: str | None, sessions: sessionmaker[Session]) -> MediaCache:
    return RedisMediaCache(redis_url) if redis_url else DatabaseMediaCache(sessions)
