"""Reviewers' notes on flags: plain text, at most :data:`NOTE_LENGTH` characters, each with its
author and time. Notes are only ever added (never edited or deleted): like a decision, a note is
part of the flag's record. Functions take a Session; the caller commits, with the audit line
(``flag_note``) in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.db.flags import FlagNotFound
from crawler.db.models import NOTE_LENGTH, Flag, FlagNote, User, utcnow

# Control characters but tab and newline: a note is text to read, nothing else.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class EmptyNote(ValueError):
    """The note has no text (or only spaces)."""

    def __init__(self) -> None:
        super().__init__("the note is empty: write something")


class NoteTooLong(ValueError):
    """The note is longer than :data:`NOTE_LENGTH` characters."""

    def __init__(self, length: int) -> None:
        super().__init__(
            f"the note has {length} characters; at most {NOTE_LENGTH} are kept: shorten it"
        )
        self.length = length
        self.limit = NOTE_LENGTH


@dataclass(frozen=True, slots=True)
class NoteView:
    id: int
    flag_id: int
    author: str  # the author's username
    body: str
    created_at: datetime


def note_text(text: str) -> str:
    """A staff note's text as it is stored, whatever it is on (a flag, a case): line breaks as
    ``\\n``, no other control character, no spaces around it."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def clean_note(text: str) -> str:
    """`note_text`, checked. Raises :class:`EmptyNote` or :class:`NoteTooLong`."""
    body = note_text(text)
    if not body:
        raise EmptyNote()
    if len(body) > NOTE_LENGTH:
        raise NoteTooLong(len(body))
    return body


def add_note(
    session: Session, flag_id: int, author_id: int, text: str, *, now: datetime | None = None
) -> NoteView:
    """Add ``author_id``'s note on ``flag_id``. Raises :class:`FlagNotFound`,
    :class:`EmptyNote` or :class:`NoteTooLong` (nothing is added then)."""
    body = clean_note(text)
    if session.get(Flag, flag_id) is None:
        raise FlagNotFound(flag_id)
    note = FlagNote(flag_id=flag_id, author_id=author_id, body=body, created_at=now or utcnow())
    session.add(note)
    session.flush()
    author = session.execute(select(User.username).where(User.id == author_id)).scalar_one()
    return NoteView(note.id, flag_id, author, body, note.created_at)


def list_notes(session: Session, flag_id: int) -> list[NoteView]:
    """Every note on ``flag_id``, oldest first."""
    query = (
        select(FlagNote.id, FlagNote.flag_id, User.username, FlagNote.body, FlagNote.created_at)
        .join(User, FlagNote.author_id == User.id)
        .where(FlagNote.flag_id == flag_id)
        .order_by(FlagNote.created_at, FlagNote.id)
    )
    return [NoteView(*row) for row in session.execute(query)]
