"""Encrypted evidence: a real crawl, holding only the public key, keeps the matched media sealed
(and nothing else) and cannot open it; the web app, holding the private key, shows it blurred,
unblurring is logged, rejecting deletes it. Evidence of the old symmetric format stays readable."""

from __future__ import annotations

import io
import json
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image, ImageFilter
from sqlalchemy import select

from crawler.db import evidence
from crawler.db.models import AuditEntry, Evidence, Flag
from crawler.demo import samples
from crawler.demo.localsite import LocalSite
from crawler.demo.site import DEMO_CASE, REFERENCE_PHOTOS, demo_routes
from tests.review.conftest import login, post
from tests.support.cli_runner import repostwatch
from tests.support.settings import default_web_config

DEMO_SITE = """name = "demo"
start_urls = ["{url}/"]
allow_private_network = true
"""


@pytest.fixture
def crawled(database_url, tmp_path, evidence_keys, engine):
    """The demo repost site crawled with only REPOSTWATCH_EVIDENCE_PUBLIC_KEY; its routes."""
    sites = tmp_path / "sites"
    sites.mkdir()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites),
        "REPOSTWATCH_EVIDENCE_PUBLIC_KEY": evidence_keys.public,
        "REPOSTWATCH_EVIDENCE_PRIVATE_KEY": "",  # never on a crawl host
        "REPOSTWATCH_EVIDENCE_KEY": "",
        "REPOSTWATCH_MEDIA_CACHE": "0",
    }
    photos = [samples.photo_path(name) for name in REFERENCE_PHOTOS]
    repostwatch("refs", "add", "--case", DEMO_CASE, *photos, env=env, cwd=tmp_path)
    routes = demo_routes()
    with LocalSite(routes) as site:
        (sites / "demo.toml").write_text(DEMO_SITE.format(url=site.url))
        repostwatch("crawl", "demo", env=env, cwd=tmp_path)
    return routes


@pytest.mark.any_database
def test_a_crawl_with_the_public_key_keeps_matched_media_sealed_and_cannot_open_it(
    crawled, world, evidence_keys
):
    keys = evidence.opener(evidence_keys.private)  # the web app's
    crawl_keys = evidence.opener(evidence_keys.public)  # all a crawl has, tried as a private key
    assert not hasattr(evidence.sealer(evidence_keys.public), "decrypt")
    with world.sessions() as session:
        flags = session.execute(select(Flag.id, Flag.media_url)).all()
        rows = session.execute(select(Evidence)).scalars().all()
        assert len(flags) == 7 and {r.flag_id for r in rows} == {f.id for f in flags}
        for flag_id, media_url in flags:
            plain = crawled[urlsplit(media_url).path].body
            row = next(r for r in rows if r.flag_id == flag_id)
            assert row.ciphertext.startswith(evidence.SEALED_PREFIX)
            assert row.ciphertext != plain and plain[16:80] not in row.ciphertext
            assert row.content_type in ("image/jpeg", "image/png")
            kept = evidence.load_evidence(session, flag_id, keys)
            assert kept is not None and kept.data == plain
            with pytest.raises(evidence.EvidenceKeyError, match="sealed for another"):
                evidence.load_evidence(session, flag_id, crawl_keys)
    other = evidence.opener(evidence.new_key_pair()[1])
    with world.sessions() as session, pytest.raises(evidence.EvidenceKeyError):
        evidence.load_evidence(session, flags[0].id, other)


def test_old_symmetric_evidence_stays_readable_with_the_old_key(world, evidence_keys):
    from crawler.review import ConfigError, create_app
    from tests.review.conftest import SECRET

    old_key = evidence.new_key()
    old_flag, new_flag = world.flag(1), world.flag(2)
    with world.sessions.begin() as session:
        for flag_id, keys in ((old_flag, evidence.cipher(old_key)), (new_flag, None)):
            keys = keys or evidence.sealer(evidence_keys.public)
            sealed = evidence.seal(keys, b"photo %d" % flag_id, "image", "jpeg")
            evidence.store_evidence(
                session, flag_id, sealed.ciphertext, sealed.content_type, sealed.sha256
            )
    both = evidence.opener(evidence_keys.private, old_key)
    only_new = evidence.opener(evidence_keys.private)
    with world.sessions() as session:
        assert evidence.load_evidence(session, old_flag, both).data == b"photo %d" % old_flag
        assert evidence.load_evidence(session, new_flag, both).data == b"photo %d" % new_flag
        assert evidence.load_evidence(session, new_flag, only_new).data == b"photo %d" % new_flag
        with pytest.raises(evidence.EvidenceKeyError, match="old symmetric"):
            evidence.load_evidence(session, old_flag, only_new)
    url = str(world.sessions.kw["bind"].url.render_as_string(False))
    config = default_web_config(
        REPOSTWATCH_DATABASE_URL=url,
        REPOSTWATCH_SECRET_KEY=SECRET,
        REPOSTWATCH_EVIDENCE_KEY=old_key,
    )
    with pytest.raises(ConfigError, match="repostwatch evidence keygen"):
        create_app(config)  # the old key alone: the message says how to move to the key pair


def test_without_a_key_nothing_is_kept_and_the_page_says_so(app, world, tmp_path):
    from crawler.review import create_app
    from tests.review.conftest import SECRET, https_client

    flag_id = world.flag(1)
    with world.sessions.begin() as session:
        evidence.store_evidence(session, flag_id, b"x", "image/jpeg", "0" * 64)
    keyless = create_app(
        default_web_config(
            REPOSTWATCH_DATABASE_URL=str(world.sessions.kw["bind"].url.render_as_string(False)),
            REPOSTWATCH_SECRET_KEY=SECRET,
        )
    )
    client = https_client(keyless)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "No evidence shown (REPOSTWATCH_EVIDENCE_PRIVATE_KEY not set)." in page
    assert client.get(f"/flags/{flag_id}/evidence").status_code == 404
    keyless.extensions["repostwatch"].engine.dispose()


def _fine_detail(data: bytes, size: tuple[int, int]) -> float:
    """Mean absolute difference between a picture (at ``size``) and its slightly blurred self:
    how much high-frequency detail (edges, texture, features) it carries."""
    picture = Image.open(io.BytesIO(data)).convert("L").resize(size, Image.Resampling.BOX)
    pixels = np.asarray(picture, dtype=np.float64)
    smooth = np.asarray(picture.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)
    return float(np.abs(pixels - smooth).mean())


@pytest.mark.any_database
def test_evidence_is_served_blurred_by_the_server_until_the_logged_unblur(crawled, client, world):
    world.user("kim")
    login(client, "kim")
    with world.sessions() as session:
        flag = session.execute(select(Flag).order_by(Flag.id)).scalars().first()
    plain = crawled[urlsplit(flag.media_url).path]
    page = client.get(f"/flags/{flag.id}").get_data(as_text=True)
    for fact in (flag.page_url, flag.media_url, "demo", DEMO_CASE, flag.algorithm):
        assert fact in page
    assert 'class="evidence blurred"' in page and "Show unblurred (logged)" in page
    blurred = client.get(f"/flags/{flag.id}/evidence")
    assert blurred.status_code == 200
    assert blurred.headers["Cache-Control"] == "no-store, private"
    assert blurred.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert blurred.headers["Content-Type"] == "image/jpeg"
    assert blurred.data != plain.body
    # Not the media re-encoded: smaller, and its fine detail is gone (compared at one size).
    shown = Image.open(io.BytesIO(blurred.data))
    original = Image.open(io.BytesIO(plain.body))
    assert max(shown.size) <= 160 and max(shown.size) < max(original.size)
    assert _fine_detail(plain.body, shown.size) > 1.0
    assert _fine_detail(blurred.data, shown.size) < _fine_detail(plain.body, shown.size) / 10
    # Another URL (what review.js swaps in) changes nothing before the unblur.
    assert client.get(f"/flags/{flag.id}/evidence?shown=unblurred").data == blurred.data

    post(client, f"/flags/{flag.id}/unblur", page=f"/flags/{flag.id}")
    page = client.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert 'class="evidence blurred"' not in page and 'class="evidence"' in page
    media = client.get(f"/flags/{flag.id}/evidence")
    assert media.status_code == 200 and media.data == plain.body
    assert media.headers["Content-Type"] == plain.content_type
    assert media.headers["Cache-Control"] == "no-store, private"
    assert media.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    with world.sessions() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.details, AuditEntry.username)
            .where(AuditEntry.action != "login")
            .order_by(AuditEntry.id)
        ).all()
    assert {username for *_, username in entries} == {"kim"}
    evidence_views = [
        (target, json.loads(details))
        for action, target, details, _ in entries
        if action == "view_evidence"
    ]
    assert evidence_views == [
        (str(flag.id), {"unblurred": False}),
        (str(flag.id), {"unblurred": False}),
        (str(flag.id), {"unblurred": True}),
    ]
    actions = [(action, target) for action, target, *_ in entries]
    assert ("unblur", str(flag.id)) in actions
    assert actions.index(("unblur", str(flag.id))) < len(actions) - 1
    # Three views: before, for the form's CSRF token, after.
    assert actions.count(("view_flag", str(flag.id))) == 3


@pytest.mark.any_database
def test_unblurring_is_per_login(crawled, client, world):
    world.user("kim")
    world.user("lee")
    login(client, "kim")
    with world.sessions() as session:
        flag_id = session.execute(select(Flag.id).order_by(Flag.id)).scalars().first()
    post(client, f"/flags/{flag_id}/unblur", page=f"/flags/{flag_id}")
    plain = client.get(f"/flags/{flag_id}/evidence").data
    post(client, "/logout", page="/")
    login(client, "lee")
    assert client.get(f"/flags/{flag_id}/evidence").data != plain


def test_rejecting_deletes_the_evidence_and_closing_a_case_deletes_the_rest(crawled, client, world):
    world.user("kim")
    login(client, "kim")
    with world.sessions() as session:
        first, *rest = session.execute(select(Flag.id).order_by(Flag.id)).scalars().all()
    post(client, f"/flags/{first}/decide", {"decision": "reject"})
    post(client, f"/flags/{rest[0]}/decide", {"decision": "confirm"})
    with world.sessions() as session:
        assert not evidence.has_evidence(session, first)
        assert evidence.has_evidence(session, rest[0])
    # A rejected flag seen again by a later crawl gets no evidence back.
    with world.sessions.begin() as session:
        assert not evidence.store_evidence(session, first, b"x", "image/jpeg", "0" * 64)
    with world.sessions.begin() as session:
        assert evidence.delete_case_evidence(session, DEMO_CASE) == len(rest)
    with world.sessions() as session:
        assert session.execute(select(Evidence)).first() is None
