"""The scheduler: one pass hands due crawls to scrapyd, closes runs whose jobs vanished and
judges the health of runs that ended. ``repostwatch scheduler`` runs a pass every N seconds.

A crawl is handed over like this: a run is opened in the database (status "running", trigger,
scheduled time), the job is queued on the least-loaded scrapyd node (running + pending jobs) with
``setting=REPOSTWATCH_RUN_ID=<run>`` and ``jobid=<site>.<run>``, and the node and job id are
recorded on the run. The crawl joins that run and closes it when it ends. A search crawl
(``search_every`` / ``search_cron``) is handed over the same way with the spider argument
``search=1`` and trigger "schedule-search": its keywords (victims' names) are never job arguments,
which scrapyd keeps in its job storage and logs; the crawl reads them from the database itself
(crawler/crawling/extensions/search_keywords.py). The search schedule keeps no state of its own: it
counts from the site's last run triggered "schedule-search". A site is never crawled twice at once:
it is skipped while it has a running run in the database or a live scrapyd job. A run whose job
never reached scrapyd, or is no longer on its node while the run is still open, is closed as failed,
so that it does not block the site forever. Whether a site is due, paused or disabled is the
rule of crawler/scheduling/outlook.py, which `crawls list` and `status` show.

Each pass also starts a round of takedown upkeep (removal re-checks, notice reminders) in a
worker thread (crawler/scheduling/upkeep.py), off the path of the crawls.

Every time comes from ``clock`` so that tests can move time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from crawler.db import domain_moves
from crawler.db import schedules as state
from crawler.db.models import utcnow
from crawler.db.runs import finish_run
from crawler.items import SPIDER
from crawler.problems import N_, Problem
from crawler.scheduling import health
from crawler.scheduling.alerts import Alerter, HealthAlert, MoveAlert
from crawler.scheduling.outlook import Outlook, crawl_due, next_after, site_outlook
from crawler.scheduling.scrapyd import Jobs, ScrapydClient, ScrapydError
from crawler.sites import SiteConfig, SiteConfigError, Sites, load_sites
from crawler.sites.checks import CHECK_ARGUMENT

logger = logging.getLogger("repostwatch.scheduler")

#: The trigger recorded on the runs of scheduled search crawls.
SEARCH_TRIGGER = state.SEARCH_TRIGGER
#: A run handed over less than this long ago is not checked against scrapyd's job lists yet
#: (its job may be on its way: the run is opened before the job is queued).
HANDOVER_GRACE = timedelta(seconds=60)


class Background(Protocol):
    """What the scheduler needs of the work it starts beside each pass (the takedown upkeep,
    crawler/scheduling/upkeep.py): named by what it does, so that the scheduler does not import
    the upkeep (and the review app, which starts crawls through it, none of the re-checks)."""

    def start(self) -> bool: ...

    def join(self, timeout: float | None = None) -> object: ...


#: Why a crawl was not handed to scrapyd (:class:`SiteBusy`, :class:`NoNodeAvailable`), and why
#: the scheduler closed a run as failed (its finish reason): English in the database, the audit
#: log and the CLI; the web app reads a stored one back with :func:`refusal_problem`.
_BUSY_JOB = N_("%(site)s has scrapyd job %(job)s on %(node)s already")
_BUSY_RUN = N_("%(site)s has crawl run %(run)s still running")
_NONE_UP = N_("no scrapyd node is up: %(errors)s")
_NOT_TAKEN = N_("scheduler: no scrapyd node took the job: %(refusals)s")
_NEVER_REACHED = N_("scheduler: the job never reached scrapyd (interrupted hand-over)")
_JOB_ENDED = N_(
    "scheduler: scrapyd job %(job)s on %(node)s ended without closing the run (see the job's "
    "log on the node)"
)
REFUSALS = (_BUSY_JOB, _BUSY_RUN, _NONE_UP, _NOT_TAKEN, _NEVER_REACHED, _JOB_ENDED)


def refusal_problem(text: str) -> Problem | None:
    """A stored refusal or finish reason of the scheduler read back into its Problem (to be
    shown in another language), or None for a text none of :data:`REFUSALS` gives."""
    return Problem.parse(text, REFUSALS)


class SiteBusy(RuntimeError):
    """The site already has a crawl running or queued."""


class NoNodeAvailable(RuntimeError):
    """No scrapyd node answered, or every node refused the job."""


@dataclass
class NodeState:
    """What one pass learned about a node."""

    client: ScrapydClient
    up: bool = False
    error: str | None = None
    running: int = 0
    pending: int = 0
    jobs: Jobs | None = None
    live: set[str] = field(default_factory=set)  # ids of this project's pending/running jobs

    @property
    def load(self) -> int:
        """Running and pending jobs: what picks the least-loaded node."""
        return self.running + self.pending

    def site_job(self, site: str) -> str | None:
        """A live job of ``site`` on this node (by job id, or a pending job's arguments)."""
        for job in self.live:
            if job.startswith(f"{site}."):
                return job
        for pending in self.jobs.pending if self.jobs else []:
            if pending.get("args", {}).get("site") == site:
                return pending["id"]
        return None


@dataclass(frozen=True, slots=True)
class Handover:
    """A crawl handed to scrapyd: its run, the node and the job."""

    site: str
    run_id: int
    node: str
    job: str
    triggered_by: str
    search: bool = False


@dataclass
class PassReport:
    """What one pass did (also logged as it happens)."""

    at: datetime
    nodes: list[NodeState] = field(default_factory=list)
    scheduled: list[Handover] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # site -> why it was not scheduled
    #: site -> why its due search crawl was not scheduled
    skipped_searches: dict[str, str] = field(default_factory=dict)
    upkeep_started: bool = False  # a round of re-checks and reminders began in the background
    closed: list[tuple[int, str]] = field(default_factory=list)  # (run id, reason)
    health: list[HealthAlert] = field(default_factory=list)  # transitions
    moves: list[MoveAlert] = field(default_factory=list)  # domain moves proposed
    problems: list[str] = field(default_factory=list)  # invalid site files, ...


class Scheduler:
    """Hands due crawls of the sites of ``sites`` (the database, read at every pass, or a
    directory of site files) to the least-loaded of ``clients``,
    a pass at a time (:meth:`run_pass`); ``upkeep`` runs in the background of each pass."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sites: Sites,
        clients: Sequence[ScrapydClient],
        *,
        clock: Callable[[], datetime] = utcnow,
        alerter: Alerter | None = None,
        upkeep: Background | None = None,
    ):
        if not clients:
            raise ValueError("the scheduler needs at least one scrapyd node")
        self.sessions = sessions
        self.sites = sites
        self.clients = list(clients)
        self.clock = clock
        self.alerter = alerter or Alerter()
        self.upkeep = upkeep
        # When this process first saw a site's search rule: a cron search schedule that never
        # ran waits for its first slot after that.
        self._search_anchors: dict[tuple[str, str], datetime] = {}

    # --- one pass ---------------------------------------------------------------------------
    def run_pass(self) -> PassReport:
        """Start the takedown upkeep, close vanished runs, judge ended runs, then hand every
        due crawl and search crawl to scrapyd."""
        report = PassReport(at=self.clock())
        if self.upkeep is not None:
            report.upkeep_started = self.upkeep.start()
        report.nodes = self.poll_nodes()
        self._close_lost_runs(report)
        self._judge_health(report)
        self._alert_moves(report)
        for config in self._scheduled_sites(report):
            outlook = self._outlook(config, report)
            if outlook.crawls:
                self._consider(outlook, report, search=False)
            if outlook.searches:
                self._consider(outlook, report, search=True)
        return report

    def poll_nodes(self) -> list[NodeState]:
        """Ask every node for its load and this project's jobs; a node that fails is down."""
        nodes = []
        for client in self.clients:
            node = NodeState(client)
            try:
                status = client.daemon_status()
                node.jobs = client.list_jobs()
            except ScrapydError as exc:
                node.error = str(exc)
                logger.warning("scrapyd node %s is down: %s", client.name, exc)
            else:
                node.up = True
                node.running, node.pending = status["running"], status["pending"]
                node.live = node.jobs.live_ids
            nodes.append(node)
        return nodes

    def _close_lost_runs(self, report: PassReport) -> None:
        by_name = {node.client.name: node for node in report.nodes}
        cutoff = report.at - HANDOVER_GRACE
        with self.sessions.begin() as session:
            for run in state.active_runs(session):
                if run.triggered_by is None or run.scheduled_at is None:
                    continue  # a crawl started by hand (`repostwatch crawl`): not ours to judge
                if run.scheduled_at > cutoff:
                    continue
                if run.scrapyd_job is None:
                    reason = Problem(_NEVER_REACHED)
                else:
                    node = by_name.get(run.scrapyd_node or "")
                    if node is None or not node.up or run.scrapyd_job in node.live:
                        continue  # still live, or its node cannot tell (down / not configured)
                    reason = Problem(_JOB_ENDED, {"job": run.scrapyd_job, "node": run.scrapyd_node})
                self._fail(session, run.id, reason)
                report.closed.append((run.id, reason))
                logger.warning("Closed crawl run %s of %s as failed: %s", run.id, run.site, reason)

    @staticmethod
    def _fail(session: Session, run_id: int, reason: str) -> None:
        finish_run(
            session,
            run_id,
            status="failed",
            finish_reason=str(reason),
            pages=0,
            media=0,
            bytes=0,
            errors=0,
            flags=0,
        )

    def _judge_health(self, report: PassReport) -> None:
        with self.sessions.begin() as session:
            for site_id, site in state.sites_with_closed_runs(session):
                current = state.get_health(session, site_id)
                after = current.last_run_id if current else None
                newest = state.closed_runs(session, site_id, after_id=after, limit=1)
                if not newest:
                    continue
                run = newest[0]
                # Search crawls find far less than crawls: each is compared with its own kind.
                earlier = state.finished_before(
                    session, site_id, run.id, health.HISTORY, search=run.search
                )
                verdict = health.judge(run, earlier)
                was = current.state if current else "healthy"
                changed = verdict.state != was
                since = report.at if changed or current is None else current.since
                state.save_health(
                    session,
                    site_id,
                    state=verdict.state,
                    reason=None if verdict.reason is None else str(verdict.reason),
                    since=since,
                    last_run_id=run.id,
                )
                if changed:
                    report.health.append(
                        HealthAlert(site, verdict.state, verdict.reason, run.id, since.isoformat())
                    )
        for alert in report.health:  # after the commit: a transition is alerted once
            self.alerter.send(alert)

    def _alert_moves(self, report: PassReport) -> None:
        """Alert each domain move the crawls proposed since the last pass, once."""
        with self.sessions.begin() as session:
            found = domain_moves.unalerted(session)
            domain_moves.mark_alerted(session, [move.id for move in found])
        for move in found:  # after the commit: a move is alerted once
            alert = MoveAlert(move.site, move.id, move.old_domain, move.new_domain, move.evidence)
            report.moves.append(alert)
            self.alerter.send(alert)

    def _scheduled_sites(self, report: PassReport) -> list[SiteConfig]:
        try:
            loaded = load_sites(self.sites)
        except SiteConfigError as exc:
            report.problems.append(str(exc))
            logger.error("%s", exc)
            return []
        for invalid in loaded.invalid:
            report.problems.append(str(invalid.error))
            logger.error("Not scheduled: %s", invalid.error)
        return [config for config in loaded.sites.values() if config.schedule is not None]

    def _outlook(self, config: SiteConfig, report: PassReport) -> Outlook:
        """The site's outlook at this pass; a crawl due time that is new (the rule is new or
        changed) is recorded first."""
        schedule = config.schedule
        assert schedule is not None
        now = report.at
        search = schedule.search_schedule
        with self.sessions.begin() as session:
            current = state.get_schedule_state(session, config.name)
            if schedule.crawls:
                due, new = crawl_due(schedule, current, now)
                if new:
                    state.save_schedule_state(
                        session, config.name, schedule=schedule.rule, next_due_at=due
                    )
                    current = replace(current, schedule=schedule.rule, next_due_at=due)
                    logger.info("%s: %s, next crawl due %s", config.name, schedule.rule, due)
            last = state.last_scheduled_at(session, config.name, SEARCH_TRIGGER) if search else None
        # A search rule never run counts from when this process first saw it.
        anchor = self._search_anchors.setdefault((config.name, search.rule), now) if search else now
        return site_outlook(config.name, config, current, last_search=last, anchor=anchor)

    def _consider(self, outlook: Outlook, report: PassReport, *, search: bool) -> None:
        """Hand the site's crawl (or search crawl) to scrapyd if it is due and nothing holds it."""
        skipped = report.skipped_searches if search else report.skipped
        if outlook.held is not None:
            skipped[outlook.site] = outlook.held
            return
        due = outlook.next_search if search else outlook.next_crawl
        assert due is not None
        if report.at < due:
            return
        trigger = SEARCH_TRIGGER if search else "schedule"
        try:
            handover = self.start_crawl(
                outlook.site, triggered_by=trigger, nodes=report.nodes, search=search
            )
        except (SiteBusy, NoNodeAvailable) as exc:
            skipped[outlook.site] = str(exc)
            if search:
                logger.info("%s: a search crawl is due but not scheduled: %s", outlook.site, exc)
            else:
                logger.info("%s is due but not scheduled: %s", outlook.site, exc)
            return
        report.scheduled.append(handover)
        if search:
            return  # a search schedule counts from its runs: nothing to record
        schedule = outlook.schedule
        assert schedule is not None
        with self.sessions.begin() as session:
            state.save_schedule_state(
                session,
                outlook.site,
                schedule=schedule.rule,
                next_due_at=next_after(schedule, report.at),
                last_scheduled_at=report.at,
            )

    # --- one crawl --------------------------------------------------------------------------
    def start_crawl(
        self,
        site: str,
        *,
        triggered_by: str,
        nodes: list[NodeState] | None = None,
        search: bool = False,
        check_urls: Sequence[str] | None = None,
    ) -> Handover:
        """Hand one crawl of ``site`` to the least-loaded scrapyd node that takes it; with
        ``search``, a search crawl (spider argument ``search=1``: the crawl reads the keywords
        from the database, they never travel as job arguments).

        With ``check_urls``, a manual check of exactly those pages (spider argument ``check``,
        one URL a line; ``site`` is the site whose rules apply, or ``manual``).

        Raises :class:`SiteBusy` when the site is being crawled (or queued) already and
        :class:`NoNodeAvailable` when no node takes the job (the run is then closed as failed).
        """
        nodes = self.poll_nodes() if nodes is None else nodes
        up = least_loaded(nodes)
        for node in up:
            if job := node.site_job(site):
                raise SiteBusy(
                    Problem(_BUSY_JOB, {"site": site, "job": job, "node": node.client.name})
                )
        if not up:
            raise NoNodeAvailable(Problem(_NONE_UP, {"errors": "; ".join(_errors(nodes))}))
        now = self.clock()
        with self.sessions.begin() as session:
            state.lock_site(session, site)
            running = state.active_runs(session, site)
            if running:
                raise SiteBusy(Problem(_BUSY_RUN, {"site": site, "run": running[0].id}))
            run_id = state.open_scheduled_run(session, site, triggered_by=triggered_by, at=now)
        job = f"{site}.{run_id}"
        args = {"site": site, "search": "1"} if search else {"site": site}
        if check_urls is not None:
            args[CHECK_ARGUMENT] = "\n".join(check_urls)
        refusals = []
        for node in up:
            try:
                node.client.schedule(
                    SPIDER, job=job, args=args, settings={"REPOSTWATCH_RUN_ID": run_id}
                )
            except ScrapydError as exc:
                refusals.append(str(exc))
                logger.warning("scrapyd node %s did not take %s: %s", node.client.name, job, exc)
                continue
            with self.sessions.begin() as session:
                state.record_scrapyd_job(session, run_id, node=node.client.name, job=job)
            node.pending += 1
            node.live.add(job)
            logger.info(
                "Scheduled %s run %s of %s (%s) on %s as job %s",
                "search crawl" if search else "crawl",
                run_id,
                site,
                triggered_by,
                node.client.name,
                job,
            )
            return Handover(site, run_id, node.client.name, job, triggered_by, search)
        reason = Problem(_NOT_TAKEN, {"refusals": "; ".join(refusals)})
        with self.sessions.begin() as session:
            self._fail(session, run_id, reason)
        raise NoNodeAvailable(reason)


def least_loaded(nodes: Sequence[NodeState]) -> list[NodeState]:
    """The nodes that are up, least loaded (running + pending jobs) first; ties keep the order
    of REPOSTWATCH_SCRAPYD_URLS."""
    return sorted((node for node in nodes if node.up), key=lambda node: node.load)


def _errors(nodes: list[NodeState]) -> list[str]:
    return [node.error or f"{node.client.name} is down" for node in nodes if not node.up]


def serve(scheduler: Scheduler, interval: float, stop: threading.Event) -> None:
    """Run a pass every ``interval`` seconds until ``stop`` is set. A pass that fails (database
    or network down) is logged and the next one tries again: the service keeps running."""
    while not stop.is_set():
        try:
            report = scheduler.run_pass()
        except Exception:
            logger.exception("Scheduler pass failed; trying again in %g s", interval)
        else:
            logger.debug("Pass at %s: %d scheduled", report.at, len(report.scheduled))
        stop.wait(interval)
    if scheduler.upkeep is not None:
        scheduler.upkeep.join(timeout=30)  # let a round in progress finish its current step
