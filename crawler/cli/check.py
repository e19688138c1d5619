"""`repostwatch check`: pages found by hand, crawled once now with their site's settings."""

from __future__ import annotations

import click

from crawler.cli.common import (
    all_sites,
    audit_cli,
    crawl_settings,
    find_configured_site,
    open_session,
    ready_database,
)
from crawler.cli.crawl import print_summary
from crawler.cli.helptext import TranslatedCommand
from crawler.cli.language import _, problem, refusal


@click.command(cls=TranslatedCommand)
@click.argument("urls", metavar="URL...", nargs=-1, required=True)
@click.option(
    "--site",
    default=None,
    help="Check with this site's settings (a NAME or the PATH of a site file); default: the site "
    "whose domains hold the URLs' host, or the default profile (site name 'manual').",
)
@click.option(
    "--allow-private-network",
    is_flag=True,
    help="Let the check reach the URLs' own private address (a site on the centre's network).",
)
@click.option("--loglevel", "-L", default=None, help="Scrapy log level (default: INFO).")
@click.option(
    "--run-id",
    type=int,
    default=None,
    help="Join this crawl run, opened beforehand for the check (the web app's check form opens "
    "one and audits who asked); it is closed as failed if the crawl cannot run.",
)
def check(
    urls: tuple[str, ...],
    site: str | None,
    allow_private_network: bool,
    loglevel: str | None,
    run_id: int | None,
) -> None:
    """Check pages found by hand now: crawl exactly these URLs once (no link followed) with
    their site's settings, hash and match their media, and queue every match as a flag, as any
    crawl does. Who asked is written to the audit log (`manual_check`, with the run).

    URLs of one site at a time; a URL of no configured site is checked with the default
    profile (HTML, robots.txt obeyed, no private addresses) and its run is recorded under the
    site name 'manual'.

    \b
    Example:
      repostwatch check "https://board.example/post/123" "https://board.example/post/124"
      repostwatch check --site board "https://mirror.example/post/9"
    """
    from crawler.crawling.process import run_crawl
    from crawler.sites import SiteConfigError
    from crawler.sites.checks import check_config, site_for_urls

    settings = crawl_settings(**({"LOG_LEVEL": loglevel.upper()} if loglevel else {}))
    try:
        try:
            if site is not None:
                base = find_configured_site(site, settings)
            else:
                loaded = all_sites(settings)
                base = site_for_urls(urls, [f.config for f in loaded.files if f.config is not None])
            config = check_config(urls, base, allow_private_network=allow_private_network)
        except SiteConfigError as exc:
            raise click.ClickException(refusal(exc)) from exc
        except ValueError as exc:
            raise click.ClickException(_first_error(exc)) from exc
        ready_database(settings.get("REPOSTWATCH_DATABASE_URL"))
        joined = run_id is not None
        if not joined:
            run_id = _open_run(config.name)
        # The crawl joins the run, which is marked a check: never judged for the site's health.
        settings.set("REPOSTWATCH_RUN_ID", run_id, priority="cmdline")
        if base:
            said = _("Checking %(num)d URL(s) with the settings of %(site)s")
        else:
            said = _("Checking %(num)d URL(s) with the default profile ('manual')")
        click.echo(said % {"num": len(urls), "site": config.name})
        summary = run_crawl(config.source or config.name, config.name, settings, config=config)
    finally:
        if run_id is not None:
            _close_if_open(run_id)
    if summary.run_id is not None and not joined:  # a joined run was audited by who opened it
        with open_session() as session:
            audit_cli(
                session,
                "manual_check",
                target_type="crawl_run",
                target_id=summary.run_id,
                site=config.name,
                urls=len(urls),
                flags=summary.flags_new,
            )
    print_summary(summary)
    if not summary.ok:
        raise click.ClickException(
            _("check of %(site)s: %(problem)s; see the log above")
            % {"site": config.name, "problem": problem(summary.problem)}
        )


def _open_run(site: str) -> int:
    """Open the check's run (trigger ``check``), which the crawl joins."""
    from crawler import db

    with open_session() as session:
        return db.start_run(session, site, triggered_by=db.CHECK_TRIGGER)


def _close_if_open(run_id: int) -> None:
    """Close the check's run as failed when the check ended without closing it (a bad URL, a
    site file that changed, a crawl that did not start): an open run blocks the site."""
    from crawler import db

    with open_session() as session:
        closed = db.close_run(
            session, run_id, status="failed", finish_reason="the check could not run (see its log)"
        )
    if closed:
        click.echo(
            _("Crawl run %(run)d closed as failed: the check could not run.") % {"run": run_id},
            err=True,
        )


def _first_error(exc: ValueError) -> str:
    """A validation error's first message (a bad URL), or the error itself."""
    from crawler.problems import Invalid

    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        invalid = (first.get("ctx") or {}).get("error")
        if isinstance(invalid, Invalid):  # a validator's Problem: said in the chosen language
            prefix = str(invalid).removesuffix(invalid.problem)
            return f"{prefix}{problem(invalid.problem)}"
        return f"{first.get('msg', exc)}".removeprefix("Value error, ")
    return refusal(exc)
