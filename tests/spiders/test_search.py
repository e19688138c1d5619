"""Search crawls: case keywords through a site's own search, on boards served on 127.0.0.1.

The end-to-end tests run the real console script (keywords, references, crawl --search, flags)
on PostgreSQL (the keywords' database layer is tested on both in tests/db) and check the exact
bytes the server received for each keyword, the result pages read, the media hashed and the
flags raised, each with its keyword.
"""

from __future__ import annotations

import json
import stat
from urllib.parse import urlsplit

import pytest

from crawler import db
from crawler.crawling.extensions.search_keywords import REDACTED, RedactKeywords
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from crawler.sites import SearchConfig
from spiders.search import KeywordNotEncodable, keywords_argument, search_url
from tests.sites import search as board
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database

SKY_Q = "%ED%95%98%EB%8A%98%EB%B3%84"  # 하늘별 in UTF-8, percent-encoded
MOON_Q = "%EB%8B%AC%EB%B9%9B%EA%B3%A0%EC%96%91%EC%9D%B4"  # 달빛고양이
SKY_EUC_KR = "%C7%CF%B4%C3%BA%B0"  # 하늘별 in EUC-KR


# --- encoding ------------------------------------------------------------------------------
def test_keywords_are_percent_encoded_from_utf8():
    search = SearchConfig(url="https://board.example/search?q={query}&type=all")
    assert search_url(search, "하늘별") == f"https://board.example/search?q={SKY_Q}&type=all"
    assert search_url(search, "달빛고양이") == f"https://board.example/search?q={MOON_Q}&type=all"
    # Other scripts, spaces (a form value: +) and characters that mean something in a URL.
    assert search_url(search, "月光 猫") == (
        "https://board.example/search?q=%E6%9C%88%E5%85%89+%E7%8C%AB&type=all"
    )
    assert search_url(search, "a&b=c/d?#") == (
        "https://board.example/search?q=a%26b%3Dc%2Fd%3F%23&type=all"
    )


def test_a_keyword_in_the_path_is_one_encoded_segment():
    search = SearchConfig(url="https://board.example/tag/{query}/")
    assert search_url(search, "하늘 별/x") == (
        "https://board.example/tag/%ED%95%98%EB%8A%98%20%EB%B3%84%2Fx/"
    )


def test_legacy_encoding_and_keywords_it_cannot_write():
    search = SearchConfig(url="https://old.example/bbs/board.php?stx={query}", encoding="EUC-KR")
    assert search.encoding == "euc_kr"
    assert search_url(search, "하늘별") == f"https://old.example/bbs/board.php?stx={SKY_EUC_KR}"
    with pytest.raises(KeywordNotEncodable, match="cannot be written in euc_kr"):
        search_url(search, board.UNENCODABLE)


def test_spider_keywords_argument_takes_a_list_or_json():
    decomposed = "\u1112\u1161\u1102\u1173\u11af\u1107\u1167\u11af"  # 하늘별 typed on macOS
    assert keywords_argument([decomposed, " 하늘별 ", "달빛고양이", ""]) == ["하늘별", "달빛고양이"]
    assert keywords_argument('["하늘별", "달빛고양이"]') == ["하늘별", "달빛고양이"]
    with pytest.raises(ValueError, match="JSON array of strings"):
        keywords_argument("하늘별")
    with pytest.raises(ValueError, match="must be strings"):
        keywords_argument([1])


# --- end to end ----------------------------------------------------------------------------
@pytest.fixture
def cases(database_url, tmp_path):
    """A migrated database with both cases' references and keywords, and the CLI environment."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    for case, photos in board.REFERENCES.items():
        paths = [samples.photo_path(name) for name in photos]
        repostwatch("refs", "add", "--case", case, *paths, env=env, cwd=tmp_path)
    added = repostwatch(
        "cases", "keywords", "add", board.SKY, board.SKY_KEYWORD, board.SKY_WITHDRAWN, env=env
    )
    assert added.stdout.strip() == f"2 keyword(s) added to {board.SKY}."
    repostwatch("cases", "keywords", "add", board.MOON, board.MOON_KEYWORD, env=env)
    removed = repostwatch("cases", "keywords", "remove", board.SKY, board.SKY_WITHDRAWN, env=env)
    assert removed.stdout.strip() == f"1 keyword(s) of {board.SKY} withdrawn."
    return env, sites_dir


def _flags(env) -> dict[str, dict]:
    flags = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)
    return {urlsplit(f["media_url"]).path: f for f in flags}


def _run(database_url: str, site: str):
    engine = db.make_engine(database_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            return db.list_runs(session, site=site)
    finally:
        engine.dispose()


EXPECTED_FLAGS = {
    # media path: (case, keyword, the keyword's case)
    "/img/1.jpg": (board.SKY, board.SKY_KEYWORD, board.SKY),
    "/img/3.jpg": (board.SKY, board.SKY_KEYWORD, board.SKY),  # via result page 2
    # case-moon's photo, found by searching case-sky's keyword: the flag is case-moon's and
    # names the keyword and the case it belongs to.
    "/img/2.jpg": (board.MOON, board.SKY_KEYWORD, board.SKY),
    "/img/5.jpg": (board.MOON, board.MOON_KEYWORD, board.MOON),
}
HASHED = {
    "/img/banner.jpg",
    "/img/1.jpg",
    "/img/p/camera.jpg",
    "/img/2.jpg",
    "/img/p/coins.jpg",
    "/img/3.jpg",
    "/img/p/hubble.jpg",
    "/img/5.jpg",
}
SEARCHED = {
    f"/search?q={SKY_Q}",
    f"/search?q={SKY_Q}&page=2",  # max_result_pages = 2: page 3 is never read
    f"/search?q={MOON_Q}",
}
PAGES = SEARCHED | {"/post/1", "/post/2", "/post/3", "/post/5"}


def test_search_crawl_flags_what_each_keyword_finds(cases, database_url, tmp_path):
    env, sites_dir = cases
    with LocalSite(board.routes()) as site:
        (sites_dir / "board.toml").write_text(board.site_file("board", site.url))
        crawl = repostwatch("crawl", "board", "--search", env=env, cwd=tmp_path)
        first = list(site.exchanges)
        again = repostwatch("crawl", "board", "--search", env=env, cwd=tmp_path)
        second = site.exchanges[len(first) :]

    # The server received each active keyword, percent-encoded UTF-8; never the withdrawn one.
    got = [path for method, path, _ in first if method == "GET"]
    assert {p for p in got if not p.startswith("/img/")} == PAGES | {"/robots.txt"}
    assert sorted(p for p in got if p.startswith("/img/")) == sorted(HASHED)  # each once
    assert "Searching board for 2 keyword(s)" in crawl.stdout
    assert "searches        2 (3 result pages)" in crawl.stdout

    flags = _flags(env)
    assert {
        path: (f["case"], f["keyword"], f["keyword_case"]) for path, f in flags.items()
    } == EXPECTED_FLAGS
    assert urlsplit(flags["/img/3.jpg"]["page_url"]).path == "/post/3"
    assert f"{len(EXPECTED_FLAGS)} new" in crawl.stdout

    first_run = _run(database_url, "board")[0]
    stats = json.loads(first_run.stats)
    assert first_run.pages == len(PAGES)
    assert first_run.media == len(HASHED)
    assert first_run.flags == len(EXPECTED_FLAGS)
    assert stats["repostwatch/search/keywords"] == 2
    assert stats["repostwatch/search/requests"] == 2
    assert stats["repostwatch/search/result_pages"] == 3
    assert stats["repostwatch/search/results"] == 4  # /post/1, 2, 3, 5
    assert stats["repostwatch/refused/max_result_pages"] == 1
    # Keywords are victims' names: they never go into the run's stats.
    assert board.SKY_KEYWORD not in first_run.stats and SKY_Q not in first_run.stats

    # A re-crawl searches again (search and result pages are never skipped as seen), media is
    # only re-validated, and no flag is duplicated or given another keyword.
    assert {p for m, p, _ in second if m == "GET" and not p.startswith("/img/")} >= SEARCHED
    assert f"0 new, {len(EXPECTED_FLAGS)} seen again" in again.stdout
    assert {p: (f["case"], f["keyword"], f["keyword_case"]) for p, f in _flags(env).items()} == (
        EXPECTED_FLAGS
    )

    # The review queue shows the keyword, and whose it is when it is another case's.
    table = repostwatch("flags", "list", "--case", board.MOON, env=env).stdout
    assert "KEYWORD" in table.splitlines()[0]
    assert f"{board.SKY_KEYWORD} ({board.SKY})" in table and f"{board.MOON_KEYWORD}" in table


def test_legacy_board_gets_its_form_submitted_in_euc_kr(cases, database_url, tmp_path):
    env, sites_dir = cases
    # A keyword EUC-KR cannot write is skipped (and counted), not sent mangled.
    repostwatch("cases", "keywords", "add", board.MOON, board.UNENCODABLE, env=env)
    with LocalSite(board.legacy_routes()) as site:
        (sites_dir / "oldboard.toml").write_text(board.legacy_site_file("oldboard", site.url))
        crawl = repostwatch("crawl", "oldboard", "--search", "-L", "DEBUG", env=env, cwd=tmp_path)
        got = [path for method, path, _ in site.exchanges if method == "GET"]

    # Keywords are victims' names: not one log line, at any level, holds one in any form
    # (the form went out in EUC-KR though the site file names no encoding).
    log = crawl.stdout + crawl.stderr
    assert f"stx={REDACTED}" in log  # the search URLs are logged, redacted
    for keyword in (board.SKY_KEYWORD, board.MOON_KEYWORD, board.UNENCODABLE):
        for form in _written_forms(keyword):
            assert form not in log, form
    # Nor does any request made from a search's pages tell a site where it came from.
    assert {path: referer for path, referer in site.referers.items() if referer} == {}

    listing = "/bbs/board.php?bo_table=free&sfl=wr_subject&stx="
    post = "/bbs/board.php?bo_table=free&wr_id={}&sfl=wr_subject&stx=" + SKY_EUC_KR
    assert sorted(got) == sorted(
        [
            "/robots.txt",
            "/bbs/search.php",  # the form page, once
            listing + SKY_EUC_KR,  # the form, submitted with the keyword in EUC-KR
            listing + "%B4%DE%BA%FB%B0%ED%BE%E7%C0%CC",  # 달빛고양이 in EUC-KR: no results
            listing + SKY_EUC_KR + "&page=2",  # raw Korean in the link, encoded as the page is
            post.format(11),
            post.format(12),
            post.format(13),
            *board.LEGACY_MEDIA,
        ]
    )
    flags = _flags(env)
    assert {p: (f["case"], f["keyword"], f["keyword_case"]) for p, f in flags.items()} == {
        "/data/file/free/11.jpg": (board.SKY, board.SKY_KEYWORD, board.SKY),
        "/data/file/free/13.jpg": (board.SKY, board.SKY_KEYWORD, board.SKY),
    }
    run_stats = _run(database_url, "oldboard")[0].stats
    assert not any(form in run_stats for form in _written_forms(board.SKY_KEYWORD))
    stats = json.loads(run_stats)
    assert stats["repostwatch/search/keywords"] == 3
    assert stats["repostwatch/search/requests"] == 2
    assert stats["repostwatch/search/unencodable"] == 1
    assert "searches        2 (3 result pages)" in crawl.stdout


def _written_forms(keyword: str) -> set[str]:
    """``keyword`` as text and as URLs carry it, in UTF-8 and EUC-KR, either hex case."""
    forms = {keyword}
    for encoding in ("utf-8", "euc-kr"):
        try:
            raw = keyword.encode(encoding)
        except UnicodeEncodeError:
            continue
        upper = "".join(f"%{byte:02X}" for byte in raw)
        forms |= {upper, upper.lower(), upper.replace("%", "%25")}
    return forms


def test_keywords_are_redacted_in_every_form_a_request_can_carry():
    redact = RedactKeywords(["하늘별", "Jane Doe"])
    for text, expected in (
        ("GET /s?stx=%C7%CF%B4%C3%BA%B0>", "GET /s?stx=[keyword]>"),  # EUC-KR
        ("GET /s?stx=%c7%cf%b4%c3%ba%b0>", "GET /s?stx=[keyword]>"),  # lower-case hex
        ("GET /s?q=%ED%95%98%EB%8A%98%EB%B3%84>", "GET /s?q=[keyword]>"),  # UTF-8
        ("/s?q=%25ED%2595%2598%25EB%258A%2598%25EB%25B3%2584", "/s?q=[keyword]"),  # twice
        ("body b'\\xc7\\xcf\\xb4\\xc3\\xba\\xb0'", "body b'[keyword]'"),  # bytes repr
        ("q=Jane+Doe&q=jane%20doe&q=J%61ne%2BDoe", "q=[keyword]&q=[keyword]&q=[keyword]"),
        ('{"keyword": "\\ud558\\ub298\\ubcc4"}', '{"keyword": "[keyword]"}'),  # JSON
        ("하늘별 and Jane  Doe", "[keyword] and [keyword]"),
        ("GET /s?q=%82%CB%82%C6>", "GET /s?q=%82%CB%82%C6>"),  # not a keyword
    ):
        assert redact.redact(text) == expected, text
    # Legacy encodings are redacted even before a request uses them (Shift-JIS here) ...
    sky = RedactKeywords(["そら"], encodings=())
    assert sky.redact("q=%82%BB%82%E7") == f"q={REDACTED}"
    # ... and an encoding a request used that the filter did not know is added.
    odd = RedactKeywords(["ñu"], encodings=())
    assert odd.redact("q=%96u") == "q=%96u"  # cp1252 would write ñ as %F1, not %96
    odd.add_encodings(["mac_roman"])
    assert odd.redact("q=%96u") == f"q={REDACTED}"


def test_search_needs_a_search_table_and_keywords(cases, tmp_path):
    env, sites_dir = cases
    (sites_dir / "plain.toml").write_text('name = "plain"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    result = repostwatch("crawl", "plain", "--search", env=env, check=False)
    assert result.returncode == 1
    assert "plain.toml: no [search] table, so plain cannot be searched" in result.stderr

    repostwatch("cases", "keywords", "remove", board.SKY, board.SKY_KEYWORD, env=env)
    repostwatch("cases", "keywords", "remove", board.MOON, board.MOON_KEYWORD, env=env)
    (sites_dir / "board.toml").write_text(board.site_file("board", "http://127.0.0.1:9"))
    result = repostwatch("crawl", "board", "--search", env=env, check=False)
    assert result.returncode == 1
    assert "no active case keywords to search for" in result.stderr
    assert "Traceback" not in result.stderr


def test_cases_keywords_commands(cases):
    env, _ = cases
    listed = json.loads(repostwatch("cases", "keywords", "list", "--all", "--json", env=env).stdout)
    assert [(k["case"], k["keyword"], k["active"]) for k in listed] == [
        (board.MOON, board.MOON_KEYWORD, True),
        (board.SKY, board.SKY_KEYWORD, True),
        (board.SKY, board.SKY_WITHDRAWN, False),
    ]
    table = repostwatch("cases", "keywords", "list", "--case", board.SKY, env=env).stdout
    assert board.SKY_KEYWORD in table and board.SKY_WITHDRAWN not in table
    again = repostwatch(
        "cases", "keywords", "add", board.SKY, board.SKY_WITHDRAWN, "하늘별", env=env
    )
    assert again.stdout.strip() == f"1 keyword(s) added to {board.SKY}, 1 already active."
    unknown = repostwatch("cases", "keywords", "list", "--case", "nobody", env=env, check=False)
    assert unknown.returncode == 1 and "no case named 'nobody'" in unknown.stderr
    empty = repostwatch("cases", "keywords", "add", board.SKY, "  ", env=env, check=False)
    assert empty.returncode == 1 and "nothing added: a keyword cannot be empty" in empty.stderr


def test_a_search_form_that_is_not_there_is_an_error(cases, tmp_path):
    env, sites_dir = cases
    with LocalSite(board.legacy_routes()) as site:
        text = board.legacy_site_file("oldboard", site.url).replace('"stx"', '"keyword"')
        (sites_dir / "oldboard.toml").write_text(text)
        crawl = repostwatch("crawl", "oldboard", "--search", env=env, cwd=tmp_path, check=False)
        got = [path for method, path, _ in site.exchanges if method == "GET"]
    assert crawl.returncode == 1
    assert "has no form (any) with a field named 'keyword'" in crawl.stderr
    assert "no page could be crawled" in crawl.stderr
    assert sorted(got) == ["/bbs/search.php", "/robots.txt"]


def test_scrapy_crawl_takes_the_keywords_as_a_spider_argument(cases, tmp_path):
    """`scrapy crawl site -a site=NAME -a keywords='[...]'`: the spider never reads the database."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env, sites_dir = cases
    project = ROOT
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    keywords = json.dumps([board.MOON_KEYWORD], ensure_ascii=False)
    with LocalSite(board.routes()) as site:
        (sites_dir / "board.toml").write_text(board.site_file("board", site.url))
        log_file, feed = tmp_path / "crawl.log", tmp_path / "items.jsonl"
        # As scrapyd runs a job when its items_dir is set: with a log file and an item feed.
        logging = ["-s", f"LOG_FILE={log_file}", "-s", "LOG_LEVEL=INFO", "-o", str(feed)]
        subprocess.run(
            [scrapy, "crawl", "site", "-a", "site=board", "-a", f"keywords={keywords}", *logging],
            cwd=project,
            env={**os.environ, **env, "REPOSTWATCH_HASH_WORKERS": "1"},
            capture_output=True,
            text=True,
            check=True,
            timeout=240,
        )
        got = {path for method, path, _ in site.exchanges if method == "GET"}
        # The same board crawled from its start URL, not searched: the same rules hold.
        plain_log, plain_feed = tmp_path / "plain.log", tmp_path / "plain.jsonl"
        plain = ["-s", f"LOG_FILE={plain_log}", "-s", "LOG_LEVEL=INFO", "-o", str(plain_feed)]
        subprocess.run(
            [scrapy, "crawl", "site", "-a", "site=board", *plain],
            cwd=project,
            env={**os.environ, **env, "REPOSTWATCH_HASH_WORKERS": "1"},
            capture_output=True,
            text=True,
            check=True,
            timeout=240,
        )
    assert not plain_feed.exists()
    assert stat.S_IMODE(plain_log.stat().st_mode) == 0o600
    plain_text = plain_log.read_text()
    flagged = json.loads(repostwatch("flags", "list", "--json", env=env).stdout)
    assert len(flagged) > 1 and "New flag " in plain_text
    for flag in flagged:
        assert flag["media_url"] not in plain_text and flag["page_url"] not in plain_text
    assert got == {"/robots.txt", f"/search?q={MOON_Q}", "/post/5", "/img/banner.jpg", "/img/5.jpg"}
    searched = {p: (f["case"], f["keyword"]) for p, f in _flags(env).items() if f["keyword"]}
    assert searched == {"/img/5.jpg": (board.MOON, board.MOON_KEYWORD)}
    # No item feed; a log for its user only, naming the flag by id, never its URLs.
    assert not feed.exists()
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    log = log_file.read_text()
    assert "New flag 1 (case " in log
    assert "/img/5.jpg" not in log and "/post/5" not in log
