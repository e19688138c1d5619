"""``--help`` of the staff commands in the chosen language: the English help texts are the
msgids (babel.cfg extracts them with crawler.cli.helptext:extract_help), Korean by default."""

from __future__ import annotations

import re

import click
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch
from click.testing import CliRunner

from crawler.cli import language, main
from crawler.cli.helptext import TranslatedCommand, TranslatedGroup, help_msgid
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

#: The operations and developer commands, whose help stays English.
OPERATIONS = {"db", "scheduler", "web", "evidence", "demo"}


@pytest.fixture
def runner():
    yield CliRunner()
    language.choose("en")  # the suite's language again for what runs next in this process


def _help(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, [*args, "--help"], prog_name="repostwatch", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_is_korean_by_default_and_english_when_asked(runner):
    korean = repostwatch("cases", "--help", env={"REPOSTWATCH_CLI_LANG": ""}).stdout
    assert korean.startswith("사용법: repostwatch cases [OPTIONS] COMMAND [ARGS]...")
    assert "피해 사례: 나열, 열기, 종결, 썸네일, 검색 키워드" in korean
    assert re.search(r"\n  keywords +사례의 미디어를 사이트에서 찾을 때 쓰는", korean)

    english = _help(runner, "--lang", "en", "cases")
    assert english.startswith("Usage: repostwatch cases [OPTIONS] COMMAND [ARGS]...")
    assert re.search(r"\n  keywords +The names, nicknames and slang a case's media", english)

    subcommand = _help(runner, "--lang", "ko", "flags", "list")
    assert "플래그를 오래된 순으로 나열합니다." in subcommand
    assert "\n  예:\n    repostwatch flags list --status pending\n" in subcommand
    assert re.search(r"--case TEXT\s+이 사례의 플래그만\.", subcommand)
    assert re.search(r"--json\s+표 대신 JSON으로 출력합니다\.", subcommand)
    required = _help(runner, "--lang", "ko", "refs", "add")
    assert re.search(r"--case TEXT\s+기준 이미지가 속한 사례 이름\. \[필수\]", required)

    # The global --lang counts before --help whichever comes first; Korean lines fit by columns.
    top = _help(runner, "--help", "--lang", "ko")
    assert "옵션:\n  --version       버전을 보여 주고 끝냅니다." in top
    assert "명령:\n  cases      피해 사례:" in top
    assert "db         Create and migrate the database." in top  # operations stay English
    assert all(_columns(line) <= 100 for line in top.splitlines())
    assert _help(runner, "--help", "--lang", "en").startswith("Usage: repostwatch")


def _columns(line: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _staff_commands(group: click.Group, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, TranslatedGroup):
            yield from _staff_commands(command, (*path, name))
        elif isinstance(command, TranslatedCommand):
            yield (*path, name), command
        else:
            assert not path and name in OPERATIONS, f"{name}: a staff command of click's own class"


def _command(line: str) -> str:
    """An example's line without its comment (which is translated)."""
    return line.partition("  #")[0].rstrip()


def _extracted() -> set[str]:
    """What `make i18n` extracts from crawler/cli, each file by its babel.cfg method."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "N_": None}
    messages = set()
    for path in (ROOT / "crawler" / "cli").glob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        method = next(method for pattern, method in method_map if pathmatch(pattern, relative))
        for _line, message, _comments, _context in extract_from_file(
            method, path, keywords=keywords, options=options_map.get(relative, {})
        ):
            messages.add(message)
    return messages


def test_every_staff_commands_help_is_extracted_and_has_a_korean_translation():
    with (language.TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        korean = read_po(f, locale="ko")
    extracted = _extracted()
    problems = []
    for path, command in _staff_commands(main):
        name = " ".join(("repostwatch", *path))
        texts = [command.help] + [p.help for p in command.params if getattr(p, "help", None)]
        for text in texts:
            msgid = help_msgid(text)
            entry = korean.get(msgid)
            if msgid not in extracted:
                problems.append(f"{name}: not extracted: {msgid[:60]!r}")
            elif entry is None or not entry.string:
                problems.append(f"{name}: no Korean for {msgid[:60]!r}")
            else:  # the examples' command lines as they are, after a translated heading
                example = [_command(line) for line in msgid.splitlines() if line[:2] == "  "]
                shown = [_command(line) for line in entry.string.splitlines()]
                if any(line not in shown for line in example) or "Example" in entry.string:
                    problems.append(f"{name}: the Korean changes the example {entry.string!r}")
    assert not problems, "run `make i18n` and translate:\n" + "\n".join(problems)
    for name in OPERATIONS:  # English on purpose: nothing for a translator to do
        assert help_msgid(main.commands[name].help) not in extracted, name
