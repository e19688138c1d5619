"""Sites and crawl runs: a run is opened when a crawl starts and closed with its counters.

Functions take a Session; the caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crawler.db.models import RUN_STATUSES, CrawlRun, Site, utcnow
from crawler.db.session import dialect_insert
from crawler.problems import N_, Problem

FINISHED_STATUSES = tuple(status for status in RUN_STATUSES if status != "running")
#: The trigger of a manual URL check's run (`repostwatch check`, the web app's check form): a
#: few pages found by hand, never judged for the site's health.
CHECK_TRIGGER = "check"


class RunNotFound(LookupError):
    """No crawl run has the id asked for."""


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    site: str
    site_id: int
    status: str
    finish_reason: str | None
    started_at: datetime
    finished_at: datetime | None
    pages: int
    media: int
    bytes: int
    errors: int
    flags: int
    stats: str | None = None  # JSON: the crawl's counters by name (refusals, errors, cache ...)


def ensure_site(session: Session, name: str) -> int:
    """The id of the site called ``name``, creating it if needed (safe under concurrency)."""
    name = name.strip()
    if not name:
        raise ValueError("a site needs a name")
    insert = dialect_insert(session, Site).values(name=name, created_at=utcnow())
    session.execute(insert.on_conflict_do_nothing(index_elements=[Site.name]))
    return session.execute(select(Site.id).where(Site.name == name)).scalar_one()


def site_names(session: Session) -> list[str]:
    """The name of every site the database knows (crawled once at least), sorted."""
    return sorted(session.execute(select(Site.name)).scalars())


def start_run(session: Session, site_name: str, *, triggered_by: str | None = None) -> int:
    """Open a run for ``site_name`` (the site is created if new) and return its id;
    ``triggered_by`` says who opened it (None: a local crawl)."""
    run = CrawlRun(
        site_id=ensure_site(session, site_name),
        status="running",
        started_at=utcnow(),
        triggered_by=triggered_by,
    )
    session.add(run)
    session.flush()
    return run.id


def join_run(session: Session, run_id: int, site_name: str) -> int:
    """Check that run ``run_id`` was opened for ``site_name`` and is running; its site id.

    A crawl started by someone who opened the run first (the scheduler, before it hands the job
    to scrapyd; the first of several distributed workers) joins that run instead of opening
    another, so that its flags and figures land on the run that was recorded.
    """
    row = session.execute(
        select(CrawlRun.status, CrawlRun.site_id, Site.name)
        .join(Site, CrawlRun.site_id == Site.id)
        .where(CrawlRun.id == run_id)
    ).one_or_none()
    if row is None:
        raise RunNotFound(
            Problem(
                N_("no crawl run with id %(run)s: REPOSTWATCH_RUN_ID names a run to join"),
                {"run": run_id},
            )
        )
    status, site_id, name = row
    if name != site_name.strip():
        raise ValueError(f"crawl run {run_id} is a run of site {name!r}, not of {site_name!r}")
    if status != "running":
        raise ValueError(f"crawl run {run_id} is already {status}: start a new run instead")
    return site_id


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    finish_reason: str | None,
    pages: int,
    media: int,
    bytes: int,
    errors: int,
    flags: int,
    stats: str | None = None,
) -> None:
    """Close a running run with its final counters; ``status`` is "finished" or "failed"."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FINISHED_STATUSES)}, not {status!r}")
    # One conditional UPDATE: of two processes finishing the same run, only one succeeds.
    closed = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(
            status=status,
            finish_reason=finish_reason,
            finished_at=utcnow(),
            pages=pages,
            media=media,
            bytes=bytes,
            errors=errors,
            flags=flags,
            stats=stats,
        )
        .returning(CrawlRun.id)
    ).first()
    if closed is None:
        current = session.execute(select(CrawlRun.status).where(CrawlRun.id == run_id)).scalar()
        if current is None:
            raise RunNotFound(Problem(N_("no crawl run with id %(run)s"), {"run": run_id}))
        raise ValueError(f"crawl run {run_id} is already {current}")


def record_progress(
    session: Session,
    run_id: int,
    *,
    pages: int,
    media: int,
    bytes: int,
    errors: int,
    flags: int,
    stats: str | None = None,
) -> bool:
    """A running run's figures so far (the crawl writes them every few seconds, so that its
    figures can be followed while it runs); False, changing nothing, once it is closed."""
    written = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(pages=pages, media=media, bytes=bytes, errors=errors, flags=flags, stats=stats)
        .returning(CrawlRun.id)
    ).first()
    return written is not None


def add_to_run(
    session: Session,
    run_id: int,
    *,
    pages: int,
    media: int,
    bytes: int,
    errors: int,
    flags: int,
    stats: str | None = None,
    unsummed: tuple[str, ...] = (),
) -> None:
    """Add one worker's figures to a running run that several workers share.

    A distributed crawl has one run and many workers: each adds its counters as it leaves (the
    columns are incremented, the JSON ``stats`` merged: numbers summed, except the keys named in
    ``unsummed``, which keep the largest value; text keeps the latest), and the last worker out
    closes the run with :func:`close_run`. The increment comes first so that it takes the row's
    write lock: two workers leaving at once are serialized, none of their figures is lost.
    """
    added = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(
            pages=CrawlRun.pages + pages,
            media=CrawlRun.media + media,
            bytes=CrawlRun.bytes + bytes,
            errors=CrawlRun.errors + errors,
            flags=CrawlRun.flags + flags,
        )
        .returning(CrawlRun.stats)
    ).first()
    if added is None:
        _not_running(session, run_id)
    if stats is not None:
        merged = _merge_stats(json.loads(added[0]) if added[0] else {}, json.loads(stats), unsummed)
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(stats=json.dumps(merged, sort_keys=True))
        )


def close_run(session: Session, run_id: int, *, status: str, finish_reason: str | None) -> bool:
    """Close a shared run (its figures were added by :func:`add_to_run`); False if it was not
    running any more (someone else closed it)."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FINISHED_STATUSES)}, not {status!r}")
    closed = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(status=status, finish_reason=finish_reason, finished_at=utcnow())
        .returning(CrawlRun.id)
    ).first()
    return closed is not None


def _merge_stats(old: dict, new: dict, unsummed: tuple[str, ...]) -> dict:
    merged = dict(old)
    for key, value in new.items():
        before = merged.get(key)
        numbers = isinstance(value, int | float) and isinstance(before, int | float)
        if numbers and key in unsummed:
            merged[key] = max(before, value)
        elif numbers:
            merged[key] = before + value
        else:
            merged[key] = value
    return merged


def _not_running(session: Session, run_id: int) -> NoReturn:
    current = session.execute(select(CrawlRun.status).where(CrawlRun.id == run_id)).scalar()
    if current is None:
        raise RunNotFound(Problem(N_("no crawl run with id %(run)s"), {"run": run_id}))
    raise ValueError(f"crawl run {run_id} is already {current}")


def get_run(session: Session, run_id: int) -> RunView:
    """One run; raises :class:`RunNotFound`."""
    row = session.execute(_runs().where(CrawlRun.id == run_id)).one_or_none()
    if row is None:
        raise RunNotFound(Problem(N_("no crawl run with id %(run)s"), {"run": run_id}))
    return RunView(*row)


def list_runs(session: Session, site: str | None = None, limit: int | None = 20) -> list[RunView]:
    """The newest runs first, of every site or of ``site``; ``limit=None`` for all."""
    query = _runs().order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)
    if site is not None:
        query = query.where(Site.name == site)
    return [RunView(*row) for row in session.execute(query)]


def _runs():
    return select(
        CrawlRun.id,
        Site.name,
        CrawlRun.site_id,
        CrawlRun.status,
        CrawlRun.finish_reason,
        CrawlRun.started_at,
        CrawlRun.finished_at,
        CrawlRun.pages,
        CrawlRun.media,
        CrawlRun.bytes,
        CrawlRun.errors,
        CrawlRun.flags,
        CrawlRun.stats,
    ).join(Site, CrawlRun.site_id == Site.id)
