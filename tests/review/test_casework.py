"""Working on a case in the browser (crawler/review/casework.py, uploads.py): opening a case,
uploading reference files that are hashed in memory and never written anywhere, their labels,
hash counts and flags, withdrawing them, keywords and their variants; roles and CSRF."""

from __future__ import annotations

import io
import tempfile
from functools import cache
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder, stream_encode_multipart
from werkzeug.wrappers import Request as PlainRequest

from crawler.db import audit, users
from crawler.db.flags import MatchRecord, record_match
from crawler.db.keywords import add_keywords, list_keywords, rejected_variants
from crawler.db.models import Case, ReferenceHash, ReferenceVideo
from crawler.db.runs import ensure_site, start_run
from crawler.db.session import make_sessionmaker
from crawler.demo.samples import encode, load_photo
from crawler.review import uploads
from tests.review.conftest import PASSWORD, csrf_token, login, post
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

CASE = "case-0042"
REFS = f"/cases/{CASE}/references"
LABEL = "사진 3, 해변"
#: A name the browser sends with the file: it must be kept nowhere.
FILENAME = "IMG_2041_victim_name.png"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def staff(sessions):
    with sessions.begin() as session:
        for name, role in (("kim", "reviewer"), ("lee", "approver")):
            users.create_user(session, name, PASSWORD, role)


@pytest.fixture
def approver(client, staff):
    login(client, "lee")
    return client


@pytest.fixture
def opened(approver):
    response = post(approver, "/cases/", {"name": f"  {CASE} "}, page="/cases/")
    assert response.status_code == 303 and response.location.endswith(REFS)
    return approver


@cache
def photo() -> bytes:
    """An ordinary photo over Werkzeug's 500 KB spooling threshold (a bundled photo as PNG)."""
    data = encode(load_photo("astronaut"), "PNG", compress_level=0)
    assert len(data) > 500_000
    return data


def upload(client, data: bytes, label: str = LABEL, *, filename: str = FILENAME, token=None):
    """POST a file as a browser does. The body is encoded in memory: Werkzeug's test client
    would spool a body over 500 KB to a temporary file of its own."""
    fields = {
        "csrf_token": csrf_token(client, REFS) if token is None else token,
        "label": label,
        "media": FileStorage(io.BytesIO(data), filename),
    }
    body, length, boundary = stream_encode_multipart(fields, use_tempfile=False)
    return client.post(
        REFS,
        input_stream=body,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def finished(app, client, response):
    """The upload's page once its worker is done."""
    assert response.status_code == 303, response.text[:300]
    job_id = response.location.rstrip("/").rsplit("/", 1)[1]
    app.extensions["repostwatch_uploads"].wait(job_id, timeout=120)
    page = client.get(response.location)
    assert page.status_code == 200
    return page.text


def _files_under(*roots: Path) -> set[Path]:
    """Files under ``roots`` but the test suite's own fixture cache (``var/test-cache``), which
    other pytest-xdist workers write into while this test watches."""
    cache = ROOT / "var" / "test-cache"
    return {
        p
        for root in roots
        if root.exists()
        for p in root.rglob("*")
        if p != cache and cache not in p.parents
    }


@sqlite_only
def test_a_case_is_opened_with_the_clis_rules(opened, sessions):
    with sessions() as session:
        assert session.scalar(select(Case.name)) == CASE  # trimmed, as the CLI stores it
        entries, _ = audit.list_entries(session, action="case_open")
        assert [e.username for e in entries] == ["lee"]
    page = opened.get(REFS)
    assert "Opened the case case-0042" in page.text
    again = post(opened, "/cases/", {"name": CASE}, page="/cases/")
    assert "exists already (open)" in opened.get(again.location).text
    empty = post(opened, "/cases/", {"name": "   "}, page="/cases/")
    assert "A case needs a name." in opened.get(empty.location).text
    broken = post(opened, "/cases/", {"name": "a\nb"}, page="/cases/")
    assert "No line breaks or tabs" in opened.get(broken.location).text


def test_an_uploaded_photo_is_hashed_in_memory_and_never_written(
    app, opened, sessions, tmp_path, monkeypatch
):
    watched = tmp_path / "tmp"
    watched.mkdir()
    asked: list[str] = []

    def gettempdir() -> str:
        asked.append("gettempdir")
        return str(watched)

    monkeypatch.setattr(tempfile, "gettempdir", gettempdir)
    monkeypatch.setattr(tempfile, "tempdir", str(watched))
    # The watch works: Werkzeug's own request would spool this upload to a temporary file.
    plain = EnvironBuilder(method="POST", data={"media": (io.BytesIO(photo()), FILENAME)})
    PlainRequest(plain.get_environ()).files["media"].close()
    assert asked, "Werkzeug's request asked tempfile for no directory: the watch sees nothing"
    asked.clear()

    roots = (watched, ROOT / "var")
    before = _files_under(*roots)
    response = upload(opened, photo())
    page = finished(app, opened, response)
    assert _files_under(*roots) == before  # nothing new on disk...
    assert asked == []  # ...not even a temporary file removed at once

    assert LABEL in page and "hashes stored" in page
    with sessions() as session:
        rows = session.execute(select(ReferenceHash.label, ReferenceHash.algorithm)).all()
        entries, _ = audit.list_entries(session, action="reference_add")
    assert {label for label, _ in rows} == {LABEL}
    assert {"sha256", "md5", "pdq", "phash"} <= {algorithm for _, algorithm in rows}
    assert entries[0].details["hashes_added"] == len(rows)
    assert LABEL not in str(entries[0].details)  # labels can name the victim: counts only
    with sessions() as session:
        assert entries[0].target_id == str(session.scalar(select(Case.id)))
    listing = opened.get(REFS).text
    assert FILENAME not in listing and LABEL in listing
    assert f'<td class="hash-count">{len(rows)}</td>' in listing


def test_a_reference_file_shows_its_flags_and_can_be_relabelled_and_withdrawn(
    app, opened, sessions
):
    finished(app, opened, upload(opened, photo()))
    with sessions.begin() as session:
        reference = (
            session.execute(select(ReferenceHash).where(ReferenceHash.algorithm == "pdq"))
            .scalars()
            .first()
        )
        site_id = ensure_site(session, "gallery")
        flag_id = record_match(
            session,
            MatchRecord(
                run_id=start_run(session, "gallery"),
                site_id=site_id,
                page_url="https://repost.example/p/1",
                media_url="https://repost.example/1.jpg",
                media_sha256="9" * 64,
                case_id=reference.case_id,
                reference_id=reference.id,
                algorithm="pdq",
                distance=12,
            ),
        ).flag_id
        sha256 = reference.media_sha256
    listing = opened.get(REFS).text
    assert f'href="/flags/{flag_id}">#{flag_id}</a>' in listing

    renamed = post(opened, f"{REFS}/{sha256}/label", {"label": "photo A"}, page=REFS)
    assert "The label was changed." in opened.get(renamed.location).text
    blank = post(opened, f"{REFS}/{sha256}/label", {"label": " "}, page=REFS)
    assert "Give the file a label" in opened.get(blank.location).text

    withdrawn = post(opened, f"{REFS}/{sha256}/withdraw", page=REFS)
    assert "withdrawn: crawls stop matching this file" in opened.get(withdrawn.location).text
    with sessions() as session:
        states = session.execute(select(ReferenceHash.label, ReferenceHash.withdrawn_at)).all()
        entries, _ = audit.list_entries(session, action="reference_withdraw")
    assert {label for label, _ in states} == {"photo A"}
    assert all(when is not None for _, when in states)
    assert entries[0].details["media_sha256"] == sha256

    again = finished(app, opened, upload(opened, photo()))  # uploading it again re-activates
    assert "hashes stored" in again


@sqlite_only
def test_an_uploaded_video_stores_its_frames(app, opened, sessions):
    from tests.support.videos import slideshow

    page = finished(app, opened, upload(opened, slideshow(("coffee",), seconds=2.0), "clip 1"))
    assert "video frames stored" in page
    with sessions() as session:
        assert session.scalar(select(ReferenceVideo.label)) == "clip 1"
    assert "<td>video</td>" in opened.get(REFS).text


@sqlite_only
def test_uploads_that_cannot_be_taken_say_why_and_keep_nothing(app, opened, sessions):
    app.config["REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES"] = 200_000
    too_big = upload(opened, photo())
    assert too_big.status_code == 413
    assert "REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES" in too_big.text
    # Sent without a Content-Length (chunked): the in-memory buffer stops at the cap itself.
    body, _, boundary = stream_encode_multipart(
        {"label": LABEL, "media": FileStorage(io.BytesIO(photo()), FILENAME)},
        use_tempfile=False,
    )
    environ = EnvironBuilder(
        REFS,
        method="POST",
        input_stream=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        environ_overrides={"wsgi.input_terminated": True},
    ).get_environ()
    del environ["CONTENT_LENGTH"]
    with app.request_context(environ), pytest.raises(RequestEntityTooLarge) as refused:
        assert request.content_length is None
        request.files  # noqa: B018 (parsing is what is tested)
    assert "REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES" in refused.value.description
    app.config["REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES"] = 50_000_000

    text = upload(opened, b"just some notes, not a photo\n" * 100)
    assert "is not a photo or video" in opened.get(text.location).text
    unlabelled = upload(opened, photo(), "  ")
    assert "Give the file a label" in opened.get(unlabelled.location).text
    no_token = upload(opened, photo(), token="")
    assert no_token.status_code == 400 and "The form was refused" in no_token.text
    with sessions() as session:
        assert session.scalar(select(ReferenceHash.id)) is None


@sqlite_only
def test_reviewers_cannot_open_cases_or_upload(client, staff, sessions):
    with sessions.begin() as session:
        session.add(Case(name=CASE))
    login(client, "kim")
    assert post(client, "/cases/", {"name": "case-x"}).status_code == 403
    assert upload(client, photo(), token=csrf_token(client, "/")).status_code == 403
    assert client.get(REFS).status_code == 403


@sqlite_only
def test_keywords_are_added_removed_and_variants_accepted(opened, sessions):
    added = post(opened, f"/cases/{CASE}/keywords", {"keyword": " 딥페이크 "}, page=REFS)
    page = opened.get(added.location).text
    assert "Added the keyword 딥페이크." in page and "initial consonants" in page
    accepted = post(opened, f"/cases/{CASE}/keywords", {"keyword": "ㄷㅍㅇㅋ"}, page=REFS)
    assert "Added the keyword ㄷㅍㅇㅋ." in opened.get(accepted.location).text
    removed = post(opened, f"/cases/{CASE}/keywords/remove", {"keyword": "딥페이크"}, page=REFS)
    assert "Withdrew the keyword 딥페이크." in opened.get(removed.location).text
    empty = post(opened, f"/cases/{CASE}/keywords", {"keyword": " "}, page=REFS)
    assert "A keyword cannot be empty." in opened.get(empty.location).text
    with sessions() as session:
        active = [k.keyword for k in list_keywords(session, case=CASE)]
        entries, _ = audit.list_entries(session, action="case_keywords_add")
    assert active == ["ㄷㅍㅇㅋ"]
    assert "딥페이크" not in str([e.details for e in entries])  # counts only, as the CLI logs


@sqlite_only  # both backends: tests/review/test_cli_and_web_agree.py
def test_a_rejected_variant_is_kept_audited_and_not_proposed_again(opened, sessions):
    post(opened, f"/cases/{CASE}/keywords", {"keyword": "딥페"}, page=REFS)
    assert '<td class="variant">뒵페</td>' in opened.get(REFS).text
    rejected = post(
        opened,
        f"/cases/{CASE}/keywords/variants/reject",
        {"keyword": "딥페", "variant": "뒵페"},
        page=REFS,
    )
    page = opened.get(rejected.location).text
    assert "Rejected the variant 뒵페 of 딥페: it is not proposed again." in page
    proposed = page.split('<table class="variants">')[1].split("</table>")[0]
    kept = page.split('<table class="variants-rejected">')[1].split("</table>")[0]
    assert "뒵페" not in proposed and "뒷페" in proposed  # only the rejected one goes
    assert '<td class="variant">뒵페</td><td>lee</td>' in kept
    unknown = post(
        opened,
        f"/cases/{CASE}/keywords/variants/reject",
        {"keyword": "몰카", "variant": "ㅁㅋ"},
        page=REFS,
    )
    assert "Nothing was rejected" in opened.get(unknown.location).text
    with sessions() as session:
        (row,) = rejected_variants(session, CASE)
        entries, _ = audit.list_entries(session, action="case_keyword_variants_reject")
    assert (row.keyword, row.variant, row.rejected_by) == ("딥페", "뒵페", "lee")
    assert [(e.username, e.details) for e in entries] == [("lee", {"changed": 1, "unchanged": 0})]


@sqlite_only
def test_a_closed_case_takes_no_uploads_or_keywords(app, opened, sessions):
    with sessions.begin() as session:
        add_keywords(session, CASE, ["하늘별"])
        from crawler.db.cases import close_case

        close_case(session, CASE, by="ann")
    assert 'name="media"' not in opened.get(REFS).text
    refused = upload(opened, photo())
    assert "is closed: nothing was changed" in opened.get(refused.location).text
    keyword = post(opened, f"/cases/{CASE}/keywords", {"keyword": "새말"}, page=REFS)
    assert "is closed: nothing was changed" in opened.get(keyword.location).text


@sqlite_only
def test_the_cli_opens_cases_with_the_same_rules(engine, database_url, sessions):
    env = {"REPOSTWATCH_DATABASE_URL": database_url}
    opened = repostwatch("cases", "open", f" {CASE} ", env=env)
    assert opened.stdout.strip() == f"Opened case {CASE}."
    again = repostwatch("cases", "open", CASE, env=env, check=False)
    assert again.returncode == 1
    assert f"nothing opened: a case named '{CASE}' exists already (open)" in again.stderr
    with sessions() as session:
        entries, _ = audit.list_entries(session, action="case_open")
    assert [(e.target_type, e.details["via"]) for e in entries] == [("case", "cli")]


@sqlite_only
def test_notes_are_added_kept_as_written_and_audited_by_length(opened, sessions):
    text = "피해자가 월요일에 다시 연락 요청.\r\n두 번째 줄"
    added = post(opened, f"/cases/{CASE}/notes", {"note": f"  {text}  "}, page=REFS)
    page = opened.get(added.location).text
    assert "The note was added." in page
    assert "피해자가 월요일에 다시 연락 요청.\n두 번째 줄" in page and "lee" in page
    empty = post(opened, f"/cases/{CASE}/notes", {"note": " \n "}, page=REFS)
    assert "Write something first." in opened.get(empty.location).text
    long = post(opened, f"/cases/{CASE}/notes", {"note": "x" * 2001}, page=REFS)
    assert "It has 2001 characters; at most 2000 are kept." in opened.get(long.location).text
    with sessions() as session:
        entries, _ = audit.list_entries(session, action="case_note")
    assert [e.details["length"] for e in entries] == [
        len("피해자가 월요일에 다시 연락 요청.\n두 번째 줄")
    ]


@sqlite_only
def test_an_upload_page_after_a_restart_says_to_upload_again(app, opened, monkeypatch):
    response = upload(opened, photo())
    finished(app, opened, response)
    # The web process starts again: its jobs, held in memory only, are gone.
    state = app.extensions["repostwatch"]
    restarted = uploads.UploadJobs(state.sessions, app.config["REPOSTWATCH_REDIS_URL"])
    monkeypatch.setitem(app.extensions, "repostwatch_uploads", restarted)
    page = opened.get(response.location)
    assert page.status_code == 404
    assert "the web app restarted while hashing it" in page.text
    assert "upload the file again" in page.text
