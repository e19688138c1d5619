"""`repostwatch demo`: serve the demo site, register its references, crawl it, show the flags."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from crawler.cli.common import crawl_settings, redact


@click.command()
@click.option(
    "--loglevel", "-L", default="WARNING", show_default=True, help="Scrapy log level of the crawl."
)
def demo(loglevel: str) -> None:
    """Serve the demo repost site on 127.0.0.1, register demo references, crawl, show flags.

    Everything goes into a database of the demo's own, var/demo/demo.sqlite under the working
    directory, made afresh at every run: REPOSTWATCH_DATABASE_URL, Redis and the configured
    evidence keys are never used. The demo's admin account exists only there.

    \b
    Example:
      repostwatch demo
    """
    from crawler import db
    from crawler.cli.crawl import print_summary
    from crawler.cli.flags import flag_table
    from crawler.crawling.process import run_crawl
    from crawler.demo import samples
    from crawler.demo.localsite import LocalSite
    from crawler.demo.site import (
        DEMO_CASE,
        DEMO_DIR,
        REFERENCE_PHOTOS,
        demo_routes,
        fresh_demo_database,
    )
    from crawler.references import register
    from crawler.site_store import Who, import_bundled
    from crawler.sites import configured_sites, find_site

    try:
        workspace = fresh_demo_database(DEMO_DIR)
    except (OSError, db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        raise click.ClickException(f"cannot make the demo database in {DEMO_DIR}/: {exc}") from exc
    settings = crawl_settings(
        LOG_LEVEL=loglevel.upper(),
        REPOSTWATCH_DATABASE_URL=workspace.database_url,
        REPOSTWATCH_SPILL_FILE=str(workspace.spill_file),
        REPOSTWATCH_REDIS_URL="",  # no shared media cache, announcements or distributed queue
        REPOSTWATCH_DISTRIBUTED=False,
        REPOSTWATCH_EVIDENCE_PUBLIC_KEY=workspace.public_key,
        REPOSTWATCH_EVIDENCE_KEY="",
    )
    url = workspace.database_url
    click.echo(f"1/4 Demo database {redact(url)}: made afresh (the configured one is not used)")
    sessions = db.make_sessionmaker(engine := db.make_engine(url))
    click.echo(
        f"2/4 Registering {len(REFERENCE_PHOTOS)} reference photos of case {DEMO_CASE} "
        "(hashes only)"
    )
    try:
        with sessions.begin() as session:
            report = register.add_files(
                session, DEMO_CASE, [samples.photo_path(name) for name in REFERENCE_PHOTOS]
            )
        click.echo(f"    {report.files_added} added, {report.files_existing} already registered")
        # The bundled site files go into the demo's database, as `db upgrade` puts them into
        # yours; the crawl reads the demo site from there.
        directory = settings.get("REPOSTWATCH_SITES_DIR")
        with sessions.begin() as session:
            import_bundled(session, directory, Who("(demo)", via="demo"))
        config = find_site("demo", configured_sites(settings))
        port = urlsplit(config.start_urls[0]).port  # the demo site file says where to serve
        try:
            site = LocalSite(demo_routes(), port=port)
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve the demo site on 127.0.0.1:{port} ({exc.strerror}); stop what "
                f"uses the port or change the start URL in {directory}/demo.toml"
            ) from exc
        with site:
            click.echo(f"3/4 Crawling the demo site at {site.url}/")
            summary = run_crawl(config.name, config.name, settings)
        print_summary(summary)
        click.echo("\n4/4 Flagged URLs waiting for review:\n")
        with sessions() as session:
            found = db.list_flags(session, site=config.name)
        click.echo(flag_table(found) if found else "No flags.")
        if not summary.ok:
            raise click.ClickException(f"demo crawl: {summary.problem}")
        _print_web_instructions(sessions, url, workspace.private_key_file)
    finally:
        engine.dispose()


def _print_web_instructions(sessions, url: str, key_file: Path) -> None:
    """The demo ends with how to review its flags in the web app."""
    from crawler.demo.site import ensure_demo_account, web_instructions

    with sessions.begin() as session:
        account = ensure_demo_account(session, url)
    local = Path(".venv/bin/repostwatch")
    executable = str(local) if local.exists() else "repostwatch"
    click.echo("\n" + web_instructions(url, account, executable, key_file))
