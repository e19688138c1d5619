"""The review web app: staff accounts, the append-only audit log, the flags' encrypted
evidence and reviewers' notes on flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crawler.db.models.base import NAME_LENGTH, SHA256_HEX_LENGTH, Base, check_in, utcnow

#: Staff roles, lowest first: each can do everything the roles before it can. ``monitor``: the
#: monitoring team (sites, crawls, manual URL checks; never a flag or its evidence);
#: ``reviewer``: + the review queue; ``approver``: + cases and notices; ``admin``: + users, audit.
USER_ROLES = ("monitor", "reviewer", "approver", "admin")
#: The languages the web app is translated into (crawler/review/translations), the first the
#: usual default (REPOSTWATCH_LOCALE chooses an installation's).
STAFF_LOCALES = ("ko", "en")
#: The longest note on a flag, in characters (checked by ``crawler.db.flag_notes`` with a clear
#: error, and by the database).
NOTE_LENGTH = 2000
#: The longest IANA time zone name a user can choose (``America/Argentina/ComodRivadavia``: 32).
TIMEZONE_LENGTH = 64


class User(Base):
    """A staff account of the review web app. Accounts are disabled, never deleted (the audit
    log refers to them)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint(check_in("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    #: Carried in every session cookie; raised by logout, a password or role change and
    #: disabling, so that a session made before (a copied cookie) is refused.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: The TOTP secret, Fernet-encrypted with a key derived from REPOSTWATCH_SECRET_KEY.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: None while the secret is an enrolment in progress (no code accepted yet).
    totp_enrolled_at: Mapped[datetime | None]
    #: The time step of the last accepted code: each code is accepted once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: The language the web app speaks to this user (STAFF_LOCALES); None: the installation's
    #: (REPOSTWATCH_LOCALE).
    locale: Mapped[str | None] = mapped_column(String(8))
    #: The IANA time zone times are shown in; None: the installation's (REPOSTWATCH_TIMEZONE).
    timezone: Mapped[str | None] = mapped_column(String(TIMEZONE_LENGTH))


class AuditEntry(Base):
    """One line of the append-only audit log: who did what to which target, when, from where.

    Migrations add triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); the
    application's role is granted only INSERT and SELECT on it (``crawler.db.roles``).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(NAME_LENGTH))  # as typed, for failures
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    details: Mapped[str | None] = mapped_column(Text)  # JSON object
    ip: Mapped[str | None] = mapped_column(String(64))
    # The operating-system account that ran a command (CLI entries; None for the web app).
    os_user: Mapped[str | None] = mapped_column(String(NAME_LENGTH))


class Evidence(Base):
    """The found media of a flag, encrypted (Fernet, key from REPOSTWATCH_EVIDENCE_KEY).

    Kept only for matched media, only while the flag is open or confirmed: deleted when the flag
    is rejected or its case closes.
    """

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("flag_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))  # of the plaintext media
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagNote(Base):
    """A reviewer's note on a flag: plain text, written once, never edited or deleted (like
    the decision, it is part of the flag's record). Adding one is audited (``flag_note``)."""

    __tablename__ = "flag_notes"
    __table_args__ = (
        CheckConstraint(f"length(body) BETWEEN 1 AND {NOTE_LENGTH}", name="body_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
