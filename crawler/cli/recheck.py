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
from crawler.cli.helptext import TranslatedCommand
from crawler.cli.language import _

if TYPE_CHECKING:
    from datetime import timedelta

    from crawler.db import CheckTarget
    from crawler.db.rechecks import Verdict
    from crawler.takedown.recheck import CheckResult


@click.command("recheck", cls=TranslatedCommand)
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
        said = {
            "reason": result.reason,
            "error": result.error,
            "since": when(verdict.gone_since),
            "at": when(verdict.removable_at),
        }
        if verdict.removed:
            state = _("removed (%(reason)s; gone since %(since)s)") % said
        elif result.present is False:
            state = _("gone (%(reason)s); removed if still gone at %(at)s") % said
        elif result.present:
            state = _("still there (%(reason)s)") % said if result.reason else _("still there")
        else:
            state = _("unknown (%(error)s)") % said
        click.echo(
            _("flag %(flag)d %(url)s: %(state)s")
            % {"flag": target.flag_id, "url": target.media_url, "state": state}
        )

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
        click.echo(
            _("flag %(flag)d %(url)s: not checked in time (next run)")
            % {"flag": target.flag_id, "url": target.media_url}
        )
    click.echo(
        _(
            "Checked %(checked)d flag(s): %(removed)d removed, %(gone)d seen gone (not yet "
            "removed), %(present)d still there, %(unknown)d unknown, %(left)d not checked in "
            "time; %(resolved)d notice(s) resolved."
        )
        % {
            "checked": summary.checked,
            "removed": len(summary.removed),
            "gone": len(summary.gone),
            "present": len(summary.present),
            "unknown": len(summary.unknown),
            "left": len(summary.left),
            "resolved": len(summary.resolved_notices),
        }
    )


# `repostwatch notices removals` (added to the notices group in crawler/cli/__init__.py): what
# the re-checks found removed, and how long it took.
@click.command("removals", cls=TranslatedCommand)
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
        click.echo(_("No removals."))
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
        click.echo(
            _("%(site)s: median time-to-removal %(hours)s h (%(num)d)")
            % {"site": name, "hours": _hours(median(times)), "num": len(times)}
        )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}"
