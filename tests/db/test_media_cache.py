"""The media cache in the database on SQLite and PostgreSQL (crawler/db/media_cache.py).

Re-crawls through it are tested end to end in tests/crawling/test_media_download.py (on
PostgreSQL) and tests/crawling/test_end_to_end.py (whose crawl on SQLite fills it).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crawler.db.media_cache import get_cached_media, put_cached_media, touch_cached_media
from crawler.db.models import MediaCacheEntry, utcnow

URL = "https://repost.example/img/1.jpg"


def _put(session, **changes) -> None:
    values = {
        "etag": '"v1"',
        "last_modified": None,
        "content_length": None,
        "media_sha256": "a" * 64,
        "hashes": "{}",
    }
    put_cached_media(session, URL, **(values | changes))
    session.commit()


def _entry(session, url: str = URL) -> MediaCacheEntry:
    return session.execute(select(MediaCacheEntry).where(MediaCacheEntry.url == url)).scalar_one()


def test_an_entry_comes_back_as_it_was_put_with_an_aware_utc_time(session):
    assert get_cached_media(session, URL) is None
    before = utcnow()
    put_cached_media(
        session,
        URL,
        etag='"v1"',
        last_modified="Wed, 21 Oct 2026 07:28:00 GMT",
        content_length=6_000_000_000,  # past 32 bits
        media_sha256="a" * 64,
        hashes='{"pdq": "f"}',
    )
    session.commit()
    cached = get_cached_media(session, URL)
    assert (cached.url, cached.etag, cached.last_modified, cached.content_length) == (
        URL,
        '"v1"',
        "Wed, 21 Oct 2026 07:28:00 GMT",
        6_000_000_000,
    )
    assert (cached.media_sha256, cached.hashes) == ("a" * 64, '{"pdq": "f"}')
    assert cached.hashed_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= cached.hashed_at <= utcnow() + timedelta(seconds=1)
    assert get_cached_media(session, URL + "?other") is None


def test_putting_a_url_again_replaces_its_entry(session):
    _put(session)
    _entry(session).hashed_at = utcnow() - timedelta(days=8)
    session.commit()
    _put(session, etag='"v2"', content_length=10, media_sha256="b" * 64, hashes='{"x": 1}')
    session.expire_all()
    assert session.query(MediaCacheEntry).count() == 1
    cached = get_cached_media(session, URL)
    assert (cached.etag, cached.content_length, cached.media_sha256) == ('"v2"', 10, "b" * 64)
    assert cached.hashed_at > utcnow() - timedelta(minutes=1)  # hashed again just now


def test_touching_moves_only_the_check_time(session):
    _put(session)
    entry = _entry(session)
    entry.hashed_at = entry.checked_at = utcnow() - timedelta(days=3)
    session.commit()
    touch_cached_media(session, URL)
    touch_cached_media(session, URL + "?never-cached")  # nothing to touch: nothing happens
    session.commit()
    session.expire_all()
    entry = _entry(session)
    assert entry.checked_at > utcnow() - timedelta(minutes=1)
    assert entry.hashed_at < utcnow() - timedelta(days=2)
    assert session.query(MediaCacheEntry).count() == 1
