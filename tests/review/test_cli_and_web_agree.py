"""The CLI and the web app give the same results, on SQLite and on PostgreSQL (issue #15).

One staff job is done twice, each time on a database of its own: through `repostwatch` (run in
this process with click's runner, on a second database of the same backend) and through the
web app (the Flask test client): open a case, add keywords, reject a proposed spelling variant,
add a site, confirm a flag. Then both databases hold the same rows once ids, times and the
channel's own name for who did it (``(cli) <login>``) are left out, the audit logs record the
same actions, and what each side lists (variants still proposed, the site's text) is the same.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

import settings as project_settings
from crawler.cli import main
from crawler.db import make_engine, make_sessionmaker, users
from crawler.db.flags import MatchRecord, record_match
from crawler.db.migrate import upgrade
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import ensure_site, start_run
from tests.conftest import postgres_database
from tests.review.conftest import PASSWORD, login, post

CASE = "case-0042"
REFS = f"/cases/{CASE}/references"
KEYWORDS = ("딥페", "sky star")
REJECTED = ("딥페", "뒵페")
BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n\n[follow]\nmax_depth = 2\n'
#: The rows a staff job leaves, without ids and times; ``who`` is the account a change names.
ROWS = {
    "cases": "SELECT name, closed_at IS NULL FROM cases ORDER BY name",
    "case_keywords": "SELECT keyword, withdrawn_at IS NULL FROM case_keywords ORDER BY keyword",
    "keyword_variant_rejections": (
        "SELECT keyword, variant, rejected_by FROM keyword_variant_rejections ORDER BY variant"
    ),
    "sites": "SELECT name, version, toml FROM sites WHERE toml IS NOT NULL ORDER BY name",
    "site_versions": "SELECT version, toml FROM site_versions ORDER BY version",
    "flags": "SELECT page_url, status, decided_by FROM flags ORDER BY page_url",
}
#: Entries only the web app writes: logging in, and looking at a flag before deciding it.
WEB_ONLY_ACTIONS = ("login", "login_code", "totp_enrolled", "view_flag")
#: A row of the case page's table of proposed variants: (keyword, variant).
_VARIANT_ROW = re.compile(r'<tr><td>([^<]*)</td><td class="variant">([^<]*)</td>')
#: A row of its table of rejected variants: (keyword, variant, who).
_REJECTED_ROW = re.compile(r'<tr><td>([^<]*)</td><td class="variant">([^<]*)</td><td>([^<]*)</td>')


def _seed(engine: Engine) -> int:
    """The same start on each side: a case's reference, a pending flag, an approver."""
    with make_sessionmaker(engine).begin() as session:
        add_reference_hashes(session, "case-1", [NewHash("pdq", "f" * 64, 90)])
        (reference,) = load_references(session)
        flag = record_match(
            session,
            MatchRecord(
                run_id=start_run(session, "gallery"),
                site_id=ensure_site(session, "gallery"),
                page_url="https://gallery.example/post/1",
                media_url="https://gallery.example/img/1.jpg",
                media_sha256="a" * 64,
                case_id=reference.case_id,
                reference_id=reference.id,
                algorithm="pdq",
                distance=12,
                seen_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
            ),
        )
        users.create_user(session, "lee", PASSWORD, "approver")
        return flag.flag_id


def _rows(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        found = {
            table: [tuple(row) for row in connection.execute(text(query))]
            for table, query in ROWS.items()
        }
        actions = connection.execute(text("SELECT action, target_type FROM audit_log ORDER BY id"))
        # The same action twice in a row once: the web form adds one keyword at a time, the
        # CLI all of them at once.
        found["audit_log"] = [
            action
            for action, _ in itertools.groupby(tuple(row) for row in actions)
            if action[0] not in WEB_ONLY_ACTIONS
        ]
    return found


@pytest.fixture
def cli_database(database_url, request, tmp_path) -> Iterator[str]:
    """A second database of the test's backend, migrated: the CLI's."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        upgrade(url)
        yield url
        return
    with postgres_database(request.getfixturevalue("postgres_admin")) as url:
        upgrade(url)
        yield url


@pytest.fixture
def repostwatch_here(cli_database, tmp_path, monkeypatch):
    """`repostwatch ARGS...` run in this process on ``cli_database``: its output, or a failed
    test with what it said. The settings module is read once per process, so its values are
    set rather than the environment."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    monkeypatch.setattr(project_settings, "REPOSTWATCH_DATABASE_URL", cli_database)
    monkeypatch.setattr(project_settings, "REPOSTWATCH_SITES_DIR", str(sites_dir))
    monkeypatch.setattr(project_settings, "REPOSTWATCH_KEYWORD_VARIANTS_FILE", "")
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "settings")
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args))
        assert (result.exit_code == 0) is ok, (args, result.output)
        return result.output

    return run


def test_a_staff_job_leaves_the_same_rows_through_the_cli_and_the_web(
    client, engine, cli_database, repostwatch_here, tmp_path
):
    cli_engine = make_engine(cli_database)
    try:
        cli_flag = _seed(cli_engine)
        web_flag = _seed(engine)

        # Through the CLI.
        repostwatch_here("cases", "open", CASE)
        repostwatch_here("cases", "keywords", "add", CASE, *KEYWORDS)
        repostwatch_here("cases", "keywords", "reject", CASE, *REJECTED, "--by", "lee")
        again = repostwatch_here("cases", "keywords", "reject", CASE, *REJECTED, "--by", "lee")
        assert "0 variant(s) of a keyword of case-0042 rejected, 1 rejected before." in again
        refused = repostwatch_here(
            "cases", "keywords", "reject", CASE, "몰카", "ㅁㅋ", "--by", "lee", ok=False
        )
        assert "nothing rejected: '몰카' is not a keyword of 'case-0042'" in refused
        board = tmp_path / "board.toml"
        board.write_text(BOARD, encoding="utf-8")
        repostwatch_here("sites", "import", str(board))
        repostwatch_here("flags", "decide", str(cli_flag), "confirm", "--by", "lee")

        # Through the web app.
        login(client, "lee")
        post(client, "/cases/", {"name": CASE}, page="/cases/")
        for keyword in KEYWORDS:
            post(client, f"/cases/{CASE}/keywords", {"keyword": keyword}, page=REFS)
        reject = dict(zip(("keyword", "variant"), REJECTED, strict=True))
        for _ in range(2):
            post(client, f"/cases/{CASE}/keywords/variants/reject", reject, page=REFS)
        post(client, "/sites/new", {"toml": BOARD}, page="/sites/new")
        post(
            client, f"/flags/{web_flag}/decide", {"decision": "confirm"}, page=f"/flags/{web_flag}"
        )

        cli_rows, web_rows = _rows(cli_engine), _rows(engine)
        assert cli_rows["keyword_variant_rejections"] == [("딥페", "뒵페", "lee")]
        assert cli_rows["flags"] == [("https://gallery.example/post/1", "confirmed", "lee")]
        assert cli_rows["audit_log"] == [
            ("case_open", "case"),
            ("case_keywords_add", "case"),
            ("case_keyword_variants_reject", "case"),  # twice: the second changes nothing
            ("site_saved", "site"),
            ("decide", "flag"),
        ]
        assert web_rows == cli_rows

        # What each side lists: the variants still proposed, and the site's text.
        listed = json.loads(repostwatch_here("cases", "keywords", "variants", CASE, "--json"))
        page = client.get(REFS).text
        proposed = page.split('<table class="variants">')[1].split("</table>")[0]
        shown = _VARIANT_ROW.findall(proposed)
        assert shown == [(row["keyword"], row["variant"]) for row in listed]
        assert ("딥페", "뒵페") not in shown and ("딥페", "뒷페") in shown
        refused = json.loads(
            repostwatch_here("cases", "keywords", "variants", CASE, "--rejected", "--json")
        )
        kept = page.split('<table class="variants-rejected">')[1].split("</table>")[0]
        assert _REJECTED_ROW.findall(kept) == [
            (row["keyword"], row["variant"], row["rejected_by"]) for row in refused
        ]
        assert [row["variant"] for row in refused] == ["뒵페"]
        assert repostwatch_here("sites", "export", "board") == BOARD
        assert BOARD in html.unescape(client.get("/sites/board/edit").text)
    finally:
        cli_engine.dispose()
