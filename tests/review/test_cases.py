"""Case pages: exact figures, the victim's report without media, closing a case, roles."""

from __future__ import annotations

import base64
import io
import re

import pytest
import redis
from PIL import Image
from sqlalchemy import select

from crawler.db import audit, users
from crawler.db.cases import list_cases
from crawler.db.flags import MatchRecord, record_match
from crawler.db.models import AuditEntry, Evidence, ReferenceHash, ReferenceThumbnail
from crawler.db.references import load_references
from crawler.db.runs import ensure_site, start_run
from crawler.db.session import make_sessionmaker
from crawler.demo.samples import encode, load_photo
from crawler.hashing import MediaError
from crawler.references.announcements import CHANNEL
from crawler.references.thumbnails import pixelated_thumbnail
from crawler.review.app import create_app
from tests.db.test_cases import CASE, IMAGE_A, seed
from tests.review.conftest import PASSWORD, SECRET, https_client, login, post
from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch
from tests.support.settings import default_web_config

PAGE = f"/cases/{CASE}"


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def seeded(sessions):
    with sessions.begin() as session:
        found = seed(session)
        for name, role in (("kim", "reviewer"), ("lee", "approver"), ("ann", "admin")):
            users.create_user(session, name, PASSWORD, role)
    return found


def _cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, f"no #{element_id}"
    return match.group(1).strip()


def test_case_page_shows_exact_figures(client, seeded, sessions):
    login(client, "lee")
    listing = client.get("/cases/").text
    assert f'href="/cases/{CASE}"' in listing and 'href="/cases/other"' in listing
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.text
    figures = {
        s: _cell(html, f"flags-{s}") for s in ("pending", "confirmed", "rejected", "removed")
    }
    assert figures == {"pending": "1", "confirmed": "2", "rejected": "1", "removed": "3"}
    assert _cell(html, "median-ttr") == "10.0"
    assert "<td>pdq</td><td>image</td><td>1</td><td>1</td>" in html
    assert "<td>sha256</td><td>video</td><td>1</td><td>0</td>" in html
    assert IMAGE_A in html and "f" * 64 in html  # hashes, never media
    assert "하늘별" in html and "sky star" in html
    assert "<img" not in html
    assert "Close case" not in html  # approvers follow cases; only admins close them
    with sessions() as session:
        entries, _ = audit.list_entries(session, action="view_case")
        assert [(e.username, e.target_type) for e in entries] == [("lee", "case")]


def test_victim_report_has_no_media_urls_hashes_or_keywords(client, seeded, sessions):
    login(client, "lee")
    response = client.get(f"{PAGE}/report.html")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    html = response.text
    assert _cell(html, "found") == "6"  # 7 flags, one rejected as not the victim's media
    assert _cell(html, "removed") == "3"
    assert _cell(html, "median-ttr") == "10.0 hours"
    for forbidden in ("<img", "data:", "http:", "https:", "src=", "href=", "<svg", "url("):
        assert forbidden not in html, forbidden
    for secret in (IMAGE_A, "f" * 64, "하늘별", "sky star", "board.example", ".jpg"):
        assert secret not in html, secret
    pdf = client.get(f"{PAGE}/report.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert b"/Subtype /Image" not in pdf.data and b"/Subtype/Image" not in pdf.data
    with sessions() as session:
        entries, _ = audit.list_entries(session, action="case_report")
        assert sorted(e.details["format"] for e in entries) == ["html", "pdf"]


def test_unknown_case_and_format_are_404(client, seeded):
    login(client, "lee")
    assert client.get("/cases/nope").status_code == 404
    assert client.get(f"{PAGE}/report.docx").status_code == 404


def test_reviewers_cannot_see_cases_and_approvers_cannot_close(client, seeded, sessions):
    login(client, "kim")
    for path in ("/cases/", PAGE, f"{PAGE}/report.html", f"{PAGE}/report.pdf"):
        assert client.get(path).status_code == 403, path
    assert 'href="/cases/"' not in client.get("/").text
    post(client, "/logout")
    login(client, "lee")
    assert post(client, f"{PAGE}/close", {"confirm": CASE}, page=PAGE).status_code == 403
    with sessions() as session:
        assert session.execute(select(Evidence.id)).scalars().all() != []
        assert audit.list_entries(session, action="case_close")[1] == 0


def test_admin_closes_a_case_evidence_deleted_references_withdrawn_audited(
    client, seeded, sessions
):
    login(client, "ann")
    assert "Close case" in client.get(PAGE).text
    unconfirmed = post(client, f"{PAGE}/close", {"confirm": "case-"}, page=PAGE)
    assert "nothing was changed" in client.get(unconfirmed.headers["Location"]).text
    with sessions() as session:
        assert len(session.execute(select(Evidence.id)).scalars().all()) == 3
    closed = post(client, f"{PAGE}/close", {"confirm": CASE}, page=PAGE)
    assert closed.status_code == 302
    page = client.get(closed.headers["Location"]).text
    assert "Closed case-9: deleted 2 evidence item(s), withdrew 4 reference hash(es)" in page
    assert "Close case" not in page
    with sessions() as session:
        assert session.execute(select(Evidence.flag_id)).scalars().all() == [seeded.other_flag]
        active = session.execute(
            select(ReferenceHash.id).where(ReferenceHash.withdrawn_at.is_(None))
        ).scalars()
        assert len(list(active)) == 1  # the other case's
        entries, total = audit.list_entries(session, action="case_close")
        assert total == 1
        assert entries[0].username == "ann"
        assert entries[0].details == {
            "case": CASE,
            "evidence_deleted": 2,
            "references_withdrawn": 4,
            "keywords_withdrawn": 2,
            "thumbnails_deleted": 0,
        }
    again = post(client, f"{PAGE}/close", {"confirm": CASE}, page=PAGE)
    assert "was closed at" in client.get(again.headers["Location"]).text
    # The database layer's refusal, in the user's language (its values as they are).
    with sessions.begin() as session:
        ann = users.find_user(session, "ann")
        users.set_preferences(session, ann.id, locale="ko", timezone=None)
    again = post(client, f"{PAGE}/close", {"confirm": CASE}, page=PAGE)
    said = client.get(again.headers["Location"]).text
    assert f"사례 &#39;{CASE}&#39;은(는) " in said and "UTC에 ann 님이 종결했습니다" in said


def test_closing_a_case_in_the_app_announces_it_to_running_crawls(
    engine, database_url, evidence_keys, seeded, redis_url
):
    # Running crawls listen on this channel and drop the case's references at once
    # (tests/crawling/test_live_references.py shows the effect with `cases close`).
    app = create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=database_url,
            REPOSTWATCH_SECRET_KEY=SECRET,
            REPOSTWATCH_EVIDENCE_PRIVATE_KEY=evidence_keys.private,
            REPOSTWATCH_REDIS_URL=redis_url,
        )
    )
    client = https_client(app)
    login(client, "ann")
    with redis.Redis.from_url(redis_url) as server, server.pubsub() as pubsub:
        pubsub.subscribe(CHANNEL)
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        post(client, f"{PAGE}/close", {"confirm": CASE}, page=PAGE)
        message = pubsub.get_message(timeout=5)
    app.extensions["repostwatch"].engine.dispose()
    assert message is not None and message["data"] == b"changed"


@pytest.mark.any_database
def test_cli_lists_and_closes_a_case_and_audits_it(
    engine, database_url, seeded, sessions, tmp_path
):
    env = {"REPOSTWATCH_DATABASE_URL": database_url}
    listing = repostwatch("cases", "list", env=env).stdout.splitlines()
    assert listing[0].split() == [
        "CASE", "REFERENCES", "PENDING", "CONFIRMED", "REJECTED", "REMOVED", "STATE"
    ]  # fmt: skip
    assert listing[2].split() == [CASE, "4", "1", "2", "1", "3", "open"]
    add_staff(env, "park", "admin")
    closed = repostwatch("cases", "close", CASE, "--by", "park", "--yes", env=env).stdout
    assert closed.strip() == (
        f"Closed {CASE}: deleted 2 evidence item(s), 0 thumbnail(s) and 0 spilled match(es), "
        "withdrew 4 reference hash(es) and 2 keyword(s)."
    )
    again = repostwatch("cases", "close", CASE, "--by", "park", "--yes", env=env, check=False)
    assert again.returncode == 1 and "was closed at" in again.stderr
    photo = tmp_path / "photo.png"
    photo.write_bytes(encode(load_photo("astronaut"), "PNG"))
    added = repostwatch("refs", "add", "--case", CASE, photo, env=env, check=False)
    assert added.returncode == 1 and "register the files under a new case" in added.stderr
    unknown = repostwatch("cases", "close", "nope", "--by", "park", "--yes", env=env, check=False)
    assert unknown.returncode == 1 and "no case named 'nope'" in unknown.stderr
    assert repostwatch("cases", "list", "--open", env=env).stdout.split("\n")[2].split()[0] == (
        "other"
    )
    with sessions() as session:
        assert session.execute(select(Evidence.flag_id)).scalars().all() == [seeded.other_flag]
        (entry,), _ = audit.list_entries(session, action="case_close")
        assert entry.username == "(cli) park" and entry.details["via"] == "cli"


@pytest.mark.any_database
def test_cli_thumbnail_and_keyword_changes_are_audited_without_the_keywords(
    engine, database_url, sessions
):
    env = {"REPOSTWATCH_DATABASE_URL": database_url}
    repostwatch("cases", "keywords", "add", "case-7", "하늘별", "sky star", env=env)
    repostwatch("cases", "keywords", "add", "case-7", "하늘별", env=env)
    repostwatch("cases", "thumbnails", "case-7", "--keep", env=env)
    repostwatch("cases", "thumbnails", "case-7", "--drop", env=env)
    repostwatch("cases", "keywords", "remove", "case-7", "sky star", env=env)
    refused = repostwatch("cases", "thumbnails", "nope", "--keep", env=env, check=False)
    assert refused.returncode == 1
    with sessions() as session:
        (case_id,) = [c.id for c in list_cases(session)]
        entries, total = audit.list_entries(session)
    assert total == 5
    assert all(e.target_type == "case" and e.target_id == str(case_id) for e in entries)
    assert all(e.details.pop("case") == "case-7" and e.details.pop("via") == "cli" for e in entries)
    assert [(e.action, e.details) for e in reversed(entries)] == [
        ("case_keywords_add", {"changed": 2, "unchanged": 0}),
        ("case_keywords_add", {"changed": 0, "unchanged": 1}),
        ("case_thumbnails", {"keep": True, "thumbnails_deleted": 0}),
        ("case_thumbnails", {"keep": False, "thumbnails_deleted": 0}),
        ("case_keywords_remove", {"changed": 1, "unchanged": 0}),
    ]
    assert all(e.username.startswith("(cli)") for e in entries)
    with engine.connect() as connection:  # the victim's names stay out of the append-only log
        details = " ".join(
            d or "" for d in connection.execute(select(AuditEntry.details)).scalars()
        )
    assert "하늘별" not in details and "sky star" not in details


def test_pixelated_thumbnail_keeps_only_8x8_average_colour_blocks():
    photo = load_photo("astronaut")  # 512 x 512
    png = pixelated_thumbnail(encode(photo, "PNG"))
    thumb = Image.open(io.BytesIO(png))
    assert thumb.format == "PNG" and thumb.size == (64, 64)
    pixels = thumb.convert("RGB").load()
    for bx in range(8):
        for by in range(8):
            block = {pixels[bx * 8 + x, by * 8 + y] for x in range(8) for y in range(8)}
            assert len(block) == 1  # one colour per block: no detail inside
    assert len(thumb.convert("RGB").getcolors(4096)) <= 64
    wide = Image.open(io.BytesIO(pixelated_thumbnail(encode(photo.resize((400, 100)), "PNG"))))
    assert wide.size == (64, 16)
    with pytest.raises(MediaError):
        pixelated_thumbnail(b"not an image")


def test_opted_in_case_keeps_pixelated_thumbnails_shown_beside_the_flag(
    client, engine, database_url, sessions, tmp_path
):
    env = {"REPOSTWATCH_DATABASE_URL": database_url}
    photo = tmp_path / "IMG_0001.png"
    photo.write_bytes(encode(load_photo("astronaut"), "PNG"))
    repostwatch("refs", "add", "--case", "plain", photo, env=env)
    repostwatch("refs", "add", "--case", "thumbs", "--pixelated-thumbnails", photo, env=env)
    with sessions.begin() as session:
        stored = session.execute(select(ReferenceThumbnail.case_id, ReferenceThumbnail.png)).all()
        assert len(stored) == 1  # only the case that opted in
        reference = min(  # a file may give several PDQ references (e.g. its mirror)
            (
                r
                for r in load_references(session)
                if r.case_name == "thumbs" and r.algorithm == "pdq"
            ),
            key=lambda r: r.id,
        )
        assert stored[0].case_id == reference.case_id
        assert stored[0].png == pixelated_thumbnail(photo.read_bytes())
        run_id = start_run(session, "board")
        flag_id = record_match(
            session,
            MatchRecord(
                run_id=run_id,
                site_id=ensure_site(session, "board"),
                page_url="https://board.example/p/1",
                media_url="https://board.example/i/1.jpg",
                media_sha256="9" * 64,
                case_id=reference.case_id,
                reference_id=reference.id,
                algorithm="pdq",
                distance=3,
            ),
        ).flag_id
        users.create_user(session, "kim", PASSWORD, "reviewer")
    login(client, "kim")
    page = client.get(f"/flags/{flag_id}").text
    match = re.search(r'id="reference-thumbnail">\s*<img src="data:image/png;base64,([^"]+)"', page)
    assert match and base64.b64decode(match.group(1)) == stored[0].png
    dropped = repostwatch("cases", "thumbnails", "thumbs", "--drop", env=env).stdout
    assert dropped.strip() == "thumbs keeps no thumbnails; 1 deleted."
    assert "reference-thumbnail" not in client.get(f"/flags/{flag_id}").text
