"""The site editor: sites imported from the files, edited with the validator's messages shown
inline, each save a new version in the audit log; a stale edit is refused; the monitoring team
(and every role above it) edits them, from its menu and the crawls page."""

from __future__ import annotations

import html
import re

import pytest

from crawler.db import audit, list_runs, users
from crawler.db.sites import stored_site
from crawler.demo.localsite import LocalSite
from crawler.demo.localsite import html as page_html
from crawler.review.sites import SITE_EDITOR_ROLE
from tests.review.conftest import login, post

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BOARD = 'name = "board"\nstart_urls = ["https://board.example/"]\n'


def _textarea(page: str) -> str:
    match = re.search(r'<textarea[^>]*id="site-toml"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert match, page[:500]
    return html.unescape(match.group(1))


def test_sites_are_imported_edited_and_saved_as_new_versions(client, world):
    world.user("ann", SITE_EDITOR_ROLE)
    login(client, "ann")
    listing = client.get("/sites/").text
    assert 'id="sites-from-files"' in listing and "demo" in listing  # the bundled files
    post(client, "/sites/import-files", page="/sites/")
    listing = client.get("/sites/").text
    assert 'id="sites-from-files"' not in listing and 'href="/sites/demo/edit"' in listing

    # A new site; its problems are the validator's, beside the text, and nothing is saved.
    bad = post(
        client, "/sites/new", {"toml": BOARD.replace("https://board", "board")}, page="/sites/new"
    )
    assert bad.status_code == 422
    assert "start_urls[0]: &#39;board.example/&#39; is not an absolute http(s) URL" in bad.text
    assert _textarea(bad.text) == BOARD.replace("https://board", "board")  # kept for fixing
    saved = post(client, "/sites/new", {"toml": BOARD.replace("\n", "\r\n")}, page="/sites/new")
    assert saved.headers["Location"] == "/sites/board/edit"
    page = client.get("/sites/board/edit").text
    assert "Saved board as version 1." in page and _textarea(page) == BOARD  # as typed, LF
    again = post(client, "/sites/new", {"toml": BOARD}, page="/sites/new")
    assert "A site named board exists already" in again.text

    edited = BOARD + "download_delay = 2.0\n"
    form = {"toml": edited, "version": "1"}
    post(client, "/sites/board/edit", form, page="/sites/board/edit")
    stale = post(client, "/sites/board/edit", {**form, "toml": BOARD}, page="/sites/board/edit")
    assert "ann saved version 2 of this site since you opened it" in stale.text
    renamed = post(
        client,
        "/sites/board/edit",
        {"toml": BOARD.replace('"board"', '"other"'), "version": "2"},
        page="/sites/board/edit",
    )
    assert "name: &#39;other&#39; differs from the site&#39;s name &#39;board&#39;" in renamed.text
    # Try on a saved site's page tries its text with the same checks (a renamed text is refused).
    assert 'formaction="/sites/board/try"' in renamed.text
    tried = post(
        client,
        "/sites/board/try",
        {"toml": BOARD.replace('"board"', '"other"'), "version": "2"},
        page="/sites/board/edit",
    )
    assert tried.status_code == 422 and "Not tried: fix these problems first." in tried.text
    assert "differs from the site&#39;s name &#39;board&#39;" in tried.text
    with world.sessions() as session:
        site = stored_site(session, "board")
        entries, _ = audit.list_entries(session, action="site_saved", target_id="board")
    assert (site.version, site.toml, site.updated_by) == (2, edited, "ann")
    assert [(e.username, e.details["version"], e.details["via"]) for e in entries] == [
        ("ann", 2, "web"),
        ("ann", 1, "web"),
    ]


def test_try_crawls_the_unsaved_text_once_and_shows_media_and_links_storing_nothing(client, world):
    world.user("ann", SITE_EDITOR_ROLE)
    login(client, "ann")
    with world.sessions() as session:
        runs_before = len(list_runs(session))
    bad = post(client, "/sites/try", {"toml": 'name = "board"\nstart_urls = ["board"]\n'})
    assert bad.status_code == 422 and "Not tried: fix these problems first." in bad.text
    assert "start_urls[0]: &#39;board&#39; is not an absolute http(s) URL" in bad.text

    routes = {
        "/": page_html('<img src="/m/1.jpg"><video src="/v/a.mp4"></video><a href="/p/2">n</a>')
    }
    with LocalSite(routes) as site:
        text = f'name = "board"\nstart_urls = ["{site.url}/"]\n'
        tried = post(client, "/sites/try", {"toml": text + "allow_private_network = true\n"})
        refused = post(client, "/sites/try", {"toml": text}, page="/sites/new")
    assert tried.status_code == 200 and 'id="try-result"' in tried.text
    assert re.search(rf"<td>image</td><td><code>{site.url}/m/1.jpg</code>", tried.text)
    assert re.search(rf"<td>video</td><td><code>{site.url}/v/a.mp4</code>", tried.text)
    assert "Links it would follow: 1" in tried.text and f"{site.url}/p/2" in tried.text
    assert "allow_private_network = true" in _textarea(tried.text)  # kept for saving
    assert 'id="try-private-network"' in refused.text
    assert "1 request(s) refused: the address is on a private network." in refused.text
    with world.sessions() as session:
        assert stored_site(session, "board") is None
        assert len(list_runs(session)) == runs_before


def test_a_domain_move_is_adopted_in_one_click_or_dismissed(client, world):
    from crawler.db import domain_moves
    from crawler.site_store import Who, save_text

    with world.sessions.begin() as session:
        save_text(session, BOARD, Who("ann", via="web"))
        adopted, dismissed = (
            domain_moves.record_move(
                session,
                "board",
                old_domain="board.example",
                new_domain=new,
                kind="redirect",
                new_url=f"https://{new}/",
                evidence=f"GET https://board.example/ answered 301 redirecting to https://{new}/",
            )[0]
            for new in ("board2.example", "elsewhere.example")
        )
    ann = world.user("ann", SITE_EDITOR_ROLE)
    login(client, "ann")
    listing = client.get("/sites/").text
    assert 'id="domain-moves"' in listing and "answered 301" in listing
    assert f'action="/sites/moves/{adopted}/adopt"' in listing
    post(client, f"/sites/moves/{adopted}/adopt", page="/sites/")
    page = client.get("/sites/").text
    assert "board now crawls board2.example (version 2)." in page
    with world.sessions() as session:
        toml = stored_site(session, "board").toml
    assert toml == BOARD.replace("board.example", "board2.example")
    # The other move is still proposed (its old domain is gone now) until dismissed.
    post(client, f"/sites/moves/{dismissed}/dismiss", page="/sites/")
    page = client.get("/sites/").text
    assert "Dismissed the move of board to elsewhere.example." in page
    assert 'id="domain-moves"' not in page
    # Deciding it again is refused, in the user's language.
    with world.sessions.begin() as session:
        users.set_preferences(session, ann, locale="ko", timezone=None)
    post(client, f"/sites/moves/{adopted}/adopt", page="/sites/")
    assert f"도메인 이전 {adopted}은(는) 이미 ann이(가) 적용했습니다" in client.get("/sites/").text


def test_the_monitoring_team_edits_sites_from_its_menu_and_the_crawls_page(client, world):
    assert SITE_EDITOR_ROLE == "monitor"  # the lowest role: every staff account edits sites
    assert client.get("/sites/").status_code == 302  # anonymous: to the login page
    world.user("mo", "monitor")
    login(client, "mo")
    crawls = client.get("/crawls/").text
    menu = crawls.split("<nav>")[1].split("</nav>")[0]
    assert (
        menu.index('href="/crawls/"') < menu.index('href="/checks/"') < menu.index('href="/sites/"')
    )
    assert 'href="/sites/" id="edit-sites"' in crawls  # the crawls page links to it
    assert 'class="edit-site"' not in crawls  # no site is in the database yet
    post(client, "/sites/import-files", page="/sites/")
    assert 'href="/sites/demo/edit" class="edit-site"' in client.get("/crawls/").text
    saved = post(client, "/sites/new", {"toml": BOARD}, page="/sites/new")
    assert saved.headers["Location"] == "/sites/board/edit"


def _problems(page: str) -> list[str]:
    found = re.search(r'id="site-problems">.*?<ul>(.*?)</ul>', page, re.S)
    assert found, page[:500]
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]


def test_the_validators_problems_and_warnings_speak_the_users_language(client, world):
    kim = world.user("kim", SITE_EDITOR_ROLE)
    login(client, "kim")
    bad = BOARD.replace("https://board", "board") + 'concurrency = 0\nrender = "js"\nfoo = 1\n'
    private = BOARD.replace("https://board.example/", "http://10.0.0.1/")
    shown = {}
    for locale in ("ko", "en"):
        with world.sessions.begin() as session:
            users.set_preferences(session, kim, locale=locale, timezone=None)
        page = post(client, "/sites/new", {"toml": bad}, page="/sites/new")
        assert page.status_code == 422
        shown[locale] = _problems(page.text)
        saved = post(
            client,
            "/sites/new" if locale == "ko" else "/sites/board/edit",
            {"toml": private + f"# {locale}\n", "version": "1"},
            page="/sites/new",
        )
        shown[locale].append(html.unescape(client.get(saved.headers["Location"]).text))
    assert shown["ko"][:4] == [
        "start_urls[0]: 'board.example/'은(는) http(s)로 시작하는 전체 URL이 아닙니다",
        'render: "html" 또는 "browser"여야 합니다 (browser는 JavaScript 사이트의 페이지를 '
        "Chromium에서 렌더링합니다)",
        "concurrency: 값은 1 이상이어야 합니다",
        "foo: 알 수 없는 키입니다 (철자를 확인하세요. README에 모든 키가 있습니다)",
    ]
    # The English user reads what `repostwatch sites import` prints.
    assert shown["en"][:4] == [
        "start_urls[0]: 'board.example/' is not an absolute http(s) URL",
        'render: must be "html" or "browser" (pages rendered in Chromium, for JavaScript sites)',
        "concurrency: Input should be greater than or equal to 1",
        "foo: unknown key (check the spelling; the README lists every key)",
    ]
    # Saved with a warning: the start URL a crawl would refuse, flashed on the site's page.
    assert (
        "start_urls[0]: http://10.0.0.1/은(는) 사설 네트워크에 있습니다 (10.0.0.1). 사이트 "
        "파일에 allow_private_network = true 를 설정하지 않으면 수집이 이 주소를 거부합니다"
    ) in shown["ko"][4]
    assert (
        "board: start_urls[0]: http://10.0.0.1/ is on a private network (10.0.0.1); crawls "
        "refuse it unless the site file sets allow_private_network = true"
    ) in shown["en"][4]
