"""The crawls page and the URL check in real Chromium, in Korean as the monitoring team uses
them: a check pasted by hand, handed to scrapyd (tests/support/fake_scrapyd.py) and listed with
its run; that run's figures on the crawls page following what the crawl writes to its row
(crawler.db.runs.record_progress, as the pipeline does every few seconds) without a reload,
until it ends; then the same page in English.

The app is served by the real ``repostwatch web`` command; one Chromium for the module.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crawler.db.models import AuditEntry
from crawler.db.runs import finish_run, record_progress
from tests.review.conftest import PASSWORD
from tests.support.chromium import launched
from tests.support.fake_scrapyd import FakeScrapyd
from tests.support.serving import served
from tests.support.totp import log_in_page

BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n'
#: Asks review.js to check the running runs now (it also does every few seconds).
FOCUS = "() => window.dispatchEvent(new Event('focus'))"


@pytest.fixture(scope="module")
def browser():
    with launched() as browser:
        yield browser


@pytest.mark.any_database
def test_a_check_runs_and_its_figures_follow_the_crawl_without_a_reload(
    browser, world, database_url, evidence_keys, scrapyd_node, tmp_path
):
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "board.toml").write_text(BOARD, encoding="utf-8")
    world.user("mo", "monitor")
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_WEB_ENV": "development",
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
        "REPOSTWATCH_LOCALE": "ko",
        "REPOSTWATCH_SITES_DIR": str(sites),
        "REPOSTWATCH_SCRAPYD_URLS": scrapyd_node,
    }
    urls = ["https://board.example/post/1", "https://board.example/post/2"]
    with served(env) as url:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        log_in_page(page, url, "mo", PASSWORD)
        page.wait_for_url(f"{url}/crawls/")

        # The URL check: two addresses of board, handed to a scrapyd node with board's rules.
        page.goto(f"{url}/checks/")
        assert page.inner_text("h1") == "직접 찾은 페이지 확인"
        page.fill("#urls", "\n".join([*urls, urls[0]]))  # a repeat is dropped
        page.click("#check")
        page.wait_for_url(f"{url}/checks/")
        (asked,) = FakeScrapyd.scheduled
        run_id = int(asked["jobid"].removeprefix("board."))
        assert (asked["site"], asked["check"]) == ("board", "\n".join(urls))
        said = f"주소 2개를 board 설정으로 확인합니다: 수집 실행 {run_id}."
        assert said in page.inner_text("main")
        row = page.locator("#checks tbody tr").first
        assert row.locator(f'a[href="/crawls/runs/{run_id}"]').count() == 1
        assert "mo" in row.inner_text() and "실행 중" in row.inner_text()

        # The crawls page follows the run as the crawl writes its figures, with no reload.
        page.goto(f"{url}/crawls/")
        page.evaluate("() => { window.loadedOnce = true; }")
        last_run = page.locator("#site-board td.last-run")
        assert last_run.get_attribute("data-live-run") == str(run_id)
        expect(last_run.locator(".run-status")).to_have_text("실행 중")
        expect(last_run.locator(".run-figures")).to_have_text("페이지 0 · 미디어 0 · 플래그 0")
        with world.sessions.begin() as session:
            record_progress(session, run_id, pages=2, media=14, bytes=90_000, errors=0, flags=1)
        page.evaluate(FOCUS)
        expect(last_run.locator(".run-figures")).to_have_text("페이지 2 · 미디어 14 · 플래그 1")
        with world.sessions.begin() as session:
            finish_run(
                session,
                run_id,
                status="finished",
                finish_reason="finished",
                pages=2,
                media=15,
                bytes=95_000,
                errors=0,
                flags=1,
            )
        page.evaluate(FOCUS)
        expect(last_run.locator(".run-status")).to_have_text("완료")
        expect(last_run.locator(".run-figures")).to_have_text("페이지 2 · 미디어 15 · 플래그 1")
        expect(page.locator("#site-board .status-running")).to_have_count(0)
        assert last_run.get_attribute("data-live-run") is None  # no more questions
        assert page.evaluate("() => window.loadedOnce") is True  # the same page all along

        # The run's page and, in English, the crawls page with the run's final figures.
        last_run.locator(f'a[href="/crawls/runs/{run_id}"]').click()
        page.wait_for_url(f"{url}/crawls/runs/{run_id}")
        assert "완료" in page.inner_text("main dl")
        page.goto(f"{url}/account/")
        page.select_option("#locale", "en")
        page.click("#save-preferences")
        page.wait_for_url(f"{url}/account/")
        page.goto(f"{url}/crawls/")
        assert "this page follows them" in page.inner_text("main p.help")
        expect(page.locator("#site-board .run-figures")).to_have_text(
            "Pages 2 · media 15 · flags 1"
        )
        expect(page.locator("#site-board .run-status")).to_have_text("finished")
        page.goto(f"{url}/checks/")
        assert "finished" in page.locator("#checks tbody tr").first.inner_text()
        assert all(u.startswith(url) for u in requested), requested
    with world.sessions() as session:
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "manual_check"))
    assert (entry.username, entry.target_id) == ("mo", str(run_id))
