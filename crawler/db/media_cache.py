"""The media cache in the database: validators and hashes per media URL (never the media).

Functions take a Session; the caller commits. The hashes are JSON text produced by the hashing
code; this module stores and returns it without reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.flags import url_key
from crawler.db.models import MediaCacheEntry, utcnow
from crawler.db.session import dialect_insert


@dataclass(frozen=True, slots=True)
class CachedMedia:
    url: str
    etag: str | None
    last_modified: str | None
    content_length: int | None
    media_sha256: str
    hashes: str  # JSON
    hashed_at: datetime


def get_cached_media(session: Session, url: str) -> CachedMedia | None:
    row = session.execute(
        select(
            MediaCacheEntry.url,
            MediaCacheEntry.etag,
            MediaCacheEntry.last_modified,
            MediaCacheEntry.content_length,
            MediaCacheEntry.media_sha256,
            MediaCacheEntry.hashes,
            MediaCacheEntry.hashed_at,
        ).where(MediaCacheEntry.url_key == url_key(url))
    ).one_or_none()
    return CachedMedia(*row) if row is not None else None


def put_cached_media(
    session: Session,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    content_length: int | None,
    media_sha256: str,
    hashes: str,
) -> None:
    """Insert or replace the entry of ``url`` (the newest download wins)."""
    now = utcnow()
    values = {
        "url": url,
        "etag": etag,
        "last_modified": last_modified,
        "content_length": content_length,
        "media_sha256": media_sha256,
        "hashes": hashes,
        "hashed_at": now,
        "checked_at": now,
    }
    insert = dialect_insert(session, MediaCacheEntry).values(url_key=url_key(url), **values)
    session.execute(
        insert.on_conflict_do_update(index_elements=[MediaCacheEntry.url_key], set_=values)
    )


def touch_cached_media(session: Session, url: str) -> None:
    """Record that ``url`` was found unchanged just now."""
    entry = session.execute(
        select(MediaCacheEntry).where(MediaCacheEntry.url_key == url_key(url))
    ).scalar_one_or_none()
    if entry is not None:
        entry.checked_at = utcnow()
