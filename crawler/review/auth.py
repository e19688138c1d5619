"""Logging in and out: a password, then a TOTP code (enrolled at the first login).

Failed logins back off per account and per client address (crawler/review/backoff.py), and
every attempt, successful or not, is in the audit log, those refused during a back-off too
(``login_backoff``). The password step leaves only a short-lived
"pending" mark in the session; the user is logged in once the code is right. Logging out raises
the account's session version, so a copy of the session cookie is refused afterwards.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import segno
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
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from crawler.db import totp, users
from crawler.review import web
from crawler.review.i18n import refusal

bp = Blueprint("auth", __name__)
#: The lowest role that needs a second factor. Monitors start crawls and checks, reviewers
#: unblur evidence (flags.unblur) and approvers approve notices: every role can do one of these,
#: so every account enrols.
SECOND_FACTOR_FROM = "monitor"
PENDING = "pending_login"
#: Seconds between the password and the code before the password is asked again.
PENDING_SECONDS = 300


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL (an open redirect)."""
    if not target:
        return web.home()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return web.home()
    return target


def _backoff():
    return current_app.extensions["repostwatch_backoff"]


def _too_many(username: str, step: str, template: str, user_id: int | None = None, **context):
    """The 429 page while the account or the client address backs off (None: go on); each
    refused attempt is audited (``login_backoff``) with the account name and the client's
    address (through REPOSTWATCH_TRUSTED_PROXIES hops)."""
    wait = _backoff().wait_seconds(username, web.client_ip())
    if not wait:
        return None
    with web.transaction() as db:
        web.log(
            db,
            "login_backoff",
            username=username or None,
            user_id=user_id,
            details={"step": step, "wait_seconds": wait},
        )
    flash(
        ngettext(
            "Too many failed logins; wait %(num)d second and try again.",
            "Too many failed logins; wait %(num)d seconds and try again.",
            wait,
        ),
        "error",
    )
    return render_template(template, **context), 429


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(web.home())
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_path = request.form.get("next", "")
    refused = _too_many(username, "password", "login.html", next=next_path)
    if refused:
        return refused
    with web.transaction() as db:
        user = users.authenticate(db, username, password) if username and password else None
        if user is None:
            web.log(db, "login_failed", username=username or None)
    if user is None:
        _backoff().failed(username, web.client_ip())
        flash(_("Wrong username or password (or the account is disabled)."), "error")
        return render_template("login.html", next=next_path), 401
    session.clear()
    if not user.can(SECOND_FACTOR_FROM):
        return _logged_in(user, {})
    session[PENDING] = {
        "id": user.id,
        "version": user.session_version,
        "at": time.time(),
        "next": next_path,
    }
    return redirect(url_for("auth.second_factor"))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The TOTP step: enrolment (QR code and secret, then the first code) or a code."""
    pending = session.get(PENDING)
    user = _pending_user(pending)
    if user is None:
        session.pop(PENDING, None)
        flash(_("Log in again: the login took too long or the account changed."), "error")
        return redirect(url_for("auth.login"))
    try:
        with web.transaction() as db:
            if user.totp_enrolled:
                enrolment = None
                totp.read_secret(db, user.username, web.state().totp)  # readable with this key?
            else:
                enrolment = totp.start_enrolment(db, user.id, web.state().totp)
    except totp.SecondFactorError as exc:
        session.pop(PENDING, None)
        flash(refusal(exc), "error")
        return redirect(url_for("auth.login"))
    context = {"enrolment": enrolment, "qr": _qr(enrolment.uri) if enrolment else None}
    if request.method == "GET":
        return render_template("second_factor.html", **context)
    refused = _too_many(user.username, "code", "second_factor.html", user.id, **context)
    if refused:
        return refused
    try:
        with web.transaction() as db:
            ok = totp.verify(db, user.id, request.form.get("code", ""), web.state().totp)
            if not ok:
                web.log(
                    db,
                    "login_failed",
                    username=user.username,
                    user_id=user.id,
                    details={"step": "code"},
                )
    except totp.SecondFactorError as exc:
        session.pop(PENDING, None)
        flash(refusal(exc), "error")
        return redirect(url_for("auth.login"))
    if not ok:
        _backoff().failed(user.username, web.client_ip())
        flash(_("Wrong or already used code: type the code your authenticator shows now."), "error")
        return render_template("second_factor.html", **context), 401
    details = {"second_factor": "enrolled" if enrolment else "totp"}
    return _logged_in(user, details, next_path=pending.get("next"))


def _pending_user(pending: object) -> users.UserView | None:
    """The account whose password was right a moment ago, if it is unchanged since."""
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    with web.state().sessions() as db:
        user = users.get_user(db, int(pending.get("id", 0)))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


def _logged_in(user: users.UserView, details: dict, next_path: str | None = None):
    with web.transaction() as db:
        users.record_login(db, user.id)
        # Not logged in yet: name the user explicitly.
        web.log(
            db,
            "login",
            user_id=user.id,
            username=user.username,
            target_type="user",
            target_id=user.id,
            details=details or None,
        )
    session.clear()
    login_user(web.StaffUser(user))
    session.permanent = True
    return redirect(_safe_next(next_path if next_path is not None else request.form.get("next")))


def _qr(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (drawn here: no outside service)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/logout", methods=["POST"])
def logout():
    with web.transaction() as db:
        web.log(db, "logout", target_type="user", target_id=web.me().id)
        users.end_sessions(db, web.me().id)
    logout_user()
    session.clear()
    flash(_("Logged out."), "info")
    return redirect(url_for("auth.login"))
