"""`repostwatch refs`: register reference media as hashes, trade hash lists."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import load_settings, open_session
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import _, refusal


# --- refs -----------------------------------------------------------------------------------
@click.group(cls=TranslatedGroup)
def refs() -> None:
    """Register reference media of victims' cases, as hashes only."""


def _announce() -> None:
    """Running crawls pick the change up at once through Redis, when it is configured."""
    from crawler.references.announcements import announce_change

    announce_change(load_settings().get("REPOSTWATCH_REDIS_URL"))


@refs.command("add")
@click.option("--case", "case", required=True, help="Case name the references belong to.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--pixelated-thumbnails",
    is_flag=True,
    help="Opt the case in to keeping an 8x8-block, 64 px pixelated thumbnail of each image "
    "for reviewers (nothing identifiable survives; `cases thumbnails CASE --drop` opts out).",
)
def refs_add(case: str, paths: tuple[Path, ...], pixelated_thumbnails: bool) -> None:
    """Hash each image in PATHS (files or directories) and store only its hashes.

    SHA-256, MD5, pHash and PDQ (with its quality) are computed in memory; the media itself is
    never copied or written anywhere. Adding the same file again changes nothing. A case that
    opted in (--pixelated-thumbnails) also keeps a heavily pixelated thumbnail per image.

    \b
    Example:
      repostwatch refs add --case case-0042 victim-photos/ extra/IMG_0001.jpg
      repostwatch refs add --case case-0042 --pixelated-thumbnails victim-photos/
    """
    from crawler import db
    from crawler.db import cases as db_cases
    from crawler.references import register

    files = list(register.media_files(paths))
    if not files:
        raise click.ClickException(_("no files found in the paths given"))
    try:
        with (
            open_session() as session,
            click.progressbar(files, label=_("Hashing"), file=sys.stderr, show_pos=True) as bar,
        ):
            db_cases.ensure_open(session, case)
            if pixelated_thumbnails:
                db.get_or_create_case(session, case)
                db_cases.set_pixelated_thumbnails(session, case, True)
            thumbnails = db_cases.wants_thumbnails(session, case)
            report = register.add_files(session, case, bar, thumbnails=thumbnails)
    except db_cases.CaseClosed as exc:
        raise click.ClickException(
            _("nothing added: %(problem)s") % {"problem": refusal(exc)}
        ) from exc
    _announce()
    for path, why in report.skipped:
        click.echo(_("skipped %(path)s: %(why)s") % {"path": path, "why": why}, err=True)
    for path, why in report.cut_short:
        click.echo(_("warning: %(path)s: %(why)s") % {"path": path, "why": why}, err=True)
    if report.frames_stored:
        click.echo(_("%(num)d reference video frame(s) stored.") % {"num": report.frames_stored})
    counts = {
        "case": case,
        "files": report.files_added,
        "hashes": report.hashes_added,
        "videos": report.videos_added,
        "existing": report.files_existing,
        "skipped": len(report.skipped),
    }
    if report.videos_added:
        said = _(
            "Case %(case)s: %(files)d file(s) added (%(hashes)d hashes, %(videos)d video(s) with "
            "frame hashes), %(existing)d already registered, %(skipped)d skipped."
        )
    else:
        said = _(
            "Case %(case)s: %(files)d file(s) added (%(hashes)d hashes), %(existing)d already "
            "registered, %(skipped)d skipped."
        )
    click.echo(said % counts)
    if not report.files_added and not report.files_existing:
        raise click.ClickException(
            _(
                "nothing added to %(case)s: none of the %(num)d file(s) could be hashed (each is "
                "named above); give images or videos"
            )
            % {"case": case, "num": len(files)}
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
    from crawler import db
    from crawler.references import hash_lists

    try:
        rows = hash_lists.read_hash_list(file, fmt)
    except hash_lists.HashListError as exc:
        raise click.ClickException(_("nothing imported:") + f"\n{refusal(exc)}") from exc
    try:
        with open_session() as session:
            result = db.import_hashes(session, rows)
    except ValueError as exc:  # a row the database layer refuses (checked before any write)
        raise click.ClickException(
            _("nothing imported: %(file)s: %(problem)s") % {"file": file, "problem": refusal(exc)}
        ) from exc
    _announce()
    click.echo(
        _("Imported %(added)d hash(es); %(existing)d were already registered.")
        % {"added": result.added, "existing": result.existing}
    )


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
    from crawler import db
    from crawler.references import hash_lists

    with open_session() as session:
        rows = db.export_hashes(session, case)
    text = hash_lists.format_hash_list(rows, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(
            _("Wrote %(num)d hash(es) to %(path)s.") % {"num": len(rows), "path": output}, err=True
        )
    else:
        click.echo(text, nl=False)


@refs.command("withdraw")
@click.option("--case", "case", required=True, help="Case the references belong to.")
@click.option("--all", "everything", is_flag=True, help="Withdraw every reference of the case.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def refs_withdraw(case: str, everything: bool, paths: tuple[Path, ...]) -> None:
    """Stop matching the references made from PATHS (or, with --all, the whole case).

    Running crawls stop matching them within seconds. The hashes stay in the database, marked
    withdrawn, so that existing flags keep their evidence; adding the file again re-activates
    them.

    \b
    Example:
      repostwatch refs withdraw --case case-0042 photos/IMG_0007.jpg
      repostwatch refs withdraw --case case-0042 --all
    """
    from crawler import db
    from crawler.hashing import MediaError, hash_file
    from crawler.references import register

    if everything == bool(paths):
        raise click.UsageError(_("name the reference files to withdraw, or pass --all (not both)"))
    digests = None
    if paths:
        digests = []
        for path in register.media_files(paths):
            try:
                digests.append(hash_file(path).sha256)
            except MediaError as exc:
                click.echo(
                    _("skipped %(path)s: %(why)s") % {"path": path, "why": refusal(exc)}, err=True
                )
    try:
        with open_session() as session:
            withdrawn = db.withdraw_references(session, case, media_sha256=digests)
    except ValueError as exc:
        raise click.ClickException(refusal(exc)) from exc
    _announce()
    click.echo(_("Case %(case)s: %(num)d hash(es) withdrawn.") % {"case": case, "num": withdrawn})
