"""Exports of an approved notice: .eml, HTML, PDF (printed by Chromium), CSV and JSON."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json

import pytest
from PIL import Image

from crawler.db import notices as db_notices
from crawler.db.models import Flag
from crawler.takedown.drafting import draft_notices
from crawler.takedown.exports import CSV_COLUMNS, export_notice
from tests.support.settings import CHROMIUM
from tests.takedown.conftest import T0, site_config

SENDER = "Centre <takedown@centre.example>"


def _export(session, notice_id: int, fmt: str) -> bytes:
    return export_notice(session, notice_id, fmt, sender=SENDER, chromium=CHROMIUM)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "green").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def notice_id(session, world) -> int:
    world.flag()
    world.flag(media_pdq="")
    configs = {"board": site_config("board", "https://board.example/", 'language = "zh"')}
    (notice_id,) = draft_notices(session, configs, now=T0).created
    first = db_notices.get_notice(session, notice_id).items[0]
    db_notices.set_screenshot(session, first.id, _png())
    session.commit()
    return notice_id


def _flags(session, notice_id):
    return [session.get(Flag, i.flag_id) for i in db_notices.get_notice(session, notice_id).items]


def test_drafts_are_not_exported(session, notice_id):
    with pytest.raises(db_notices.NoticeStateError, match="has not been approved"):
        _export(session, notice_id, "eml")


def test_eml_parses_with_text_html_and_the_screenshot(session, notice_id):
    db_notices.approve_notice(session, notice_id, by="park")
    data = _export(session, notice_id, "eml")
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "【删除请求】board 上未经同意传播的私密影像 2 项"
    assert message["To"] is None  # the site file has no abuse_contact: a web form gets it
    text = message.get_body(("plain",)).get_content()
    for flag in _flags(session, notice_id):
        assert flag.media_url in text and flag.media_sha256 in text
    assert "删除或屏蔽下列所有内容" in text
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == f"notice-{notice_id}-item-1.png"
    assert attachment.get_content() == _png()


def test_html_pdf_csv_and_json(session, notice_id):
    db_notices.approve_notice(session, notice_id, by="park")
    flags = _flags(session, notice_id)
    page = _export(session, notice_id, "html").decode("utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="zh">' in page
    assert all(flag.page_url in page for flag in flags)
    assert page.count('src="data:image/png;base64,') == 1

    pdf = _export(session, notice_id, "pdf")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000

    rows = list(csv.DictReader(io.StringIO(_export(session, notice_id, "csv").decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["item"], r["media_url"], r["sha256"], r["pdq"]) for r in rows] == [
        ("1", flags[0].media_url, flags[0].media_sha256, flags[0].media_pdq),
        ("2", flags[1].media_url, flags[1].media_sha256, ""),
    ]
    assert [r["screenshot"] for r in rows] == [f"notice-{notice_id}-item-1.png", ""]
    assert rows[0]["first_seen"] == T0.isoformat()

    data = json.loads(_export(session, notice_id, "json"))
    assert (data["notice"], data["language"], data["approved_by"]) == (notice_id, "zh", "park")
    assert data["subject"].startswith("【删除请求】")
    assert [item["page_url"] for item in data["items"]] == [f.page_url for f in flags]
    with pytest.raises(ValueError, match="format must be one of"):
        _export(session, notice_id, "docx")
