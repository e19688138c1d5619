"""`repostwatch scheduler`, `repostwatch crawls ...` and `repostwatch status`: operating crawls
on scrapyd (crawler/scheduling)."""

from __future__ import annotations

from typing import Any

import click

from crawler.cli.common import load_settings, ready_database, redact, table


def _scheduler(settings: Any, engine: Any, clock: Any = None) -> Any:
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
    return Scheduler(
        db.make_sessionmaker(engine),
        settings.get("REPOSTWATCH_SITES_DIR"),
        clients,
        alerter=alerter,
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
    least-loaded node of REPOSTWATCH_SCRAPYD_URLS. A site is never crawled twice at once, and
    after downtime a missed crawl is caught up once. Stop it with Ctrl-C or SIGTERM.

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
    service = _scheduler(settings, engine)
    try:
        if once:
            report = service.run_pass()
            for handover in report.scheduled:
                click.echo(
                    f"scheduled {handover.site}: crawl run {handover.run_id}, job {handover.job} "
                    f"on {handover.node}"
                )
            for site, why in sorted(report.skipped.items()):
                click.echo(f"skipped {site}: {why}")
            for run_id, why in report.closed:
                click.echo(f"closed crawl run {run_id} as failed: {why}")
            if not report.scheduled:
                click.echo("nothing due")
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
                schedule.rule if schedule else "-",
                mode,
                _when(current.next_due_at) if current and schedule else "-",
                f"{runs[0].id} {runs[0].status}" if runs else "-",
                health[name].state if name in health else "-",
            ]
        )
    if not rows:
        click.echo("No site files.")
        return
    click.echo(table(["SITE", "SCHEDULE", "STATE", "NEXT DUE", "LAST RUN", "HEALTH"], rows))


def _site_configs(settings: Any) -> dict[str, Any]:
    """Site name -> SiteConfig (None for a file that does not validate)."""
    from crawler.sites import SiteConfigError, load_site, site_files

    try:
        paths = site_files(settings.get("REPOSTWATCH_SITES_DIR"))
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    configs: dict[str, Any] = {}
    for path in paths:
        try:
            config = load_site(path)
        except SiteConfigError:
            configs[path.stem] = None
            continue
        configs[config.name] = config
    return configs


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
    """scrapyd nodes, next crawl per site, Redis, database, pending flags, unhealthy sites.

    Exit status 1 when a scrapyd node, Redis (if configured) or the database is unreachable,
    so that monitoring can run it.

    \b
    Example:
      repostwatch status
    """
    from crawler import db
    from crawler.db import migrate, schedules
    from crawler.scheduling import ScrapydClient, ScrapydError, parse_nodes

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
    engine = db.make_engine(url)
    try:
        with db.make_sessionmaker(engine)() as session:
            pending = db.count_flags(session, status="pending")
            states = schedules.schedule_states(session)
            health = schedules.health_states(session)
    finally:
        engine.dispose()
    click.echo(f"Flags     {pending} pending review")
    rows = []
    for name, config in sorted(configs.items()):
        if config is None or config.schedule is None:
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
