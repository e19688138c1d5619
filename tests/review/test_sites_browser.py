"""The site editor in real Chromium, as the monitoring team uses it: in Korean, a new site's
validator problem shown beside the text, "Try" on a gallery served on 127.0.0.1 (the links it
would follow and the media it found), the site saved; a recorded domain move with its evidence,
adopted in one click, the site keeping its runs and versions; then in English, a try of the
saved site and the other move dismissed.

The app is served by the real ``repostwatch web`` command; one Chromium for the module.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crawler.db import domain_moves
from crawler.db.runs import finish_run, start_run
from crawler.demo.localsite import LocalSite
from crawler.site_store import Who, save_text
from tests.review.conftest import PASSWORD
from tests.sites import gallery
from tests.support.chromium import launched
from tests.support.serving import served
from tests.support.totp import log_in_page

BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n'


@pytest.fixture(scope="module")
def browser():
    with launched() as browser:
        yield browser


def _board_with_a_run_and_two_moves(world) -> tuple[int, int, int]:
    """board saved (version 1) with a finished run, seen moving to two other domains: the ids
    of the run and of the moves."""
    with world.sessions.begin() as session:
        save_text(session, BOARD, Who("ann", via="web"))
        run_id = start_run(session, "board")
        finish_run(
            session,
            run_id,
            status="finished",
            finish_reason="finished",
            pages=7,
            media=3,
            bytes=7000,
            errors=0,
            flags=0,
        )
        adopted, dismissed = (
            domain_moves.record_move(
                session,
                "board",
                old_domain="board.example",
                new_domain=new,
                kind="redirect",
                new_url=f"https://{new}/",
                evidence=f"GET https://board.example/ answered 301 redirecting to https://{new}/",
                run_id=run_id,
            )[0]
            for new in ("board2.example", "elsewhere.example")
        )
    return run_id, adopted, dismissed


@pytest.mark.any_database
def test_a_monitor_tries_saves_and_moves_sites_in_korean_then_english(
    browser, world, database_url, evidence_keys
):
    run_id, adopted, dismissed = _board_with_a_run_and_two_moves(world)
    world.user("mo", "monitor")
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_WEB_ENV": "development",
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
        "REPOSTWATCH_LOCALE": "ko",
    }
    with LocalSite(gallery.routes()) as site, served(env) as url:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        log_in_page(page, url, "mo", PASSWORD)
        page.wait_for_url(f"{url}/crawls/")  # a monitor's first page
        page.click("#edit-sites")
        page.wait_for_url(f"{url}/sites/")
        assert page.inner_text("h1") == "사이트"

        # A new site: the validator's problem beside the text, which is kept for fixing.
        page.click("#new-site")
        page.wait_for_url(f"{url}/sites/new")
        text = gallery.site_file("mirror", site.url)
        wrong = text.replace(f'"{site.url}/"', '"gallery.example/"')
        page.fill("#site-toml", wrong)
        page.click("#save-site")
        problems = page.locator("#site-problems")
        expect(problems).to_contain_text("저장하지 않았습니다. 먼저 다음 문제를 고치세요.")
        # The validator's problem in Korean too, its key and value as written.
        expect(problems).to_contain_text(
            "start_urls[0]: 'gallery.example/'은(는) http(s)로 시작하는 전체 URL이 아닙니다"
        )
        assert page.input_value("#site-toml").strip() == wrong.strip()

        # Try: the gallery's front page read once, its links and media listed, nothing saved.
        page.fill("#site-toml", text)
        page.click("#try-site")
        page.wait_for_selector("#try-result", timeout=60_000)
        assert page.locator("#site-problems").count() == 0
        result = page.inner_text("#try-result")
        assert page.inner_text("#try-result h2") == "mirror 시험 결과"
        assert "찾은 미디어: 1개" in result and "따라갈 링크: 5개" in result
        follow = page.locator("ul.try-follow li").all_inner_texts()
        assert sorted(follow) == sorted(
            [f"{site.url}/page/{n}" for n in range(1, 5)] + [f"{site.url}/post/99"]
        )
        assert page.locator("table.try-media tbody tr").all_inner_texts() == [
            f"이미지\t{site.url}/img/p/moon.jpg"
        ]
        summary = page.inner_text("#try-summary")
        assert summary.startswith("페이지 1개를 읽고 미디어 1개를 찾았습니다.")
        assert site.requests[:2] == ["/robots.txt", "/"]
        assert page.input_value("#site-toml").strip() == text.strip()  # kept for saving
        page.click("#save-site")
        page.wait_for_url(f"{url}/sites/mirror/edit")
        assert "mirror을(를) 버전 1(으)로 저장했습니다." in page.inner_text("main")
        assert page.locator("table.versions tbody tr").count() == 1

        # The recorded move, its evidence beside it; adopted in one click.
        page.goto(f"{url}/sites/")
        assert page.inner_text("#domain-moves") == "도메인 이전"
        move = page.locator(f"#move-{adopted}")
        assert "리디렉션: GET https://board.example/ answered 301" in move.inner_text()
        move.locator("button.adopt-move").click()
        page.wait_for_url(f"{url}/sites/")
        assert (
            "board 사이트는 이제 board2.example 도메인을 수집합니다 (버전 2)."
            in page.inner_text("main")
        )
        assert page.locator(f"#move-{adopted}").count() == 0
        board = page.locator("table.sites tr", has_text="board2.example")
        assert board.inner_text().split("\t")[:3] == ["board", "https://board2.example/", "2"]
        # The same site: both versions, and the run it had before the move.
        page.goto(f"{url}/sites/board/edit")
        assert page.locator("table.versions tbody tr").count() == 2
        assert 'start_urls = ["https://board2.example/"]' in page.input_value("#site-toml")
        page.goto(f"{url}/crawls/sites/board")
        assert f"#{run_id}" in page.inner_text("#runs")

        # In English: a try of the saved site from its own page, the other move dismissed.
        page.goto(f"{url}/account/")
        page.select_option("#locale", "en")
        page.click("#save-preferences")
        page.wait_for_url(f"{url}/account/")
        page.goto(f"{url}/sites/mirror/edit")
        page.click("#try-site")
        page.wait_for_selector("#try-result", timeout=60_000)
        result = page.inner_text("#try-result")
        assert "Media found: 1" in result and "Links it would follow: 5" in result
        assert "image" in page.inner_text("table.try-media")
        page.goto(f"{url}/sites/")
        assert "Redirect: GET https://board.example/" in page.inner_text(f"#move-{dismissed}")
        page.locator(f"#move-{dismissed} button.dismiss-move").click()
        page.wait_for_url(f"{url}/sites/")
        assert "Dismissed the move of board to elsewhere.example." in page.inner_text("main")
        assert page.locator("#domain-moves").count() == 0
        # The browser asked the app only (the try's requests are the server's, not the page's).
        assert all(u.startswith(url) for u in requested), requested
    with world.sessions() as session:
        states = {m.id: m.state for m in domain_moves.moves(session)}
    assert states == {adopted: "adopted", dismissed: "dismissed"}
