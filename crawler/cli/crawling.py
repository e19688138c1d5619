"""`repostwatch crawl` and `repostwatch demo`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import click

from crawler.cli.common import load_settings, open_session, ready_database, redact
from crawler.cli.flags import flag_table


# --- crawl ----------------------------------------------------------------------------------
@click.command()
@click.argument("site")
@click.option("--loglevel", "-L", default=None, help="Scrapy log level (default: INFO).")
def crawl(site: str, loglevel: str | None) -> None:
    """Crawl SITE (a site NAME or the PATH of a site file) in this process.

    Pages are crawled as the site file says, every image and video is hashed in memory and
    matched against the registered references, and every match is queued as a flag for review.
    Progress is logged as the crawl goes; a summary is printed at the end.

    \b
    Example:
      repostwatch crawl demo
      repostwatch crawl ./my-sites/board.toml -L WARNING
    """
    from crawler.crawl import run_crawl
    from crawler.sites import SiteConfigError, find_site, resolve_site

    settings = load_settings(**({"LOG_LEVEL": loglevel.upper()} if loglevel else {}))
    directory = settings.get("REPOSTWATCH_SITES_DIR")
    try:
        path = resolve_site(site, directory)
        config = find_site(str(path), directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ready_database(settings.get("REPOSTWATCH_DATABASE_URL"))
    summary = run_crawl(str(path), config.name, settings)
    _print_summary(summary)
    if not summary.ok:
        raise click.ClickException(f"crawl of {config.name}: {summary.problem}; see the log above")


def _print_summary(summary: Any) -> None:
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items())) or "none"
    click.echo(
        f"\nCrawl run {summary.run_id} of {summary.site}: {summary.finish_reason}\n"
        f"  pages           {summary.pages}\n"
        f"  media hashed    {summary.media_hashed}"
        + (f", {summary.media_cached} unchanged (from cache)" if summary.media_cached else "")
        + f" ({summary.media_skipped} skipped: not media, undecodable or too large;"
        f" {summary.media_failed} failed to download)\n"
        f"  bytes           {summary.bytes}\n"
        f"  refused         {refused}\n"
        f"  errors          {summary.errors}\n"
        f"  flags           {summary.flags_new} new, {summary.flags_seen_again} seen again"
        + (f", {summary.flags_spilled} waiting in the spill file" if summary.flags_spilled else "")
    )


# --- demo -----------------------------------------------------------------------------------
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
    from crawler import db, registry, samples
    from crawler.crawl import run_crawl
    from crawler.db import migrate
    from crawler.demo import DEMO_CASE, REFERENCE_PHOTOS, demo_routes
    from crawler.localsite import LocalSite
    from crawler.sites import find_site

    settings = load_settings(LOG_LEVEL=loglevel.upper())
    url = settings.get("REPOSTWATCH_DATABASE_URL")
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
        report = registry.add_files(
            session, DEMO_CASE, [samples.photo_path(name) for name in REFERENCE_PHOTOS]
        )
    click.echo(f"    {report.files_added} added, {report.files_existing} already registered")
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
    _print_summary(summary)
    click.echo("\n4/4 Flagged URLs waiting for review:\n")
    with open_session() as session:
        found = db.list_flags(session, site=config.name)
    click.echo(flag_table(found) if found else "No flags.")
    if not summary.ok:
        raise click.ClickException(f"demo crawl: {summary.problem}")
