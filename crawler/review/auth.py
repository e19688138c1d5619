"""Logging in and out. Login attempts are rate limited per client address and every attempt,
successful or not, is in the audit log."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from crawler.db import users
from crawler.review import web

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL (an open redirect)."""
    if not target:
        return url_for("queue.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("queue.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("queue.index"))
        return render_template("login.html", next=request.args.get("next", ""))
    limiter = current_app.extensions["repostwatch_limiter"]
    with limiter.limit(current_app.config["REPOSTWATCH_LOGIN_RATE_LIMIT"], scope="login"):
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with web.transaction() as db:
            user = users.authenticate(db, username, password) if username and password else None
            if user is None:
                web.log(db, "login_failed", username=username or None)
            else:
                # Not logged in yet: name the user explicitly.
                web.log(
                    db,
                    "login",
                    user_id=user.id,
                    username=user.username,
                    target_type="user",
                    target_id=user.id,
                )
        if user is None:
            flash("Wrong username or password (or the account is disabled).", "error")
            return render_template("login.html", next=request.form.get("next", "")), 401
    session.clear()
    login_user(web.StaffUser(user))
    session.permanent = True
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    with web.transaction() as db:
        web.log(db, "logout", target_type="user", target_id=web.me().id)
    logout_user()
    session.clear()
    flash("Logged out.", "info")
    return redirect(url_for("auth.login"))
