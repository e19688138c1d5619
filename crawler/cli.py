"""``repostwatch``: the command line, a thin layer over the library.

Each command parses its arguments, calls one library function and prints the result; library
errors become one clear error line and exit status 1. Imports happen inside commands so that
``repostwatch --help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


def _settings():
    from crawler.crawl import project_settings

    return project_settings()


def _database_url() -> str:
    return _settings().get("REPOSTWATCH_DATABASE_URL")


def _sites_dir() -> str:
    return _settings().get("REPOSTWATCH_SITES_DIR")


@contextmanager
def _session() -> Iterator[Any]:
    """A session in one transaction: committed on success, rolled back on any error."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler import db

    engine = db.make_engine(_database_url())
    try:
        with db.make_sessionmaker(engine).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise click.ClickException(
            f"database error at {engine.url!r}: {first}\n"
            "Is the database created and up to date? Run `repostwatch db upgrade`."
        ) from exc
    finally:
        engine.dispose()


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="repostwatch")
def main() -> None:
    """RepostWatch: find reposts of victims' media on monitored sites and queue them for review.

    Settings come from the environment (REPOSTWATCH_DATABASE_URL, REPOSTWATCH_SITES_DIR, ...);
    the README lists them all.

    \b
    Example:
      repostwatch db upgrade
      repostwatch refs add --case case-0042 ./reference-photos/
      repostwatch crawl demo
      repostwatch flags list --status pending
    """


# --- db -------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Create and migrate the database."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def db_upgrade(revision: str) -> None:
    """Run the database migrations up to REVISION (SQLite or PostgreSQL).

    \b
    Example:
      REPOSTWATCH_DATABASE_URL=postgresql://rw@db/repostwatch repostwatch db upgrade
    """
    from crawler.db import migrate

    url = _database_url()
    try:
        migrate.upgrade(url, revision)
        current = migrate.current_revision(url)
    except Exception as exc:  # alembic and drivers raise many types; show the cause
        raise click.ClickException(f"migration failed on {_redact(url)}: {exc}") from exc
    click.echo(f"Database {_redact(url)} is at revision {current}.")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


# --- refs -----------------------------------------------------------------------------------
@main.group()
def refs() -> None:
    """Register reference media of victims' cases, as hashes only."""


@refs.command("add")
@click.option("--case", "case", required=True, help="Case name the references belong to.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def refs_add(case: str, paths: tuple[Path, ...]) -> None:
    """Hash each image in PATHS (files or directories) and store only its hashes.

    SHA-256, MD5, pHash and PDQ (with its quality) are computed in memory; the media itself is
    never copied or written anywhere. Adding the same file again changes nothing.

    \b
    Example:
      repostwatch refs add --case case-0042 victim-photos/ extra/IMG_0001.jpg
    """
    from crawler import registry

    files = list(registry.media_files(paths))
    if not files:
        raise click.ClickException("no files found in the paths given")
    with (
        _session() as session,
        click.progressbar(files, label="Hashing", file=sys.stderr, show_pos=True) as bar,
    ):
        report = registry.add_files(session, case, bar)
    for path, why in report.skipped:
        click.echo(f"skipped {path}: {why}", err=True)
    click.echo(
        f"Case {case}: {report.files_added} file(s) added ({report.hashes_added} hashes), "
        f"{report.files_existing} already registered, {len(report.skipped)} skipped."
    )


@refs.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), help="Default: by extension.")
def refs_import(file: Path, fmt: str | None) -> None:
    """Load a hash list (CSV or JSON with algorithm,hash,case[,quality]) from a partner.

    Every bad row is reported with its line number and nothing is saved unless all rows are
    good. Hashes already registered are left as they are.

    \b
    Example (CSV):
      algorithm,hash,case
      pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,case-0042
      repostwatch refs import partner-list.csv
    """
    from crawler import db, registry

    try:
        fmt = registry.guess_format(file, fmt)
        rows = registry.parse_hash_list(file.read_text(encoding="utf-8"), fmt, str(file))
    except (registry.HashListError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"nothing imported:\n{exc}") from exc
    with _session() as session:
        result = db.import_hashes(session, rows)
    click.echo(f"Imported {result.added} hash(es); {result.existing} were already registered.")


@refs.command("export")
@click.option("--case", "case", help="Only this case.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def refs_export(case: str | None, fmt: str, output: Path | None) -> None:
    """Write the registered hashes as a hash list (the format `refs import` reads).

    \b
    Example:
      repostwatch refs export --case case-0042 --format json -o case-0042.json
    """
    from crawler import db, registry

    with _session() as session:
        rows = db.export_hashes(session, case)
    text = registry.format_hash_list(rows, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(rows)} hash(es) to {output}.", err=True)
    else:
        click.echo(text, nl=False)


# --- sites ----------------------------------------------------------------------------------
@main.group()
def sites() -> None:
    """List and validate site files (settings/sites/NAME.toml)."""


@sites.command("list")
def sites_list() -> None:
    """List the site files with their start URLs; invalid files are marked.

    \b
    Example:
      REPOSTWATCH_SITES_DIR=/etc/repostwatch/sites repostwatch sites list
    """
    from crawler.sites import SiteConfigError, load_site, site_files

    directory = _sites_dir()
    rows = []
    for path in site_files(directory):
        try:
            config = load_site(path)
        except SiteConfigError as exc:
            rows.append((path.stem, "INVALID", str(path), exc.problems[0]))
        else:
            rows.append((config.name, config.render, str(path), " ".join(config.start_urls)))
    if not rows:
        click.echo(f"No site files in {directory}.")
        return
    click.echo(_table(("NAME", "RENDER", "FILE", "START URLS / PROBLEM"), rows))


@sites.command("check")
@click.argument("site", required=False)
def sites_check(site: str | None) -> None:
    """Validate one site (NAME or PATH) or, without an argument, every site file.

    Exits with status 1 when a file has problems; each problem names the file and the key.

    \b
    Example:
      repostwatch sites check settings/sites/new-board.toml
    """
    from crawler.sites import SiteConfigError, load_site, resolve_site, site_files

    directory = _sites_dir()
    try:
        paths = [resolve_site(site, directory)] if site else site_files(directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    for path in paths:
        try:
            config = load_site(path)
        except SiteConfigError as exc:
            failed += 1
            click.echo(str(exc), err=True)
        else:
            click.echo(f"{path}: ok ({config.name}, {len(config.start_urls)} start URL(s))")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} site file(s) have problems")
    if not paths:
        click.echo(f"No site files in {directory}.")


# --- crawl ----------------------------------------------------------------------------------
@main.command()
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
    from crawler.crawl import project_settings, run_crawl
    from crawler.sites import SiteConfigError, find_site, resolve_site

    settings = project_settings(**({"LOG_LEVEL": loglevel.upper()} if loglevel else {}))
    directory = settings.get("REPOSTWATCH_SITES_DIR")
    try:
        path = resolve_site(site, directory)
        config = find_site(str(path), directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = run_crawl(str(path), config.name, settings)
    _print_summary(summary)
    if not summary.ok:
        raise click.ClickException(
            f"the crawl of {config.name} ended with {summary.finish_reason!r}; see the log above"
        )


def _print_summary(summary: Any) -> None:
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items())) or "none"
    click.echo(
        f"\nCrawl run {summary.run_id} of {summary.site}: {summary.finish_reason}\n"
        f"  pages           {summary.pages}\n"
        f"  media hashed    {summary.media_hashed}"
        f" ({summary.media_skipped} not media, {summary.media_failed} failed)\n"
        f"  bytes           {summary.bytes}\n"
        f"  refused         {refused}\n"
        f"  flags           {summary.flags_new} new, {summary.flags_seen_again} seen again"
    )
    if summary.flags_spilled:
        click.echo(
            f"  WARNING: {summary.flags_spilled} match(es) could not be written to the database "
            "and wait in the spill file; run `repostwatch flags replay` once it is back.",
            err=True,
        )


# --- flags ----------------------------------------------------------------------------------
@main.group()
def flags() -> None:
    """The review queue: media that matched a case's references."""


FLAG_STATUSES = ("pending", "confirmed", "rejected")


def _flag_json(flag: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(flag)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}


@flags.command("list")
@click.option("--status", type=click.Choice(FLAG_STATUSES), help="Only flags in this state.")
@click.option("--case", "case", help="Only flags of this case.")
@click.option("--site", help="Only flags found on this site.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many flags.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def flags_list(
    status: str | None, case: str | None, site: str | None, limit: int | None, as_json: bool
) -> None:
    """List flags, oldest first.

    \b
    Example:
      repostwatch flags list --status pending
      repostwatch flags list --case case-0042 --json > case-0042-flags.json
    """
    from crawler import db

    with _session() as session:
        found = db.list_flags(session, status=status, case=case, site=site, limit=limit)
    if as_json:
        click.echo(json.dumps([_flag_json(f) for f in found], indent=1, ensure_ascii=False))
        return
    if not found:
        click.echo("No flags.")
        return
    click.echo(_flag_table(found))


def _flag_table(found: Sequence[Any]) -> str:
    rows = [
        (
            f.id,
            f.status,
            f.case,
            f.site,
            f.algorithm,
            f.distance,
            f.media_url,
            f.page_url,
            f.last_seen.strftime("%Y-%m-%d %H:%M"),
        )
        for f in found
    ]
    headers = ("ID", "STATUS", "CASE", "SITE", "ALGO", "DIST", "MEDIA URL", "PAGE URL", "LAST SEEN")
    return _table(headers, rows)


@flags.command("decide")
@click.argument("flag_id", metavar="ID", type=int)
@click.argument("decision", type=click.Choice(["confirm", "reject"]))
@click.option(
    "--by",
    "by",
    default=lambda: os.environ.get("USER") or "unknown",
    help="Who decides (default: $USER).",
)
def flags_decide(flag_id: int, decision: str, by: str) -> None:
    """Confirm or reject flag ID after looking at it. Only confirmed flags lead to notices.

    \b
    Example:
      repostwatch flags decide 17 confirm --by kim.reviewer
    """
    from crawler import db

    try:
        with _session() as session:
            flag = db.decide(session, flag_id, decision, by=by)
    except db.FlagNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Flag {flag.id} is {flag.status} (by {flag.decided_by}).")


@flags.command("replay")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def flags_replay(file: Path | None) -> None:
    """Write matches kept in the spill file (when the database was down) to the database.

    A crawl does this by itself when it starts; replaying twice creates no duplicates.
    FILE defaults to REPOSTWATCH_SPILL_FILE (var/unrecorded-matches.jsonl).

    \b
    Example:
      repostwatch flags replay
    """
    from crawler import db
    from crawler.recording import FlagRecorder

    settings = _settings()
    path = file or Path(settings.get("REPOSTWATCH_SPILL_FILE"))
    engine = db.make_engine(settings.get("REPOSTWATCH_DATABASE_URL"))
    try:
        replayed = FlagRecorder(db.make_sessionmaker(engine), path).replay()
    except Exception as exc:
        raise click.ClickException(
            f"could not replay {path}: {str(exc).splitlines()[0]}; the file is left as it was"
        ) from exc
    finally:
        engine.dispose()
    click.echo(f"Replayed {replayed} match(es) from {path}.")


# --- demo -----------------------------------------------------------------------------------
@main.command()
@click.option(
    "--port",
    default=8931,
    show_default=True,
    help="Port of the demo site (settings/sites/demo.toml points at 8931).",
)
def demo(port: int) -> None:
    """Serve the demo repost site on 127.0.0.1, register demo references, crawl, show flags.

    Uses the configured database (SQLite under var/ by default). Running it again finds the
    same media again and creates no duplicate flags.

    \b
    Example:
      repostwatch demo
    """
    from crawler import db, registry, samples
    from crawler.crawl import project_settings, run_crawl
    from crawler.db import migrate
    from crawler.demo import DEMO_CASE, REFERENCE_PHOTOS, demo_routes
    from crawler.localsite import LocalSite
    from crawler.sites import find_site

    settings = project_settings()
    url = settings.get("REPOSTWATCH_DATABASE_URL")
    click.echo(f"1/4 Database {_redact(url)}: running migrations")
    migrate.upgrade(url)
    click.echo(
        f"2/4 Registering {len(REFERENCE_PHOTOS)} reference photos of case {DEMO_CASE} "
        "(hashes only)"
    )
    with _session() as session:
        report = registry.add_files(
            session, DEMO_CASE, [samples.photo_path(name) for name in REFERENCE_PHOTOS]
        )
    click.echo(f"    {report.files_added} added, {report.files_existing} already registered")
    config = find_site("demo", settings.get("REPOSTWATCH_SITES_DIR"))
    with LocalSite(demo_routes(), port=port) as site:
        click.echo(f"3/4 Crawling the demo site at {site.url}/")
        summary = run_crawl(config.source, config.name, settings)
    _print_summary(summary)
    click.echo("\n4/4 Flagged URLs waiting for review:\n")
    with _session() as session:
        found = db.list_flags(session, site=config.name)
    click.echo(_flag_table(found) if found else "No flags.")
    if not summary.ok:
        raise click.ClickException(f"the demo crawl ended with {summary.finish_reason!r}")
