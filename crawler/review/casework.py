"""Working on a case in the browser: open it, add reference files by upload, label and withdraw
them, and keep its search keywords (with the spelling variants to accept or reject).

The same library calls and checks as `repostwatch cases` and `repostwatch refs` (the case name
and keyword rules, closed cases refused), each change written to the audit log with counts and
digests only: labels and keywords can name the victim, and the audit log is never deleted.
Uploads are held in memory and hashed by a worker (:mod:`crawler.review.uploads`): the page of
the upload shows its progress and result, and no byte of the file is ever written.
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from crawler import keywords as keyword_rules
from crawler.db import case_notes, reference_files, references
from crawler.db import cases as db_cases
from crawler.db import keywords as db_keywords
from crawler.keyword_variants import load_rules, propose
from crawler.references import register
from crawler.references.announcements import announce_change
from crawler.review import uploads, web

bp = Blueprint("casework", __name__, url_prefix="/cases")
#: Who works on cases: the role that follows them (cases.py); closing stays an admin's.
ROLE = "approver"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Bytes of an upload read to tell media from anything else before hashing starts.
HEAD_BYTES = 64 * 1024

#: The words of the variant rules (crawler.keyword_variants.KINDS) as staff read them.
VARIANT_KINDS = {
    "listed": _l("listed variant"),
    "spacing": _l("spacing"),
    "initials": _l("initial consonants"),
    "jamo": _l("look-alike letters"),
    "separated": _l("separators"),
    "romanised": _l("romanisation"),
    "latin": _l("Latin look-alikes"),
}


def _text_problem(exc: references.BadText, what: str) -> str:
    """A case name's or label's problem in the user's language."""
    if exc.reason == "empty":
        return (
            _("A case needs a name.")
            if what == "case"
            else _("Give the file a label; it is shown instead of the file's name.")
        )
    if exc.reason == "too_long":
        return _("At most %(limit)s characters.", limit=exc.limit)
    return _("No line breaks or tabs, please.")


def _keyword_problem(word: str) -> str:
    """Why ``word`` is no keyword, in the user's language (the rules of normalize_keyword)."""
    text = keyword_rules.keyword_spelling(word)
    if not text:
        return _("A keyword cannot be empty.")
    if len(text) > keyword_rules.KEYWORD_LENGTH:
        return _("A keyword has at most %(limit)s characters.", limit=keyword_rules.KEYWORD_LENGTH)
    return _("A keyword cannot hold control characters (line breaks, tabs).")


def _jobs() -> uploads.UploadJobs:
    return current_app.extensions["repostwatch_uploads"]


def _case_id_or_404(case: str) -> int:
    """The case's id, 404 when there is none; closed cases are refused by each change."""
    with web.transaction() as db:
        found = reference_files.case_id(db, case)
    if found is None:
        abort(404, _("There is no case named %(case)s.", case=case))
    return found


def _closed_message(case: str) -> str:
    return _("The case %(case)s is closed: nothing was changed. Open a new case.", case=case)


def _back(case: str):
    return redirect(url_for("casework.references_page", case=case), code=303)


# --- opening a case -----------------------------------------------------------------------------
@bp.route("/", methods=["POST"])
@web.requires(ROLE)
def open_case():
    name = request.form.get("name", "")
    try:
        with web.transaction() as db:
            new_id = reference_files.open_case(db, name)
            web.log(db, "case_open", target_type="case", target_id=new_id)
    except references.BadText as exc:
        flash(
            _("The case was not opened: %(problem)s", problem=_text_problem(exc, "case")), "error"
        )
        return redirect(url_for("cases.index"), code=303)
    except reference_files.CaseExists as exc:
        flash(
            _(
                "A case named %(case)s exists already (%(state)s); choose another name.",
                case=exc.name,
                state=_("closed") if exc.closed else _("open"),
            ),
            "error",
        )
        return redirect(url_for("cases.index"), code=303)
    name = references.check_case_name(name)
    flash(_("Opened the case %(case)s. Add its reference files below.", case=name), "info")
    return _back(name)


# --- the references page ------------------------------------------------------------------------
@bp.route("/<case>/references")
@web.requires(ROLE)
def references_page(case: str):
    case_id = _case_id_or_404(case)
    with web.transaction() as db:
        detail = db_cases.get_case(db, case)
        files = reference_files.reference_files(db, case_id)
        notes = case_notes.list_notes(db, case_id)
        rejected = db_keywords.rejected_variants(db, case)
    refused = {(r.keyword, r.variant) for r in rejected}
    active = [k.keyword for k in detail.keywords if k.active]
    taken = {k.keyword for k in detail.keywords}
    variants, rules_problem = [], None
    try:
        extra = current_app.config["REPOSTWATCH_KEYWORD_VARIANTS_FILE"]
        rules = load_rules(*([extra] if extra else []))
    except ValueError as exc:
        rules_problem = str(exc)
    else:
        variants = [
            (keyword, variant.text, VARIANT_KINDS.get(variant.kind, variant.kind))
            for keyword in active
            for variant in propose(keyword, rules)
            if variant.text not in taken and (keyword, variant.text) not in refused
        ]
    return render_template(
        "case_references.html",
        case=detail,
        files=files,
        notes=notes,
        variants=variants,
        rejected=rejected,
        rules_problem=rules_problem,
        upload_limit_mb=f"{uploads.upload_limit() / 1_000_000:,.1f}",
        upload_max_bytes=uploads.upload_limit(),
        flags_listed=reference_files.FLAGS_LISTED,
    )


@bp.route("/<case>/references", methods=["POST"])
@uploads.accepts_upload
@web.requires(ROLE)
def upload(case: str):
    _case_id_or_404(case)
    try:
        label = reference_files.check_label(request.form.get("label", ""))
    except references.BadText as exc:
        flash(_("Nothing was added: %(problem)s", problem=_text_problem(exc, "label")), "error")
        return _back(case)
    part = request.files.get("media")
    data = part.stream.getvalue() if part is not None else b""
    if part is not None:
        part.close()  # the request's buffer goes; ``data`` is the one copy left
    if not data:
        flash(_("Nothing was added: choose a photo or video file."), "error")
        return _back(case)
    why = register.not_media(data[:HEAD_BYTES])
    if why is not None:
        del data
        flash(
            _(
                "Nothing was added: the file is not a photo or video RepostWatch can read "
                "(%(reason)s).",
                reason=why,
            ),
            "error",
        )
        return _back(case)
    try:
        with web.transaction() as db:
            db_cases.ensure_open(db, case)
    except db_cases.CaseClosed:
        flash(_closed_message(case), "error")
        return _back(case)
    try:
        job = _jobs().submit(
            case,
            register.Upload(data, label),
            user_id=web.me().id,
            username=web.me().username,
            ip=web.client_ip(),
        )
    except uploads.Busy:
        abort(
            503,
            _(
                "%(count)s uploads are being hashed already; nothing was kept. Try again in a "
                "minute.",
                count=uploads.MAX_WAITING,
            ),
        )
    del data
    return redirect(url_for("casework.upload_status", case=case, job_id=job.id), code=303)


@bp.route("/<case>/uploads/<job_id>")
@web.requires(ROLE)
def upload_status(case: str, job_id: str):
    job = _jobs().get(job_id)
    if job is None or job.case != case or job.user_id != web.me().id:
        abort(
            404,
            _(
                "No such upload: it finished over an hour ago, was not yours, or the web app "
                "restarted while hashing it (then nothing was stored: upload the file again)."
            ),
        )
    return render_template("case_upload.html", case=case, job=job)


# --- a reference file: label, withdraw ----------------------------------------------------------
def _file_sha256(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        abort(404, _("There is no such reference file."))
    return sha256


@bp.route("/<case>/references/<sha256>/label", methods=["POST"])
@web.requires(ROLE)
def relabel(case: str, sha256: str):
    case_id = _case_id_or_404(case)
    sha256 = _file_sha256(sha256)
    try:
        with web.transaction() as db:
            if not reference_files.relabel(db, case_id, sha256, request.form.get("label", "")):
                abort(404, _("There is no such reference file."))
            web.log(
                db,
                "reference_label",
                target_type="case",
                target_id=case_id,
                details={"media_sha256": sha256},
            )
    except references.BadText as exc:
        flash(
            _("The label was not changed: %(problem)s", problem=_text_problem(exc, "label")),
            "error",
        )
    else:
        flash(_("The label was changed."), "info")
    return _back(case)


@bp.route("/<case>/references/<sha256>/withdraw", methods=["POST"])
@web.requires(ROLE)
def withdraw(case: str, sha256: str):
    case_id = _case_id_or_404(case)
    sha256 = _file_sha256(sha256)
    with web.transaction() as db:
        withdrawn = references.withdraw_references(db, case, media_sha256=[sha256])
        web.log(
            db,
            "reference_withdraw",
            target_type="case",
            target_id=case_id,
            details={"media_sha256": sha256, "withdrawn": withdrawn},
        )
    announce_change(current_app.config["REPOSTWATCH_REDIS_URL"])  # crawls drop it now
    flash(
        ngettext(
            "%(num)s hash withdrawn: crawls stop matching this file. Upload it again to "
            "re-activate it.",
            "%(num)s hashes withdrawn: crawls stop matching this file. Upload it again to "
            "re-activate it.",
            withdrawn,
        ),
        "info",
    )
    return _back(case)


# --- keywords -----------------------------------------------------------------------------------
def _audit_keywords(db, action: str, case_id: int, change: db_keywords.KeywordChange) -> None:
    """By counts only, as the CLI does: keywords are the victim's names."""
    web.log(
        db,
        action,
        target_type="case",
        target_id=case_id,
        details={"changed": len(change.changed), "unchanged": len(change.unchanged)},
    )


@bp.route("/<case>/keywords", methods=["POST"])
@web.requires(ROLE)
def keywords_add(case: str):
    case_id = _case_id_or_404(case)
    word = request.form.get("keyword", "")
    try:
        with web.transaction() as db:
            db_cases.ensure_open(db, case)
            change = db_keywords.add_keywords(db, case, [word])
            _audit_keywords(db, "case_keywords_add", case_id, change)
    except db_cases.CaseClosed:
        flash(_closed_message(case), "error")
    except ValueError:
        flash(_("Nothing was added: %(problem)s", problem=_keyword_problem(word)), "error")
    else:
        if change.changed:
            flash(_("Added the keyword %(keyword)s.", keyword=change.changed[0]), "info")
        else:
            flash(
                _("%(keyword)s is an active keyword already.", keyword=change.unchanged[0]), "info"
            )
    return _back(case)


@bp.route("/<case>/keywords/remove", methods=["POST"])
@web.requires(ROLE)
def keywords_remove(case: str):
    case_id = _case_id_or_404(case)
    word = request.form.get("keyword", "")
    try:
        with web.transaction() as db:
            change = db_keywords.withdraw_keywords(db, case, [word])
            _audit_keywords(db, "case_keywords_remove", case_id, change)
    except ValueError:
        flash(_("Nothing was withdrawn: %(problem)s", problem=_keyword_problem(word)), "error")
    else:
        if change.changed:
            flash(_("Withdrew the keyword %(keyword)s.", keyword=change.changed[0]), "info")
        else:
            flash(_("%(keyword)s is not an active keyword.", keyword=change.unchanged[0]), "error")
    return _back(case)


@bp.route("/<case>/keywords/variants/reject", methods=["POST"])
@web.requires(ROLE)
def variant_reject(case: str):
    """A proposed variant rejected: kept with who and when, and not proposed again."""
    case_id = _case_id_or_404(case)
    keyword, variant = request.form.get("keyword", ""), request.form.get("variant", "")
    try:
        with web.transaction() as db:
            db_cases.ensure_open(db, case)
            change = db_keywords.reject_variants(db, case, keyword, [variant], by=web.me().username)
            _audit_keywords(db, "case_keyword_variants_reject", case_id, change)
    except db_cases.CaseClosed:
        flash(_closed_message(case), "error")
    except ValueError:
        flash(_("Nothing was rejected: that is no proposed variant of a keyword."), "error")
    else:
        flash(
            _(
                "Rejected the variant %(variant)s of %(keyword)s: it is not proposed again.",
                variant=(change.changed or change.unchanged)[0],
                keyword=keyword_rules.keyword_spelling(keyword),
            ),
            "info",
        )
    return _back(case)


# --- notes --------------------------------------------------------------------------------------
@bp.route("/<case>/notes", methods=["POST"])
@web.requires(ROLE)
def add_note(case: str):
    case_id = _case_id_or_404(case)
    try:
        with web.transaction() as db:
            note = case_notes.add_note(db, case_id, web.me().username, request.form.get("note", ""))
            web.log(  # the text can name the victim: its length only
                db,
                "case_note",
                target_type="case",
                target_id=case_id,
                details={"note_id": note.id, "length": len(note.body)},
            )
    except case_notes.BadNote as exc:
        problem = (
            _("Write something first.")
            if not exc.length
            else _(
                "It has %(length)s characters; at most %(limit)s are kept.",
                length=exc.length,
                limit=exc.limit,
            )
        )
        flash(_("The note was not added: %(problem)s", problem=problem), "error")
    else:
        flash(_("The note was added."), "info")
    return _back(case)
