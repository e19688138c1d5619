"""Notice text in Korean, English, Japanese, Chinese, Russian and Vietnamese: the URLs, times
and hashes of every item, the legal request, and never the victim or the case."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crawler.db.notices import NoticeItemView, NoticeView
from crawler.takedown.render import LANGUAGES, render_notice, subject
from tests.takedown.conftest import T0

SHA = "5d" * 32
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _notice(language: str, **changes) -> NoticeView:
    item = NoticeItemView(
        id=11,
        flag_id=5,
        flag_status="confirmed",
        page_url="https://board.example/post/1?x=<b>",
        media_url="https://cdn.board.example/media/1.jpg",
        media_sha256=SHA,
        media_pdq=PDQ,
        first_seen=T0,
        last_seen=T0 + timedelta(days=2),
        removed_at=None,
        has_screenshot=True,
        screenshot_error=None,
    )
    video = replace(item, id=12, media_url="https://cdn.board.example/v.mp4", media_pdq=None)
    notice = NoticeView(
        id=3,
        site="board",
        host=None,
        language=language,
        status="approved",
        recipient="abuse@board.example",
        subject="",
        created_at=T0,
        approved_by="park",
        approved_at=T0,
        sent_at=None,
        last_sent_at=None,
        send_count=0,
        next_send_at=None,
        resolved_at=None,
        items=(item, video),
    )
    return replace(notice, **changes)


#: A phrase each language's text must contain (its legal request), and its "not available".
WORDING = {
    "ko": ("삭제하거나 접근을 차단해 주십시오", "해당 없음", "성폭력범죄의 처벌 등에 관한 특례법"),
    "en": ("remove, or disable access to, every item", "not available", "without consent"),
    "ja": ("削除するか、閲覧できないようにしてください", "なし", "同意なく"),
    "zh": ("删除或屏蔽下列所有内容", "无", "未经当事人同意"),
    "ru": ("удалить все перечисленные ниже материалы", "нет данных", "без согласия"),
    "vi": ("gỡ bỏ, hoặc chặn truy cập, mọi mục", "không có", "khi chưa có sự đồng ý"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_renders_items_hashes_and_its_legal_text(language):
    rendered = render_notice(
        _notice(language),
        sender="Seoul Support Centre <t@centre.example>",
        screenshots={11: b"PNG"},
    )
    request, none, law = WORDING[language]
    for text in (rendered.text, rendered.html):
        assert request in text and law in text
        assert "https://cdn.board.example/media/1.jpg" in text
        assert SHA in text and PDQ in text
        assert "2026-11-01 09:00 UTC" in text and "2026-11-03 09:00 UTC" in text
        assert "Seoul Support Centre" in text
        assert "case" not in text.lower().replace("cases", "")  # the case is never named
    assert f"{none}\n" in rendered.text  # the video has no PDQ
    assert "notice-3-item-1.png" in rendered.text
    assert rendered.attachments == {"notice-3-item-1.png": b"PNG"}
    assert f'<html lang="{language}">' in rendered.html
    # URLs are escaped in HTML, not interpreted.
    assert "?x=&lt;b&gt;" in rendered.html and "?x=<b>" not in rendered.html
    assert 'src="data:image/png;base64,UE5H"' in rendered.html


def test_a_reminder_says_so_and_when_it_was_first_sent():
    notice = _notice("en", send_count=2, sent_at=T0)
    rendered = render_notice(notice, sender="c@centre.example", screenshots={})
    assert rendered.subject.startswith("Reminder 2: Request to remove")
    assert "We first sent this request on 2026-11-01 09:00 UTC" in rendered.text
    assert rendered.attachments == {}


def test_subjects_per_language():
    assert subject("en", "board", 1) == (
        "Request to remove non-consensual intimate images (1 item) on board"
    )
    assert subject("ja", "board", 3, reminder=1).startswith("【再送 1回目】board")
    assert subject("zh", "board", 3) == "【删除请求】board 上未经同意传播的私密影像 3 项"
    assert subject("ru", "board", 2, reminder=1).startswith("Напоминание 1: Просьба удалить")
    assert subject("vi", "board", 2).endswith("(2 mục) trên board")
    with pytest.raises(ValueError, match="no notice template for language 'fr'"):
        subject("fr", "board", 1)
