"""crawler.keywords: the one spelling of a case keyword, for the database and the spider alike."""

from __future__ import annotations

import pytest

from crawler.db import keywords as db_keywords
from crawler.keywords import KEYWORD_LENGTH, keyword_spelling, normalize_keyword

#: 하늘별 as macOS types it: decomposed Hangul jamo (NFD), which NFC composes.
DECOMPOSED = "\u1112\u1161\u1102\u1173\u11af\u1107\u1167\u11af"


def test_a_keyword_has_one_spelling():
    assert keyword_spelling(DECOMPOSED) == "하늘별"
    assert keyword_spelling("  달빛 \t\n 고양이 ") == "달빛 고양이"
    assert keyword_spelling(" \t ") == ""
    assert normalize_keyword(f" {DECOMPOSED}  별 ") == "하늘별 별"


@pytest.mark.parametrize(
    ("keyword", "problem"),
    [
        ("   ", "cannot be empty"),
        ("하늘\x00별", "control characters"),
        ("가" * (KEYWORD_LENGTH + 1), f"at most {KEYWORD_LENGTH}"),
    ],
)
def test_a_stored_keyword_is_checked(keyword, problem):
    with pytest.raises(ValueError, match=problem):
        normalize_keyword(keyword)


def test_the_database_stores_keywords_in_the_one_spelling():
    assert db_keywords.normalize_keyword is normalize_keyword
    assert normalize_keyword("가" * KEYWORD_LENGTH) == "가" * KEYWORD_LENGTH
