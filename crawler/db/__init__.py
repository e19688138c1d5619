"""The database: typed models, sessions, migrations and the queries the rest of RepostWatch uses.

Algorithms are plain strings ("sha256", "md5", "phash", "pdq") and hashes lowercase hex; nothing
here imports Scrapy, Flask or the hashing code. Query functions take a Session and return frozen
dataclasses; the caller commits.
"""

from crawler.db.flags import (
    DECISIONS,
    FlagNotFound,
    FlagView,
    RecordResult,
    count_flags,
    decide,
    get_flag,
    list_flags,
    record_match,
    url_key,
)
from crawler.db.migrate import current_revision, head_revision, upgrade
from crawler.db.references import (
    AddResult,
    ImportRow,
    NewHash,
    ReferenceRow,
    ReferenceVideoRow,
    VideoFrame,
    add_reference_hashes,
    add_reference_video,
    count_references,
    export_hashes,
    get_or_create_case,
    import_hashes,
    load_reference_videos,
    load_references,
)
from crawler.db.runs import (
    RunNotFound,
    RunView,
    ensure_site,
    finish_run,
    get_run,
    list_runs,
    start_run,
)
from crawler.db.session import (
    DEFAULT_DATABASE_URL,
    DatabaseUnavailable,
    DatabaseURLError,
    check_connection,
    make_engine,
    make_sessionmaker,
)

__all__ = [
    "DECISIONS",
    "DEFAULT_DATABASE_URL",
    "AddResult",
    "DatabaseURLError",
    "DatabaseUnavailable",
    "FlagNotFound",
    "FlagView",
    "ImportRow",
    "NewHash",
    "RecordResult",
    "ReferenceRow",
    "ReferenceVideoRow",
    "RunNotFound",
    "RunView",
    "VideoFrame",
    "add_reference_hashes",
    "add_reference_video",
    "check_connection",
    "count_flags",
    "count_references",
    "current_revision",
    "decide",
    "ensure_site",
    "export_hashes",
    "finish_run",
    "get_flag",
    "get_or_create_case",
    "get_run",
    "head_revision",
    "import_hashes",
    "list_flags",
    "list_runs",
    "load_reference_videos",
    "load_references",
    "make_engine",
    "make_sessionmaker",
    "record_match",
    "start_run",
    "upgrade",
    "url_key",
]
