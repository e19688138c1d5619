"""`repostwatch crawls`: the scheduled crawls on scrapyd (crawler/scheduling): list them, start
one now, close a run left open, pause or resume a site."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    configured_sites,
    database_sessions,
    find_configured_site,
    load_settings,
    site_errors,
    table,
    when,
)
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import _, refusal

if TYPE_CHECKING:
    from crawler.cli.common import ProjectSettings
    from crawler.sites import ScheduleConfig


@click.group(cls=TranslatedGroup)
def crawls() -> None:
    """Scheduled crawls: list them, start one now, pause or resume a site.

    \b
    Example:
      repostwatch crawls list
      repostwatch crawls run-now board
    """


@crawls.command("list")
def crawls_list() -> None:
    """Every site with its schedule, state, next and last crawl, and health.

    \b
    Example:
      repostwatch crawls list
    """
    from crawler import db
    from crawler.db import schedules
    from crawler.db.models import utcnow
    from crawler.scheduling.outlook import read_outlooks, site_configs

    settings = load_settings()
    with site_errors():
        configs = site_configs(configured_sites(settings))
    with database_sessions() as sessions, sessions() as session:
        outlooks = read_outlooks(session, configs, utcnow())
        health = schedules.health_states(session)
        last = {name: db.list_runs(session, site=name, limit=1) for name in configs}
    rows = []
    for outlook in outlooks:
        runs = last.get(outlook.site) or []
        rows.append(
            [
                outlook.site,
                _rules(outlook.schedule) if outlook.schedule else "-",
                outlook.state,
                when(outlook.next_crawl) if outlook.crawls else "-",
                f"{runs[0].id} {runs[0].status}" if runs else "-",
                health[outlook.site].state if outlook.site in health else "-",
            ]
        )
    if not rows:
        click.echo(_("No sites."))
        return
    click.echo(table(["SITE", "SCHEDULE", "STATE", "NEXT DUE", "LAST RUN", "HEALTH"], rows))


def _rules(schedule: ScheduleConfig) -> str:
    """A [schedule] in a few words: "every 6h", "every 6h; search every 1d", "search cron ..."."""
    search = schedule.search_schedule
    if search is None:
        return schedule.rule
    if not schedule.crawls:
        return f"search {search.rule}"
    return f"{schedule.rule}; search {search.rule}"


@crawls.command("run-now")
@click.argument("site")
def crawls_run_now(site: str) -> None:
    """Hand a crawl of SITE to scrapyd now (least-loaded node), unless it is running already.

    The crawl is recorded as a manual run; the site's schedule is not changed.

    \b
    Example:
      repostwatch crawls run-now board
    """
    from crawler.cli.scheduler import build_scheduler
    from crawler.scheduling import NoNodeAvailable, SiteBusy

    settings = load_settings()
    name = _site_name(settings, site)
    try:
        with database_sessions() as sessions:
            service = build_scheduler(settings, sessions)
            handover = service.start_crawl(name, triggered_by="manual")
    except (SiteBusy, NoNodeAvailable) as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Crawl run %(run)d of %(site)s handed to %(node)s as job %(job)s.")
        % {"run": handover.run_id, "site": name, "node": handover.node, "job": handover.job}
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

    try:
        with database_sessions() as sessions, sessions.begin() as session:
            run = db.get_run(session, run_id)
            if not db.close_run(session, run_id, status="failed", finish_reason=reason):
                raise click.ClickException(
                    _("crawl run %(run)d is already %(status)s")
                    % {"run": run_id, "status": _(run.status)}
                )
    except db.RunNotFound as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Crawl run %(run)d of %(site)s closed as failed: %(reason)s.")
        % {"run": run_id, "site": run.site, "reason": reason}
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
    from crawler.db import schedules
    from crawler.db.models import utcnow

    settings = load_settings()
    name = _site_name(settings, site)
    with database_sessions() as sessions, sessions.begin() as session:
        changed = schedules.set_paused(session, name, paused, at=utcnow())
    if paused:
        said = _("%(site)s paused.") if changed else _("%(site)s was paused already.")
    else:
        said = _("%(site)s resumed.") if changed else _("%(site)s was resumed already.")
    click.echo(said % {"site": name})


def _site_name(settings: ProjectSettings, site: str) -> str:
    """The name of SITE (a name or the path of a site file); an unknown site is a clear error."""
    return find_configured_site(site, settings).name
