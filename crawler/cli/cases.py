"""`repostwatch cases`: what is kept per victim's case besides its references.

Subcommands per area of a case; today its search keywords (``cases keywords``).
"""

from __future__ import annotations

import json

import click

from crawler.cli.common import open_session, table


# --- cases ----------------------------------------------------------------------------------
@click.group()
def cases() -> None:
    """Victims' cases: their search keywords (references: `repostwatch refs`)."""


# --- cases keywords -------------------------------------------------------------------------
@cases.group("keywords")
def keywords() -> None:
    """The names, nicknames and slang a case's media is searched for on sites.

    `repostwatch crawl SITE --search` runs every active keyword of every case through the
    site's search (its [search] table); each flag records the keyword that led to it.
    """


@keywords.command("add")
@click.argument("case")
@click.argument("words", metavar="KEYWORD...", nargs=-1, required=True)
def keywords_add(case: str, words: tuple[str, ...]) -> None:
    """Add KEYWORDs to CASE (created if new). A withdrawn keyword becomes active again.

    Quote a keyword with spaces. Keywords are stored in Unicode NFC, trimmed, so Korean
    typed on any system is searched the same way.

    \b
    Example:
      repostwatch cases keywords add case-0042 하늘별 달빛고양이 "sky star"
    """
    from crawler import db

    try:
        with open_session() as session:
            change = db.add_keywords(session, case, words)
    except ValueError as exc:
        raise click.ClickException(f"nothing added: {exc}") from exc
    click.echo(
        f"{len(change.changed)} keyword(s) added to {case}"
        + (f", {len(change.unchanged)} already active" if change.unchanged else "")
        + "."
    )


@keywords.command("list")
@click.option("--case", "case", help="Only the keywords of this case.")
@click.option("--all", "include_withdrawn", is_flag=True, help="Withdrawn keywords too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def keywords_list(case: str | None, include_withdrawn: bool, as_json: bool) -> None:
    """List the active keywords (with --all, withdrawn ones too), by case.

    \b
    Example:
      repostwatch cases keywords list --case case-0042
      repostwatch cases keywords list --all --json
    """
    from crawler import db

    try:
        with open_session() as session:
            found = db.list_keywords(session, case=case, include_withdrawn=include_withdrawn)
    except db.UnknownCase as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        rows = [
            {
                "case": k.case,
                "keyword": k.keyword,
                "active": k.active,
                "created_at": k.created_at.isoformat(),
                "withdrawn_at": k.withdrawn_at.isoformat() if k.withdrawn_at else None,
            }
            for k in found
        ]
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not found:
        click.echo("No keywords.")
        return
    rows = [
        (
            k.case,
            k.keyword,
            "active" if k.active else f"withdrawn {k.withdrawn_at:%Y-%m-%d %H:%M}",
            f"{k.created_at:%Y-%m-%d %H:%M}",
        )
        for k in found
    ]
    click.echo(table(("CASE", "KEYWORD", "STATE", "ADDED"), rows))


@keywords.command("remove")
@click.argument("case")
@click.argument("words", metavar="KEYWORD...", nargs=-1, required=True)
def keywords_remove(case: str, words: tuple[str, ...]) -> None:
    """Stop searching for KEYWORDs of CASE. Flags found through them keep naming them; adding
    a keyword again re-activates it.

    \b
    Example:
      repostwatch cases keywords remove case-0042 달빛고양이
    """
    from crawler import db

    try:
        with open_session() as session:
            change = db.withdraw_keywords(session, case, words)
    except (ValueError, db.UnknownCase) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(change.changed)} keyword(s) of {case} withdrawn.")
    if change.unchanged:
        click.echo(f"Not active keywords of {case}: {', '.join(change.unchanged)}", err=True)
