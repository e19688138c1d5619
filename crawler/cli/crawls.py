"""`repostwatch scheduler`, `repostwatch crawls ...` and `repostwatch status`: operating crawls
on scrapyd (crawler/scheduling)."""

from __future__ import annotations

from typing import Any

import click

from crawler.cli.common import load_settings, ready_database, redact, table


def _upkeep(settings: Any, sessions: Any, options: dict[str, Any]) -> Any:
    """Removal re-checks and (with REPOSTWATCH_SMTP_URL) notice reminders for the scheduler."""
    from datetime import timedelta

    from crawler.scheduling import Reminders, Upkeep
    from crawler.takedown.recheck import Fetcher
    from crawler.takedown.sending import SmtpConfigError, check_sender, parse_smtp_url

    reminders = None
    if settings.get("REPOSTWATCH_SMTP_URL"):
        try:
            reminders = Reminders(
                smtp=parse_smtp_url(settings.get("REPOSTWATCH_SMTP_URL")),
                sender=check_sender(settings.get("REPOSTWATCH_NOTICE_FROM")),
                resend_after=timedelta(hours=settings.getfloat("REPOSTWATCH_NOTICE_RESEND_HOURS")),
            )
        except SmtpConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    fetcher = Fetcher(
        user_agent=settings.get("USER_AGENT"),
        timeout=settings.getfloat("DOWNLOAD_TIMEOUT"),
        max_bytes=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
    )
    try:
        return Upkeep(
            sessions,
            settings.get("REPOSTWATCH_SITES_DIR"),
            fetcher,
            recheck_after=timedelta(hours=settings.getfloat("REPOSTWATCH_RECHECK_HOURS")),
            recheck_batch=settings.getint("REPOSTWATCH_RECHECK_BATCH"),
            reminders=reminders,
            **options,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _scheduler(settings: Any, engine: Any, clock: Any = None, upkeep: bool = False) -> Any:
    from crawler import db
    from crawler.scheduling import Alerter, Scheduler, ScrapydClient, parse_nodes

    try:
        nodes = parse_nodes(settings.get("REPOSTWATCH_SCRAPYD_URLS"))
        alerter = Alerter(
            webhook=settings.get("REPOSTWATCH_ALERT_WEBHOOK"),
            email_to=settings.get("REPOSTWATCH_ALERT_EMAIL"),
            smtp_url=settings.get("REPOSTWATCH_SMTP_URL") or "",
            email_from=settings.get("REPOSTWATCH_NOTICE_FROM") or "",
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    project = settings.get("REPOSTWATCH_SCRAPYD_PROJECT")
    clients = [ScrapydClient(node, project) for node in nodes]
    options = {"clock": clock} if clock else {}
    sessions = db.make_sessionmaker(engine)
    return Scheduler(
        sessions,
        settings.get("REPOSTWATCH_SITES_DIR"),
        clients,
        alerter=alerter,
        upkeep=_upkeep(settings, sessions, options) if upkeep else None,
        **options,
    )


def _engine(settings: Any) -> Any:
    from crawler import db

    return db.make_engine(ready_database(settings.get("REPOSTWATCH_DATABASE_URL")))


def _site_name(settings: Any, site: str) -> str:
    from crawler.sites import SiteConfigError, find_site

    try:
        return find_site(site, settings.get("REPOSTWATCH_SITES_DIR")).name
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_upkeep(upkeep: Any) -> None:
    """What the pass's upkeep round did (waiting for it to end)."""
    done = upkeep.join()
    if done is None:
        click.echo("re-checks and reminders failed: see the log above")
        return
    click.echo(
        f"re-checked {done.checked} of {done.rechecks_due} due flag(s): {len(done.removed)} "
        f"removed, {len(done.present)} still there, {len(done.unknown)} unknown"
    )
    if upkeep.reminders is None:
        click.echo("notice reminders: off (REPOSTWATCH_SMTP_URL is not set)")
    else:
        click.echo(
            f"notice reminders: {len(done.reminders_sent)} sent, "
            f"{len(done.reminders_failed)} failed"
        )


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


# --- scheduler --------------------------------------------------------------------------------
@click.command()
@click.option("--once", is_flag=True, help="Run one pass and exit (for cron or a test).")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between passes (default: REPOSTWATCH_SCHEDULER_INTERVAL, 60).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every pass, not only what it does.")
def scheduler(once: bool, interval: float | None, verbose: bool) -> None:
    """Hand due crawls to scrapyd, every N seconds, until stopped (a long-running service).

    Each pass closes crawl runs whose scrapyd job vanished, judges the health of runs that
    ended (alerting on changes), then schedules every site whose [schedule] is due on the
    least-loaded node of REPOSTWATCH_SCRAPYD_URLS, and every due search crawl (search_every /
    search_cron). A site is never crawled twice at once, and after downtime a missed crawl is
    caught up once. In the background, each pass also re-checks confirmed flags not checked for
    REPOSTWATCH_RECHECK_HOURS and, with REPOSTWATCH_SMTP_URL, re-sends the notices that are due
    (REPOSTWATCH_NOTICE_RESEND_HOURS). Stop it with Ctrl-C or SIGTERM.

    \b
    Example:
      REPOSTWATCH_SCRAPYD_URLS=http://127.0.0.1:6800/ repostwatch scheduler
      repostwatch scheduler --once
    """
    import contextlib
    import logging
    import signal
    import threading

    from crawler.scheduling import serve

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the revision check at start
    settings = load_settings()
    engine = _engine(settings)
    service = _scheduler(settings, engine, upkeep=True)
    try:
        if once:
            report = service.run_pass()
            for handover in report.scheduled:
                kind = "search crawl" if handover.search else "crawl"
                click.echo(
                    f"scheduled {handover.site}: {kind} run {handover.run_id}, job "
                    f"{handover.job} on {handover.node}"
                )
            for site, why in sorted(report.skipped.items()):
                click.echo(f"skipped {site}: {why}")
            for site, why in sorted(report.skipped_searches.items()):
                click.echo(f"skipped search of {site}: {why}")
            for run_id, why in report.closed:
                click.echo(f"closed crawl run {run_id} as failed: {why}")
            skipped = len(report.skipped) + len(report.skipped_searches)
            if not report.scheduled and not skipped:
                click.echo("nothing due")
            elif skipped:
                click.echo(f"{len(report.scheduled)} scheduled, {skipped} due but skipped")
            _echo_upkeep(service.upkeep)
            return
        every = interval or settings.getfloat("REPOSTWATCH_SCHEDULER_INTERVAL")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        logging.getLogger("repostwatch.scheduler").info(
            "Scheduler started: a pass every %g s on %s",
            every,
            ", ".join(client.name for client in service.clients),
        )
        with contextlib.suppress(KeyboardInterrupt):
            serve(service, every, stop)
        logging.getLogger("repostwatch.scheduler").info("Scheduler stopped")
    finally:
        engine.dispose()


# --- crawls -----------------------------------------------------------------------------------
@click.group()
def crawls() -> None:
    """Scheduled crawls: list them, start one now, pause or resume a site.

    \b
    Example:
      repostwatch crawls list
      repostwatch crawls run-now board
    """


@crawls.command("list")
def crawls_list() -> None:
    """Every site file with its schedule, state, next and last crawl, and health.

    \b
    Example:
      repostwatch crawls list
    """
    from crawler import db
    from crawler.db import schedules

    settings = load_settings()
    configs = _site_configs(settings)
    engine = _engine(settings)
    try:
        with db.make_sessionmaker(engine)() as session:
            states = schedules.schedule_states(session)
            health = schedules.health_states(session)
            last = {name: db.list_runs(session, site=name, limit=1) for name in configs}
    finally:
        engine.dispose()
    rows = []
    for name, config in sorted(configs.items()):
        schedule = config.schedule if config else None
        current = states.get(name)
        if schedule is None:
            mode = "by hand" if config else "invalid site file"
        elif current is not None and current.paused:
            mode = "paused"
        else:
            mode = "scheduled" if schedule.enabled else "disabled"
        runs = last.get(name) or []
        rows.append(
            [
                name,
                _rules(schedule) if schedule else "-",
                mode,
                _when(current.next_due_at) if current and schedule and schedule.crawls else "-",
                f"{runs[0].id} {runs[0].status}" if runs else "-",
                health[name].state if name in health else "-",
            ]
        )
    if not rows:
        click.echo("No site files.")
        return
    click.echo(table(["SITE", "SCHEDULE", "STATE", "NEXT DUE", "LAST RUN", "HEALTH"], rows))


def _rules(schedule: Any) -> str:
    """A [schedule] in a few words: "every 6h", "every 6h; search every 1d", "search cron ..."."""
    search = schedule.search_schedule
    if search is None:
        return schedule.rule
    if not schedule.crawls:
        return f"search {search.rule}"
    return f"{schedule.rule}; search {search.rule}"


def _site_configs(settings: Any) -> dict[str, Any]:
    """Site name -> SiteConfig (None for a file that does not validate)."""
    from crawler.sites import SiteConfigError, load_sites

    try:
        loaded = load_sites(settings.get("REPOSTWATCH_SITES_DIR"))
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return {f.config.name if f.config else f.path.stem: f.config for f in loaded.files}


@crawls.command("run-now")
@click.argument("site")
def crawls_run_now(site: str) -> None:
    """Hand a crawl of SITE to scrapyd now (least-loaded node), unless it is running already.

    The crawl is recorded as a manual run; the site's schedule is not changed.

    \b
    Example:
      repostwatch crawls run-now board
    """
    from crawler.scheduling import NoNodeAvailable, SiteBusy

    settings = load_settings()
    name = _site_name(settings, site)
    engine = _engine(settings)
    try:
        handover = _scheduler(settings, engine).start_crawl(name, triggered_by="manual")
    except (SiteBusy, NoNodeAvailable) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(
        f"Crawl run {handover.run_id} of {name} handed to {handover.node} as job {handover.job}."
    )


@crawls.command("close-run")
@click.argument("run_id", type=int)
@click.option("--reason", default="closed by hand", show_default=True, help="Why, for the record.")
def crawls_close_run(run_id: int, reason: str) -> None:
    """Close crawl run RUN_ID as failed when its crawl died without closing it.

    A run left "running" (the crawl process was killed) keeps the site from being crawled
    again: the scheduler and `crawls run-now` wait for it. Check first that no crawl of the
    site is still going (`status`, scrapyd's jobs, `ps`).

    \b
    Example:
      repostwatch crawls close-run 42 --reason "killed by the OOM killer"
    """
    from crawler import db

    settings = load_settings()
    engine = _engine(settings)
    try:
        with db.make_sessionmaker(engine).begin() as session:
            run = db.get_run(session, run_id)
            if not db.close_run(session, run_id, status="failed", finish_reason=reason):
                raise click.ClickException(f"crawl run {run_id} is already {run.status}")
    except db.RunNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"Crawl run {run_id} of {run.site} closed as failed: {reason}.")


@crawls.command("pause")
@click.argument("site")
def crawls_pause(site: str) -> None:
    """Stop scheduling crawls of SITE until `crawls resume` (a running crawl goes on).

    \b
    Example:
      repostwatch crawls pause board
    """
    _set_paused(site, True)


@crawls.command("resume")
@click.argument("site")
def crawls_resume(site: str) -> None:
    """Schedule crawls of SITE again; a crawl missed while paused runs at the next pass.

    \b
    Example:
      repostwatch crawls resume board
    """
    _set_paused(site, False)


def _set_paused(site: str, paused: bool) -> None:
    from crawler import db
    from crawler.db import schedules
    from crawler.db.models import utcnow

    settings = load_settings()
    name = _site_name(settings, site)
    engine = _engine(settings)
    try:
        with db.make_sessionmaker(engine).begin() as session:
            changed = schedules.set_paused(session, name, paused, at=utcnow())
    finally:
        engine.dispose()
    word = "paused" if paused else "resumed"
    click.echo(f"{name} {word}." if changed else f"{name} was {word} already.")


# --- status -----------------------------------------------------------------------------------
@click.command()
def status() -> None:
    """scrapyd nodes, next crawl and search crawl per site, Redis, database, pending flags,
    re-checks and notice reminders due, unhealthy sites.

    Exit status 1 when a scrapyd node, Redis (if configured) or the database is unreachable,
    so that monitoring can run it.

    \b
    Example:
      repostwatch status
    """
    from datetime import timedelta

    from crawler import db
    from crawler.db import migrate, schedules
    from crawler.db import notices as db_notices
    from crawler.db import rechecks as db_rechecks
    from crawler.db.models import utcnow
    from crawler.scheduling import ScrapydClient, ScrapydError, parse_nodes
    from crawler.scheduling.scheduler import SEARCH_TRIGGER
    from crawler.scheduling.timing import due_after_last

    settings = load_settings()
    problems = 0
    click.echo("scrapyd nodes")
    try:
        nodes = parse_nodes(settings.get("REPOSTWATCH_SCRAPYD_URLS"))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    project = settings.get("REPOSTWATCH_SCRAPYD_PROJECT")
    for node in nodes:
        client = ScrapydClient(node, project, timeout=5)
        try:
            load = client.daemon_status()
            jobs = client.list_jobs()
        except ScrapydError as exc:
            problems += 1
            click.echo(f"  {node.name}  DOWN: {exc}")
            continue
        click.echo(
            f"  {node.name}  up: {load['running']} running, {load['pending']} pending"
            + "".join(f"\n    running {job['id']}" for job in jobs.running)
            + "".join(f"\n    pending {job['id']}" for job in jobs.pending)
        )

    redis_url = settings.get("REPOSTWATCH_REDIS_URL")
    if not redis_url:
        click.echo("Redis     not configured (REPOSTWATCH_REDIS_URL)")
    else:
        problem = _redis_problem(redis_url)
        problems += problem is not None
        click.echo(f"Redis     {redact(redis_url)}: {problem or 'reachable'}")

    url = settings.get("REPOSTWATCH_DATABASE_URL")
    try:
        current = migrate.current_revision(url)
    except (db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        click.echo(f"Database  {redact(url)}: UNREACHABLE: {exc}")
        raise SystemExit(1) from None
    head = migrate.head_revision()
    note = "up to date" if current == head else f"this code needs {head}: run `db upgrade`"
    click.echo(f"Database  {redact(url)}: revision {current} ({note})")
    if current != head:
        raise SystemExit(1)

    configs = _site_configs(settings)
    now = utcnow()
    recheck_hours = settings.getfloat("REPOSTWATCH_RECHECK_HOURS")
    searched = {
        name: config
        for name, config in configs.items()
        if config is not None and config.schedule and config.schedule.search_schedule
    }
    engine = db.make_engine(url)
    try:
        with db.make_sessionmaker(engine)() as session:
            pending = db.count_flags(session, status="pending")
            states = schedules.schedule_states(session)
            health = schedules.health_states(session)
            last_searches = {
                name: schedules.last_scheduled_at(session, name, SEARCH_TRIGGER)
                for name in searched
            }
            rechecks_due = len(
                db_rechecks.check_targets(
                    session, checked_before=now - timedelta(hours=recheck_hours)
                )
            )
            reminders_due = len(db_notices.resend_due(session, now))
    finally:
        engine.dispose()
    click.echo(f"Flags     {pending} pending review")
    click.echo(
        f"Re-checks {rechecks_due} confirmed flag(s) due (not checked for {recheck_hours:g} h)"
    )
    smtp_note = (
        "" if settings.get("REPOSTWATCH_SMTP_URL") else " (REPOSTWATCH_SMTP_URL unset: not sent)"
    )
    click.echo(f"Notices   {reminders_due} due for a reminder{smtp_note}")
    rows = []
    for name, config in sorted(configs.items()):
        if config is None or config.schedule is None or not config.schedule.crawls:
            continue
        current_state = states.get(name)
        if current_state is not None and current_state.paused:
            next_run = "paused"
        elif not config.schedule.enabled:
            next_run = "disabled"
        else:
            next_run = _when(current_state.next_due_at if current_state else None)
        rows.append([name, config.schedule.rule, next_run])
    click.echo("\nNext crawls")
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT"], rows).replace("\n", "\n  ")
        if rows
        else "  no site has a [schedule]"
    )
    search_rows = []
    for name, config in sorted(searched.items()):
        search_schedule = config.schedule.search_schedule
        current_state = states.get(name)
        if current_state is not None and current_state.paused:
            next_search = "paused"
        elif not search_schedule.enabled:
            next_search = "disabled"
        else:
            next_search = _when(due_after_last(search_schedule, last_searches[name], now))
        search_rows.append([name, search_schedule.rule, next_search, _when(last_searches[name])])
    click.echo("\nNext search crawls")
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT", "LAST"], search_rows).replace("\n", "\n  ")
        if search_rows
        else "  no site schedules search crawls (search_every / search_cron)"
    )
    unhealthy = [h for h in health.values() if h.state == "unhealthy"]
    click.echo("\nUnhealthy sites")
    for item in sorted(unhealthy, key=lambda h: h.site):
        click.echo(f"  {item.site}  since {_when(item.since)}: {item.reason}")
    if not unhealthy:
        click.echo("  none")
    if problems:
        raise SystemExit(1)


def _redis_problem(url: str) -> str | None:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except (redis.RedisError, ValueError) as exc:
        return f"UNREACHABLE: {exc}"
    return None
