"""Screenshots in Debian's Chromium of a local repost site: the flagged media is blurred, the
page around it is not, and private addresses are refused unless the site file allows them."""

from __future__ import annotations

import io
import os
import signal
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image

from crawler.db import notices as db_notices
from crawler.db.session import make_sessionmaker
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.takedown.drafting import capture, draft_notices
from crawler.takedown.screenshots import ShotTarget, take_screenshots
from tests.support.processes import command_line, descendants
from tests.support.settings import CHROMIUM
from tests.takedown.conftest import T0, site_config


def _detail(png: bytes, box: tuple[int, int, int, int]) -> float:
    """Mean difference between neighbouring pixels in ``box``: high for a sharp photo."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L").crop(box), dtype=np.float32)
    return float(np.abs(np.diff(pixels, axis=1)).mean() + np.abs(np.diff(pixels, axis=0)).mean())


def test_every_medium_of_the_page_is_neutralised_not_only_the_notices(engine, world, repost_site):
    """The flagged photo and the same photo at a URL nobody flagged both come out grey: a
    screenshot never shows media in clear, whoever's it is."""
    world.flag(page_url=repost_site.page_url, media_url=repost_site.media_url)
    configs = {
        "board": site_config(
            "board",
            repost_site.url + "/",
            'language = "en"',
            allow_private_network="true",
        )
    }
    (notice_id,) = draft_notices(world.session, configs).created
    world.session.commit()
    shots = capture(make_sessionmaker(engine), notice_id, configs, chromium=CHROMIUM)
    assert [(shot.blurred, shot.error) for shot in shots] == [(2, None)]
    world.session.expire_all()
    (png,) = db_notices.screenshots(world.session, notice_id).values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).size == (1280, 900)
    assert _detail(png, (60, 120, 420, 480)) < 3.0
    assert _detail(png, (620, 120, 980, 480)) < 3.0
    # Neither photo was asked of the site: the browser got a grey stub for each.
    assert "/media/1.jpg" not in repost_site.site.requests
    assert "/media/same-but-not-flagged.jpg" not in repost_site.site.requests
    notice = db_notices.get_notice(world.session, notice_id)
    assert [(i.has_screenshot, i.screenshot_error) for i in notice.items] == [(True, None)]
    # A second capture takes nothing: the item has its screenshot.
    assert capture(make_sessionmaker(engine), notice_id, configs, chromium=CHROMIUM) == []


def test_a_private_address_is_refused_without_the_site_files_consent(repost_site):
    target = ShotTarget(1, repost_site.page_url, (repost_site.media_url,), False)
    (shot,) = take_screenshots([target], chromium=CHROMIUM)
    assert shot.png is None and "private network" in shot.error
    assert repost_site.site.requests == []


def test_when_the_media_cannot_be_found_every_image_is_blurred(repost_site):
    target = ShotTarget(1, repost_site.page_url, (repost_site.url + "/elsewhere.jpg",), True)
    (shot,) = take_screenshots([target], chromium=CHROMIUM)
    assert shot.blurred == 2 and shot.error is None
    assert _detail(shot.png, (620, 120, 980, 480)) < 3.0
    assert _detail(shot.png, (60, 120, 420, 480)) < 3.0


def test_a_browser_sites_age_gate_is_answered_and_its_late_gallery_blurred():
    from tests.sites import jsgallery

    with jsgallery.RecordingSite(jsgallery.routes("http://127.0.0.1:9/")) as site:
        flagged = site.url + "/img/g/behind.jpg"
        gated = ShotTarget(
            1,
            site.url + "/gate",
            (flagged,),
            True,
            click=("#gate button", ".consent-accept"),
            wait_for="main[data-ready]",
            wait_timeout=5.0,
        )
        (shot,) = take_screenshots([gated], chromium=CHROMIUM)
        assert shot.error is None and shot.blurred >= 2
        asked = [path for path, _ in site.fetches]
        assert "/api/gate.json" in asked  # the gallery was built
        assert "/img/g/behind.jpg" not in asked  # and its photos were grey stubs
        # Without the click the gallery stays behind the gate: fewer media to blur.
        (ungated,) = take_screenshots(
            [ShotTarget(2, site.url + "/gate", (flagged,), True)], chromium=CHROMIUM
        )
        assert ungated.blurred < shot.blurred and ungated.png is not None


#: Which of Chromium's processes a test kills: its page's renderer, or the browser itself.
_CHROMIUM_PROCESS = {
    "renderer": lambda command: "--type=renderer" in command,
    "browser": lambda command: "chromium" in command and "--type=" not in command,
}


@pytest.mark.parametrize("dies", sorted(_CHROMIUM_PROCESS))
def test_a_page_lost_to_a_chromium_crash_is_taken_again(dies):
    """A renderer killed while loading the page (Playwright: "Page crashed"), or the whole
    browser (the page "has been closed"): the shot is taken once more, in a new browser when
    the old one is gone, instead of leaving the notice without its screenshot."""
    photo = samples.reencoded_jpeg("coffee", quality=80, scale=0.5)
    routes = {
        "/": html('<img src="/p.jpg"><script src="/k.js"></script>'),
        "/p.jpg": Route(photo, "image/jpeg"),
        "/k.js": Route(b"1;", "text/javascript"),
    }
    with LocalSite(routes, validators=False) as site:
        serve = site.server.RequestHandlerClass

        class KillingChromium(serve):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                if self.path == "/k.js" and "/k.js" not in site.requests:  # its first load
                    for pid in descendants(os.getpid()):
                        if _CHROMIUM_PROCESS[dies](command_line(pid)):
                            os.kill(pid, signal.SIGKILL)
                super().do_GET()

        site.server.RequestHandlerClass = KillingChromium
        url = site.url + "/"
        (shot,) = take_screenshots([ShotTarget(1, url, (url + "p.jpg",), True)], chromium=CHROMIUM)
    assert (shot.blurred, shot.error) == (1, None)
    assert shot.png is not None
    assert site.requests == ["/", "/k.js", "/", "/k.js"]  # the page, lost; the page again


def _board(repost_site) -> dict:
    return {
        "board": site_config(
            "board", repost_site.url + "/", 'language = "en"', allow_private_network="true"
        )
    }


def test_a_retake_never_replaces_what_was_sent_and_a_404_is_no_screenshot(
    engine, world, repost_site
):
    world.flag(page_url=repost_site.page_url, media_url=repost_site.media_url)
    configs = _board(repost_site)
    (notice_id,) = draft_notices(world.session, configs).created
    world.session.commit()
    sessions = make_sessionmaker(engine)
    capture(sessions, notice_id, configs, chromium=CHROMIUM)
    with sessions.begin() as session:
        sent = db_notices.screenshots(session, notice_id)
        db_notices.approve_notice(session, notice_id, by="park")
        db_notices.record_sent(session, notice_id, now=T0, resend_after=timedelta(hours=24))
    repost_site.remove("/post/1")  # the page now answers 404
    assert capture(sessions, notice_id, configs, chromium=CHROMIUM, retake=True) == []
    with sessions() as session:
        assert db_notices.screenshots(session, notice_id) == sent != {}

    # A draft of the same 404 page: the screenshot fails, with the reason, and stores nothing.
    world.flag(page_url=repost_site.page_url, media_url=repost_site.url + "/media/2.jpg")
    (draft_id,) = draft_notices(world.session, configs).created
    world.session.commit()
    (shot,) = capture(sessions, draft_id, configs, chromium=CHROMIUM)
    assert shot.png is None and shot.error.startswith("HTTP 404")
    with sessions() as session:
        (item,) = db_notices.get_notice(session, draft_id).items
        assert (item.has_screenshot, item.screenshot_error) == (False, shot.error)
