"""Typed SQLAlchemy 2 models: cases, reference hashes, sites, crawl runs, flags and sightings,
staff, the audit log and notes on flags, takedown notices, schedules, digests of new flags;
one module per area.

Victim media is never stored: a reference is an algorithm name and lowercase hex digits. Every
uniqueness rule lives in a database constraint so that several crawler processes can write at once
with upserts. The schema itself is created by the Alembic migrations, never by ``create_all``.
Importing this package registers every table on ``Base.metadata`` (Alembic compares against it).
"""

from crawler.db.models.base import (
    ALGORITHM_LENGTH,
    HASH_LENGTH,
    KEYWORD_LENGTH,
    NAME_LENGTH,
    NAMING_CONVENTION,
    SHA256_HEX_LENGTH,
    Base,
    UTCDateTime,
    utcnow,
)
from crawler.db.models.crawl import (
    MOVE_KINDS,
    MOVE_STATES,
    RUN_STATUSES,
    CrawlRun,
    DomainMove,
    MediaCacheEntry,
    Site,
    SiteVersion,
)
from crawler.db.models.digests import (
    DIGEST_CHANNELS,
    DIGEST_MIN_MINUTES,
    DigestDelivery,
    DigestSubscription,
)
from crawler.db.models.flags import FLAG_STATUSES, Flag, MediaSighting
from crawler.db.models.notices import (
    NOTICE_STATUSES,
    RECHECK_OUTCOMES,
    Notice,
    NoticeItem,
    RecheckObservation,
)
from crawler.db.models.references import (
    CASE_NOTE_LENGTH,
    REFERENCE_SOURCES,
    Case,
    CaseKeyword,
    CaseNote,
    KeywordVariantRejection,
    ReferenceHash,
    ReferenceThumbnail,
    ReferenceVideo,
    ReferenceVideoFrame,
    ReferenceVideoMiddle,
)
from crawler.db.models.review import (
    NOTE_LENGTH,
    STAFF_LOCALES,
    USER_ROLES,
    AuditEntry,
    Evidence,
    FlagNote,
    User,
)
from crawler.db.models.schedules import HEALTH_STATES, SiteHealth, SiteSchedule

__all__ = [
    "ALGORITHM_LENGTH",
    "CASE_NOTE_LENGTH",
    "DIGEST_CHANNELS",
    "DIGEST_MIN_MINUTES",
    "FLAG_STATUSES",
    "HASH_LENGTH",
    "HEALTH_STATES",
    "KEYWORD_LENGTH",
    "MOVE_KINDS",
    "MOVE_STATES",
    "NAME_LENGTH",
    "NAMING_CONVENTION",
    "NOTE_LENGTH",
    "NOTICE_STATUSES",
    "RECHECK_OUTCOMES",
    "REFERENCE_SOURCES",
    "RUN_STATUSES",
    "SHA256_HEX_LENGTH",
    "STAFF_LOCALES",
    "USER_ROLES",
    "AuditEntry",
    "Base",
    "Case",
    "CaseKeyword",
    "CaseNote",
    "CrawlRun",
    "DigestDelivery",
    "DigestSubscription",
    "DomainMove",
    "Evidence",
    "Flag",
    "FlagNote",
    "KeywordVariantRejection",
    "MediaCacheEntry",
    "MediaSighting",
    "Notice",
    "NoticeItem",
    "RecheckObservation",
    "ReferenceHash",
    "ReferenceThumbnail",
    "ReferenceVideo",
    "ReferenceVideoFrame",
    "ReferenceVideoMiddle",
    "Site",
    "SiteHealth",
    "SiteSchedule",
    "SiteVersion",
    "UTCDateTime",
    "User",
    "utcnow",
]
