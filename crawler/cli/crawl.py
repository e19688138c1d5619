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
@click.option(
    "--search",
    is_flag=True,
    help="Search the site for every active keyword of every case (its [search] table) instead "
    "of crawling its start URLs.",
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Be one worker of a crawl shared through Redis (REPOSTWATCH_REDIS_URL): without "
    "--run-id, open a crawl run and print its id for the other workers.",
)
@click.option(
    "--run-id",
    type=int,
    default=None,
    help="Join this crawl run, opened beforehand (by the first worker or the scheduler).",
)
def crawl(
    site: str, loglevel: str | None, search: bool, distributed: bool, run_id: int | None
) -> None:
    """Crawl SITE (a site NAME or the PATH of a site file) in this process.

    Pages are crawled as the site file says, every image and video is hashed in memory and
    matched against the registered references, and every match is queued as a flag for review.
    Progress is logged as the crawl goes; a summary is printed at the end. With --search the
    cases' keywords (`repostwatch cases keywords`) go through the site's own search, the
    result pages are read, and each flag records the keyword that led to it.

    \b
    Example:
      repostwatch crawl demo
      repostwatch crawl ./my-sites/board.toml -L WARNING
      repostwatch crawl board --search
      repostwatch crawl board --distributed               # prints the run id, e.g. 42
      repostwatch crawl board --distributed --run-id 42   # on every other machine
    """
    from crawler.crawling.process import run_crawl
    from crawler.sites import SiteConfigError, find_site, resolve_site

    settings = load_settings(
        **({"LOG_LEVEL": loglevel.upper()} if loglevel else {}),
        **({"REPOSTWATCH_DISTRIBUTED": True} if distributed else {}),
        **({"REPOSTWATCH_RUN_ID": run_id} if run_id else {}),
    )
    directory = settings.get("REPOSTWATCH_SITES_DIR")
    try:
        path = resolve_site(site, directory)
        config = find_site(str(path), directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ready_database(settings.get("REPOSTWATCH_DATABASE_URL"))
    if settings.getbool("REPOSTWATCH_DISTRIBUTED"):
        _distributed_worker(settings, config.name)
    keywords = _search_keywords(config) if search else None
    summary = run_crawl(str(path), config.name, settings, keywords=keywords)
    shared = settings.getbool("REPOSTWATCH_DISTRIBUTED")
    if shared:
        click.echo("\nThis worker's share of the run (the run's totals: crawls list):")
    _print_summary(summary)
    if shared and summary.finish_reason == "finished" and not summary.pages + summary.errors:
        click.echo("  (this worker found no page left: the other workers crawled them all)")
        return
    if not summary.ok:
        raise click.ClickException(f"crawl of {config.name}: {summary.problem}; see the log above")


def _distributed_worker(settings: Any, site_name: str) -> None:
    """Check Redis; open the shared crawl run unless one is given, and say how to join it."""
    import redis

    from crawler import db
    from crawler.distributed import open_run, redis_client, setup_problem

    problem = setup_problem(settings, run_id_needed=False)
    if problem:
        raise click.ClickException(problem)
    if run_id := settings.getint("REPOSTWATCH_RUN_ID"):
        with open_session() as session:  # a clear error now rather than a traceback from Scrapy
            try:
                db.join_run(session, run_id, site_name)
            except (db.RunNotFound, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
    try:
        redis_client(settings).ping()
        if not run_id:
            run_id = open_run(settings, site_name)
            settings.set("REPOSTWATCH_RUN_ID", run_id, priority="cmdline")
            click.echo(
                f"Opened crawl run {run_id} of {site_name}. Start more workers with:\n"
                f"  repostwatch crawl {site_name} --distributed --run-id {run_id}"
            )
    except redis.RedisError as exc:
        url = redact(settings.get("REPOSTWATCH_REDIS_URL"))
        raise click.ClickException(
            f"cannot use Redis at {url}: {exc}; check REPOSTWATCH_REDIS_URL (password, "
            "rediss:// for TLS) and that this machine may reach it"
        ) from exc


def _search_keywords(config: Any) -> list[str]:
    """The keywords a search crawl of ``config`` runs; a clear error when there is nothing to do."""
    from crawler import db

    if config.search is None:
        raise click.ClickException(
            f"{config.source}: no [search] table, so {config.name} cannot be searched; add one "
            "(README: Search by case keywords) or crawl without --search"
        )
    with open_session() as session:
        keywords = db.search_keywords(session)
    if not keywords:
        raise click.ClickException(
            "no active case keywords to search for; add some with "
            "`repostwatch cases keywords add CASE KEYWORD...`"
        )
    click.echo(f"Searching {config.name} for {len(keywords)} keyword(s)")
    return keywords


def _print_summary(summary: Any) -> None:
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items())) or "none"
    click.echo(
        f"\nCrawl run {summary.run_id} of {summary.site}: {summary.finish_reason}\n"
        f"  pages           {summary.pages}\n"
        + (
            f"  searches        {summary.searches} ({summary.result_pages} result pages)\n"
            if summary.searches
            else ""
        )
        + f"  media hashed    {summary.media_hashed}"
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
    from crawler import db
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
    _print_summary(summary)
    click.echo("\n4/4 Flagged URLs waiting for review:\n")
    with open_session() as session:
        found = db.list_flags(session, site=config.name)
    click.echo(flag_table(found) if found else "No flags.")
    if not summary.ok:
        raise click.ClickException(f"demo crawl: {summary.problem}")
    _print_web_instructions(url, key_file)


def _print_web_instructions(url: str, key_file: Any = None) -> None:
    """The demo ends with how to review its flags in the web app (issue #6)."""
    from pathlib import Path

    from crawler.demo.site import ensure_demo_account, web_instructions

    with open_session() as session:
        account = ensure_demo_account(session, url)
    local = Path(".venv/bin/repostwatch")
    executable = str(local) if local.exists() else "repostwatch"
    click.echo("\n" + web_instructions(url, account, executable, key_file))
