"""The web app in Korean and English (crawler/review/i18n.py): every page in both languages as
each role, every string of the code and templates translated into Korean, each user's language
and time zone (chosen on the account page, stored on the account), the installation's defaults
(Korean, Asia/Seoul), dates, times and numbers as the user's locale writes them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from crawler.db import users
from crawler.db.flags import decide
from crawler.db.models import FLAG_STATUSES, NOTICE_STATUSES, USER_ROLES, AuditEntry, User
from crawler.review import ConfigError, create_app, i18n
from tests.review.conftest import SECRET, T0, https_client, login, post
from tests.support.project import ROOT
from tests.support.settings import default_settings, default_web_config

TRANSLATIONS = ROOT / "crawler" / "review" / "translations"
SITE_FILE = """name = "gallery"
start_urls = ["https://repost.example/"]
[takedown]
language = "ko"
abuse_contact = "abuse@repost.example"
"""
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
_TAGS = re.compile(r"<[^>]+>")

#: Each page, the lowest role that sees it, and a heading or label it shows in each language.
PAGES = {
    "/": ("reviewer", "검토 대기열", "Review queue"),
    "/flags/{flag}": ("reviewer", "최초 발견", "First seen"),
    "/notices/": ("reviewer", "삭제 요청 통지서", "Takedown notices"),
    "/notices/{notice}": ("reviewer", "발송될 본문", "The text as it will be sent"),
    "/cases/": ("approver", "사례", "Cases"),
    "/cases/case-1": ("approver", "피해자용 보고서", "Report for the victim"),
    "/cases/case-1/report.html": ("approver", "진행 보고서", "progress report"),
    "/cases/case-1/references": ("approver", "참조 파일 추가", "Add a reference file"),
    "/dashboard/": ("approver", "사이트별 삭제율과 삭제까지 걸린 시간 중앙값", "Removal rate"),
    "/admin/audit": ("admin", "감사 로그", "Audit log"),
    "/admin/users": ("admin", "직원 계정", "Staff accounts"),
    "/admin/digests": ("admin", "새 플래그 요약 알림", "Digests of new flags"),
    "/sites/": ("monitor", "사이트 추가", "Add a site"),
    "/sites/new": ("monitor", "새 사이트", "New site"),
    "/crawls/": ("monitor", "모든 사이트의 일정", "Every site with its schedule"),
    "/crawls/sites/gallery": ("monitor", "최근 실행 한눈에 보기", "Recent runs at a glance"),
    "/checks/": ("monitor", "직접 찾은 페이지 확인", "Check pages found by hand"),
    "/account/": ("monitor", "언어와 시간대", "Language and time zone"),
}
#: Words of the English page that must not be left on the Korean one (the menu, the log-out
#: button and each page's own heading are checked through PAGES).
ENGLISH_MENU = ("Queue", "Notices", "Log out")


@pytest.fixture
def sites_dir(tmp_path):
    directory = tmp_path / "sites"
    directory.mkdir()
    (directory / "gallery.toml").write_text(SITE_FILE, encoding="utf-8")
    return directory


def _app(database_url, evidence_keys, sites_dir=None, **settings):
    return create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
            REPOSTWATCH_SITES_DIR=str(sites_dir or ""),
            **settings,
        )
    )


@pytest.fixture
def korean_app(engine, database_url, evidence_keys, sites_dir):
    """The app at the installation default: Korean, Asia/Seoul."""
    defaults = default_settings()
    app = _app(
        database_url,
        evidence_keys,
        sites_dir,
        REPOSTWATCH_LOCALE=defaults["REPOSTWATCH_LOCALE"],
        REPOSTWATCH_TIMEZONE=defaults["REPOSTWATCH_TIMEZONE"],
    )
    yield app
    app.extensions["repostwatch"].engine.dispose()


def _world_with_a_notice(world, app) -> dict[str, int]:
    """Two flags, one confirmed and drafted into a notice (by an approver, through the app)."""
    pending = world.flag(1)
    confirmed = world.flag(2, media_pdq="ab" * 32)
    with world.sessions.begin() as session:
        decide(session, confirmed, "confirm", by="kim")
    world.user("drafter", "approver")
    client = https_client(app)
    login(client, "drafter")
    response = post(client, "/notices/draft", page="/notices/")
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    notice = int(response.headers["Location"].rsplit("/", 1)[1])
    return {"flag": pending, "notice": notice}


def _text(html: str) -> str:
    return _TAGS.sub(" ", html)


def _set_language(world, username: str, locale: str | None) -> None:
    with world.sessions.begin() as session:
        user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
        users.set_preferences(session, user_id, locale=locale, timezone=None)


@pytest.mark.parametrize("role", USER_ROLES)
def test_every_page_speaks_korean_and_english_to_each_role(korean_app, world, role):
    ids = _world_with_a_notice(world, korean_app)
    world.user("staff", role)
    client = https_client(korean_app)
    login(client, "staff")
    for language in ("ko", "en"):
        _set_language(world, "staff", language)
        for path, (lowest, korean, english) in PAGES.items():
            url = path.format(**ids)
            response = client.get(url)
            page = response.get_data(as_text=True)
            allowed = users.ROLE_RANK[role] >= users.ROLE_RANK[lowest]
            assert response.status_code == (200 if allowed else 403), (url, page[:300])
            assert f'<html lang="{language}">' in page, url
            if not allowed:
                refusal = "역할만 볼 수 있습니다" if language == "ko" else "role and above"
                assert refusal in page, url
                continue
            shown = korean if language == "ko" else english
            assert shown in page, (language, url)
            if language == "ko":
                assert english not in _text(page), url  # the English heading is not left over
                if not url.endswith("report.html"):
                    assert not set(ENGLISH_MENU) & set(re.findall(r">([^<]+)<", page)), url


def test_the_login_page_speaks_the_installations_language(
    engine, database_url, evidence_keys, korean_app
):
    page = https_client(korean_app).get("/login").get_data(as_text=True)
    assert '<html lang="ko">' in page and ">로그인</button>" in page
    english = _app(database_url, evidence_keys, REPOSTWATCH_LOCALE="en")
    try:
        assert ">Log in</button>" in https_client(english).get("/login").get_data(as_text=True)
    finally:
        english.extensions["repostwatch"].engine.dispose()


def test_the_installation_defaults_are_korean_and_seoul_and_checked(database_url, evidence_keys):
    defaults = default_settings()
    assert defaults["REPOSTWATCH_LOCALE"] == "ko"
    assert defaults["REPOSTWATCH_TIMEZONE"] == "Asia/Seoul"
    with pytest.raises(ConfigError, match="REPOSTWATCH_LOCALE='fr'"):
        _app(database_url, evidence_keys, REPOSTWATCH_LOCALE="fr")
    with pytest.raises(ConfigError, match="REPOSTWATCH_TIMEZONE='Seoul'"):
        _app(database_url, evidence_keys, REPOSTWATCH_TIMEZONE="Seoul")


def test_times_are_shown_in_seoul_time_by_default_and_in_the_users_own_zone(korean_app, world):
    flag = world.flag(1)  # first seen at T0 + 1 minute: 12:01 UTC is 21:01 in Seoul
    assert datetime(2026, 5, 1, 12, 0, tzinfo=UTC) == T0
    world.user("kim")
    client = https_client(korean_app)
    login(client, "kim")

    def first_seen() -> str:
        page = client.get(f"/flags/{flag}").get_data(as_text=True)
        return re.search(r'id="first-seen">([^<]*)<', page).group(1)

    assert first_seen() == "2026. 5. 1. 오후 9:01:00"
    queue = client.get("/").get_data(as_text=True)
    assert "2026. 5. 1. 오후 9:01" in queue and 'id="timezone"' in queue
    assert ">Asia/Seoul<" in queue

    response = post(client, "/account/preferences", {"locale": "en", "timezone": "UTC"})
    assert response.status_code == 302
    assert first_seen() == "May 1, 2026, 12:01:00\u202fPM"
    post(client, "/account/preferences", {"locale": "en", "timezone": ""})  # the installation's
    assert first_seen() == "May 1, 2026, 9:01:00\u202fPM"


def test_staff_choose_their_language_on_the_account_page(korean_app, world):
    world.user("kim")
    client = https_client(korean_app)
    login(client, "kim")
    account = client.get("/account/").get_data(as_text=True)
    assert 'name="locale"' in account and ">English</option>" in account

    response = post(client, "/account/preferences", {"locale": "en", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Language and time zone saved." in page and '<html lang="en">' in page
    with world.sessions() as session:
        kim = session.execute(select(User).where(User.username == "kim")).scalar_one()
        assert (kim.locale, kim.timezone) == ("en", "Asia/Tokyo")
        logged = session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "preferences")
        ).scalar_one()
    assert json.loads(logged) == {"locale": "en", "timezone": "Asia/Tokyo"}

    refused = post(client, "/account/preferences", {"locale": "fr"})
    assert refused.status_code == 400 and "Nothing was changed" in refused.get_data(True)
    refused = post(client, "/account/preferences", {"locale": "ko", "timezone": "Mars/Olympus"})
    assert refused.status_code == 400 and "not a time zone name" in refused.get_data(True)

    response = post(client, "/account/preferences", {"locale": "ko", "timezone": ""})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "언어와 시간대를 저장했습니다." in page and '<html lang="ko">' in page


def test_counts_states_and_messages_follow_the_users_language(korean_app, world):
    ids = [world.flag(n) for n in range(1, 4)]
    world.user("kim")
    client = https_client(korean_app)
    login(client, "kim")
    response = post(client, "/claim", {})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "플래그 3건을 30분 동안 맡습니다." in page
    assert '<span class="status status-pending">검토 대기</span>' in page
    response = post(client, f"/flags/{ids[0]}/decide", {"decision": "confirm"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"플래그 {ids[0]}: 확인됨." in page
    queue = client.get("/").get_data(as_text=True)
    assert "검토 대기 <strong>2</strong> · 확인 1 · 기각 0" in queue


def test_a_video_flag_describes_its_match_in_the_users_language_only(korean_app, world):
    evidence = json.dumps(
        {
            "reference_video": 3,
            "reference_start": 42,
            "reference_end": 97,
            "found_start": 10,
            "found_end": 54,
            "frames_aligned": 45,
            "best_distance": 6,
            "variant": "flipx",
            "previews": ["poster"],
            "delivery": {"form": "hls", "bytes_fetched": 1000},
        }
    )
    flag = world.flag(1, evidence=evidence)
    world.user("kim")
    client = https_client(korean_app)
    login(client, "kim")
    page = client.get(f"/flags/{flag}").get_data(as_text=True)
    assert "사례 영상 3의 00:42-01:37 구간" in page and "좌우 반전" in page
    assert "HLS 스트림, 세그먼트 단위로 샘플링 (1,000바이트 받음)" in page
    assert "포스터 이미지" in page and "of case video" not in page
    _set_language(world, "kim", "en")
    page = client.get(f"/flags/{flag}").get_data(as_text=True)
    assert "00:42-01:37 of case video 3" in page and "the poster image" in page
    assert "사례 영상" not in page and "포스터" not in page


def test_every_state_and_role_has_words():
    for name in (*FLAG_STATUSES, *NOTICE_STATUSES, *USER_ROLES):
        assert name in i18n.STATE_WORDS, name


# --- the catalogs ---------------------------------------------------------------------------
def _extracted(tmp_path):
    """The strings of the code and templates now, as `make i18n-extract` finds them."""
    pot = tmp_path / "messages.pot"
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def _catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def test_every_string_of_the_web_app_has_a_korean_translation(tmp_path):
    """Fails when a string is added to the code or a template without its Korean (run
    `make i18n`, then translate the new empty entries of ko/LC_MESSAGES/messages.po)."""
    korean = _catalog("ko")
    english = _catalog("en")
    missing, fuzzy, placeholders = [], [], []
    for message in _extracted(tmp_path):
        translated = korean.get(message.id)
        if translated is None or not all(_strings(translated.string)):
            missing.append(message.id)
            continue
        if translated.fuzzy:
            fuzzy.append(message.id)
        wanted = set(_PLACEHOLDER.findall(" ".join(_strings(message.id))))
        for text in _strings(translated.string):
            if set(_PLACEHOLDER.findall(text)) - wanted:
                placeholders.append((message.id, text))
        assert english.get(message.id) is not None, f"en catalog lacks {message.id!r}: make i18n"
    assert not missing, f"no Korean for {missing}: run `make i18n` and translate them"
    assert not fuzzy, f"fuzzy (unchecked) Korean for {fuzzy}"
    assert not placeholders, f"Korean with placeholders the English lacks: {placeholders}"


def test_the_compiled_catalogs_are_those_of_the_po_files():
    """The committed messages.mo (what the app reads) says what messages.po says."""
    for locale in ("ko", "en"):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as f:
            compiled = _translated(read_mo(f))
        assert compiled == _translated(_catalog(locale)), (
            f"{locale}: messages.mo is stale; run `make i18n-compile`"
        )


def _translated(catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The entries that say something else than the English source (an empty translation, or
    one Babel compiled as the source itself, falls back to the English)."""
    found = {}
    for message in catalog:
        source, text = _strings(message.id), _strings(message.string)
        if message.id and all(text) and text != source[: len(text)]:
            found[source] = text
    return found


def _strings(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)
