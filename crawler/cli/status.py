"""`repostwatch status`: prints what crawler/scheduling/status.py collects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import configured_sites, load_settings, table, when
from crawler.cli.helptext import TranslatedCommand
from crawler.cli.language import _, problem

if TYPE_CHECKING:
    from crawler.scheduling.outlook import Outlook
    from crawler.scheduling.status import NodeStatus, Status


@click.command(cls=TranslatedCommand)
def status() -> None:
    """scrapyd nodes, next crawl and search crawl per site, Redis, database, spilled and
    quarantined matches, pending flags, re-checks and notice reminders due, unhealthy sites.

    Exit status 1 when a scrapyd node, Redis (if configured) or the database is unreachable,
    or REPOSTWATCH_SCRAPYD_URLS cannot be used, so that monitoring can run it.

    \b
    Example:
      repostwatch status
    """
    from crawler.scheduling.status import collect_status

    settings = load_settings()
    found = collect_status(
        scrapyd_urls=settings.get("REPOSTWATCH_SCRAPYD_URLS"),
        scrapyd_project=settings.get("REPOSTWATCH_SCRAPYD_PROJECT"),
        redis_url=settings.get("REPOSTWATCH_REDIS_URL"),
        database_url=settings.get("REPOSTWATCH_DATABASE_URL"),
        spill_file=settings.get("REPOSTWATCH_SPILL_FILE"),
        sites=configured_sites(settings),
        recheck_hours=settings.getfloat("REPOSTWATCH_RECHECK_HOURS"),
        reminders_sent=bool(settings.get("REPOSTWATCH_SMTP_URL")),
    )
    _echo_services(found)
    _echo_spill(found)
    if found.stopped is not None:
        raise click.ClickException(found.stopped)
    if found.database is None or not found.database.ready:
        raise SystemExit(1)
    _echo_backlog(found)
    _echo_sites(found.sites)
    click.echo("\n" + _("Unhealthy sites"))
    for item in found.unhealthy:
        click.echo(
            "  "
            + _("%(site)s  since %(when)s: %(reason)s")
            % {"site": item.site, "when": when(item.since), "reason": _health_reason(item.reason)}
        )
    if not found.unhealthy:
        click.echo("  " + _("none"))
    if found.problems:
        raise SystemExit(1)


def _health_reason(reason: str) -> object:
    """A site's stored health reason (English) in the chosen language, when a template of
    crawler/scheduling/health.py gives it; any other text as it is."""
    from crawler.scheduling.health import reason_problem

    return problem(reason_problem(reason) or reason)


def _echo_services(found: Status) -> None:
    """The nodes, Redis and the database, as far as they were reached."""
    click.echo(_("scrapyd nodes"))
    if found.nodes_error is not None:
        click.echo("  " + _("CANNOT BE USED: %(error)s") % {"error": problem(found.nodes_error)})
    for node in found.nodes:
        click.echo(_node_line(node))
    if found.redis is not None:
        if not found.redis.url:
            click.echo(_("Redis     not configured (REPOSTWATCH_REDIS_URL)"))
        else:
            click.echo(
                _("Redis     %(url)s: %(state)s")
                % {"url": found.redis.url, "state": found.redis.problem or _("reachable")}
            )
    database = found.database
    if database is None:
        return
    if database.error is not None:
        click.echo(
            _("Database  %(url)s: UNREACHABLE: %(error)s")
            % {"url": database.url, "error": database.error}
        )
        return
    note = (
        _("up to date")
        if database.ready
        else _("this code needs %(head)s: run `db upgrade`") % {"head": database.head}
    )
    click.echo(
        _("Database  %(url)s: revision %(revision)s (%(note)s)")
        % {"url": database.url, "revision": database.revision, "note": note}
    )


def _echo_spill(found: Status) -> None:
    """Matches the database could not take yet, and those it never will (silent when none)."""
    spill = found.spill
    if spill is None:
        return
    if spill.pending:
        click.echo(
            _(
                "Spilled   %(num)d match(es) wait in %(path)s: the next crawl or "
                "`repostwatch flags replay` records them"
            )
            % {"num": spill.pending, "path": spill.path}
        )
    if spill.quarantined:
        click.echo(
            _(
                "Quarantine %(num)d match(es) can never be recorded as they are: read the reason "
                "on each line of %(path)s"
            )
            % {"num": spill.quarantined, "path": spill.quarantine_path}
        )


def _node_line(node: NodeStatus) -> str:
    if node.error is not None:
        return "  " + _("%(node)s  DOWN: %(error)s") % {
            "node": node.name,
            "error": problem(node.error),
        }
    said = {"node": node.name, "running": node.running, "pending": node.pending}
    return (
        "  "
        + _("%(node)s  up: %(running)d running, %(pending)d pending") % said
        + "".join("\n    " + _("running %(job)s") % {"job": job} for job in node.running_jobs)
        + "".join("\n    " + _("pending %(job)s") % {"job": job} for job in node.pending_jobs)
    )


def _echo_backlog(found: Status) -> None:
    backlog = found.backlog
    assert backlog is not None
    click.echo(_("Flags     %(num)d pending review") % {"num": backlog.pending_flags})
    click.echo(
        _("Re-checks %(num)d confirmed flag(s) due (not checked for %(hours)s h)")
        % {"num": backlog.rechecks_due, "hours": f"{backlog.recheck_hours:g}"}
    )
    if backlog.reminders_sent:
        said = _("Notices   %(num)d due for a reminder")
    else:
        said = _("Notices   %(num)d due for a reminder (REPOSTWATCH_SMTP_URL unset: not sent)")
    click.echo(said % {"num": backlog.reminders_due})


def _echo_sites(outlooks: list[Outlook]) -> None:
    """Next crawls and next search crawls: a time, or why there is none (paused, disabled)."""
    from crawler.scheduling.outlook import SCHEDULED

    rows = [
        [o.site, o.schedule.rule, when(o.next_crawl) if o.state == SCHEDULED else o.state]
        for o in outlooks
        if o.crawls and o.schedule is not None
    ]
    click.echo("\n" + _("Next crawls"))
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT"], rows).replace("\n", "\n  ")
        if rows
        else "  " + _("no site has a [schedule]")
    )
    search_rows = [
        [
            o.site,
            o.schedule.search_schedule.rule,
            when(o.next_search) if o.state == SCHEDULED else o.state,
            when(o.last_search),
        ]
        for o in outlooks
        if o.schedule is not None and o.schedule.search_schedule is not None
    ]
    click.echo("\n" + _("Next search crawls"))
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT", "LAST"], search_rows).replace("\n", "\n  ")
        if search_rows
        else "  " + _("no site schedules search crawls (search_every / search_cron)")
    )
