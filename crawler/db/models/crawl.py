"""Monitored sites, their crawl runs, and the media cache that spares re-crawls a download."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import NAME_LENGTH, SHA256_HEX_LENGTH, Base, check_in, utcnow

RUN_STATUSES = ("running", "finished", "failed")


class Site(Base):
    """A monitored site: its name, and (once imported or edited) its definition.

    ``toml`` is the site's TOML document as validated by ``crawler.sites`` (the database stores
    text and never validates it); ``version`` counts its saves, and each saved text is kept in
    ``site_versions``. A site only crawled by a site file so far has no ``toml`` (version 0).
    """

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    toml: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))


class SiteVersion(Base):
    """One saved definition of a site (its TOML text), kept so that every edit can be read back."""

    __tablename__ = "site_versions"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    toml: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime]
    saved_by: Mapped[str] = mapped_column(String(NAME_LENGTH))


class CrawlRun(Base):
    """One crawl of one site, with the counters it finished with."""

    __tablename__ = "crawl_runs"
    __table_args__ = (CheckConstraint(check_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    finish_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    media: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    flags: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Every counter of the run as JSON: pages, media, cache hits, bytes, refusals by reason,
    # errors by kind, flags (the columns above are the ones worth querying).
    stats: Mapped[str | None] = mapped_column(Text)
    # Operations: who started the run ("schedule", "manual"; NULL: a local crawl),
    # when it was handed to scrapyd, and the scrapyd node (URL, no credentials) and job id.
    triggered_by: Mapped[str | None] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None]
    scrapyd_node: Mapped[str | None] = mapped_column(String(255))
    scrapyd_job: Mapped[str | None] = mapped_column(String(NAME_LENGTH))


class MediaCacheEntry(Base):
    """What a media URL held when it was last hashed, and the validators to ask if it changed.

    A re-crawl sends a conditional request (``If-None-Match`` / ``If-Modified-Since``, or a HEAD
    compared by length); when the media is unchanged its stored hashes are matched again without
    downloading or hashing it. Hashes only: the media itself is never stored.
    """

    __tablename__ = "media_cache"
    __table_args__ = (UniqueConstraint("url_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # sha256 hex of url
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    media_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    hashes: Mapped[str] = mapped_column(Text)  # JSON (MediaHashes.to_json), never a pickle
    hashed_at: Mapped[datetime]
    checked_at: Mapped[datetime]


MOVE_STATES = ("proposed", "adopted", "dismissed")
MOVE_KINDS = ("redirect", "successor")
#: Longest host name (RFC 1035).
DOMAIN_LENGTH = 253


class DomainMove(Base):
    """A site seen at another registrable domain: its pages redirected there (``redirect``), or
    every start URL died and one of its ``successor_urls`` answered (``successor``). Staff adopt
    it (the site's definition is rewritten to the new domain in a new version) or dismiss it."""

    __tablename__ = "domain_moves"
    __table_args__ = (
        UniqueConstraint("site_id", "old_domain", "new_domain"),
        CheckConstraint(check_in("state", MOVE_STATES), name="state"),
        CheckConstraint(check_in("kind", MOVE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    old_domain: Mapped[str] = mapped_column(String(DOMAIN_LENGTH))
    new_domain: Mapped[str] = mapped_column(String(DOMAIN_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    #: The URL seen on the new domain (a redirect's target, the successor URL that answered).
    new_url: Mapped[str] = mapped_column(Text)
    #: What was seen, in words: "GET https://old/ answered 301 to https://new/".
    evidence: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    first_seen_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(20), default="proposed")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    #: When the scheduler alerted it (None: not yet).
    alerted_at: Mapped[datetime | None]
