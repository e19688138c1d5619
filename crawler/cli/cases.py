"""`repostwatch cases`: what is kept per victim's case besides its references.

Subcommands per area of a case; today its search keywords (``cases keywords``).
"""

from __future__ import annotations

import json

import click

from crawler.cli.common import audit_cli, load_settings, open_session, staff_account, table
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import N_, _, refusal


# --- cases ----------------------------------------------------------------------------------
@click.group(cls=TranslatedGroup)
def cases() -> None:
    """Victims' cases: list, open, close, thumbnails, search keywords (references: `refs`)."""


@cases.command("list")
@click.option("--open", "only_open", is_flag=True, help="Leave closed cases out.")
def cases_list(only_open: bool) -> None:
    """List the cases with their active reference hashes and flags by state.

    \b
    Example:
      repostwatch cases list --open
    """
    from crawler.db import cases as db_cases

    with open_session() as session:
        found = db_cases.list_cases(session, include_closed=not only_open)
    if not found:
        click.echo(_("No cases."))
        return
    rows = [
        (
            c.name,
            c.references,
            *c.flags.values(),
            _("closed %(day)s") % {"day": f"{c.closed_at:%Y-%m-%d}"} if c.closed_at else _("open"),
        )
        for c in found
    ]
    statuses = tuple(s.upper() for s in found[0].flags)
    click.echo(table(("CASE", "REFERENCES", *statuses, "STATE"), rows))


@cases.command("open")
@click.argument("case")
def cases_open(case: str) -> None:
    """Open a new case named CASE, to add references and keywords to. The name is trimmed;
    it must not be empty, be at most 200 characters, hold no line breaks or tabs, and not be
    taken by another case (open or closed). The audit log records it (`case_open`). `refs add`
    and `cases keywords add` also open a case they do not know; the web app's Cases page has
    the same form.

    \b
    Example:
      repostwatch cases open case-0042
    """
    from crawler.db import reference_files

    try:
        with open_session() as session:
            case_id = reference_files.open_case(session, case)
            audit_cli(session, "case_open", target_type="case", target_id=case_id)
    except ValueError as exc:  # a bad name, or one taken (CaseExists)
        raise click.ClickException(
            _("nothing opened: %(problem)s") % {"problem": refusal(exc)}
        ) from exc
    click.echo(_("Opened case %(case)s.") % {"case": case.strip()})


@cases.command("close")
@click.argument("case")
@click.option("--by", required=True, help="Your admin account, enabled (recorded and audited).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def cases_close(case: str, by: str, yes: bool) -> None:
    """Close CASE: delete the encrypted evidence of its flags and its pixelated thumbnails,
    withdraw its reference hashes (running crawls stop matching them within seconds) and its
    search keywords. Flags, notices and hashes stay as the record; the audit log records it.

    \b
    Example:
      repostwatch cases close case-0042 --by park.admin
    """
    from crawler.crawling.recording import purge_cases
    from crawler.db import cases as db_cases
    from crawler.references.announcements import announce_change

    if not yes:
        click.confirm(
            _("Close %(case)s? Its evidence is deleted and its references stop matching")
            % {"case": case},
            abort=True,
        )
    try:
        with open_session() as session:
            account = staff_account(session, by, role="admin", acting=N_("closes cases"))
            closed = db_cases.close_case(session, case, by=account.username)
            audit_cli(  # the review app's audit log sees CLI closings too
                session,
                "case_close",
                target_type="case",
                target_id=closed.case_id,
                by=account,
                case=closed.case,
                evidence_deleted=closed.evidence_deleted,
                references_withdrawn=closed.references_withdrawn,
                keywords_withdrawn=closed.keywords_withdrawn,
                thumbnails_deleted=closed.thumbnails_deleted,
            )
    except (db_cases.CaseNotFound, db_cases.CaseClosed, ValueError) as exc:
        raise click.ClickException(refusal(exc)) from exc
    settings = load_settings()
    announce_change(settings.get("REPOSTWATCH_REDIS_URL"))  # committed: crawls look now
    # Spilled matches of the case on this host go too (crawl hosts purge theirs at their next
    # replay): nothing of a closed case stays outside the database.
    spilled = purge_cases(settings.get("REPOSTWATCH_SPILL_FILE"), [closed.case])
    click.echo(
        _(
            "Closed %(case)s: deleted %(evidence)d evidence item(s), %(thumbnails)d thumbnail(s) "
            "and %(spilled)d spilled match(es), withdrew %(references)d reference hash(es) and "
            "%(keywords)d keyword(s)."
        )
        % {
            "case": closed.case,
            "evidence": closed.evidence_deleted,
            "thumbnails": closed.thumbnails_deleted,
            "spilled": spilled,
            "references": closed.references_withdrawn,
            "keywords": closed.keywords_withdrawn,
        }
    )


@cases.command("thumbnails")
@click.argument("case")
@click.option(
    "--keep/--drop",
    required=True,
    help="Opt CASE in to pixelated reference thumbnails, or out (deleting those kept).",
)
def cases_thumbnails(case: str, keep: bool) -> None:
    """Opt CASE in to (--keep) or out of (--drop) heavily pixelated reference thumbnails.

    A case that opted in keeps, per reference image added from then on (`refs add`), an 8x8
    block picture scaled to 64 px that reviewers see beside the found media; nothing a
    person could be recognised from survives. --drop deletes them all.

    \b
    Example:
      repostwatch cases thumbnails case-0042 --keep
      repostwatch refs add --case case-0042 victim-photos/
    """
    from crawler import db
    from crawler.db import cases as db_cases

    try:
        with open_session() as session:
            deleted = db_cases.set_pixelated_thumbnails(session, case, keep)
            audit_cli(
                session,
                "case_thumbnails",
                target_type="case",
                target_id=db.get_or_create_case(session, case),  # exists: it was just changed
                case=case,
                keep=keep,
                thumbnails_deleted=deleted,
            )
    except (db_cases.CaseNotFound, db_cases.CaseClosed) as exc:
        raise click.ClickException(refusal(exc)) from exc
    if keep:
        click.echo(
            _("%(case)s keeps pixelated thumbnails of reference images added from now on.")
            % {"case": case}
        )
    else:
        click.echo(
            _("%(case)s keeps no thumbnails; %(num)d deleted.") % {"case": case, "num": deleted}
        )


# --- cases keywords -------------------------------------------------------------------------
@cases.group("keywords")
def keywords() -> None:
    """The names, nicknames and slang a case's media is searched for on sites.

    `repostwatch crawl SITE --search` runs every active keyword of every case through the
    site's search (its [search] table); each flag records the keyword that led to it.
    """


def _audit_keywords(session, action: str, case: str, change) -> None:
    """Log a keyword change by counts only: keywords are the victim's names, and the audit
    log can never be edited or deleted (closing the case withdraws them from the database)."""
    from crawler import db

    audit_cli(
        session,
        action,
        target_type="case",
        target_id=db.get_or_create_case(session, case),  # add_keywords created it if new
        case=case,
        changed=len(change.changed),
        unchanged=len(change.unchanged),
    )


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
            _audit_keywords(session, "case_keywords_add", case, change)
    except ValueError as exc:
        raise click.ClickException(
            _("nothing added: %(problem)s") % {"problem": refusal(exc)}
        ) from exc
    added = {"num": len(change.changed), "case": case, "active": len(change.unchanged)}
    if change.unchanged:
        click.echo(_("%(num)d keyword(s) added to %(case)s, %(active)d already active.") % added)
    else:
        click.echo(_("%(num)d keyword(s) added to %(case)s.") % added)


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
        raise click.ClickException(refusal(exc)) from exc
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
        click.echo(_("No keywords."))
        return
    rows = [
        (
            k.case,
            k.keyword,
            _("active")
            if k.active
            else _("withdrawn %(when)s") % {"when": f"{k.withdrawn_at:%Y-%m-%d %H:%M}"},
            f"{k.created_at:%Y-%m-%d %H:%M}",
        )
        for k in found
    ]
    click.echo(table(("CASE", "KEYWORD", "STATE", "ADDED"), rows))


@keywords.command("variants")
@click.argument("case")
@click.option("--keyword", "only", multiple=True, help="Only for this keyword (repeatable).")
@click.option("--rejected", is_flag=True, help="List the rejected variants instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def keywords_variants(case: str, only: tuple[str, ...], rejected: bool, as_json: bool) -> None:
    """Propose spelling variants of CASE's active keywords, as uploaders misspell them to slip
    past filters: spacing, initial consonants (ㄷㅍ), look-alike letters (딥페 -> 뒵페, 뒷페),
    separators (딥.페), romanisation, Latin look-alikes, and the variants listed for a word.

    Nothing is searched until staff accept a variant by adding it as a keyword
    (`cases keywords add CASE VARIANT`); flags then name the variant that found them. A variant
    rejected with `cases keywords reject` is not proposed again (--rejected lists those, with
    who rejected them and when). The rules are settings/keyword_variants.toml, extended by
    REPOSTWATCH_KEYWORD_VARIANTS_FILE.

    \b
    Example:
      repostwatch cases keywords variants case-0042
      repostwatch cases keywords variants case-0042 --keyword 딥페이크 --json
      repostwatch cases keywords variants case-0042 --rejected
    """
    from crawler import db
    from crawler.db import keywords as db_keywords
    from crawler.keyword_variants import load_rules, propose
    from crawler.keywords import keyword_spelling

    if rejected:
        _list_rejected(case, as_json)
        return
    extra = load_settings().get("REPOSTWATCH_KEYWORD_VARIANTS_FILE")
    try:
        rules = load_rules(*([extra] if extra else []))
    except ValueError as exc:
        raise click.ClickException(f"{refusal(exc)} (REPOSTWATCH_KEYWORD_VARIANTS_FILE)") from exc
    try:
        with open_session() as session:
            found = db.list_keywords(session, case=case, include_withdrawn=True)
            refused = {(r.keyword, r.variant) for r in db_keywords.rejected_variants(session, case)}
    except db.UnknownCase as exc:
        raise click.ClickException(refusal(exc)) from exc
    active = [k.keyword for k in found if k.active]
    wanted = {keyword_spelling(word) for word in only}
    unknown = wanted - set(active)
    if unknown:
        raise click.ClickException(
            _(
                "not an active keyword of %(case)s: %(keywords)s "
                "(see `repostwatch cases keywords list --case %(case)s`)"
            )
            % {"case": case, "keywords": ", ".join(sorted(unknown))}
        )
    taken = {k.keyword for k in found}  # a variant already a keyword, active or not
    rows = [
        (keyword, variant.text, variant.kind)
        for keyword in active
        if not wanted or keyword in wanted
        for variant in propose(keyword, rules)
        if variant.text not in taken and (keyword, variant.text) not in refused
    ]
    if as_json:
        out = [{"keyword": k, "variant": v, "kind": kind} for k, v, kind in rows]
        click.echo(json.dumps(out, indent=1, ensure_ascii=False))
        return
    if not rows:
        click.echo(_("No variants to propose for %(case)s.") % {"case": case})
        return
    click.echo(table(("KEYWORD", "VARIANT", "RULE"), rows))
    click.echo(
        _("Accept one with: repostwatch cases keywords add %(case)s VARIANT...") % {"case": case},
        err=True,
    )
    click.echo(
        _(
            "Reject some with: repostwatch cases keywords reject %(case)s KEYWORD VARIANT... "
            "--by NAME"
        )
        % {"case": case},
        err=True,
    )


def _list_rejected(case: str, as_json: bool) -> None:
    from crawler.db import keywords as db_keywords

    try:
        with open_session() as session:
            found = db_keywords.rejected_variants(session, case)
    except db_keywords.UnknownCase as exc:
        raise click.ClickException(refusal(exc)) from exc
    if as_json:
        rows = [
            {
                "keyword": r.keyword,
                "variant": r.variant,
                "rejected_by": r.rejected_by,
                "rejected_at": r.rejected_at.isoformat(),
            }
            for r in found
        ]
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not found:
        click.echo(_("No rejected variants for %(case)s.") % {"case": case})
        return
    rows = [(r.keyword, r.variant, r.rejected_by, f"{r.rejected_at:%Y-%m-%d %H:%M}") for r in found]
    click.echo(table(("KEYWORD", "VARIANT", "REJECTED BY", "REJECTED (UTC)"), rows))


@keywords.command("reject")
@click.argument("case")
@click.argument("keyword")
@click.argument("variants", metavar="VARIANT...", nargs=-1, required=True)
@click.option("--by", required=True, help="Your staff account (approver or admin), recorded.")
def keywords_reject(case: str, keyword: str, variants: tuple[str, ...], by: str) -> None:
    """Reject proposed spelling VARIANTs of CASE's KEYWORD: they are not proposed again for
    it. Who rejected them and when are kept (`cases keywords variants CASE --rejected`); the
    audit log records it (`case_keyword_variants_reject`, by counts). Adding a rejected variant
    as a keyword later still works.

    \b
    Example:
      repostwatch cases keywords reject case-0042 딥페 dippe ㄷㅍ --by park.approver
    """
    from crawler import db
    from crawler.db import keywords as db_keywords

    try:
        with open_session() as session:
            account = staff_account(session, by, role="approver", acting=N_("rejects variants"))
            change = db_keywords.reject_variants(
                session, case, keyword, variants, by=account.username
            )
            audit_cli(
                session,
                "case_keyword_variants_reject",
                target_type="case",
                target_id=db.get_or_create_case(session, case),  # exists: reject_variants found it
                by=account,
                case=case,
                changed=len(change.changed),
                unchanged=len(change.unchanged),
            )
    except (ValueError, db_keywords.UnknownCase) as exc:
        raise click.ClickException(
            _("nothing rejected: %(problem)s") % {"problem": refusal(exc)}
        ) from exc
    counts = {"num": len(change.changed), "case": case, "before": len(change.unchanged)}
    if change.unchanged:
        said = _(
            "%(num)d variant(s) of a keyword of %(case)s rejected, %(before)d rejected before."
        )
    else:
        said = _("%(num)d variant(s) of a keyword of %(case)s rejected.")
    click.echo(said % counts)


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
            _audit_keywords(session, "case_keywords_remove", case, change)
    except (ValueError, db.UnknownCase) as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("%(num)d keyword(s) of %(case)s withdrawn.") % {"num": len(change.changed), "case": case}
    )
    if change.unchanged:
        click.echo(
            _("Not active keywords of %(case)s: %(keywords)s")
            % {"case": case, "keywords": ", ".join(change.unchanged)},
            err=True,
        )
