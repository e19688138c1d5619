"""Staff accounts of the review web app: argon2id password hashes, roles, disabling.

Passwords are hashed with argon2-cffi's PasswordHasher (argon2id, its current defaults) and
re-hashed on the next login when those defaults change. Accounts are disabled, never deleted:
the audit log and decisions refer to them. Functions take a Session; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.models import USER_ROLES, User, utcnow

#: Each role can do everything the roles before it can.
ROLE_RANK = {role: rank for rank, role in enumerate(USER_ROLES)}
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash("repostwatch: no such user")


class UserError(ValueError):
    """A username, password or role that cannot be used."""


class UserNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no user named {username!r}; list them with `repostwatch users list`")


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def can(self, role: str) -> bool:
        """True when this user's role is ``role`` or above it (admin > approver > reviewer)."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        role=user.role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        last_login_at=user.last_login_at,
    )


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise UserError(f"role must be one of {', '.join(USER_ROLES)}, not {role!r}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(a passphrase of a few words is easiest)"
        )
    return password


def create_user(session: Session, username: str, password: str, role: str) -> UserView:
    """A new active account; raises :class:`UserError` for a bad or taken name, role, password."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise UserError(
            f"{username!r} is not a valid username: letters, digits, '.', '_', '@' and '-', "
            "up to 100 characters, starting with a letter or digit"
        )
    check_role(role)
    check_password(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise UserError(f"a user named {username!r} exists already")
    user = User(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return _view(user)


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
    session.flush()
    return _view(user)


def set_role(session: Session, username: str, role: str) -> UserView:
    user = _by_name(session, username)
    user.role = check_role(role)
    session.flush()
    return _view(user)


def set_password(session: Session, username: str, password: str) -> UserView:
    user = _by_name(session, username)
    user.password_hash = _hasher.hash(check_password(password))
    session.flush()
    return _view(user)


def authenticate(session: Session, username: str, password: str) -> UserView | None:
    """The active user with this name and password, or None (unknown, wrong or disabled).

    A hash made with older argon2 parameters is replaced by one with the current parameters.
    """
    user = session.execute(select(User).where(User.username == username.strip())).scalar()
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password) or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return _view(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip())).scalar()
    if user is None:
        raise UserNotFound(username)
    return user
