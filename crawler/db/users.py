"""Staff accounts of the review web app: argon2id password hashes, roles, disabling, and the
session version that ends every open session of an account.

Passwords are hashed with argon2-cffi's PasswordHasher (argon2id, its current defaults) and
re-hashed on the next login when those defaults change. Accounts are disabled, never deleted:
the audit log and decisions refer to them. Every session cookie carries the account's
``session_version``; logging out, a new password, a new role and disabling raise it, so that
sessions made before (and copies of their cookies) are refused. Functions take a Session;
the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.models import STAFF_LOCALES, USER_ROLES, User, utcnow
from crawler.problems import N_, Problem

#: Each role can do everything the roles before it can.
ROLE_RANK = {role: rank for rank, role in enumerate(USER_ROLES)}
MIN_PASSWORD_LENGTH = 12
#: The account `repostwatch demo` makes in its own database, with a password printed for anyone
#: to read: the web app refuses to serve staff from a database where it can log in.
DEMO_USERNAME = "demo-admin"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so that a failed login takes as long
    either way. Made when the web app starts (:func:`prepare_logins`), not at import: hashing
    takes a tenth of a second, which every command that imports the database would pay."""
    return _hasher.hash("repostwatch: no such user")


def prepare_logins() -> None:
    """Make what :func:`authenticate` checks an unknown username against now (the web app calls
    this at start), so that even the first failed login of an unknown name takes as long as
    that of a known one."""
    _dummy_hash()


class UserError(ValueError):
    """A username, password or role that cannot be used; raised with a
    :class:`~crawler.problems.Problem`, which the web app says in the user's language."""


_GONE = N_("this account is disabled or gone")


class UserNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(
            Problem(
                N_("no user named %(user)s; list them with `repostwatch users list`"),
                {"user": repr(username)},
            )
        )


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None
    session_version: int = 0
    totp_enrolled: bool = False
    #: The user's own language and time zone for the web app; None: the installation's.
    locale: str | None = None
    timezone: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def can(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it (admin > approver > reviewer >
        monitor)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        role=user.role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        last_login_at=user.last_login_at,
        session_version=user.session_version or 0,
        totp_enrolled=user.totp_enrolled_at is not None,
        locale=user.locale,
        timezone=user.timezone,
    )


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise UserError(
            Problem(
                N_("role must be one of %(roles)s, not %(role)s"),
                {"roles": ", ".join(USER_ROLES), "role": repr(role)},
            )
        )
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            Problem(
                N_(
                    "the password is too short: use at least %(length)s characters (a passphrase "
                    "of a few words is easiest)"
                ),
                {"length": MIN_PASSWORD_LENGTH},
            )
        )
    return password


def create_user(session: Session, username: str, password: str, role: str) -> UserView:
    """A new active account; raises :class:`UserError` for a bad or taken name, role, password."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise UserError(
            Problem(
                N_(
                    "%(user)s is not a valid username: letters, digits, '.', '_', '@' and '-', "
                    "up to 100 characters, starting with a letter or digit"
                ),
                {"user": repr(username)},
            )
        )
    check_role(role)
    check_password(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise UserError(
            Problem(N_("a user named %(user)s exists already"), {"user": repr(username)})
        )
    user = User(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return _view(user)


def demo_account_active(session: Session) -> bool:
    """True when an enabled account named :data:`DEMO_USERNAME` exists (its password is public)."""
    return (
        session.execute(
            select(User.id).where(User.username == DEMO_USERNAME, User.disabled_at.is_(None))
        ).first()
        is not None
    )


def get_user(session: Session, user_id: int) -> UserView | None:
    user = session.get(User, user_id)
    return _view(user) if user is not None else None


def find_user(session: Session, username: str) -> UserView | None:
    """The account with this name (enabled or not), or None."""
    user = session.execute(select(User).where(User.username == username.strip())).scalar()
    return _view(user) if user is not None else None


def list_users(session: Session) -> list[UserView]:
    return [_view(u) for u in session.execute(select(User).order_by(User.username)).scalars()]


def set_disabled(session: Session, username: str, disabled: bool = True) -> UserView:
    """Disable (or enable again) an account; a disabled account cannot log in, and its open
    sessions end at their next request."""
    user = _by_name(session, username)
    user.disabled_at = (user.disabled_at or utcnow()) if disabled else None
    if disabled:
        _end_sessions(user)
    session.flush()
    return _view(user)


def set_role(session: Session, username: str, role: str) -> UserView:
    user = _by_name(session, username)
    if user.role != check_role(role):
        user.role = role
        _end_sessions(user)
    session.flush()
    return _view(user)


def set_password(session: Session, username: str, password: str) -> UserView:
    """A new password; every open session of the account ends."""
    user = _by_name(session, username)
    user.password_hash = _hasher.hash(check_password(password))
    _end_sessions(user)
    session.flush()
    return _view(user)


def change_own_password(session: Session, user_id: int, current: str, new: str) -> UserView:
    """A user's own password change: ``current`` must be right (raises :class:`UserError`
    otherwise); every open session of the account ends, the caller logs this one in again."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise UserError(Problem(_GONE))
    if not _verify(user.password_hash, current):
        raise UserError(Problem(N_("the current password is wrong")))
    if new == current:
        raise UserError(Problem(N_("the new password is the current one: choose another")))
    return set_password(session, user.username, new)


def check_locale(locale: str) -> str:
    if locale not in STAFF_LOCALES:
        raise UserError(
            Problem(
                N_("the language must be one of %(locales)s, not %(locale)s"),
                {"locales": ", ".join(STAFF_LOCALES), "locale": repr(locale)},
            )
        )
    return locale


def check_timezone(name: str) -> str:
    """An IANA time zone name the system's tz database knows (``Asia/Seoul``, ``UTC``)."""
    if name not in available_timezones():
        raise UserError(
            Problem(
                N_("%(name)s is not a time zone name such as Asia/Seoul or UTC"),
                {"name": repr(name)},
            )
        )
    return name


def set_preferences(
    session: Session, user_id: int, *, locale: str | None, timezone: str | None
) -> UserView:
    """The user's own language and time zone for the web app (None: the installation's).
    Raises :class:`UserError` for a language or time zone that cannot be used; open sessions go
    on (they read the preference at each request)."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise UserError(Problem(_GONE))
    user.locale = None if locale is None else check_locale(locale)
    user.timezone = None if timezone is None else check_timezone(timezone)
    session.flush()
    return _view(user)


def end_sessions(session: Session, user_id: int) -> UserView | None:
    """End every open session of the account (logging out ends them all)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    _end_sessions(user)
    session.flush()
    return _view(user)


def _end_sessions(user: User) -> None:
    user.session_version = (user.session_version or 0) + 1


def authenticate(session: Session, username: str, password: str) -> UserView | None:
    """The active user with this name and password, or None (unknown, wrong or disabled).

    A hash made with older argon2 parameters is replaced by one with the current parameters.
    """
    user = session.execute(select(User).where(User.username == username.strip())).scalar()
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.flush()
    return _view(user)


def record_login(session: Session, user_id: int) -> None:
    """The login is complete (password and second factor): remember when."""
    user = session.get(User, user_id)
    if user is not None:
        user.last_login_at = utcnow()
        session.flush()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def by_name(session: Session, username: str) -> User:
    """The account row (for crawler.db.totp); raises :class:`UserNotFound`."""
    return _by_name(session, username)


def _by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip())).scalar()
    if user is None:
        raise UserNotFound(username)
    return user
