"""Site definitions stored in the database: each site's TOML text, its version, who saved it.

The database stores text and never validates it: ``crawler.sites`` parses and validates a
site's text before anything here saves it, and again whenever it is read (so a site saved under
an older release that no longer validates is reported, not crawled). Every save is a new
version, kept in ``site_versions``, and an audit log entry.

:class:`DatabaseSites` is the database as a source of sites for ``crawler.sites.load_sites`` and
``find_site``: the database is the one source of sites once it holds any; until then (no
database configured, one not migrated yet, or one with no site saved) the site files are read.

Functions take a Session; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from crawler.db import audit
from crawler.db.models import Site, SiteVersion, utcnow
from crawler.db.runs import ensure_site
from crawler.db.session import make_engine, make_sessionmaker

#: What the audit log calls a save of a site's definition.
SITE_SAVED = "site_saved"


class SiteVersionConflict(RuntimeError):
    """The site was saved by someone else since the version the caller started from."""

    def __init__(self, name: str, expected: int, current: StoredSite):
        self.name = name
        self.expected = expected
        self.current = current
        super().__init__(
            f"site {name!r} was changed to version {current.version} by {current.updated_by} "
            f"since version {expected} was opened; open it again and redo the change"
        )


@dataclass(frozen=True, slots=True)
class StoredSite:
    name: str
    toml: str
    version: int
    updated_at: datetime | None
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class SavedSite:
    name: str
    version: int
    #: False when the text was the same as the stored one (nothing saved, no new version).
    changed: bool


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stored(row: Site) -> StoredSite:
    assert row.toml is not None
    return StoredSite(row.name, row.toml, row.version, row.updated_at, row.updated_by)


def stored_sites(session: Session) -> list[StoredSite]:
    """Every site with a stored definition, sorted by name."""
    rows = session.execute(select(Site).where(Site.toml.is_not(None)).order_by(Site.name))
    return [_stored(row) for row in rows.scalars()]


def stored_site(session: Session, name: str) -> StoredSite | None:
    """The site called ``name``, or None when the database has no definition of it."""
    row = session.execute(
        select(Site).where(Site.name == name, Site.toml.is_not(None))
    ).scalar_one_or_none()
    return None if row is None else _stored(row)


def site_version(session: Session, name: str, version: int) -> str | None:
    """The TOML text of version ``version`` of the site called ``name``, or None."""
    return session.execute(
        select(SiteVersion.toml)
        .join(Site, Site.id == SiteVersion.site_id)
        .where(Site.name == name, SiteVersion.version == version)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    saved_at: datetime
    saved_by: str


def site_history(session: Session, name: str) -> list[VersionView]:
    """Every saved version of the site called ``name``, newest first."""
    rows = session.execute(
        select(SiteVersion.version, SiteVersion.saved_at, SiteVersion.saved_by)
        .join(Site, Site.id == SiteVersion.site_id)
        .where(Site.name == name)
        .order_by(SiteVersion.version.desc())
    )
    return [VersionView(*row) for row in rows]


def save_site(
    session: Session,
    name: str,
    toml: str,
    *,
    by: str,
    expected_version: int | None = None,
    user_id: int | None = None,
    os_user: str | None = None,
    ip: str | None = None,
    via: str,
    only_if_absent: bool = False,
) -> SavedSite:
    """Store ``toml`` (already validated by ``crawler.sites``) as the next version of site
    ``name``, audited; the same text as the stored one saves nothing.

    ``expected_version``: the version the caller's edit started from (0: a new site); another
    save in between raises :class:`SiteVersionConflict`. ``only_if_absent``: save only when the
    database has no definition of the site yet (what `db upgrade` does with the bundled files).
    """
    site_id = ensure_site(session, name)
    row = session.execute(select(Site).where(Site.id == site_id).with_for_update()).scalar_one()
    if row.toml is not None and only_if_absent:
        return SavedSite(name, row.version, changed=False)
    if expected_version is not None and expected_version != row.version:
        raise SiteVersionConflict(name, expected_version, _stored(row))
    if row.toml == toml:
        return SavedSite(name, row.version, changed=False)
    version = row.version + 1
    now = utcnow()
    # Guarded by the version read above: a concurrent save of the same version updates nothing.
    updated = session.execute(
        update(Site)
        .where(Site.id == site_id, Site.version == row.version)
        .values(toml=toml, version=version, updated_at=now, updated_by=by[:200])
    )
    if updated.rowcount != 1:
        session.expire(row)
        raise SiteVersionConflict(name, row.version, _stored(row))
    session.add(SiteVersion(site_id=site_id, version=version, toml=toml, saved_at=now, saved_by=by))
    audit.record(
        session,
        SITE_SAVED,
        user_id=user_id,
        username=by,
        target_type="site",
        target_id=name,
        details={"version": version, "sha256": _digest(toml), "via": via},
        ip=ip,
        os_user=os_user,
    )
    session.flush()
    return SavedSite(name, version, changed=True)


class DatabaseSites:
    """The database as the source of sites (``crawler.sites.SiteSource``).

    ``site_texts()`` is every stored site's text by name, or None while the database holds no
    site (or is not configured, or not migrated to this code's sites yet): then the site files
    of ``sites_dir`` are read. Each call asks the database again, so a site saved in the web app
    or by `sites import` applies to the next crawl and the scheduler's next pass.
    """

    description = "the database"

    def __init__(
        self,
        database_url: str,
        sites_dir: Path | str,
        *,
        sessions: sessionmaker[Session] | None = None,
    ):
        self.database_url = database_url
        self.sites_dir = sites_dir
        #: A process's own sessions (the web app's); without them each call connects afresh.
        self.sessions = sessions

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DatabaseSites:
        """From REPOSTWATCH_DATABASE_URL and REPOSTWATCH_SITES_DIR (the REPOSTWATCH_SITES_SOURCE
        setting names this)."""
        return cls(settings.get("REPOSTWATCH_DATABASE_URL"), settings.get("REPOSTWATCH_SITES_DIR"))

    def origin(self, name: str) -> str:
        """How errors name a stored site: ``database:NAME``."""
        return f"database:{name}"

    def site_texts(self) -> dict[str, str] | None:
        if self.sessions is not None:
            return self._texts(self.sessions)
        if not self.database_url or not _sqlite_file_exists(self.database_url):
            return None
        engine = make_engine(self.database_url, poolclass=NullPool)
        try:
            return self._texts(make_sessionmaker(engine))
        finally:
            engine.dispose()

    @staticmethod
    def _texts(sessions: sessionmaker[Session]) -> dict[str, str] | None:
        with sessions() as session:
            if not inspect(session.connection()).has_table("site_versions"):  # before 0021
                return None
            texts = {site.name: site.toml for site in stored_sites(session)}
        return texts or None


def _sqlite_file_exists(url: str) -> bool:
    """False for a SQLite URL whose file does not exist (no database made yet: connecting
    would create an empty file); True for every other URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database or ""
    return bool(database) and database != ":memory:" and Path(database).exists()
