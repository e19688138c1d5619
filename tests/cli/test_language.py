"""The commands speak the installation's language (REPOSTWATCH_LOCALE, Korean by default), or
the one ``--lang`` / REPOSTWATCH_CLI_LANG chooses; what scripts read stays English."""

from __future__ import annotations

import json
import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from crawler.cli.language import TRANSLATIONS
from tests.support.cli_runner import migrated_environment, repostwatch
from tests.support.project import ROOT

#: The suite's English (tests/conftest.py) cleared: the installation's default applies.
DEFAULT = {"REPOSTWATCH_CLI_LANG": ""}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_commands_speak_korean_by_default_and_english_when_asked(tmp_path):
    env = {**migrated_environment(tmp_path), **DEFAULT}

    assert repostwatch("flags", "list", env=env).stdout == "플래그가 없습니다.\n"
    added = repostwatch("cases", "keywords", "add", "case-0042", "하늘별", env=env)
    assert added.stdout == "case-0042 사례에 키워드 1개를 추가했습니다.\n"
    listed = repostwatch("cases", "list", env=env).stdout
    assert listed.split()[:3] == ["CASE", "REFERENCES", "PENDING"]  # headings stay English
    assert "진행 중" in listed
    exported = json.loads(repostwatch("cases", "keywords", "list", "--json", env=env).stdout)
    assert exported[0]["keyword"] == "하늘별" and exported[0]["active"] is True

    # A bad --by is one clear error, in Korean too; the usage error of a bad call as well.
    wrong = repostwatch("flags", "decide", "1", "confirm", "--by", "nobody", env=env, check=False)
    assert wrong.returncode == 1
    assert "--by 'nobody'은(는) 직원 계정이 아닙니다" in wrong.stderr
    assert "repostwatch users add nobody --role reviewer" in wrong.stderr
    usage = repostwatch("refs", "withdraw", "--case", "case-0042", env=env, check=False)
    assert usage.returncode == 2
    assert "철회할 기준 파일을 지정하거나 --all을 주세요" in usage.stderr

    # The library's refusals and a site file's problems are said in Korean too, not only the
    # lead-in: the reason is the catalog's (crawler.problems.Problem), its values as they are.
    missing = repostwatch("notices", "show", "999", env=env, check=False)
    assert missing.returncode == 1
    said = "ID가 999인 통지서가 없습니다. `repostwatch notices list`로 목록을 보세요"
    assert said in missing.stderr
    (tmp_path / "sites" / "bad.toml").write_text('name = "bad"\nstart_urls = ["nope"]\n')
    checked = repostwatch("sites", "check", env=env, check=False)
    assert checked.returncode == 1
    assert (
        "bad.toml: start_urls[0]: 'nope'은(는) http(s)로 시작하는 전체 URL이 아닙니다"
    ) in checked.stderr

    assert repostwatch("--lang", "en", "flags", "list", env=env).stdout == "No flags.\n"
    english = {**env, "REPOSTWATCH_LOCALE": "en"}
    assert repostwatch("flags", "list", env=english).stdout == "No flags.\n"
    own = {**env, "REPOSTWATCH_CLI_LANG": "en"}  # a staff member's own choice beats the default
    wrong = repostwatch("cases", "keywords", "remove", "case-0042", "없는말", env=own)
    assert wrong.stdout == "0 keyword(s) of case-0042 withdrawn.\n"
    assert wrong.stderr == "Not active keywords of case-0042: 없는말\n"


def test_a_language_the_commands_cannot_speak_is_one_clear_error(tmp_path):
    env = {"REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/r.db", **DEFAULT}
    result = repostwatch("flags", "list", env={**env, "REPOSTWATCH_LOCALE": "fr"}, check=False)
    assert result.returncode == 1
    assert "REPOSTWATCH_LOCALE='fr': write one of ko, en" in result.stderr
    result = repostwatch("--lang", "fr", "flags", "list", env=env, check=False)
    assert result.returncode == 2 and "'fr' is not one of 'ko', 'en'" in result.stderr


def test_every_message_of_the_commands_has_a_korean_translation():
    """`make i18n` extracts crawler/cli (babel.cfg); each message needs its Korean, with the
    placeholders of the English and no other."""
    with (TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        korean = read_po(f, locale="ko")
    keywords = {"_": None, "N_": None}
    extracted = [
        (filename, message)
        for filename, _line, message, *_rest in extract_from_dir(
            ROOT / "crawler" / "cli", method_map=[("**.py", "python")], keywords=keywords
        )
    ]
    assert len(extracted) > 150  # the extraction found the commands' messages
    problems = []
    for filename, message in extracted:
        entry = korean.get(message)
        if entry is None or not entry.string:
            problems.append(f"{filename}: no Korean for {message!r}")
        elif set(PLACEHOLDER.findall(entry.string)) != set(PLACEHOLDER.findall(message)):
            problems.append(f"{filename}: placeholders differ in {entry.string!r}")
    assert not problems, "run `make i18n` and translate:\n" + "\n".join(problems)
