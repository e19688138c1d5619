"""A staff member's own account: changing their password (the current one is required)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_user

from crawler.db import users
from crawler.review import web

bp = Blueprint("account", __name__, url_prefix="/account")
NAV = [("account.index", "Account", "reviewer")]


@bp.route("/")
@web.requires("reviewer")
def index():
    with web.transaction() as db:
        account = users.get_user(db, web.me().id)
    return render_template("account.html", account=account)


@bp.route("/password", methods=["POST"])
@web.requires("reviewer")
def change_password():
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        flash("The two new passwords differ.", "error")
        return redirect(url_for("account.index"))
    try:
        with web.transaction() as db:
            changed = users.change_own_password(
                db, web.me().id, request.form.get("current", ""), password
            )
            web.log(db, "password_change", target_type="user", target_id=changed.id)
    except users.UserError as exc:
        flash(f"The password was not changed: {exc}.", "error")
        with web.transaction() as db:
            account = users.get_user(db, web.me().id)
        return render_template("account.html", account=account), 400
    # Every session of the account ended with the new password; this one goes on.
    permanent = session.permanent
    login_user(web.StaffUser(changed))
    session.permanent = permanent
    flash("Password changed. Your other sessions have ended.", "info")
    return redirect(url_for("account.index"))
