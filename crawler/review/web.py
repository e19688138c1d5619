"""What every blueprint shares: the database session of a request, the logged-in staff member,
role checks and the audit log helper."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler.db import audit, users
from crawler.db.evidence import Opener
from crawler.db.sites import DatabaseSites
from crawler.review import i18n


@dataclass
class AppState:
    """Kept in ``app.extensions["repostwatch"]``."""

    sessions: sessionmaker[Session]
    engine: Engine
    # None: REPOSTWATCH_EVIDENCE_PRIVATE_KEY is not set, no evidence is shown.
    evidence_keys: Opener | None
    totp: Fernet  # encrypts the accounts' TOTP secrets (derived from REPOSTWATCH_SECRET_KEY)


def state() -> AppState:
    return current_app.extensions["repostwatch"]


def site_source() -> DatabaseSites:
    """Where the app reads sites, as the CLI and the crawls do: the database once it holds any,
    else the site files of REPOSTWATCH_SITES_DIR."""
    return DatabaseSites("", current_app.config["REPOSTWATCH_SITES_DIR"], sessions=state().sessions)


@contextmanager
def transaction() -> Iterator[Session]:
    """A session in one transaction, committed when the block ends without an error.

    Each view opens its own short transactions (a claim on SQLite holds the write lock until
    its transaction ends), and writes its audit line in the same transaction as the change.
    """
    with state().sessions.begin() as session:
        yield session


class StaffUser(UserMixin):
    """The logged-in staff member as Flask-Login sees them.

    The id kept in the session cookie is ``"<user id>.<session version>"``: when the account's
    session version moves on (logout, new password or role, disabled), the cookie is refused.
    """

    def __init__(self, view: users.UserView) -> None:
        self.view = view
        self.id = view.id
        self.username = view.username
        self.role = view.role

    def get_id(self) -> str:
        return f"{self.id}.{self.view.session_version}"

    def can(self, role: str) -> bool:
        return self.view.can(role)


def load_user(session_id: str) -> StaffUser | None:
    """Flask-Login's user loader: a session of a disabled account, or one made before the
    account's session version moved on, ends at its next request."""
    number, _, version = session_id.partition(".")
    try:
        user_id, session_version = int(number), int(version)
    except ValueError:
        return None
    with state().sessions() as session:
        view = users.get_user(session, user_id)
    if view is None or not view.active or view.session_version != session_version:
        return None
    return StaffUser(view)


def me() -> StaffUser:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def requires(role: str) -> Callable:
    """View decorator: 403 unless the user's role is ``role`` or above."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or not me().can(role):
                abort(403, _("This page is for the %(role)s role and above.", role=i18n.word(role)))
            return view(*args, **kwargs)

        return checked

    return decorate


def home() -> str:
    """The first page of the logged-in user: the review queue, or for the monitoring team (who
    see no flag) the crawls page."""
    if current_user.is_authenticated and not me().can("reviewer"):
        return url_for("crawls.index")
    return url_for("queue.index")


def client_ip() -> str:
    return request.remote_addr or "unknown"


def log(
    session: Session,
    action: str,
    *,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
    username: str | None = None,
    user_id: int | None = None,
) -> None:
    """Append an audit entry for the current request, as the logged-in user when there is one."""
    if user_id is None and current_user.is_authenticated:
        user_id = me().id
        username = username or me().username
    audit.record(
        session,
        action,
        user_id=user_id,
        username=username,
        target_type=target_type,
        target_id=target_id,
        details=details,
        ip=client_ip(),
    )


def template_globals() -> dict[str, Any]:
    nav = [
        (endpoint, str(label))
        for endpoint, label, role in current_app.extensions["repostwatch_nav"]
        if current_user.is_authenticated and me().can(role)
    ]
    return {
        "me": current_user,
        "evidence_configured": state().evidence_keys is not None,
        "nav": nav,
        "home": home(),
        "language": i18n.language(),
        "timezone_name": i18n.timezone_name(),
    }
