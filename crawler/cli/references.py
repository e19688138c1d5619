"""`repostwatch refs`: register reference media as hashes, trade hash lists."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import open_session


# --- refs -----------------------------------------------------------------------------------
@click.group()
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
        open_session() as session,
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
        rows = registry.read_hash_list(file, fmt)
    except registry.HashListError as exc:
        raise click.ClickException(f"nothing imported:\n{exc}") from exc
    try:
        with open_session() as session:
            result = db.import_hashes(session, rows)
    except ValueError as exc:  # a row the database layer refuses (checked before any write)
        raise click.ClickException(f"nothing imported: {file}: {exc}") from exc
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

    with open_session() as session:
        rows = db.export_hashes(session, case)
    text = registry.format_hash_list(rows, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(rows)} hash(es) to {output}.", err=True)
    else:
        click.echo(text, nl=False)
