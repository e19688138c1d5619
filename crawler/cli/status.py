"""`repostwatch status`: prints what crawler/scheduling/status.py collects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import configured_sites, load_settings, table, when

if TYPE_CHECKING:
    from crawler.scheduling.outlook import Outlook
    from crawler.scheduling.status import NodeStatus, Status


@click.command()
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
    click.echo("\nUnhealthy sites")
    for item in found.unhealthy:
        click.echo(f"  {item.site}  since {when(item.since)}: {item.reason}")
    if not found.unhealthy:
        click.echo("  none")
    if found.problems:
        raise SystemExit(1)


def _echo_services(found: Status) -> None:
    """The nodes, Redis and the database, as far as they were reached."""
    click.echo("scrapyd nodes")
    if found.nodes_error is not None:
        click.echo(f"  CANNOT BE USED: {found.nodes_error}")
    for node in found.nodes:
        click.echo(_node_line(node))
    if found.redis is not None:
        if not found.redis.url:
            click.echo("Redis     not configured (REPOSTWATCH_REDIS_URL)")
        else:
            click.echo(f"Redis     {found.redis.url}: {found.redis.problem or 'reachable'}")
    database = found.database
    if database is None:
        return
    if database.error is not None:
        click.echo(f"Database  {database.url}: UNREACHABLE: {database.error}")
        return
    note = "up to date" if database.ready else f"this code needs {database.head}: run `db upgrade`"
    click.echo(f"Database  {database.url}: revision {database.revision} ({note})")


def _echo_spill(found: Status) -> None:
    """Matches the database could not take yet, and those it never will (silent when none)."""
    spill = found.spill
    if spill is None:
        return
    if spill.pending:
        click.echo(
            f"Spilled   {spill.pending} match(es) wait in {spill.path}: the next crawl or "
            "`repostwatch flags replay` records them"
        )
    if spill.quarantined:
        click.echo(
            f"Quarantine {spill.quarantined} match(es) can never be recorded as they are: "
            f"read the reason on each line of {spill.quarantine_path}"
        )


def _node_line(node: NodeStatus) -> str:
    if node.error is not None:
        return f"  {node.name}  DOWN: {node.error}"
    return (
        f"  {node.name}  up: {node.running} running, {node.pending} pending"
        + "".join(f"\n    running {job}" for job in node.running_jobs)
        + "".join(f"\n    pending {job}" for job in node.pending_jobs)
    )


def _echo_backlog(found: Status) -> None:
    backlog = found.backlog
    assert backlog is not None
    click.echo(f"Flags     {backlog.pending_flags} pending review")
    click.echo(
        f"Re-checks {backlog.rechecks_due} confirmed flag(s) due "
        f"(not checked for {backlog.recheck_hours:g} h)"
    )
    smtp_note = "" if backlog.reminders_sent else " (REPOSTWATCH_SMTP_URL unset: not sent)"
    click.echo(f"Notices   {backlog.reminders_due} due for a reminder{smtp_note}")


def _echo_sites(outlooks: list[Outlook]) -> None:
    """Next crawls and next search crawls: a time, or why there is none (paused, disabled)."""
    from crawler.scheduling.outlook import SCHEDULED

    rows = [
        [o.site, o.schedule.rule, when(o.next_crawl) if o.state == SCHEDULED else o.state]
        for o in outlooks
        if o.crawls and o.schedule is not None
    ]
    click.echo("\nNext crawls")
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT"], rows).replace("\n", "\n  ")
        if rows
        else "  no site has a [schedule]"
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
    click.echo("\nNext search crawls")
    click.echo(
        "  " + table(["SITE", "SCHEDULE", "NEXT", "LAST"], search_rows).replace("\n", "\n  ")
        if search_rows
        else "  no site schedules search crawls (search_every / search_cron)"
    )
