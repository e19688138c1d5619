"""`repostwatch scheduler`: the service that hands due crawls to scrapyd (crawler/scheduling)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    configured_sites,
    database_sessions,
    digest_settings,
    load_settings,
    notice_mail,
    recheck_fetcher,
)
from crawler.cli.language import refusal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.cli.common import ProjectSettings
    from crawler.scheduling import Scheduler, Upkeep


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
    (REPOSTWATCH_NOTICE_RESEND_HOURS), and sends the reviewer groups' due digests of new
    flags (`repostwatch digests`). Stop it with Ctrl-C or SIGTERM.

    \b
    Example:
      REPOSTWATCH_SCRAPYD_URLS=http://ops:PASSWORD@127.0.0.1:6800/ repostwatch scheduler
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
    with database_sessions() as sessions:
        service = build_scheduler(settings, sessions, upkeep=True)
        if once:
            _run_once(service)
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


def _run_once(service: Scheduler) -> None:
    """One pass, and what it did."""
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
    assert service.upkeep is not None
    _echo_upkeep(service.upkeep)


def build_scheduler(
    settings: ProjectSettings, sessions: sessionmaker[Session], *, upkeep: bool = False
) -> Scheduler:
    """The scheduler on REPOSTWATCH_SCRAPYD_URLS with its alerts; with ``upkeep``, also the
    re-checks and reminders it runs in the background (the service; `crawls run-now` needs
    none)."""
    from crawler.scheduling import Alerter, Scheduler, ScrapydClient, parse_nodes

    try:
        nodes = parse_nodes(settings.get("REPOSTWATCH_SCRAPYD_URLS"))
        alerter = Alerter(
            webhook=settings.get("REPOSTWATCH_ALERT_WEBHOOK"),
            email_to=settings.get("REPOSTWATCH_ALERT_EMAIL"),
            smtp_url=settings.get("REPOSTWATCH_SMTP_URL"),
            smtp_ca_file=settings.get("REPOSTWATCH_SMTP_CA_FILE"),
            email_from=settings.get("REPOSTWATCH_NOTICE_FROM"),
        )
    except ValueError as exc:
        raise click.ClickException(refusal(exc)) from exc
    project = settings.get("REPOSTWATCH_SCRAPYD_PROJECT")
    clients = [ScrapydClient(node, project) for node in nodes]
    return Scheduler(
        sessions,
        configured_sites(settings),
        clients,
        alerter=alerter,
        upkeep=_upkeep(settings, sessions) if upkeep else None,
    )


def _upkeep(settings: ProjectSettings, sessions: sessionmaker[Session]) -> Upkeep:
    """Removal re-checks and (with REPOSTWATCH_SMTP_URL) notice reminders for the scheduler."""
    from datetime import timedelta

    from crawler.scheduling import Reminders, Upkeep

    reminders = None
    if settings.get("REPOSTWATCH_SMTP_URL"):
        reminders = Reminders(*notice_mail(settings))
    try:
        return Upkeep(
            sessions,
            configured_sites(settings),
            recheck_fetcher(settings),
            recheck_after=timedelta(hours=settings.getfloat("REPOSTWATCH_RECHECK_HOURS")),
            recheck_batch=settings.getint("REPOSTWATCH_RECHECK_BATCH"),
            gone_after=timedelta(hours=settings.getfloat("REPOSTWATCH_RECHECK_GONE_HOURS")),
            round_seconds=settings.getfloat("REPOSTWATCH_RECHECK_ROUND_SECONDS"),
            reminders=reminders,
            digest_settings=digest_settings(settings),
        )
    except ValueError as exc:
        raise click.ClickException(refusal(exc)) from exc


def _echo_upkeep(upkeep: Upkeep) -> None:
    """What the pass's upkeep round did (waiting for it to end)."""
    done = upkeep.join()
    if done is None:
        click.echo("re-checks and reminders failed: see the log above")
        return
    click.echo(
        f"re-checked {done.checked} of {done.rechecks_due} due flag(s): {len(done.removed)} "
        f"removed, {len(done.gone)} seen gone (not yet removed), {len(done.present)} still "
        f"there, {len(done.unknown)} unknown, {len(done.left)} not checked in time (next pass)"
    )
    if upkeep.reminders is None:
        click.echo("notice reminders: off (REPOSTWATCH_SMTP_URL is not set)")
    else:
        click.echo(
            f"notice reminders: {len(done.reminders_sent)} sent, "
            f"{len(done.reminders_failed)} failed"
        )
    click.echo(
        f"digests: {len(done.digests_sent)} sent, {len(done.digests_failed)} failed "
        "(`repostwatch digests list` says why)"
    )
