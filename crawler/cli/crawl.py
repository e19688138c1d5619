"""`repostwatch crawl`: crawl one site in this process (alone, or as a distributed worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    crawl_settings,
    database_errors,
    find_configured_site,
    open_session,
    ready_database,
)
from crawler.cli.helptext import TranslatedCommand
from crawler.cli.language import _, problem, refusal

if TYPE_CHECKING:
    from crawler.crawling.process import Settings
    from crawler.crawling.run import CrawlSummary
    from crawler.sites import SiteConfig


@click.command(cls=TranslatedCommand)
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

    settings = crawl_settings(
        **({"LOG_LEVEL": loglevel.upper()} if loglevel else {}),
        **({"REPOSTWATCH_DISTRIBUTED": True} if distributed else {}),
        **({"REPOSTWATCH_RUN_ID": run_id} if run_id else {}),
    )
    config = find_configured_site(site, settings)
    ready_database(settings.get("REPOSTWATCH_DATABASE_URL"))
    if settings.getbool("REPOSTWATCH_DISTRIBUTED"):
        _distributed_worker(settings, config.name)
    keywords = _search_keywords(config) if search else None
    # By NAME the spider reads the site from the same source (the database, or the site files).
    summary = run_crawl(site, config.name, settings, keywords=keywords)
    shared = settings.getbool("REPOSTWATCH_DISTRIBUTED")
    if shared:
        click.echo("\n" + _("This worker's share of the run (the run's totals: crawls list):"))
    print_summary(summary, shared=shared)
    if shared and summary.finish_reason == "finished" and not summary.pages + summary.errors:
        click.echo("  " + _("(this worker found no page left: the other workers crawled them all)"))
        return
    if not summary.ok:
        raise click.ClickException(
            _("crawl of %(site)s: %(problem)s; see the log above")
            % {"site": config.name, "problem": problem(summary.problem)}
        )


def _distributed_worker(settings: Settings, site_name: str) -> None:
    """Make this process a worker of a distributed crawl (crawler.distributed); when it opened
    the run, say how the other workers join it."""
    from crawler.distributed import DistributedSetupError, prepare_worker

    try:
        with database_errors(settings.get("REPOSTWATCH_DATABASE_URL")):
            opened = prepare_worker(settings, site_name)
    except DistributedSetupError as exc:
        raise click.ClickException(refusal(exc)) from exc
    if opened is not None:
        click.echo(
            _("Opened crawl run %(run)d of %(site)s. Start more workers with:")
            % {"run": opened, "site": site_name}
            + f"\n  repostwatch crawl {site_name} --distributed --run-id {opened}"
        )


def _search_keywords(config: SiteConfig) -> list[str]:
    """The keywords a search crawl of ``config`` runs; a clear error when there is nothing to do."""
    from crawler import db

    if config.search is None:
        raise click.ClickException(
            _(
                "%(file)s: no [search] table, so %(site)s cannot be searched; add one "
                "(README: Search by case keywords) or crawl without --search"
            )
            % {"file": config.source, "site": config.name}
        )
    with open_session() as session:
        keywords = db.search_keywords(session)
    if not keywords:
        raise click.ClickException(
            _(
                "no active case keywords to search for; add some with "
                "`repostwatch cases keywords add CASE KEYWORD...`"
            )
        )
    click.echo(
        _("Searching %(site)s for %(num)d keyword(s)") % {"site": config.name, "num": len(keywords)}
    )
    return keywords


def print_summary(summary: CrawlSummary, *, shared: bool = False) -> None:
    """A crawl's figures, as `crawl` and `demo` print them at the end. A crawl that crawled no
    page is a failure (its run is closed as failed), unless it is one worker of a ``shared``
    run whose other workers took the pages."""
    outcome = _(summary.finish_reason)
    if summary.finish_reason == "finished" and not summary.pages and not shared:
        outcome = _("failed, no page crawled")
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items())) or _("none")
    figures = {
        "run": summary.run_id,
        "site": summary.site,
        "outcome": outcome,
        "pages": summary.pages,
        "searches": summary.searches,
        "result_pages": summary.result_pages,
        "hashed": summary.media_hashed,
        "cached": summary.media_cached,
        "skipped": summary.media_skipped,
        "failed": summary.media_failed,
        "bytes": summary.bytes,
        "refused": refused,
        "errors": summary.errors,
        "new": summary.flags_new,
        "again": summary.flags_seen_again,
        "spilled": summary.flags_spilled,
    }
    lines = [
        "",
        _("Crawl run %(run)s of %(site)s: %(outcome)s"),
        _("  pages           %(pages)d"),
    ]
    if summary.searches:
        lines.append(_("  searches        %(searches)d (%(result_pages)d result pages)"))
    if summary.media_cached:
        lines.append(
            _(
                "  media hashed    %(hashed)d, %(cached)d unchanged (from cache) (%(skipped)d "
                "skipped: not media, undecodable or too large; %(failed)d failed to download)"
            )
        )
    else:
        lines.append(
            _(
                "  media hashed    %(hashed)d (%(skipped)d skipped: not media, undecodable or too "
                "large; %(failed)d failed to download)"
            )
        )
    lines += [
        _("  bytes           %(bytes)d"),
        _("  refused         %(refused)s"),
        _("  errors          %(errors)d"),
    ]
    if summary.flags_spilled:
        lines.append(
            _(
                "  flags           %(new)d new, %(again)d seen again, %(spilled)d waiting in the "
                "spill file"
            )
        )
    else:
        lines.append(_("  flags           %(new)d new, %(again)d seen again"))
    click.echo("\n".join(line % figures for line in lines))
