"""Encrypted evidence: the found media of a flag, kept only while the flag is open or confirmed.

The media is encrypted with Fernet (AES-128-CBC + HMAC-SHA256; key from
``REPOSTWATCH_EVIDENCE_KEY``) before it reaches the database, and decrypted in memory only to be
shown to a logged-in reviewer. Only matched media is ever kept; it is deleted when its flag is
rejected (unless a sent notice named it), when a re-check finds its media removed
(``rechecks.mark_removed``) and when its case closes (:func:`delete_case_evidence`); a closed
case gets none. Without a key nothing is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crawler.db.models import Case, Evidence, Flag, utcnow
from crawler.db.session import dialect_insert

#: Flags whose evidence may be kept; a rejected or removed flag's evidence is deleted.
KEPT_FOR = ("pending", "confirmed")


class EvidenceKeyError(ValueError):
    """REPOSTWATCH_EVIDENCE_KEY is not a usable Fernet key, or not the key the evidence used."""


@dataclass(frozen=True, slots=True)
class EvidenceMedia:
    flag_id: int
    content_type: str
    sha256: str
    data: bytes  # the decrypted media: keep it in memory, never write it anywhere
    created_at: datetime


def new_key() -> str:
    """A fresh key for REPOSTWATCH_EVIDENCE_KEY (32 random bytes, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def cipher(key: str | bytes) -> Fernet:
    """The Fernet cipher of ``key``; raises :class:`EvidenceKeyError` saying how to make one."""
    try:
        return Fernet(key.strip() if isinstance(key, bytes) else key.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise EvidenceKeyError(
            "REPOSTWATCH_EVIDENCE_KEY is not a Fernet key (44 url-safe base64 characters); "
            "make one with `repostwatch web keygen`"
        ) from None


def encrypt(fernet: Fernet, data: bytes) -> bytes:
    return fernet.encrypt(data)


def store_evidence(
    session: Session, flag_id: int, ciphertext: bytes, content_type: str, sha256: str
) -> bool:
    """Keep ``ciphertext`` as the evidence of ``flag_id``, unless the flag already has evidence,
    has been rejected or its case is closed. True when it was stored."""
    row = session.execute(
        select(Flag.status, Case.closed_at)
        .join(Case, Flag.case_id == Case.id)
        .where(Flag.id == flag_id)
    ).first()
    if row is None or row.status not in KEPT_FOR or row.closed_at is not None:
        return False
    inserted = session.execute(
        dialect_insert(session, Evidence)
        .values(
            flag_id=flag_id,
            ciphertext=ciphertext,
            content_type=content_type,
            sha256=sha256,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[Evidence.flag_id])
        .returning(Evidence.id)
    ).scalar()
    return inserted is not None


def has_evidence(session: Session, flag_id: int) -> bool:
    return (
        session.execute(select(Evidence.id).where(Evidence.flag_id == flag_id)).first() is not None
    )


def load_evidence(session: Session, flag_id: int, fernet: Fernet) -> EvidenceMedia | None:
    """The decrypted evidence of ``flag_id``, or None when none is kept.

    Raises :class:`EvidenceKeyError` when the key is not the one it was encrypted with, and
    ValueError when the decrypted bytes are not what was stored (SHA-256 differs).
    """
    row = session.execute(select(Evidence).where(Evidence.flag_id == flag_id)).scalar()
    if row is None:
        return None
    try:
        data = fernet.decrypt(row.ciphertext)
    except InvalidToken:
        raise EvidenceKeyError(
            f"the evidence of flag {flag_id} cannot be decrypted with REPOSTWATCH_EVIDENCE_KEY: "
            "it was kept under another key"
        ) from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ValueError(f"the evidence of flag {flag_id} does not match its SHA-256")
    return EvidenceMedia(flag_id, row.content_type, row.sha256, data, row.created_at)


def delete_flag_evidence(session: Session, flag_id: int) -> int:
    """Delete the evidence of one flag (when it is rejected); returns rows deleted."""
    return session.execute(
        delete(Evidence)
        .where(Evidence.flag_id == flag_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_case_evidence(session: Session, case: str) -> int:
    """Delete the evidence of every flag of ``case`` (by name), for when the case closes."""
    flag_ids = select(Flag.id).join(Case, Flag.case_id == Case.id).where(Case.name == case)
    return session.execute(
        delete(Evidence)
        .where(Evidence.flag_id.in_(flag_ids))
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass(frozen=True, slots=True)
class SealedEvidence:
    """Matched media encrypted for :func:`store_evidence`; the plaintext is not kept."""

    ciphertext: bytes
    content_type: str
    sha256: str  # of the plaintext


_CONTENT_TYPES = {"mov": "video/quicktime", "mkv": "video/x-matroska", "avi": "video/x-msvideo"}


def seal(fernet: Fernet, data: bytes, kind: str, media_format: str) -> SealedEvidence:
    """Encrypt ``data`` (media sniffed as ``kind``/``media_format``, e.g. image/jpeg)."""
    content_type = _CONTENT_TYPES.get(media_format, f"{kind}/{media_format}")
    return SealedEvidence(
        fernet.encrypt(data), content_type[:100], hashlib.sha256(data).hexdigest()
    )
