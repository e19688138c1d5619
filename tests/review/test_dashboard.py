"""The dashboard: offline charts (no external URL, no script), exact figures, roles."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from crawler.db import users
from crawler.db.session import make_sessionmaker
from crawler.review.dashboard import period_start
from tests.db.test_cases import seed
from tests.review.conftest import PASSWORD, https_client, login

_DATA_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
_URL = re.compile(r"https?://[^\s\"'<>)]+")
XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture
def seeded(engine):
    with make_sessionmaker(engine).begin() as session:
        found = seed(session)
        for name, role in (("kim", "reviewer"), ("lee", "approver")):
            users.create_user(session, name, PASSWORD, role)
    return found


def _rows(html: str, section: str) -> list[list[str]]:
    part = html[html.index(f'id="{section}"') :]
    body = part[part.index("<tbody>") : part.index("</tbody>")]
    return [re.findall(r"<td>([^<]*)</td>", row) for row in body.split("</tr>") if "<td>" in row]


def test_dashboard_has_exact_figures_and_fetches_nothing(client, seeded):
    login(client, "lee")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.text
    assert _URL.findall(html) == []  # no CDN, no link anywhere
    charts = _DATA_URI.findall(html)
    assert len(charts) == 3
    for encoded in charts:
        svg = base64.b64decode(encoded).decode("utf-8")
        assert svg.startswith("<svg")
        assert "<script" not in svg and "<image" not in svg and "@import" not in svg
        assert set(_URL.findall(svg)) <= XML_NAMESPACES
    flags_svg, removals_svg, runs_svg = (base64.b64decode(c).decode() for c in charts)
    for status in ("pending", "confirmed", "rejected", "removed"):
        assert f">{status}<" in flags_svg
    assert ">board<" in removals_svg and ">gallery<" in runs_svg

    days = {row[0]: row[1:] for row in _rows(html, "flags-per-day")}
    first = seeded.base.date()
    assert days[format_date(first, "medium", locale="en")] == ["1", "1", "1", "0"]
    assert days[format_date(first + timedelta(days=1), "medium", locale="en")] == [
        "0",
        "1",
        "0",
        "3",
    ]
    assert sum(int(n) for row in days.values() for n in row) == 8
    assert _rows(html, "removals-per-site") == [
        ["board", "1", "2", "67%", "20.0"],
        ["gallery", "1", "1", "50%", "4.0"],
    ]
    runs = [row[:5] for row in _rows(html, "runs-per-site")]
    assert runs == [["board", "2", "13", "24", "6"], ["gallery", "1", "7", "8", "2"]]


def test_dashboard_period_leaves_older_flags_and_runs_out(client, seeded):
    login(client, "lee")
    html = client.get("/dashboard/?days=1").text
    assert "No crawl runs in this period." in html
    assert "No flags in this period." in html
    assert len(_DATA_URI.findall(html)) == 1  # removals are of all time


def test_reviewers_cannot_see_the_dashboard(client, seeded):
    login(client, "kim")
    assert client.get("/dashboard/").status_code == 403
    assert 'href="/dashboard/"' not in client.get("/").text


def test_empty_dashboard_renders_without_charts(client, engine):
    with make_sessionmaker(engine).begin() as session:
        users.create_user(session, "lee", PASSWORD, "approver")
    login(client, "lee")
    html = client.get("/dashboard/").text
    assert _DATA_URI.findall(html) == []
    assert "No confirmed flags yet." in html


def test_days_are_the_users_so_a_flag_at_2330_utc_is_on_the_next_seoul_day(app, client, world):
    late = (datetime.now(UTC) - timedelta(days=3)).replace(hour=23, minute=30, second=0)
    world.flag(1, seen_at=late)
    world.user("lee", "approver")
    utc_user = world.user("kim", "approver")
    with world.sessions.begin() as session:
        users.set_preferences(session, utc_user, locale=None, timezone="UTC")
    seoul_day, utc_day = late.date() + timedelta(days=1), late.date()
    login(client, "lee")  # the installation's zone: Asia/Seoul
    days = {row[0]: row[1:] for row in _rows(client.get("/dashboard/").text, "flags-per-day")}
    assert days[format_date(seoul_day, "medium", locale="en")] == ["1", "0", "0", "0"]
    assert days[format_date(utc_day, "medium", locale="en")] == ["0", "0", "0", "0"]
    other = https_client(app)
    login(other, "kim")  # chose UTC on the account page
    days = {row[0]: row[1:] for row in _rows(other.get("/dashboard/").text, "flags-per-day")}
    assert days[format_date(utc_day, "medium", locale="en")] == ["1", "0", "0", "0"]
    assert format_date(seoul_day, "medium", locale="en") not in days  # the last day with flags

    # "Today" starts at the user's midnight: 15:00 UTC the day before, in Seoul.
    now = datetime(2026, 5, 2, 16, 0, tzinfo=UTC)  # 01:00 on May 3 in Seoul
    assert period_start(now, 1, ZoneInfo("Asia/Seoul")) == datetime(2026, 5, 2, 15, tzinfo=UTC)
    assert period_start(now, 2, ZoneInfo("UTC")) == datetime(2026, 5, 1, tzinfo=UTC)
