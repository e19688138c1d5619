"""Messages as templates (crawler/problems.py): a site's problem is the English text the CLI
prints and a template the web app translates; a stored health reason is read back into its
template; every template marked N_ in the library has its Korean translation."""

from __future__ import annotations

import pickle

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo

from crawler.db.schedules import SEARCH_TRIGGER, ClosedRun
from crawler.problems import Problem, said, say
from crawler.scheduling.health import REASONS, judge, reason_problem
from crawler.sites import SiteConfigError, parse_site
from crawler.sites.loading import PYDANTIC_MESSAGES
from tests.support.project import ROOT

KOREAN = ROOT / "crawler" / "review" / "translations" / "ko" / "LC_MESSAGES" / "messages.mo"
BAD = """name = "Board"
start_urls = ["board.example/"]
concurrency = 0
[browser]
block = ["image"]
[schedule]
every = "5s"
"""


def _problems(text: str) -> list[Problem]:
    with pytest.raises(SiteConfigError) as raised:
        parse_site(text, "settings/sites/board.toml")
    return raised.value.problems


def test_a_problem_is_the_english_text_the_cli_prints():
    problems = _problems(BAD)
    assert problems == [
        "name: 'Board' is not a valid site name: use lowercase letters, digits, '-' and '_'",
        "start_urls[0]: 'board.example/' is not an absolute http(s) URL",
        "concurrency: Input should be greater than or equal to 1",
        "browser.block[0]: 'image' cannot be blocked: the crawl finds media through the images "
        "and videos the browser loads",
        "schedule.every: '5s' is shorter than the shortest interval, 1 minute",
    ]
    assert all(isinstance(problem, Problem) for problem in problems)
    assert str(problems[1]) == "start_urls[0]: 'board.example/' is not an absolute http(s) URL"
    url = problems[1]
    assert (url.key, url.template, url.params) == (
        "start_urls[0]",
        "%(url)s is not an absolute http(s) URL",
        {"url": "'board.example/'"},
    )
    # Translated: the template only; the key and the values stay as the file has them.
    assert (
        url.translated({url.template: "%(url)s: no URL"}.get)
        == "start_urls[0]: 'board.example/': no URL"
    )
    assert say("plain text", str.upper) == "plain text"
    assert say(url, "<%s>".__mod__) == (
        "start_urls[0]: <'board.example/' is not an absolute http(s) URL>"
    )
    assert pickle.loads(pickle.dumps(url)).translated(str) == url


def test_a_stored_health_reason_is_read_back_into_its_template():
    def run(run_id: int, pages: int, media: int) -> ClosedRun:
        return ClosedRun(run_id, "board", 1, "finished", "finished", pages, media, SEARCH_TRIGGER)

    earlier = [run(n, 100, 300) for n in range(1, 6)]
    reason = judge(run(9, 90, 20), earlier).reason
    assert reason == (
        "search crawl run 9 found 20 media, under half the median (300) of the 5 finished runs "
        "before it: has the site's layout changed?"
    )
    stored = reason_problem(str(reason))  # as the database gives it back
    assert stored is not None and stored.template == reason.template
    assert stored.params == {"run": "9", "value": "20", "typical": "300", "count": "5"}
    assert stored.translated(str) == reason
    assert reason_problem("crawl run 3 failed: site down").params == {
        "run": "3",
        "reason": "site down",
    }
    assert reason_problem("something else") is None
    assert len(set(REASONS)) == len(REASONS)


def _marked_templates() -> dict[str, str]:
    """Every template marked N_ in the library, with the file that marks it."""
    found = {}
    for path in sorted((ROOT / "crawler").rglob("*.py")):
        if "N_(" in path.read_text(encoding="utf-8"):
            for _line, message, *_rest in extract_from_file("python", path, keywords={"N_": None}):
                found[message] = str(path.relative_to(ROOT))
    return found


def test_every_template_marked_in_the_library_has_a_korean_translation():
    templates = _marked_templates()
    assert "%(url)s is not an absolute http(s) URL" in templates  # found where they are marked
    assert {t for messages in PYDANTIC_MESSAGES.values() for t in messages} <= set(templates)
    assert set(REASONS) <= set(templates)
    with KOREAN.open("rb") as compiled:
        korean = {m.id: m.string for m in read_mo(compiled) if isinstance(m.id, str)}
    untranslated = sorted((where, t) for t, where in templates.items() if not korean.get(t))
    assert untranslated == [], (
        "add the file to babel.cfg, run make i18n, translate in ko/messages.po"
    )


def test_an_error_raised_with_a_problem_is_said_in_another_language_values_included():
    inner = Problem("%(url)s is not an absolute http(s) URL", {"url": "'x'"}, key="start_urls[0]")
    template = "the moved definition does not validate: %(site)s: %(problem)s"
    error = ValueError(Problem(template, {"site": "board", "problem": inner}))
    assert str(error) == (
        "the moved definition does not validate: board: start_urls[0]: 'x' is not an absolute "
        "http(s) URL"
    )
    assert said(error, "<%s>".__mod__) == (
        "<the moved definition does not validate: board: start_urls[0]: <'x' is not an absolute "
        "http(s) URL>>"
    )
    assert said(ValueError("plain"), str.upper) == "plain"
