"""Case keywords on SQLite and PostgreSQL: added once, in one spelling, withdrawn not deleted."""

from __future__ import annotations

import pytest

from crawler.db.keywords import (
    UnknownCase,
    add_keywords,
    keyword_case_id,
    list_keywords,
    normalize_keyword,
    search_keywords,
    withdraw_keywords,
)
from crawler.db.references import get_or_create_case

#: 하늘별 as macOS types it: decomposed Hangul jamo (NFD), which NFC composes.
DECOMPOSED = "\u1112\u1161\u1102\u1173\u11af\u1107\u1167\u11af"


def test_keywords_are_added_once_in_nfc(session):
    change = add_keywords(session, "case-1", ["하늘별", DECOMPOSED, " 달빛  고양이 ", "하늘별"])
    assert change.changed == ("하늘별", "달빛 고양이") and change.unchanged == ()
    again = add_keywords(session, "case-1", [DECOMPOSED, "月光猫"])
    session.commit()
    assert again.changed == ("月光猫",) and again.unchanged == ("하늘별",)
    assert [(k.case, k.keyword, k.active) for k in list_keywords(session)] == [
        ("case-1", "하늘별", True),
        ("case-1", "달빛 고양이", True),
        ("case-1", "月光猫", True),
    ]


def test_withdrawn_keywords_stay_listed_and_come_back_when_added(session):
    add_keywords(session, "case-1", ["하늘별", "별빛바다"])
    change = withdraw_keywords(session, "case-1", ["별빛바다", "없는말"])
    session.commit()
    assert change.changed == ("별빛바다",) and change.unchanged == ("없는말",)
    assert [k.keyword for k in list_keywords(session)] == ["하늘별"]
    (withdrawn,) = [k for k in list_keywords(session, include_withdrawn=True) if not k.active]
    assert withdrawn.keyword == "별빛바다" and withdrawn.withdrawn_at is not None
    assert search_keywords(session) == ["하늘별"]
    assert add_keywords(session, "case-1", ["별빛바다"]).changed == ("별빛바다",)
    session.commit()
    assert sorted(search_keywords(session)) == ["별빛바다", "하늘별"]


def test_search_keywords_are_every_active_keyword_once(session):
    add_keywords(session, "case-b", ["달빛고양이", "하늘별"])
    add_keywords(session, "case-a", ["하늘별", "별빛바다"])
    withdraw_keywords(session, "case-a", ["별빛바다"])
    session.commit()
    assert search_keywords(session) == sorted(["달빛고양이", "하늘별"])
    assert [(k.case, k.keyword) for k in list_keywords(session, case="case-b")] == [
        ("case-b", "달빛고양이"),
        ("case-b", "하늘별"),
    ]


def test_the_keyword_case_prefers_the_flags_own_case(session):
    add_keywords(session, "case-b", ["하늘별"])
    add_keywords(session, "case-a", ["하늘별"])
    a, b = get_or_create_case(session, "case-a"), get_or_create_case(session, "case-b")
    c = get_or_create_case(session, "case-c")
    assert keyword_case_id(session, "하늘별", a) == a
    assert keyword_case_id(session, "하늘별", b) == b
    assert keyword_case_id(session, "하늘별", c) == min(a, b)  # the case that has it first
    assert keyword_case_id(session, "없는말", a) is None


@pytest.mark.parametrize(
    ("keyword", "problem"),
    [("   ", "cannot be empty"), ("하늘\x00별", "control characters"), ("가" * 201, "at most 200")],
)
def test_unusable_keywords_are_refused(keyword, problem):
    with pytest.raises(ValueError, match=problem):
        normalize_keyword(keyword)


def test_nothing_is_added_when_one_keyword_is_unusable(session):
    with pytest.raises(ValueError, match="cannot be empty"):
        add_keywords(session, "case-1", ["하늘별", ""])
    assert list_keywords(session) == []


def test_unknown_cases_are_named(session):
    with pytest.raises(UnknownCase, match="no case named 'nobody'"):
        withdraw_keywords(session, "nobody", ["하늘별"])
    with pytest.raises(UnknownCase):
        list_keywords(session, case="nobody")
