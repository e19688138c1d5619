"""A site's problems (crawler/sites/problems.py): the English text the CLI prints, and a template
the web app translates; every template of crawler/sites has its Korean translation."""

from __future__ import annotations

import pickle

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo

from crawler.sites import SiteConfigError, parse_site
from crawler.sites.loading import PYDANTIC_MESSAGES
from crawler.sites.problems import Problem, say
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


def test_every_problem_template_of_the_sites_package_has_a_korean_translation():
    templates = {
        message
        for path in sorted((ROOT / "crawler" / "sites").glob("*.py"))
        for found in extract_from_file("python", path, keywords={"N_": None})
        for message in [found[1]]
    }
    assert "%(url)s is not an absolute http(s) URL" in templates  # found where they are marked
    assert {t for messages in PYDANTIC_MESSAGES.values() for t in messages} <= templates
    with KOREAN.open("rb") as compiled:
        korean = {
            message.id: message.string
            for message in read_mo(compiled)
            if isinstance(message.id, str)
        }
    untranslated = sorted(t for t in templates if not korean.get(t))
    assert untranslated == [], "run make i18n and translate these in ko/messages.po"
