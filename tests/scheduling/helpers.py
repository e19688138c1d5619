"""What the scheduling tests share: a site file with a [schedule], a clock tests move, a
scheduler whose only scrapyd node is down, finished runs and confirmed flags."""

from __future__ import annotations

from datetime import datetime

from crawler.db.models import utcnow
from crawler.db.references import NewHash, add_reference_hashes, load_references
from crawler.db.runs import finish_run, start_run
from crawler.db.session import make_sessionmaker
from crawler.scheduling import Scheduler, ScrapydClient
from crawler.sites import ScheduleConfig, parse_site
from tests.takedown.conftest import World

#: The scrapyd project the tests deploy and schedule (scrapy.cfg, REPOSTWATCH_SCRAPYD_PROJECT).
SCRAPYD_PROJECT = "repostwatch"

SITE = """name = "{name}"
start_urls = ["http://127.0.0.1:9/"]
allow_private_network = true
[schedule]
{schedule}
"""


def schedule_of(text: str) -> ScheduleConfig:
    """The [schedule] table ``text`` of a site file, parsed."""
    schedule = parse_site(SITE.format(name="board", schedule=text)).schedule
    assert schedule is not None
    return schedule


class Clock:
    """The scheduler's clock, moved by the test (from ``now``, or the real time)."""

    def __init__(self, now: datetime | None = None):
        self.now = now or utcnow()

    def __call__(self) -> datetime:
        return self.now


def make_scheduler(engine, sites_dir, clock, node: ScrapydClient, alerter=None) -> Scheduler:
    return Scheduler(make_sessionmaker(engine), sites_dir, [node], clock=clock, alerter=alerter)


def finish(
    session, run_id: int, *, pages: int, media: int, status="finished", reason="finished"
) -> None:
    """End crawl run ``run_id`` with these figures (nothing else counted)."""
    finish_run(
        session,
        run_id,
        status=status,
        finish_reason=reason,
        pages=pages,
        media=media,
        bytes=0,
        errors=0,
        flags=0,
    )


def closed_run(
    sessions, site: str, status: str, pages: int, media: int, reason: str = "finished"
) -> int:
    """A crawl run of ``site`` that ended with these figures; its id."""
    with sessions.begin() as session:
        run_id = start_run(session, site)
        finish(session, run_id, pages=pages, media=media, status=status, reason=reason)
    return run_id


def takedown_world(session) -> World:
    """A case with a reference and a crawl run on "board" (as tests/takedown's ``world``)."""
    add_reference_hashes(session, "case-7", [NewHash("pdq", "f" * 64, 90)], media_sha256="c" * 64)
    (reference,) = load_references(session)
    run_id = start_run(session, "board")
    session.commit()
    return World(session, reference.case_id, reference.id, run_id)
