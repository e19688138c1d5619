"""For admins: the audit log (paged, filtered), staff accounts and reviewer groups' digests."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crawler.db import audit, users
from crawler.db import digests as db_digests
from crawler.db.models import DIGEST_CHANNELS, DIGEST_MIN_MINUTES, STAFF_LOCALES, USER_ROLES
from crawler.review import i18n, web

bp = Blueprint("admin", __name__, url_prefix="/admin")
NAV = [
    ("admin.audit_log", _l("Audit log"), "admin"),
    ("admin.user_list", _l("Users"), "admin"),
    ("admin.digest_list", _l("Digests"), "admin"),
]
PAGE_SIZE = 50
AUDIT_FILTERS = ("action", "username", "target_type", "target_id")
ACTION_DONE = {
    "disable": _l("%(name)s is disabled."),
    "enable": _l("%(name)s is enabled again."),
    "role": _l("%(name)s has a new role."),
}


@bp.route("/audit")
@web.requires("admin")
def audit_log():
    filters = {name: request.args.get(name, "").strip() or None for name in AUDIT_FILTERS}
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with web.transaction() as db:
        entries, total = audit.list_entries(db, page=page, per_page=PAGE_SIZE, **filters)
        actions = audit.actions(db)
    return render_template(
        "audit.html",
        entries=entries,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        filter_args={k: v for k, v in filters.items() if v},
        actions=actions,
    )


@bp.route("/users")
@web.requires("admin")
def user_list():
    with web.transaction() as db:
        accounts = users.list_users(db)
    return render_template("users.html", accounts=accounts, roles=USER_ROLES)


@bp.route("/users", methods=["POST"])
@web.requires("admin")
def user_create():
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        flash(_("The two passwords differ."), "error")
        return redirect(url_for("admin.user_list"))
    try:
        with web.transaction() as db:
            created = users.create_user(db, username, password, role)
            web.log(
                db,
                "user_create",
                target_type="user",
                target_id=created.id,
                details={"username": created.username, "role": created.role},
            )
    except users.UserError as exc:
        flash(i18n.refusal(exc), "error")
    else:
        flash(
            _("Created %(name)s (%(role)s).", name=created.username, role=i18n.word(created.role)),
            "info",
        )
    return redirect(url_for("admin.user_list"))


@bp.route("/users/<username>", methods=["POST"])
@web.requires("admin")
def user_change(username: str):
    action = request.form.get("action", "")
    if action not in ("disable", "enable", "role"):
        abort(400, _("Unknown change."))
    if action == "disable" and username == web.me().username:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.user_list"))
    try:
        with web.transaction() as db:
            if action == "role":
                changed = users.set_role(db, username, request.form.get("role", ""))
                details = {"role": changed.role}
            else:
                changed = users.set_disabled(db, username, action == "disable")
                details = {"disabled": not changed.active}
            web.log(db, f"user_{action}", target_type="user", target_id=changed.id, details=details)
    except (users.UserError, users.UserNotFound) as exc:
        flash(i18n.refusal(exc), "error")
    else:
        flash(ACTION_DONE[action] % {"name": changed.username}, "info")
    return redirect(url_for("admin.user_list"))


@bp.route("/digests")
@web.requires("admin")
def digest_list():
    with web.transaction() as db:
        groups = db_digests.list_subscriptions(db)
    return render_template(
        "digests.html",
        groups=groups,
        channels=DIGEST_CHANNELS,
        locales=STAFF_LOCALES,
        names=i18n.LANGUAGE_NAMES,
        minimum=DIGEST_MIN_MINUTES,
    )


@bp.route("/digests", methods=["POST"])
@web.requires("admin")
def digest_create():
    form = request.form
    try:
        with web.transaction() as db:
            created = db_digests.add_subscription(
                db,
                form.get("name", ""),
                form.get("channel", ""),
                form.get("target", ""),
                interval_minutes=form.get("interval", 0, type=int) or 0,
                locale=form.get("locale") or None,
                created_by=web.me().username,
            )
            web.log(
                db,
                "digest_add",
                target_type="digest",
                target_id=created.id,
                details={"group": created.name, "channel": created.channel},
            )
    except db_digests.DigestError as exc:
        flash(i18n.refusal(exc), "error")
    else:
        flash(_("Digest group %(name)s is set up.", name=created.name), "info")
    return redirect(url_for("admin.digest_list"))


@bp.route("/digests/<name>", methods=["POST"])
@web.requires("admin")
def digest_change(name: str):
    action = request.form.get("action", "")
    if action not in ("disable", "enable"):
        abort(400, _("Unknown change."))
    try:
        with web.transaction() as db:
            changed = db_digests.set_disabled(db, name, action == "disable")
            web.log(
                db,
                f"digest_{action}",
                target_type="digest",
                target_id=changed.id,
                details={"group": changed.name},
            )
    except db_digests.DigestNotFound:
        abort(404)
    if changed.active:
        flash(_("Digests of %(name)s resume.", name=changed.name), "info")
    else:
        flash(_("Digests of %(name)s are stopped.", name=changed.name), "info")
    return redirect(url_for("admin.digest_list"))
