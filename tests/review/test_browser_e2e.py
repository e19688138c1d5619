"""End to end in real headless Chromium: log in, claim a batch, confirm with the keyboard,
skip with the keyboard, and see the decisions in the database.

The app is served by the real ``repostwatch web`` command on 127.0.0.1 (a free port).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crawler.db.models import AuditEntry, Flag, User
from tests.review.conftest import PASSWORD
from tests.support.chromium import launched
from tests.support.serving import served
from tests.support.totp import log_in_page

# wait_for_function is given functions, never expressions: Playwright evaluates an expression
# with eval() in the page while it polls, and the app's Content-Security-Policy forbids eval.
EVIDENCE_WIDTH_IS = """([comparison, width]) => {
    const img = document.querySelector('#evidence img');
    const natural = img && img.complete ? img.naturalWidth : 0;
    return comparison === '>' ? natural > width : natural === width;
}"""


@pytest.fixture
def browser():
    with launched() as browser:
        yield browser


@pytest.mark.parametrize("web_env", ["production", "development"])
def test_log_in_claim_and_confirm_with_the_keyboard(
    browser, world, database_url, evidence_keys, web_env
):
    ids = [world.flag(n) for n in range(1, 4)]
    world.user("kim")
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_WEB_ENV": web_env,
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
    }
    if web_env == "production":
        env["REPOSTWATCH_SECRET_KEY"] = "e2e-" + "x" * 44
    with served(env) as url:
        page = browser.new_page()
        # Nothing but the app itself is ever asked for (no CDN, no fonts).
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/")
        assert page.url.startswith(f"{url}/login")
        log_in_page(page, url, "kim", PASSWORD)
        page.wait_for_url(f"{url}/")
        page.click("#claim")
        page.wait_for_url(f"{url}/flags/{ids[0]}*")
        assert "No evidence kept for this flag" in page.content()
        page.keyboard.press("c")
        page.wait_for_url(f"{url}/flags/{ids[1]}*")
        page.keyboard.press("s")
        page.wait_for_url(f"{url}/flags/{ids[2]}*")
        page.keyboard.press("n")  # the only flag left: next stays on it
        page.keyboard.press("r")
        page.wait_for_url(f"{url}/")
        assert "No more flags in your batch" in page.content()
        assert all(u.startswith(url) for u in requested), requested
    with world.sessions() as session:
        statuses = dict(session.execute(select(Flag.id, Flag.status)).all())
        deciders = set(session.execute(select(Flag.decided_by)).scalars())
        actions = session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
        actions = list(actions)
    assert [statuses[i] for i in ids] == ["confirmed", "pending", "rejected"]
    assert deciders == {"kim", None}
    assert actions[:3] == ["login", "claim", "view_flag"]
    assert actions.count("decide") == 2 and actions.count("skip") == 1


def test_found_media_is_blurred_until_a_logged_click(browser, world, database_url, evidence_keys):
    import hashlib
    import io

    from PIL import Image

    from crawler.db import evidence
    from crawler.demo import samples

    photo = samples.reencoded_jpeg("coffee", quality=80, scale=0.5)
    width = Image.open(io.BytesIO(photo)).width
    flag_id = world.flag(1)
    with world.sessions.begin() as session:
        sealed = evidence.seal(evidence.sealer(evidence_keys.public), photo, "image", "jpeg")
        evidence.store_evidence(session, flag_id, sealed.ciphertext, "image/jpeg", sealed.sha256)
    assert sealed.sha256 == hashlib.sha256(photo).hexdigest()
    world.user("kim")
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SECRET_KEY": "e2e-" + "x" * 44,
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
    }
    with served(env) as url:
        page = browser.new_page()
        log_in_page(page, url, "kim", PASSWORD)
        page.wait_for_url(f"{url}/")
        page.goto(f"{url}/flags/{flag_id}")
        image = page.locator("#evidence img")
        image.wait_for()
        natural_width = "img => img.complete ? img.naturalWidth : 0"
        page.wait_for_function(EVIDENCE_WIDTH_IS, arg=[">", 0])
        # The server sent its blurred rendition (smaller than the photo), not the photo.
        assert 0 < image.evaluate(natural_width) < width
        assert "blur(" in image.evaluate("img => getComputedStyle(img).filter")
        page.click("#unblur")
        page.wait_for_selector("#evidence:not(.blurred)")
        assert image.evaluate("img => getComputedStyle(img).filter") == "none"
        # review.js fetched the image again: now the photo itself.
        page.wait_for_function(EVIDENCE_WIDTH_IS, arg=["===", width])
        page.reload()  # stays unblurred: the session remembers the logged click
        assert page.locator("#evidence.blurred").count() == 0
        page.wait_for_function(EVIDENCE_WIDTH_IS, arg=["===", width])
    with world.sessions() as session:
        unblurs = session.execute(
            select(AuditEntry.target_id).where(AuditEntry.action == "unblur")
        ).scalars()
        assert list(unblurs) == [str(flag_id)]


HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.any_database
def test_an_admin_walks_every_page_in_korean_and_switches_to_english(
    browser, world, database_url, evidence_keys
):
    """The installation's default language and time zone (Korean, Asia/Seoul) in real Chromium:
    every menu page's heading is Korean, times are Seoul's, the review keys work with Korean
    messages, the queue counts new flags without a reload, a note is added, and the account
    page switches the language."""
    ids = [world.flag(n) for n in range(1, 3)]  # first seen 12:01 and 12:02 UTC
    world.user("kim", "admin")
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_WEB_ENV": "development",
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
        "REPOSTWATCH_LOCALE": "ko",
        "REPOSTWATCH_TIMEZONE": "Asia/Seoul",
    }
    with served(env) as url:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/login")
        assert page.get_attribute("html", "lang") == "ko"
        assert page.inner_text("button[type=submit]") == "로그인"
        log_in_page(page, url, "kim", PASSWORD)
        page.wait_for_url(f"{url}/")
        assert page.inner_text("h1") == "검토 대기열"
        assert "2026. 5. 1. 오후 9:01" in page.inner_text("table.flags")
        assert page.inner_text("#timezone") == "Asia/Seoul"

        page.click("#claim")
        page.wait_for_url(f"{url}/flags/{ids[0]}*")
        assert "플래그 2건을 30분 동안 맡습니다." in page.inner_text("main")
        assert page.inner_text("#first-seen") == "2026. 5. 1. 오후 9:01:00"
        page.keyboard.press("c")  # confirm
        page.wait_for_url(f"{url}/flags/{ids[1]}*")
        assert f"플래그 {ids[0]}: 확인됨." in page.inner_text("main")

        menu = [a.get_attribute("href") for a in page.query_selector_all("header nav a")]
        # queue, notices, cases, dashboard, crawls, URL check, sites, audit, users, digests,
        # account
        assert len(menu) == 11, menu
        for href in menu:
            page.goto(f"{url}{href}")
            heading = page.inner_text("h1")
            assert HANGUL.search(heading), (href, heading)
            assert page.get_attribute("html", "lang") == "ko"

        # The queue says "N new" without reloading (review.js asks every 20 s, and at once
        # when the window gets the focus back), and its link reloads it.
        page.goto(f"{url}/")
        newer = world.flag(3)
        page.evaluate("() => window.dispatchEvent(new Event('focus'))")
        page.wait_for_selector("#new-flags.has-new")
        assert page.inner_text("#reload-queue") == "새 플래그 1건: 대기열 새로 고침"
        page.click("#reload-queue")
        page.wait_for_selector(f'table.flags a[href^="/flags/{newer}?"]')
        # A note on the flag, listed with its author and Korean text around it.
        page.goto(f"{url}/flags/{newer}")
        page.fill("#note", "같은 게시자가 올린 것 같음")
        page.click("#add-note")
        page.wait_for_selector(".note-body")
        assert page.inner_text(".note-body") == "같은 게시자가 올린 것 같음"
        assert "메모를 추가했습니다." in page.inner_text("main")
        assert page.inner_text(".note-author") == "kim"
        # The crawls page lists the bundled demo site; the check form explains a bad address.
        page.goto(f"{url}/crawls/")
        assert "demo" in page.inner_text("#crawls")
        page.goto(f"{url}/checks/")
        page.fill("#urls", "board.example/post/1")
        page.click("#check")
        assert "1번째 줄: board.example/post/1은(는) 페이지 주소가 아닙니다" in page.inner_text(
            "#check-errors"
        )
        assert page.input_value("#urls") == "board.example/post/1"

        page.goto(f"{url}/account/")
        page.select_option("#locale", "en")
        page.click("#save-preferences")
        page.wait_for_url(f"{url}/account/")
        assert page.get_attribute("html", "lang") == "en"
        assert "Language and time zone saved." in page.inner_text("main")
        assert page.inner_text("header nav a") == "Queue"  # the first menu entry
        page.goto(f"{url}/flags/{ids[1]}")
        assert page.inner_text("#first-seen") == "May 1, 2026, 9:02:00\u202fPM"
        assert all(u.startswith(url) for u in requested), requested
    with world.sessions() as session:
        statuses = dict(session.execute(select(Flag.id, Flag.status)).all())
        locale = session.execute(select(User.locale).where(User.username == "kim")).scalar()
    assert statuses[ids[0]] == "confirmed" and locale == "en"


@pytest.mark.any_database
def test_an_approver_opens_a_case_and_uploads_a_photo_in_korean(
    browser, world, database_url, evidence_keys, tmp_path
):
    """The case form and the upload in real Chromium, in Korean: the photo is handed to the
    page from memory, the upload's page reloads itself until the hashes are stored, the file
    list shows the label and never the file's name, and no file appears in the server's
    temporary folder (TMPDIR) or under var/ while it runs."""
    from crawler.db.models import ReferenceHash
    from crawler.demo.samples import encode, load_photo
    from tests.support.project import ROOT

    world.user("lee", "approver")
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_WEB_ENV": "development",
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": evidence_keys.private,
        "REPOSTWATCH_LOCALE": "ko",
        "TMPDIR": str(server_tmp),
        "REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES": "5000000",
    }
    photo = encode(load_photo("coffee"), "PNG", compress_level=0)
    assert len(photo) > 500_000  # over Werkzeug's spooling threshold
    var = ROOT / "var"
    with served(env) as url:
        # Not the suite's own fixture cache, which other pytest-xdist workers write meanwhile.
        cache = var / "test-cache"
        before = {p for p in var.rglob("*") if p != cache and cache not in p.parents}
        page = browser.new_page()
        log_in_page(page, url, "lee", PASSWORD)
        page.goto(f"{url}/cases/")
        page.fill("input[name=name]", "case-77")
        page.click("form.open-case button[type=submit]")
        page.wait_for_url(f"{url}/cases/case-77/references")
        assert "case-77 사례를 개시했습니다." in page.inner_text("main")
        page.fill("section.upload input[name=label]", "사진 1")
        big = {"name": "big.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 5_000_001}
        page.set_input_files("input[name=media]", big)  # over the cap: refused in the page
        page.click("section.upload button[type=submit]")
        assert "5.0 MB보다 큽니다" in page.inner_text(".upload-refused")
        assert page.url == f"{url}/cases/case-77/references"
        page.set_input_files(
            "input[name=media]",
            {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": photo},
        )
        page.click("section.upload button[type=submit]")
        page.wait_for_url(re.compile(r".*/cases/case-77/uploads/.+"))
        page.wait_for_selector("#upload-job[data-state=done]", timeout=60_000)
        assert "해시" in page.inner_text("#upload-result")
        page.click("text=참조 파일로 돌아가기")
        table = page.inner_text("table.reference-files")
        assert "IMG_0001" not in page.content()
        assert page.input_value("table.reference-files input[name=label]") == "사진 1"
        assert "이미지" in table
        after = {p for p in var.rglob("*") if p != cache and cache not in p.parents}
    assert list(server_tmp.iterdir()) == []
    assert after == before
    with world.sessions() as session:
        labels = set(
            session.scalars(select(ReferenceHash.label).where(ReferenceHash.label.is_not(None)))
        )
    assert labels == {"사진 1"}
