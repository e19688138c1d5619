"""The second factor of staff accounts: TOTP (RFC 6238, 30-second steps, 6 digits).

An account enrols on its first login: a new secret is kept as an enrolment in progress until the
first code from the authenticator app is accepted. Secrets are stored encrypted with a Fernet key
derived (HKDF-SHA256) from REPOSTWATCH_SECRET_KEY: a new secret key makes every stored secret
unreadable, and each account enrols again (after `repostwatch users totp-reset NAME`). A code is
accepted for the current step and one step either side (clock drift), and only once: the last
accepted step is kept. Functions take a Session; the caller commits.
"""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from crawler.db.models import User, utcnow
from crawler.db.users import by_name
from crawler.problems import N_, Problem

ISSUER = "RepostWatch"
STEP_SECONDS = 30
#: Steps either side of the current one that are accepted (an authenticator's clock drifts).
DRIFT_STEPS = 1
_KDF_INFO = b"repostwatch: totp secrets of staff accounts"


class SecondFactorError(ValueError):
    """The account's TOTP secret cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A secret waiting for its first code: shown to the user as text and as a QR code."""

    secret: str
    uri: str  # otpauth://totp/... for the QR code


def cipher(secret_key: str) -> Fernet:
    """The Fernet that encrypts TOTP secrets, derived from REPOSTWATCH_SECRET_KEY."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def start_enrolment(session: Session, user_id: int, fernet: Fernet) -> Enrolment:
    """The secret of an enrolment in progress, made now unless one is waiting already (a
    reloaded page shows the same QR code). Raises :class:`SecondFactorError` when the account
    is enrolled already."""
    user = _user(session, user_id)
    if user.totp_enrolled_at is not None:
        raise SecondFactorError(
            Problem(N_("%(user)s has a second factor already"), {"user": user.username})
        )
    secret = None
    if user.totp_secret is not None:
        secret = _decrypt(user, fernet, quiet=True)
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = fernet.encrypt(secret.encode())
        user.totp_last_step = None
        session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def verify(
    session: Session, user_id: int, code: str, fernet: Fernet, now: float | None = None
) -> bool:
    """True when ``code`` is the account's current code (enrolled or enrolling), not used
    before; an enrolment in progress is complete then. Raises :class:`SecondFactorError` when
    the stored secret cannot be decrypted (REPOSTWATCH_SECRET_KEY changed)."""
    user = _user(session, user_id)
    if user.totp_secret is None:
        return False
    secret = _decrypt(user, fernet)
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and candidate <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            user.totp_last_step = candidate
            if user.totp_enrolled_at is None:
                user.totp_enrolled_at = utcnow()
            session.flush()
            return True
    return False


def reset(session: Session, username: str) -> User:
    """Forget the account's second factor: it enrols again at its next login. Its open
    sessions end."""
    user = by_name(session, username)
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    return user


def read_secret(session: Session, username: str, fernet: Fernet) -> str | None:
    """The account's TOTP secret in clear (for an authenticator the caller runs itself)."""
    user = by_name(session, username)
    return _decrypt(user, fernet) if user.totp_secret is not None else None


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise SecondFactorError(Problem(N_("no account with id %(id)s"), {"id": user_id}))
    return user


def _decrypt(user: User, fernet: Fernet, *, quiet: bool = False) -> str | None:
    try:
        return fernet.decrypt(user.totp_secret or b"").decode()
    except InvalidToken:
        if quiet:
            return None
        raise SecondFactorError(
            Problem(
                N_(
                    "the second factor of %(user)s cannot be read: REPOSTWATCH_SECRET_KEY "
                    "changed since it enrolled. An admin runs `repostwatch users totp-reset "
                    "%(user)s`, then it enrols again at the next login."
                ),
                {"user": user.username},
            )
        ) from None
