"""`repostwatch recheck`: are confirmed flags' media still on their sites?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    database_sessions,
    load_settings,
    open_session,
    recheck_fetcher,
    table,
    valid_sites,
    when,
)

if TYPE_CHECKING:
    from datetime import timedelta

    from crawler.db import CheckTarget
    from crawler.db.rechecks import Verdict
    from crawler.takedown.recheck import CheckResult


@click.command("recheck")
@click.option("--site", help="Only this site's confirmed flags.")
def recheck(site: str | None) -> None:
    """Re-check confirmed flags on their sites. The media URL decides: media seen gone (404/410,
    or other media there now) by two re-checks REPOSTWATCH_RECHECK_GONE_HOURS apart marks the
    flag removed (its evidence stays until the case closes); notices whose items are all
    removed are resolved. One request may take REPOSTWATCH_RECHECK_REQUEST_SECONDS, the whole
    run REPOSTWATCH_RECHECK_ROUND_SECONDS; what is not checked in time is listed, for the next
    run. Run it from a scheduler.

    \b
    Example:
      repostwatch recheck --site board
    """
    from datetime import timedelta

    from crawler.takedown.recheck import recheck as run_recheck

    settings = load_settings()
    configs = valid_sites()
    fetcher = recheck_fetcher(settings)

    def progress(target: CheckTarget, result: CheckResult, verdict: Verdict) -> None:
        if verdict.removed:
            state = f"removed ({result.reason}; gone since {verdict.gone_since:%Y-%m-%d %H:%M} UTC)"
        elif result.present is False:
            state = (
                f"gone ({result.reason}); removed if still gone at "
                f"{verdict.removable_at:%Y-%m-%d %H:%M} UTC"
            )
        elif result.present:
            state = "still there" + (f" ({result.reason})" if result.reason else "")
        else:
            state = f"unknown ({result.error})"
        click.echo(f"flag {target.flag_id} {target.media_url}: {state}")

    with database_sessions() as sessions:
        summary = run_recheck(
            sessions,
            configs,
            fetcher,
            gone_after=timedelta(hours=settings.getfloat("REPOSTWATCH_RECHECK_GONE_HOURS")),
            round_seconds=settings.getfloat("REPOSTWATCH_RECHECK_ROUND_SECONDS"),
            site=site,
            progress=progress,
        )
    for target in summary.left:
        click.echo(f"flag {target.flag_id} {target.media_url}: not checked in time (next run)")
    click.echo(
        f"Checked {summary.checked} flag(s): {len(summary.removed)} removed, "
        f"{len(summary.gone)} seen gone (not yet removed), {len(summary.present)} still there, "
        f"{len(summary.unknown)} unknown, {len(summary.left)} not checked in time; "
        f"{len(summary.resolved_notices)} notice(s) resolved."
    )


# `repostwatch notices removals` (added to the notices group in crawler/cli/__init__.py): what
# the re-checks found removed, and how long it took.
@click.command("removals")
@click.option("--site", help="Only this site.")
@click.option("--case", "case", help="Only this case's flags.")
def notices_removals(site: str | None, case: str | None) -> None:
    """Removed flags with their time-to-removal (from the first sending of their notice, or
    from confirmation when no notice was sent), and the median per site.

    \b
    Example:
      repostwatch notices removals --site board
    """
    from statistics import median

    from crawler import db

    with open_session() as session:
        found = db.removals(session, site, case=case)
    if not found:
        click.echo("No removals.")
        return
    rows = [
        (
            r.flag_id,
            r.site,
            when(r.removed_at, unset="", zone=False),
            r.reason,
            _hours(r.time_to_removal),
            r.counted_from,
        )
        for r in found
    ]
    click.echo(table(("FLAG", "SITE", "REMOVED", "REASON", "HOURS", "FROM"), rows))
    for name in sorted({r.site for r in found}):
        times = [r.time_to_removal for r in found if r.site == name]
        click.echo(f"{name}: median time-to-removal {_hours(median(times))} h ({len(times)})")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}"
