"""Reviewers' notes on a flag (crawler/db/flag_notes.py, the flag page's note form): added by any
staff role, listed with author and time in the reader's language and time zone, audited without
their text, length-limited with a clear error, refused without a CSRF token or a login."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crawler.db import flag_notes, users
from crawler.db.flags import FlagNotFound
from crawler.db.models import AuditEntry, FlagNote
from tests.review.conftest import T0, csrf_token, https_client, login, post, shown_at


def _notes(world) -> list[tuple[str, int]]:
    with world.sessions() as session:
        return list(
            session.execute(select(FlagNote.body, FlagNote.author_id).order_by(FlagNote.id))
        )


def _note_audit(world) -> list[AuditEntry]:
    with world.sessions() as session:
        return list(
            session.execute(select(AuditEntry).where(AuditEntry.action == "flag_note")).scalars()
        )


def _listed(page: str) -> list[tuple[str, str, str]]:
    """(author, time, text) of each note the flag page lists."""
    found = re.findall(
        r'<strong class="note-author">([^<]*)</strong> · <time datetime="[^"]*">([^<]*)</time>'
        r'</p>\s*<p class="note-body">(.*?)</p>',
        page,
        re.S,
    )
    return [(author, when, html.unescape(body)) for author, when, body in found]


def test_every_role_adds_notes_listed_with_author_and_time_in_each_language(app, client, world):
    flag = world.flag(1)
    kim, chief = world.user("kim"), world.user("chief", "admin")
    lee = world.user("lee", "approver")
    with world.sessions.begin() as session:  # an older note, at a known time
        flag_notes.add_note(session, flag, chief, "Seen on two boards.", now=T0)
    login(client, "kim")
    assert "No notes yet." not in client.get(f"/flags/{flag}").get_data(as_text=True)
    text = "Same uploader as flag 7.\r\n<b>check</b> the <script>-free profile"
    response = post(client, f"/flags/{flag}/notes", {"note": text}, page=f"/flags/{flag}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/flags/{flag}?order=priority#notes"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Note added." in page and "<b>check</b>" not in page  # text, escaped
    stored = "Same uploader as flag 7.\n<b>check</b> the <script>-free profile"
    assert _notes(world) == [("Seen on two boards.", chief), (stored, kim)]
    with world.sessions() as session:
        added_at = session.execute(select(FlagNote.created_at).where(FlagNote.author_id == kim))
        added_at = added_at.scalar_one()
    assert _listed(page) == [
        ("chief", shown_at(T0), "Seen on two boards."),
        ("kim", shown_at(added_at), stored),
    ]
    # Audited, with the note's id and length but never its text (the log cannot be edited).
    (entry,) = _note_audit(world)
    assert (entry.username, entry.target_type, entry.target_id) == ("kim", "flag", str(flag))
    assert json.loads(entry.details) == {"note": 2, "length": len(stored)}

    # A Korean reader with a time zone of their own sees the time as Korean writes it there.
    with world.sessions.begin() as session:
        users.set_preferences(session, kim, locale="ko", timezone="UTC")
    korean = client.get(f"/flags/{flag}").get_data(as_text=True)
    assert _listed(korean)[0] == ("chief", "2026. 5. 1. 오후 12:00", "Seen on two boards.")
    assert "<h2>메모</h2>" in korean and "메모 추가" in korean

    # An approver (and an admin: the roles above) notes a flag already decided, too.
    other = https_client(app)
    login(other, "lee")
    post(other, f"/flags/{flag}/decide", {"decision": "confirm"}, page=f"/flags/{flag}")
    response = post(other, f"/flags/{flag}/notes", {"note": "ok"}, page=f"/flags/{flag}")
    assert response.status_code == 302 and _notes(world)[-1] == ("ok", lee)


@pytest.mark.any_database
def test_a_note_too_long_empty_or_without_a_csrf_token_or_login_is_refused(client, world):
    """Refused saying why, and keeping the text; nothing stored, nothing audited."""
    flag = world.flag(1)
    world.user("kim")
    # Anonymous, even with a valid token: refused by the login check.
    response = client.post(
        f"/flags/{flag}/notes", data={"note": "x", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 401
    login(client, "kim")
    response = client.post(f"/flags/{flag}/notes", data={"note": "x"})
    assert response.status_code == 400 and "The form was refused" in response.get_data(True)
    response = post(client, "/flags/999/notes", {"note": "x"}, page=f"/flags/{flag}")
    assert response.status_code == 404
    too_long = "가" * (flag_notes.NOTE_LENGTH + 1)
    response = post(client, f"/flags/{flag}/notes", {"note": too_long}, page=f"/flags/{flag}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The note has 2,001 characters; at most 2,000 are kept." in page
    assert f">{too_long}</textarea>" in page  # nothing typed is lost
    response = post(client, f"/flags/{flag}/notes", {"note": " \r\n "}, page=f"/flags/{flag}")
    assert response.status_code == 400 and "The note is empty." in response.get_data(True)
    assert _notes(world) == [] and _note_audit(world) == []
    # The limit counts characters as the browser's maxlength does: a line break is one.
    exactly = "a" * 1000 + "\r\n" + "b" * 999
    response = post(client, f"/flags/{flag}/notes", {"note": exactly}, page=f"/flags/{flag}")
    assert response.status_code == 302
    assert [len(body) for body, _ in _notes(world)] == [flag_notes.NOTE_LENGTH]
    page = client.get(f"/flags/{flag}").get_data(as_text=True)
    assert f'maxlength="{flag_notes.NOTE_LENGTH}"' in page


def test_the_database_keeps_notes_within_the_limit_too(world):
    flag = world.flag(1)
    kim = world.user("kim")
    with world.sessions.begin() as session:
        with pytest.raises(flag_notes.NoteTooLong, match="2001 characters"):
            flag_notes.add_note(session, flag, kim, "x" * 2001)
        with pytest.raises(flag_notes.EmptyNote):
            flag_notes.add_note(session, flag, kim, "\x00\x07 ")
        with pytest.raises(FlagNotFound):
            flag_notes.add_note(session, 999, kim, "x")
        assert flag_notes.add_note(session, flag, kim, "a\x00b\tc").body == "ab\tc"
    with pytest.raises(IntegrityError), world.sessions.begin() as session:
        session.add(FlagNote(flag_id=flag, author_id=kim, body="x" * 2001, created_at=T0))
    with world.sessions() as session:
        assert [n.body for n in flag_notes.list_notes(session, flag)] == ["ab\tc"]
