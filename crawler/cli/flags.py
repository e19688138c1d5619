"""`repostwatch flags`: the review queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.common import (
    audit_cli,
    database_sessions,
    load_settings,
    login_name,
    open_session,
    plain,
    staff_account,
    table,
    when,
)
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import N_, _, refusal

if TYPE_CHECKING:
    from crawler.db import FlagView


# --- flags ----------------------------------------------------------------------------------
@click.group(cls=TranslatedGroup)
def flags() -> None:
    """The review queue: media that matched a case's references."""


FLAG_STATUSES = ("pending", "confirmed", "rejected", "removed")


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

    with open_session() as session:
        found = db.list_flags(session, status=status, case=case, site=site, limit=limit)
    if as_json:
        click.echo(json.dumps(plain(found), indent=1, ensure_ascii=False))
        return
    if not found:
        click.echo(_("No flags."))
        return
    click.echo(flag_table(found))


def flag_table(found: Sequence[FlagView]) -> str:
    """Flags as a table (with a KEYWORD column when search crawls found some of them)."""
    rows = [
        (
            f.id,
            f.status,
            f.case,
            f.site,
            f.algorithm,
            f.variant or "",
            f.distance,
            f.media_url,
            f.page_url,
            when(f.last_seen, zone=False),
        )
        for f in found
    ]
    headers = (
        "ID",
        "STATUS",
        "CASE",
        "SITE",
        "ALGO",
        "VARIANT",
        "DIST",
        "MEDIA URL",
        "PAGE URL",
        "LAST SEEN",
    )
    if any(getattr(f, "keyword", None) for f in found):  # search crawls found some of them
        headers += ("KEYWORD",)
        rows = [(*row, _keyword(f)) for row, f in zip(rows, found, strict=True)]
    return table(headers, rows)


def _keyword(flag: FlagView) -> str:
    """The keyword that led to a flag, with its case when it is another case's keyword."""
    if not flag.keyword:
        return ""
    if flag.keyword_case and flag.keyword_case != flag.case:
        return f"{flag.keyword} ({flag.keyword_case})"
    return flag.keyword


@flags.command("decide")
@click.argument("flag_id", metavar="ID", type=int)
@click.argument("decision", type=click.Choice(["confirm", "reject"]))
@click.option(
    "--by",
    "by",
    default=login_name,
    help="Your staff account, enabled (default: your login name).",
)
def flags_decide(flag_id: int, decision: str, by: str) -> None:
    """Confirm or reject flag ID after looking at it. Only confirmed flags lead to notices.

    --by names an enabled staff account (`repostwatch users add`); a flag that an approved or
    sent notice holds needs an approver.

    \b
    Example:
      repostwatch flags decide 17 confirm --by kim.reviewer
    """
    from crawler import db

    try:
        with open_session() as session:
            account = staff_account(session, by, role="reviewer", acting=N_("decides"))
            flag = db.decide(session, flag_id, decision, by=account.username, role=account.role)
            audit_cli(  # the review app's audit log sees CLI decisions too
                session,
                "decide",
                target_type="flag",
                target_id=flag_id,
                by=account,
                decision=decision,
                status=flag.status,
            )
    except (db.FlagNotFound, ValueError) as exc:  # ValueError: a flag found removed
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Flag %(id)d is %(status)s (by %(by)s).")
        % {"id": flag.id, "status": _(flag.status), "by": flag.decided_by}
    )


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
    from crawler.crawling.recording import FlagRecorder

    if file is not None and not file.exists():
        raise click.ClickException(_("%(file)s: no such file") % {"file": file})
    settings = load_settings()
    path = file or Path(settings.get("REPOSTWATCH_SPILL_FILE"))
    with database_sessions() as sessions:
        recorder = FlagRecorder(sessions, path)
        quarantined = recorder.quarantined()
        replayed = recorder.replay()
        pending, quarantined = recorder.pending(), recorder.quarantined() - quarantined
    click.echo(_("Replayed %(num)d match(es) from %(path)s.") % {"num": replayed, "path": path})
    if quarantined:
        click.echo(
            _(
                "%(num)d line(s) can never be recorded and were moved to %(path)s, each with "
                "its reason."
            )
            % {"num": quarantined, "path": recorder.rejected_path},
            err=True,
        )
    if pending:
        raise click.ClickException(
            _(
                "%(num)d match(es) still wait in %(path)s: the database did not take them; "
                "run this again once it is back"
            )
            % {"num": pending, "path": path}
        )
