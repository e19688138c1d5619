"""`repostwatch demo`: serve the demo site, register its references, crawl it, show the flags."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from crawler.cli.common import load_settings, open_session, redact


@click.command()
@click.option(
    "--loglevel", "-L", default="WARNING", show_default=True, help="Scrapy log level of the crawl."
)
def demo(loglevel: str) -> None:
    """Serve the demo repost site on 127.0.0.1, register demo references, crawl, show flags.

    Uses the configured database (SQLite under var/ by default). Running it again finds the
    same media again and creates no duplicate flags.

    \b
    Example:
      repostwatch demo
    """
    from crawler import db
    from crawler.cli.crawl import print_summary
    from crawler.cli.flags import flag_table
    from crawler.crawling.process import run_crawl
    from crawler.db import migrate
    from crawler.demo import samples
    from crawler.demo.localsite import LocalSite
    from crawler.demo.site import DEMO_CASE, REFERENCE_PHOTOS, demo_routes
    from crawler.references import register
    from crawler.references.announcements import announce_change
    from crawler.sites import find_site

    settings = load_settings(LOG_LEVEL=loglevel.upper())
    url = settings.get("REPOSTWATCH_DATABASE_URL")
    key_file = None
    if not settings.get("REPOSTWATCH_EVIDENCE_KEY"):  # keep the demo's matches as evidence
        from crawler.demo.site import demo_evidence_key

        key, key_file = demo_evidence_key()
        settings.set("REPOSTWATCH_EVIDENCE_KEY", key)
    click.echo(f"1/4 Database {redact(url)}: running migrations")
    try:
        migrate.upgrade(url)
    except (db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"2/4 Registering {len(REFERENCE_PHOTOS)} reference photos of case {DEMO_CASE} "
        "(hashes only)"
    )
    with open_session() as session:
        report = register.add_files(
            session, DEMO_CASE, [samples.photo_path(name) for name in REFERENCE_PHOTOS]
        )
    click.echo(f"    {report.files_added} added, {report.files_existing} already registered")
    announce_change(settings.get("REPOSTWATCH_REDIS_URL"))  # other running crawls, if any
    config = find_site("demo", settings.get("REPOSTWATCH_SITES_DIR"))
    port = urlsplit(config.start_urls[0]).port  # the demo site file says where to serve
    try:
        site = LocalSite(demo_routes(), port=port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the demo site on 127.0.0.1:{port} ({exc.strerror}); stop what uses "
            f"the port or change the start URL in {config.source}"
        ) from exc
    with site:
        click.echo(f"3/4 Crawling the demo site at {site.url}/")
        summary = run_crawl(config.source, config.name, settings)
    print_summary(summary)
    click.echo("\n4/4 Flagged URLs waiting for review:\n")
    with open_session() as session:
        found = db.list_flags(session, site=config.name)
    click.echo(flag_table(found) if found else "No flags.")
    if not summary.ok:
        raise click.ClickException(f"demo crawl: {summary.problem}")
    _print_web_instructions(url, key_file)


def _print_web_instructions(url: str, key_file: Path | None = None) -> None:
    """The demo ends with how to review its flags in the web app."""
    from crawler.demo.site import ensure_demo_account, web_instructions

    with open_session() as session:
        account = ensure_demo_account(session, url)
    local = Path(".venv/bin/repostwatch")
    executable = str(local) if local.exists() else "repostwatch"
    click.echo("\n" + web_instructions(url, account, executable, key_file))
