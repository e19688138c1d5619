"""What `repostwatch status` shows, collected by one call: the scrapyd nodes and their jobs,
Redis, the database and its revision, the flags pending review, the re-checks and notice
reminders due, every site's next crawl and search crawl (crawler/scheduling/outlook.py) and the
unhealthy sites.

Collection goes in that order and stops where what follows cannot be read: at a setting that
cannot be used (``stopped``: the site files), or at a database that is unreachable or not at this
code's revision. Scrapyd URLs that cannot be used (no credentials, not http) are a problem of
their own (``nodes_error``): Redis, the database and the rest are still read. What was collected
up to there is in the :class:`Status`; the CLI prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import redis

from crawler import db
from crawler.db import migrate, schedules
from crawler.db import notices as db_notices
from crawler.db import rechecks as db_rechecks
from crawler.db.models import utcnow
from crawler.db.schedules import HealthState
from crawler.db.session import redact_url, refuse_missing_sqlite_file
from crawler.problems import Problem
from crawler.scheduling.outlook import Outlook, read_outlooks, site_configs
from crawler.scheduling.scrapyd import ScrapydClient, ScrapydError, parse_nodes
from crawler.sites import SiteConfigError, Sites

#: Seconds a scrapyd node, and Redis, may take to answer before it counts as down.
NODE_TIMEOUT = 5
REDIS_TIMEOUT = 3


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A scrapyd node: its load and this project's jobs, or why it did not answer."""

    name: str
    error: str | None = None  # None: the node is up
    running: int = 0
    pending: int = 0
    running_jobs: tuple[str, ...] = ()
    pending_jobs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RedisStatus:
    """Redis (REPOSTWATCH_REDIS_URL): whether it answers."""

    url: str  # the password hidden; "" when REPOSTWATCH_REDIS_URL is not set
    problem: str | None = None  # None: reachable (or not configured)


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    """The database: whether it answers, and its revision against this code's."""

    url: str  # the password hidden
    error: str | None = None  # the database did not answer
    revision: str | None = None  # None: no tables yet
    head: str | None = None  # the revision this code needs

    @property
    def ready(self) -> bool:
        """Reachable and migrated to this code's revision."""
        return self.error is None and self.revision == self.head


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits for people or for the scheduler's upkeep."""

    pending_flags: int
    rechecks_due: int  # confirmed flags not checked for recheck_hours
    recheck_hours: float
    reminders_due: int  # sent notices whose reminder is due
    reminders_sent: bool  # whether the scheduler sends them (REPOSTWATCH_SMTP_URL is set)


@dataclass(frozen=True, slots=True)
class SpillStatus:
    """Matches waiting in the crawl's spill file, and lines set aside for good beside it."""

    path: str
    pending: int
    quarantined: int  # lines in <spill file>.rejected, each with its reason

    @property
    def quarantine_path(self) -> str:
        return self.path + ".rejected"


@dataclass
class Status:
    """Everything `repostwatch status` prints; a part left None was not reached."""

    at: datetime
    nodes: list[NodeStatus] = field(default_factory=list)
    redis: RedisStatus | None = None
    database: DatabaseStatus | None = None
    spill: SpillStatus | None = None
    backlog: Backlog | None = None
    sites: list[Outlook] = field(default_factory=list)  # by name
    unhealthy: list[HealthState] = field(default_factory=list)  # by site
    #: A setting that cannot be used, which stopped the collection (what is above was collected).
    stopped: str | None = None
    #: Why REPOSTWATCH_SCRAPYD_URLS cannot be used (no node was asked); the rest is collected.
    nodes_error: str | None = None

    @property
    def problems(self) -> list[str]:
        """The services that did not answer: scrapyd nodes, Redis, the database."""
        found = [f"scrapyd nodes: {self.nodes_error}"] if self.nodes_error else []
        found += [f"scrapyd node {node.name}: {node.error}" for node in self.nodes if node.error]
        if self.redis is not None and self.redis.problem:
            found.append(f"Redis {self.redis.url}: {self.redis.problem}")
        if self.database is not None and self.database.error:
            found.append(f"database {self.database.url}: {self.database.error}")
        return found


def collect_status(
    *,
    scrapyd_urls: str,
    scrapyd_project: str,
    redis_url: str,
    database_url: str,
    spill_file: str,
    sites: Sites,
    recheck_hours: float,
    reminders_sent: bool,
    now: datetime | None = None,
) -> Status:
    """Ask every service and read the database for what `repostwatch status` shows (the
    settings of the same names; ``reminders_sent``: REPOSTWATCH_SMTP_URL is set)."""
    status = Status(at=now or utcnow(), spill=_spill(spill_file))
    try:
        nodes = parse_nodes(scrapyd_urls)
    except ValueError as exc:
        status.nodes_error, nodes = _reason(exc), []
    status.nodes = [
        _node(ScrapydClient(node, scrapyd_project, timeout=NODE_TIMEOUT)) for node in nodes
    ]
    status.redis = _redis(redis_url)
    status.database = _database(database_url)
    if not status.database.ready:
        return status
    try:
        configs = site_configs(sites)
    except SiteConfigError as exc:
        status.stopped = str(exc)
        return status
    engine = db.make_engine(database_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            checked_before = status.at - timedelta(hours=recheck_hours)
            status.backlog = Backlog(
                pending_flags=db.count_flags(session, status="pending"),
                rechecks_due=len(db_rechecks.check_targets(session, checked_before=checked_before)),
                recheck_hours=recheck_hours,
                reminders_due=len(db_notices.resend_due(session, status.at)),
                reminders_sent=reminders_sent,
            )
            status.sites = read_outlooks(session, configs, status.at)
            health = schedules.health_states(session)
    finally:
        engine.dispose()
    unhealthy = (item for item in health.values() if item.state == "unhealthy")
    status.unhealthy = sorted(unhealthy, key=lambda item: item.site)
    return status


def _reason(error: Exception) -> str:
    """Why a service cannot be used: the Problem it was raised with (its English text, which
    the CLI says in the chosen language), else ``str()`` of the error."""
    if len(error.args) == 1 and isinstance(error.args[0], Problem):
        return error.args[0]
    return str(error)


def _node(client: ScrapydClient) -> NodeStatus:
    try:
        load = client.daemon_status()
        jobs = client.list_jobs()
    except ScrapydError as exc:
        return NodeStatus(client.name, error=_reason(exc))
    return NodeStatus(
        client.name,
        running=load["running"],
        pending=load["pending"],
        running_jobs=tuple(job["id"] for job in jobs.running),
        pending_jobs=tuple(job["id"] for job in jobs.pending),
    )


def _redis(url: str) -> RedisStatus:
    if not url:
        return RedisStatus("")
    try:
        with redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        ) as client:
            client.ping()
    except (redis.RedisError, ValueError) as exc:
        return RedisStatus(redact_url(url), f"UNREACHABLE: {exc}")
    return RedisStatus(redact_url(url))


def _spill(path: str) -> SpillStatus:
    """The spill file's lines and its quarantine's (whatever their content: a cut line counts)."""
    return SpillStatus(path, _lines(Path(path)), _lines(Path(path + ".rejected")))


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0


def _database(url: str) -> DatabaseStatus:
    try:
        refuse_missing_sqlite_file(url)
        current = migrate.current_revision(url)
    except (db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        return DatabaseStatus(redact_url(url), error=str(exc))
    return DatabaseStatus(redact_url(url), revision=current, head=migrate.head_revision())
