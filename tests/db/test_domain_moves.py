"""Domain moves (crawler/db/domain_moves.py) and adopting one (crawler/site_store.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.db import domain_moves, sites
from crawler.db.models import AuditEntry
from crawler.domains import registrable_domain, rewrite_domain
from crawler.site_store import MoveNotAdoptable, Who, adopt_move, dismiss_move, save_text

WHO = Who("(cli) tester", via="cli")
TEXT = """name = "board"
start_urls = ["https://www.board12.example.co.kr/list", "https://board12.example.co.kr/"]
allowed_domains = ["board12.example.co.kr"]
successor_urls = ["https://www.board{n}.example.co.kr/list"]
# bold.board12.example.co.kr.evil.net and board12\\.example stay as they are
[follow]
allow = ['board12\\.example\\.co\\.kr/post/']
"""


def test_registrable_domains_follow_the_public_suffix_list_offline():
    assert registrable_domain("www.Board.co.kr") == "board.co.kr"
    assert registrable_domain("alice.github.io") == "alice.github.io"  # a private suffix
    assert registrable_domain("127.0.0.1") == "127.0.0.1"
    assert registrable_domain("localhost") == "localhost"


def test_rewriting_moves_whole_hosts_only():
    moved = rewrite_domain(TEXT, "example.co.kr", "example.kr")
    assert moved == TEXT.replace("board12.example.co.kr/", "board12.example.kr/").replace(
        '"board12.example.co.kr"', '"board12.example.kr"'
    ).replace("board{n}.example.co.kr", "board{n}.example.kr")
    assert "bold.board12.example.co.kr.evil.net" in moved


def _record(session, new="board13.example.co.kr", old="board12.example.co.kr", url=None):
    return domain_moves.record_move(
        session,
        "board",
        old_domain=old,
        new_domain=new,
        kind="successor",
        new_url=url or f"https://www.{new}/list",
        evidence="every start URL died",
    )


def test_a_move_seen_again_is_one_row_and_a_dismissed_one_stays_dismissed(session):
    first, new = _record(session)
    again, new_again = _record(session)
    assert (first, new, new_again) == (again, True, False)
    (move,) = domain_moves.moves(session)
    assert (move.times_seen, move.state) == (2, "proposed")
    dismiss_move(session, first, WHO)
    _record(session)
    assert domain_moves.moves(session, state="proposed") == []
    with pytest.raises(domain_moves.MoveNotOpen, match="dismissed already"):
        dismiss_move(session, first, WHO)


def test_adopting_saves_a_new_version_of_the_same_site_audited(session):
    save_text(session, TEXT, WHO)
    move_id, _ = _record(session)
    move, saved = adopt_move(session, move_id, WHO)
    assert (move.state, saved.version) == ("adopted", 2)
    site = sites.stored_site(session, "board")
    assert "https://www.board13.example.co.kr/list" in site.toml
    assert 'allowed_domains = ["board13.example.co.kr"]' in site.toml
    assert sites.site_version(session, "board", 1) == TEXT  # the old one kept
    actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions[-2:] == ["site_saved", "domain_move_adopted"]


def test_a_move_the_definition_no_longer_names_is_not_adoptable(session):
    save_text(session, TEXT, WHO)
    move_id, _ = _record(session, old="elsewhere.example", new="board13.example.co.kr")
    with pytest.raises(MoveNotAdoptable, match=r"names no host on elsewhere\.example"):
        adopt_move(session, move_id, WHO)
    assert domain_moves.get_move(session, move_id).state == "proposed"


def test_the_start_urls_host_becomes_the_host_that_answered(session):
    text = (
        'name = "board"\nstart_urls = ["https://www.board12.net/list", "https://m.board12.net/"]\n'
        'allowed_domains = ["board12.net"]\n'
    )
    save_text(session, text, WHO)
    move_id, _ = _record(
        session, old="board12.net", new="mirror.example", url="https://mirror.example/list"
    )
    adopt_move(session, move_id, WHO)
    assert sites.stored_site(session, "board").toml == (
        'name = "board"\nstart_urls = ["https://mirror.example/list", "https://m.mirror.example/"]\n'
        'allowed_domains = ["mirror.example"]\n'
    )
