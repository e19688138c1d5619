"""One flag: what was found where, the (blurred) evidence, and the decision.

The found media is blurred by default, on the server: the evidence route sends a blurred,
downscaled rendition (:mod:`crawler.review.blur`), never the media itself, until the reviewer
unblurs the flag. Unblurring is a deliberate POST, logged in the audit log; the flags this user
unblurred are remembered in the signed session (cleared at every login and logout) so that the
page stays unblurred on reload. Every evidence view is logged too, saying whether it was blurred.
Evidence is decrypted in memory for the response and never cached or written anywhere.

Staff add notes on a flag from its page (plain text, length-limited, audited as ``flag_note``
without the text: :mod:`crawler.db.flag_notes`).
"""

from __future__ import annotations

import base64
import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from crawler.db import FlagNotFound, evidence, flag_notes, review
from crawler.db.cases import flag_thumbnail
from crawler.db.rechecks import flag_takedown
from crawler.db.withdrawals import DecisionRefused
from crawler.review import i18n, web
from crawler.review.blur import blurred_rendition
from crawler.review.video_evidence import LANGUAGES, describe, describe_delivery

bp = Blueprint("flags", __name__, url_prefix="/flags")
UNBLURRED = "unblurred_flags"
MAX_UNBLURRED = 200


#: Previews that also looked like the reference (a video flag's evidence "previews"), as staff
#: read them.
PREVIEW_WORDS = {
    "poster": _l("the poster image"),
    "storyboard": _l("seek-bar thumbnails"),
}


def _previews(evidence_json: str | None) -> list[str]:
    """The preview kinds a flag's evidence names (none for evidence that is not JSON)."""
    try:
        found = json.loads(evidence_json) if evidence_json else {}
    except ValueError:
        return []
    kinds = found.get("previews") if isinstance(found, dict) else None
    return [kind for kind in kinds if isinstance(kind, str)] if isinstance(kinds, list) else []


def _order() -> str:
    order = request.values.get("order", review.DEFAULT_ORDER)
    return order if order in review.QUEUE_ORDERS else review.DEFAULT_ORDER


def _next_claim(db, current: int | None, order: str) -> int | None:
    """The flag after ``current`` among the user's claims, in queue order, wrapping round."""
    ids = [f.id for f in review.my_claims(db, web.me().id, order=order)]
    if current in ids:
        at = ids.index(current)
        ids = ids[at + 1 :] + ids[:at]
    return ids[0] if ids else None


def _after(db, flag_id: int, order: str):
    following = _next_claim(db, flag_id, order)
    if following is None:
        flash(_("No more flags in your batch: claim another one."), "info")
        return redirect(url_for("queue.index"))
    return redirect(url_for("flags.show", flag_id=following, order=order))


def _flag_or_404(db, flag_id: int) -> review.ReviewFlag:
    try:
        return review.get_review_flag(db, flag_id)
    except FlagNotFound:
        abort(404, _("There is no flag %(id)s.", id=flag_id))


@bp.route("/<int:flag_id>")
@web.requires("reviewer")
def show(flag_id: int):
    return _flag_page(flag_id, logged=True)


def _flag_page(flag_id: int, *, logged: bool, note: str = "", note_error: str | None = None):
    """The flag page; ``logged``: write the ``view_flag`` line (a page shown again for a
    refused note is not another view). ``note`` and ``note_error``: a refused note's text,
    kept in its box, and why it was refused (the page is then a 400)."""
    order = _order()
    # video_evidence keeps its sentences per language: the user's, else English.
    words = i18n.language() if i18n.language() in LANGUAGES else "en"
    with web.transaction() as db:
        flag = _flag_or_404(db, flag_id)
        seen = review.sightings(db, flag_id)
        same = [f for f in review.pending_same_media(db, flag.media_sha256) if f.id != flag_id]
        has_evidence = evidence.has_evidence(db, flag_id)
        following = _next_claim(db, flag_id, order)
        takedown = flag_takedown(db, flag_id)
        thumbnail = flag_thumbnail(db, flag_id)  # only when the case opted in (pixelated)
        notes = flag_notes.list_notes(db, flag_id)
        if logged:
            web.log(db, "view_flag", target_type="flag", target_id=flag_id)
    page = render_template(
        "flag.html",
        flag=flag,
        sightings=seen,
        same_media=same,
        has_evidence=has_evidence,
        previews=[str(PREVIEW_WORDS[k]) for k in _previews(flag.evidence) if k in PREVIEW_WORDS],
        unblurred=flag_id in cookie.get(UNBLURRED, []),
        next_id=following,
        takedown=takedown,
        reference_thumbnail=(
            "data:image/png;base64," + base64.b64encode(thumbnail).decode("ascii")
            if thumbnail
            else None
        ),
        order=order,
        video_evidence=describe(flag.evidence, words),
        delivery=describe_delivery(flag.evidence, words),
        mine=flag.claimed_by_id == web.me().id,
        held_by_other=flag.claimed_by_other(web.me().id),
        notes=notes,
        note=note,
        note_error=note_error,
        note_length=flag_notes.NOTE_LENGTH,
    )
    return (page, 400) if note_error else page


@bp.route("/<int:flag_id>/notes", methods=["POST"])
@web.requires("reviewer")
def add_note(flag_id: int):
    """A note on the flag, by any staff member, whatever the flag's state or claim. A refused
    note (empty, too long) shows the page again with the text kept and the reason."""
    text = request.form.get("note", "")
    try:
        with web.transaction() as db:
            _flag_or_404(db, flag_id)
            note = flag_notes.add_note(db, flag_id, web.me().id, text)
            # The note's text stays out of the audit log, which cannot be edited: a note may
            # name the victim. Its id leads to it.
            web.log(
                db,
                "flag_note",
                target_type="flag",
                target_id=flag_id,
                details={"note": note.id, "length": len(note.body)},
            )
    except flag_notes.EmptyNote:
        return _flag_page(flag_id, logged=False, note=text, note_error=_("The note is empty."))
    except flag_notes.NoteTooLong as exc:
        return _flag_page(
            flag_id,
            logged=False,
            note=text,
            note_error=_(
                "The note has %(length)s characters; at most %(limit)s are kept. Shorten it "
                "and add it again.",
                length=i18n.number(exc.length),
                limit=i18n.number(exc.limit),
            ),
        )
    flash(_("Note added."), "info")
    return redirect(url_for("flags.show", flag_id=flag_id, order=_order(), _anchor="notes"))


@bp.route("/<int:flag_id>/evidence")
@web.requires("reviewer")
def media(flag_id: int):
    keys = web.state().evidence_keys
    if keys is None:
        abort(404, _("No evidence is shown: REPOSTWATCH_EVIDENCE_PRIVATE_KEY is not set."))
    unblurred = flag_id in cookie.get(UNBLURRED, [])
    with web.transaction() as db:
        try:
            found = evidence.load_evidence(db, flag_id, keys)
        except evidence.EvidenceKeyError as exc:
            abort(500, str(exc))
        if found is None:
            abort(404, _("No evidence is kept for flag %(id)s.", id=flag_id))
        web.log(
            db,
            "view_evidence",
            target_type="flag",
            target_id=flag_id,
            details={"unblurred": unblurred},
        )
    problem = None
    if unblurred:
        # Only ever shown as a picture or a video, never as a document of this site.
        shown = (
            found.content_type.startswith(("image/", "video/")) and "svg" not in found.content_type
        )
        data, mimetype = found.data, found.content_type if shown else "application/octet-stream"
    else:
        shown = True
        rendition = blurred_rendition(found.data, found.content_type)
        data, mimetype = rendition.data, rendition.mimetype
        problem = rendition.problem  # written on the placeholder too, for the reviewer
    response = Response(data, mimetype=mimetype)
    if problem:
        response.headers["X-RepostWatch-Preview-Error"] = problem.encode(
            "ascii", "replace"
        ).decode()
    response.headers["Content-Disposition"] = "inline" if shown else "attachment"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.route("/<int:flag_id>/unblur", methods=["POST"])
@web.requires("reviewer")
def unblur(flag_id: int):
    with web.transaction() as db:
        _flag_or_404(db, flag_id)
        web.log(db, "unblur", target_type="flag", target_id=flag_id)
    shown = [i for i in cookie.get(UNBLURRED, []) if i != flag_id][-MAX_UNBLURRED + 1 :]
    cookie[UNBLURRED] = [*shown, flag_id]
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(unblurred=flag_id)
    return redirect(url_for("flags.show", flag_id=flag_id, order=_order()))


@bp.route("/<int:flag_id>/decide", methods=["POST"])
@web.requires("reviewer")
def decide(flag_id: int):
    decision = request.form.get("decision", "")
    if decision not in ("confirm", "reject"):
        abort(400, _("The decision must be confirm or reject."))
    order = _order()
    me = web.me()
    with web.transaction() as db:
        before = _flag_or_404(db, flag_id)
        try:
            flag = review.decide_flag(
                db, flag_id, decision, user_id=me.id, username=me.username, role=me.role
            )
        except (review.ClaimedByOther, DecisionRefused) as exc:
            flash(i18n.refusal(exc), "error")
            return redirect(url_for("flags.show", flag_id=flag_id, order=order))
        web.log(
            db,
            "decide",
            target_type="flag",
            target_id=flag_id,
            details={"decision": decision, "status": flag.status, "was": before.status},
        )
    flash(_("Flag %(id)s: %(status)s.", id=flag_id, status=i18n.word(flag.status)), "info")
    with web.transaction() as db:
        return _after(db, flag_id, order)


@bp.route("/<int:flag_id>/skip", methods=["POST"])
@web.requires("reviewer")
def skip(flag_id: int):
    order = _order()
    with web.transaction() as db:
        _flag_or_404(db, flag_id)
        released = review.release(db, web.me().id, flag_id)
        web.log(db, "skip", target_type="flag", target_id=flag_id, details={"released": released})
        return _after(db, flag_id, order)


@bp.route("/same-media/<sha256>/decide", methods=["POST"])
@web.requires("reviewer")
def decide_same_media(sha256: str):
    decision = request.form.get("decision", "")
    if decision not in ("confirm", "reject"):
        abort(400, _("The decision must be confirm or reject."))
    sha256 = sha256.strip().lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        abort(400, _("Not a SHA-256."))
    order = _order()
    me = web.me()
    try:
        with web.transaction() as db:
            ids = review.decide_same_media(
                db, sha256, decision, user_id=me.id, username=me.username, role=me.role
            )
            web.log(
                db,
                "decide_same_media",
                target_type="media",
                target_id=sha256,
                details={"decision": decision, "flags": ids},
            )
    except DecisionRefused as exc:  # e.g. confirming a closed case's flags: none was decided
        flash(i18n.refusal(exc), "error")
        return redirect(url_for("queue.index"))
    flash(
        ngettext(
            "%(num)d flag of the same media %(decision)s.",
            "%(num)d flags of the same media %(decision)s.",
            len(ids),
            decision=i18n.word(decision + "ed"),
        ),
        "info",
    )
    back = request.form.get("from", type=int)
    with web.transaction() as db:
        return _after(db, back, order) if back else redirect(url_for("queue.index"))
