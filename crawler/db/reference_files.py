"""A case's reference files as staff see them: one row per file the case was given (grouped by
the file's SHA-256), with the label staff chose, how many hashes it holds, and the flags it
produced; opening a case; relabelling a file. Never the media, never a file name unless the CLI
stored one as the label. Functions take a Session; the caller commits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crawler.db import references
from crawler.db.models import (
    FLAG_STATUSES,
    Case,
    Flag,
    ReferenceHash,
    ReferenceVideo,
    ReferenceVideoFrame,
)
from crawler.db.references import check_case_name, check_text
from crawler.problems import N_, Problem

#: Longest label of a reference file (the column's width).
LABEL_LENGTH = 255
#: Flags listed per reference file (the counts by state cover them all).
FLAGS_LISTED = 50


class CaseExists(ValueError):
    """Opening a case whose name is taken."""

    def __init__(self, name: str, closed: bool) -> None:
        template = (
            N_("a case named %(case)s exists already (closed); choose another name")
            if closed
            else N_("a case named %(case)s exists already (open); choose another name")
        )
        super().__init__(Problem(template, {"case": repr(name)}))
        self.name = name
        self.closed = closed


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """One reference file of a case: its hashes, never its media."""

    media_sha256: str
    label: str | None
    kind: str  # "image" or "video" (an animation counts as a video: its frames are stored)
    hashes: int  # active reference hashes
    withdrawn_hashes: int
    frames: int  # stored frame hashes of a video or animation
    added_at: datetime
    flags: dict[str, int]  # by status, every status present
    flag_ids: tuple[int, ...]  # the first FLAGS_LISTED, oldest first

    @property
    def withdrawn(self) -> bool:
        return self.hashes == 0 and self.withdrawn_hashes > 0

    @property
    def flag_total(self) -> int:
        return sum(self.flags.values())


def open_case(session: Session, name: str) -> int:
    """Create the case ``name``; its id. Raises ValueError for a bad name, :class:`CaseExists`
    when the name is taken (open or closed: a closed case stays closed)."""
    name = check_case_name(name)
    found = session.execute(select(Case.closed_at).where(Case.name == name)).first()
    if found is not None:
        raise CaseExists(name, closed=found.closed_at is not None)
    return references.get_or_create_case(session, name)


def check_label(label: str) -> str:
    """A reference file's label as it is stored (trimmed, Unicode NFC); ValueError says what
    is wrong with it."""
    label = unicodedata.normalize("NFC", label.strip())
    return check_text(
        label, "a label", LABEL_LENGTH, "give the file a label (shown instead of its file name)"
    )


def reference_files(session: Session, case_id: int) -> list[ReferenceFile]:
    """The case's reference files, newest first (imported hash-list rows have no file)."""
    rows = session.execute(
        select(
            ReferenceHash.media_sha256,
            func.max(ReferenceHash.label),
            func.min(ReferenceHash.created_at),
            func.count(ReferenceHash.id).filter(ReferenceHash.withdrawn_at.is_(None)),
            func.count(ReferenceHash.id).filter(ReferenceHash.withdrawn_at.is_not(None)),
        )
        .where(ReferenceHash.case_id == case_id, ReferenceHash.media_sha256.is_not(None))
        .group_by(ReferenceHash.media_sha256)
    ).all()
    frames = dict(
        session.execute(
            select(ReferenceVideo.media_sha256, func.count(ReferenceVideoFrame.id))
            .join(ReferenceVideoFrame, ReferenceVideoFrame.video_id == ReferenceVideo.id)
            .where(ReferenceVideo.case_id == case_id)
            .group_by(ReferenceVideo.media_sha256)
        ).all()
    )
    videos = set(
        session.scalars(
            select(ReferenceVideo.media_sha256).where(ReferenceVideo.case_id == case_id)
        )
    )
    flags: dict[str, list[tuple[int, str]]] = {}
    for sha256, flag_id, status in session.execute(
        select(ReferenceHash.media_sha256, Flag.id, Flag.status)
        .join(ReferenceHash, Flag.reference_id == ReferenceHash.id)
        .where(Flag.case_id == case_id, ReferenceHash.media_sha256.is_not(None))
        .order_by(Flag.id)
    ):
        flags.setdefault(sha256, []).append((flag_id, status))
    found = []
    for sha256, label, added_at, active, withdrawn in rows:
        by_status = dict.fromkeys(FLAG_STATUSES, 0)
        for _, status in flags.get(sha256, ()):
            by_status[status] += 1
        found.append(
            ReferenceFile(
                media_sha256=sha256,
                label=label,
                kind="video" if sha256 in videos else "image",
                hashes=active,
                withdrawn_hashes=withdrawn,
                frames=frames.get(sha256, 0),
                added_at=added_at,
                flags=by_status,
                flag_ids=tuple(i for i, _ in flags.get(sha256, ())[:FLAGS_LISTED]),
            )
        )
    found.sort(key=lambda f: (f.added_at, f.media_sha256), reverse=True)
    return found


def relabel(session: Session, case_id: int, media_sha256: str, label: str) -> bool:
    """Give a reference file a new label; False when the case has no such file."""
    label = check_label(label)
    changed = session.execute(
        update(ReferenceHash)
        .where(ReferenceHash.case_id == case_id, ReferenceHash.media_sha256 == media_sha256)
        .values(label=label)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(ReferenceVideo)
        .where(ReferenceVideo.case_id == case_id, ReferenceVideo.media_sha256 == media_sha256)
        .values(label=label)
        .execution_options(synchronize_session=False)
    )
    return bool(changed)


def case_id(session: Session, name: str) -> int | None:
    """The id of the case called ``name``, or None."""
    return session.execute(select(Case.id).where(Case.name == name.strip())).scalar()
