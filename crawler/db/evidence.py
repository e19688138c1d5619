"""Encrypted evidence: the found media of a flag, kept from its sighting until its case closes.

Crawlers seal the media to a public key (a libsodium sealed box: X25519 + XSalsa20-Poly1305,
``REPOSTWATCH_EVIDENCE_PUBLIC_KEY``) before it reaches the database: they can encrypt but never
decrypt, so a crawl host that is taken over reads no evidence. Only the web app holds the
private key (``REPOSTWATCH_EVIDENCE_PRIVATE_KEY``) and decrypts in memory, to show the media to
a logged-in reviewer. Evidence kept before sealed boxes (Fernet, the symmetric
``REPOSTWATCH_EVIDENCE_KEY``) stays readable by the web app while that key is also set; sealed
rows start with :data:`SEALED_PREFIX`, which no Fernet token does.

Only matched media is ever kept; it is deleted when its flag is rejected (unless a sent notice
named it) and when its case closes (:func:`delete_case_evidence`); a closed case gets none. A
flag whose media a re-check found removed keeps it (a removal can be disputed, the media can
come back). Without a key nothing is kept.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crawler.db.models import Case, Evidence, Flag, utcnow
from crawler.db.session import dialect_insert

# The ciphers are imported where keys are used: every command imports this module (through
# crawler.db) and most of them never touch a key.
if TYPE_CHECKING:
    from cryptography.fernet import Fernet
    from nacl.public import PrivateKey, PublicKey

#: Flags that may get evidence; a rejected flag's is deleted, a removed flag's is kept (until
#: its case closes) but it gets no new evidence.
KEPT_FOR = ("pending", "confirmed")


#: The start of every sealed-box row (a Fernet token starts with "gAAAAA").
SEALED_PREFIX = b"rw-sealed-1:"
_KEYGEN = "make a pair with `repostwatch evidence keygen`"


class EvidenceKeyError(ValueError):
    """An evidence key is not usable, or not the key the evidence was encrypted for."""


@dataclass(frozen=True, slots=True)
class EvidenceMedia:
    flag_id: int
    content_type: str
    sha256: str
    data: bytes  # the decrypted media: keep it in memory, never write it anywhere
    created_at: datetime


class Sealer:
    """Encrypts evidence to the web app's public key; cannot decrypt anything (crawlers)."""

    def __init__(self, public_key: PublicKey) -> None:
        from nacl.public import SealedBox

        self._box = SealedBox(public_key)

    def encrypt(self, data: bytes) -> bytes:
        return SEALED_PREFIX + self._box.encrypt(data)


class Opener:
    """Decrypts evidence (the web app): sealed rows with the private key, older Fernet rows
    with ``legacy`` when it is given."""

    def __init__(self, private_key: PrivateKey, legacy: Fernet | None = None) -> None:
        from nacl.public import SealedBox

        self._box = SealedBox(private_key)
        self._legacy = legacy

    def decrypt(self, ciphertext: bytes) -> bytes:
        """The plaintext; raises :class:`EvidenceKeyError` when no key given opens it."""
        from cryptography.fernet import InvalidToken
        from nacl.exceptions import CryptoError

        if ciphertext.startswith(SEALED_PREFIX):
            try:
                return self._box.decrypt(ciphertext[len(SEALED_PREFIX) :])
            except CryptoError:
                raise EvidenceKeyError(
                    "it was sealed for another REPOSTWATCH_EVIDENCE_PRIVATE_KEY"
                ) from None
        if self._legacy is None:
            raise EvidenceKeyError(
                "it was kept under the old symmetric REPOSTWATCH_EVIDENCE_KEY, which the web app "
                "needs too (README: Evidence keys) to read it"
            )
        try:
            return self._legacy.decrypt(ciphertext)
        except InvalidToken:
            raise EvidenceKeyError("it was kept under another REPOSTWATCH_EVIDENCE_KEY") from None


def new_key_pair() -> tuple[str, str]:
    """(public key, private key), each 32 bytes in base64, for REPOSTWATCH_EVIDENCE_PUBLIC_KEY
    (crawlers) and REPOSTWATCH_EVIDENCE_PRIVATE_KEY (the web app only)."""
    from nacl.public import PrivateKey

    private = PrivateKey.generate()
    return _b64(bytes(private.public_key)), _b64(bytes(private))


def sealer(public_key: str) -> Sealer:
    """The sealer of REPOSTWATCH_EVIDENCE_PUBLIC_KEY; raises :class:`EvidenceKeyError`."""
    from nacl.public import PublicKey

    return Sealer(PublicKey(_key_bytes(public_key, "REPOSTWATCH_EVIDENCE_PUBLIC_KEY")))


def opener(private_key: str, legacy_key: str = "") -> Opener:
    """The opener of REPOSTWATCH_EVIDENCE_PRIVATE_KEY, reading Fernet evidence too when the old
    REPOSTWATCH_EVIDENCE_KEY is given; raises :class:`EvidenceKeyError`."""
    from nacl.public import PrivateKey

    private = PrivateKey(_key_bytes(private_key, "REPOSTWATCH_EVIDENCE_PRIVATE_KEY"))
    return Opener(private, cipher(legacy_key) if legacy_key.strip() else None)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _key_bytes(key: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(key.strip().encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise EvidenceKeyError(f"{name} is not a key (32 bytes in base64); {_KEYGEN}")
    return raw


def new_key() -> str:
    """A fresh Fernet key of the old symmetric format (kept for tests of old evidence)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def cipher(key: str | bytes) -> Fernet:
    """The Fernet cipher of the old REPOSTWATCH_EVIDENCE_KEY, which only reads evidence kept
    before sealed boxes; raises :class:`EvidenceKeyError`."""
    from cryptography.fernet import Fernet

    try:
        return Fernet(key.strip() if isinstance(key, bytes) else key.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise EvidenceKeyError(
            "REPOSTWATCH_EVIDENCE_KEY is not a Fernet key (44 url-safe base64 characters): "
            "it is the old key that reads evidence kept before sealed boxes; set it to the "
            "key the crawls used then, or unset it"
        ) from None


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


def load_evidence(session: Session, flag_id: int, keys: Opener) -> EvidenceMedia | None:
    """The decrypted evidence of ``flag_id``, or None when none is kept.

    Raises :class:`EvidenceKeyError` when the keys are not the ones it was encrypted for, and
    ValueError when the decrypted bytes are not what was stored (SHA-256 differs).
    """
    row = session.execute(select(Evidence).where(Evidence.flag_id == flag_id)).scalar()
    if row is None:
        return None
    try:
        data = keys.decrypt(row.ciphertext)
    except EvidenceKeyError as exc:
        raise EvidenceKeyError(
            f"the evidence of flag {flag_id} cannot be decrypted: {exc}"
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


def seal(keys: Sealer, data: bytes, kind: str, media_format: str) -> SealedEvidence:
    """Encrypt ``data`` (media sniffed as ``kind``/``media_format``, e.g. image/jpeg)."""
    content_type = _CONTENT_TYPES.get(media_format, f"{kind}/{media_format}")
    return SealedEvidence(keys.encrypt(data), content_type[:100], hashlib.sha256(data).hexdigest())
