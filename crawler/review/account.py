"""A staff member's own account: their language and time zone, and changing their password
(the current one is required)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from crawler.db import users
from crawler.db.models import STAFF_LOCALES
from crawler.review import i18n, web

bp = Blueprint("account", __name__, url_prefix="/account")
NAV = [("account.index", _l("Account"), "monitor")]


def _page(account: users.UserView, status: int = 200):
    return render_template(
        "account.html",
        account=account,
        languages=[(code, i18n.LANGUAGE_NAMES[code]) for code in STAFF_LOCALES],
        timezones=i18n.COMMON_TIMEZONES,
    ), status


@bp.route("/")
@web.requires("monitor")
def index():
    with web.transaction() as db:
        account = users.get_user(db, web.me().id)
    return _page(account)


@bp.route("/preferences", methods=["POST"])
@web.requires("monitor")
def preferences():
    """The user's language and time zone; an empty choice means the installation's."""
    locale = request.form.get("locale", "").strip() or None
    timezone = request.form.get("timezone", "").strip() or None
    try:
        with web.transaction() as db:
            changed = users.set_preferences(db, web.me().id, locale=locale, timezone=timezone)
            web.log(
                db,
                "preferences",
                target_type="user",
                target_id=changed.id,
                details={"locale": locale, "timezone": timezone},
            )
    except users.UserError as exc:
        flash(_("Nothing was changed: %(reason)s.", reason=i18n.refusal(exc)), "error")
        with web.transaction() as db:
            account = users.get_user(db, web.me().id)
        return _page(account, 400)
    # Said in the language just chosen (the page after the redirect speaks it too).
    with force_locale(changed.locale or i18n.default_language()):
        flash(_("Language and time zone saved."), "info")
    return redirect(url_for("account.index"))


@bp.route("/password", methods=["POST"])
@web.requires("monitor")
def change_password():
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        flash(_("The two new passwords differ."), "error")
        return redirect(url_for("account.index"))
    try:
        with web.transaction() as db:
            changed = users.change_own_password(
                db, web.me().id, request.form.get("current", ""), password
            )
            web.log(db, "password_change", target_type="user", target_id=changed.id)
    except users.UserError as exc:
        flash(_("The password was not changed: %(reason)s.", reason=i18n.refusal(exc)), "error")
        with web.transaction() as db:
            account = users.get_user(db, web.me().id)
        return _page(account, 400)
    # Every session of the account ended with the new password; this one goes on.
    permanent = session.permanent
    login_user(web.StaffUser(changed))
    session.permanent = permanent
    flash(_("Password changed. Your other sessions have ended."), "info")
    return redirect(url_for("account.index"))
