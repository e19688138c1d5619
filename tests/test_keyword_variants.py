"""Spelling variants of case keywords (crawler/keyword_variants.py and `cases keywords
variants`): the misspellings Seoul's support centre searches for, from an extensible data file.
"""

from __future__ import annotations

import json

import pytest

from crawler.keyword_variants import (
    KINDS,
    MAX_PER_KIND,
    letters,
    load_rules,
    propose,
    syllable,
)
from tests.support.cli_runner import migrated_environment, repostwatch


def _by_kind(keyword: str, rules=None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for variant in propose(keyword, rules or load_rules()):
        found.setdefault(variant.kind, []).append(variant.text)
    return found


def test_syllables_come_apart_and_back_together():
    assert letters("딥") == (3, 20, 17)  # ㄷ, ㅣ, ㅂ
    assert syllable(3, 16, 19) == "뒷"  # ㄷ, ㅟ, ㅅ
    assert all(syllable(*letters(chr(code))) == chr(code) for code in range(0xAC00, 0xD7A4))


def test_the_centres_examples_are_proposed():
    found = _by_kind("딥페")
    assert {"뒵페", "뒷페"} <= set(found["jamo"])  # a look-alike vowel, and a final with it
    assert found["initials"] == ["ㄷㅍ"]
    assert "딥 페" in found["spacing"] and "딥.페" in found["separated"]
    assert found["romanised"] == ["dippe"]
    assert "야.동" in _by_kind("야동")["separated"] and _by_kind("야동")["romanised"] == ["yadong"]
    assert _by_kind("딥페이크")["listed"] == ["딥페", "딮페", "딥페익"]


def test_romanisation_carries_a_final_over_a_silent_initial():
    assert _by_kind("딥이")["romanised"] == ["dibi", "dipi"]
    assert _by_kind("몰카 유출")["romanised"] == ["molka yuchul"]


def test_latin_keywords_get_look_alike_digits_one_letter_at_a_time_then_all():
    latin = _by_kind("sextape")["latin"]
    assert latin[:2] == ["5extape", "$extape"]
    assert latin[-1] == "53x74p3"
    assert "romanised" not in _by_kind("sextape")


def test_every_variant_is_new_and_a_keyword_and_kinds_are_bounded():
    for keyword in ("딥페이크 유출 영상 모음", "딥페", "Deep Fake", "야동"):
        variants = propose(keyword, load_rules())
        texts = [v.text for v in variants]
        assert len(texts) == len(set(texts)) and keyword not in texts
        assert all(t == " ".join(t.split()) for t in texts)
        assert [v.kind for v in variants] == sorted((v.kind for v in variants), key=KINDS.index)
        for kind in KINDS:
            assert sum(v.kind == kind for v in variants) <= MAX_PER_KIND


def test_a_centres_file_extends_the_shipped_rules(tmp_path):
    extra = tmp_path / "centre.toml"
    extra.write_text('[words]\n"딥페" = ["뒵뻬"]\n[vowels]\n"ㅔ" = ["ㅖ"]\n', encoding="utf-8")
    rules = load_rules(extra)
    assert rules.vowels["ㅔ"] == ["ㅐ", "ㅖ"]  # extended, the shipped one kept
    found = _by_kind("딥페", rules)
    assert found["listed"] == ["뒵뻬"] and "딥폐" in found["jamo"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[vowels]\n"a" = ["ㅐ"]\n', r"\[vowels\] 'a' is not one of"),
        ("[colours]\nred = []\n", r"unknown table\(s\) \['colours'\]"),
        ('[words]\n"x" = "y"\n', r"\[words\] must map strings to lists of strings"),
        ("[words\n", "not TOML"),
    ],
)
def test_a_bad_rules_file_is_named_with_what_is_wrong(tmp_path, text, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_rules(bad)
    with pytest.raises(ValueError, match="cannot read keyword variant rules"):
        load_rules(tmp_path / "missing.toml")


def test_the_cli_proposes_variants_of_active_keywords_not_yet_keywords(tmp_path):
    env = migrated_environment(tmp_path)
    repostwatch("cases", "keywords", "add", "case-1", "딥페", "야동", env=env, cwd=tmp_path)
    repostwatch("cases", "keywords", "add", "case-1", "뒷페", env=env, cwd=tmp_path)  # accepted
    out = repostwatch(
        "cases",
        "keywords",
        "variants",
        "case-1",
        "--keyword",
        "딥페",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    rows = json.loads(out.stdout)
    assert {row["keyword"] for row in rows} == {"딥페"}
    variants = {row["variant"]: row["kind"] for row in rows}
    assert variants["뒵페"] == "jamo" and variants["ㄷㅍ"] == "initials"
    assert "뒷페" not in variants  # already a keyword: nothing to accept
    table = repostwatch("cases", "keywords", "variants", "case-1", env=env, cwd=tmp_path)
    assert "yadong" in table.stdout and "keywords add case-1" in table.stderr

    failed = repostwatch(
        "cases",
        "keywords",
        "variants",
        "case-1",
        "--keyword",
        "몰카",
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert failed.returncode != 0 and "not an active keyword of case-1: 몰카" in failed.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[words\n", encoding="utf-8")
    failed = repostwatch(
        "cases",
        "keywords",
        "variants",
        "case-1",
        env={**env, "REPOSTWATCH_KEYWORD_VARIANTS_FILE": str(bad)},
        cwd=tmp_path,
        check=False,
    )
    assert failed.returncode != 0 and "REPOSTWATCH_KEYWORD_VARIANTS_FILE" in failed.stderr
