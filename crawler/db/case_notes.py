"""Staff notes on a case: plain text, at most :data:`CASE_NOTE_LENGTH` characters, each with its
author and time. Notes are only ever added (never edited or deleted): they are part of the
case's record. Functions take a Session; the caller commits, with the audit line
(``case_note``, by length only) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.flag_notes import note_text
from crawler.db.models import CASE_NOTE_LENGTH, CaseNote, utcnow


class BadNote(ValueError):
    """A note that cannot be kept: empty, or longer than :data:`CASE_NOTE_LENGTH`; ``length``
    is 0 for an empty one."""

    def __init__(self, length: int) -> None:
        super().__init__(
            "the note is empty: write something"
            if not length
            else f"the note has {length} characters; at most {CASE_NOTE_LENGTH} are kept"
        )
        self.length = length
        self.limit = CASE_NOTE_LENGTH


@dataclass(frozen=True, slots=True)
class CaseNoteView:
    id: int
    author: str
    body: str
    created_at: datetime


def clean_note(text: str) -> str:
    """The text as it is stored: line breaks as ``\\n``, no other control character, no spaces
    around it. Raises :class:`BadNote`."""
    body = note_text(text)
    if not body or len(body) > CASE_NOTE_LENGTH:
        raise BadNote(len(body))
    return body


def add_note(session: Session, case_id: int, author: str, text: str) -> CaseNoteView:
    """Add ``author``'s note to the case; raises :class:`BadNote` (nothing is added then)."""
    note = CaseNote(case_id=case_id, author=author, body=clean_note(text), created_at=utcnow())
    session.add(note)
    session.flush()
    return CaseNoteView(note.id, note.author, note.body, note.created_at)


def list_notes(session: Session, case_id: int) -> list[CaseNoteView]:
    """The case's notes, newest first."""
    return [
        CaseNoteView(row.id, row.author, row.body, row.created_at)
        for row in session.scalars(
            select(CaseNote)
            .where(CaseNote.case_id == case_id)
            .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
        )
    ]
