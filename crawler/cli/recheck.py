"""`repostwatch recheck`: are confirmed flags' media still on their sites?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import database_sessions, load_settings, recheck_fetcher, valid_sites

if TYPE_CHECKING:
    from crawler.db import CheckTarget
    from crawler.takedown.recheck import CheckResult


@click.command("recheck")
@click.option("--site", help="Only this site's confirmed flags.")
def recheck(site: str | None) -> None:
    """Re-check confirmed flags on their sites: media gone (404/410, no longer on its page, or
    no longer matching) marks the flag removed; notices whose items are all removed are
    resolved. Run it from a scheduler.

    \b
    Example:
      repostwatch recheck --site board
    """
    from crawler.takedown.recheck import recheck as run_recheck

    settings = load_settings()
    configs = valid_sites()
    fetcher = recheck_fetcher(settings)

    def progress(target: CheckTarget, result: CheckResult) -> None:
        state = (
            "still there"
            if result.present
            else f"removed ({result.reason})"
            if result.present is False
            else f"unknown ({result.error})"
        )
        click.echo(f"flag {target.flag_id} {target.media_url}: {state}")

    with database_sessions() as sessions:
        summary = run_recheck(sessions, configs, fetcher, site=site, progress=progress)
    click.echo(
        f"Checked {summary.checked} flag(s): {len(summary.removed)} removed, "
        f"{len(summary.present)} still there, {len(summary.unknown)} unknown; "
        f"{len(summary.resolved_notices)} notice(s) resolved."
    )
