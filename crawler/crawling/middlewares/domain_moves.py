"""Domain moves: a site seen at another registrable domain, recorded for staff to adopt.

Repost sites change domains when they are blocked. A crawl sees it two ways, both here:

* **A redirect off the site.** A page of the site (not a media file, which may live on a CDN, nor
  robots.txt) answers 3xx to a host that is not one of the site's domains and whose
  registrable domain (:mod:`crawler.domains`) differs from the site's. The redirect is never
  followed: it is refused here (stat ``repostwatch/refused/domain_move``) and the move recorded.
  Placed before Scrapy's RedirectMiddleware (600), this sees the 3xx answer itself.
* **Dead start URLs and a successor that answers.** When every start URL of the crawl got only
  a connection error, a 404 or a 410 (retries included; a refusal of robots.txt or the
  private-network guard is no death), and the site lists ``successor_urls``,
  each candidate is asked once for its first page (no redirect followed, the private-network
  guard and robots.txt applied as to every request) when the crawl would otherwise end; the
  first that answers 2xx is recorded as the move. Nothing of it is crawled.

Moves are written to ``domain_moves`` when the spider closes, with the crawl's run; the
scheduler alerts each new one once and staff adopt or dismiss it (`repostwatch sites moves`,
the web app's Sites page). A browser-rendered page's redirects are followed inside Chromium and
not seen here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from w3lib.url import safe_url_string

from crawler import db
from crawler.db import domain_moves
from crawler.domains import on_domains, registrable_domain, url_domain
from crawler.stats import (
    REFUSED_DOMAIN_MOVE,
    RUN_ID,
    SUCCESSORS_ANSWERED,
    SUCCESSORS_TRIED,
)

logger = logging.getLogger(__name__)

#: Meta key of a successor URL's probe.
PROBE = "repostwatch_successor_probe"
#: Answers that say a start URL is gone (a 5xx may pass; it is retried, not called dead).
GONE = (404, 410)


@dataclass(frozen=True)
class SeenMove:
    old_domain: str
    new_domain: str
    kind: str  # "redirect" or "successor"
    new_url: str
    evidence: str


class DomainMovesMiddleware:
    """Sees redirects off the site and dead start URLs; probes successor URLs; records moves."""

    def __init__(self, crawler: Crawler, database_url: str, tries: int):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url = database_url
        self.tries = tries
        self.seen: dict[tuple[str, str], SeenMove] = {}
        self.dead: dict[str, str] = {}  # start URL -> why
        self.alive: set[str] = set()
        self.probed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DomainMovesMiddleware:
        settings = crawler.settings
        middleware = cls(
            crawler,
            settings.get("REPOSTWATCH_DATABASE_URL"),
            settings.getint("REPOSTWATCH_SUCCESSOR_TRIES"),
        )
        crawler.signals.connect(middleware.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    @property
    def _config(self):
        return getattr(self.crawler.spider, "config", None)

    def _site_domains(self) -> set[str]:
        return {registrable_domain(domain) for domain in self._config.domains}

    # --- what the crawl sees ------------------------------------------------------------------
    def process_response(self, request: Request, response: Response) -> Response:
        config = self._config
        if config is None or request.meta.get(PROBE):
            return response
        page = not (request.meta.get("allow_offsite") or request.meta.get("dont_obey_robotstxt"))
        location = response.headers.get(b"Location")
        if page and 300 <= response.status < 400 and location:
            target = urljoin(request.url, location.decode("latin-1"))
            host = (urlsplit(target).hostname or "").lower()
            new_domain = registrable_domain(host)
            if (
                host
                and not on_domains(host, config.domains)
                and (new_domain not in self._site_domains())
            ):
                self._saw(
                    SeenMove(
                        url_domain(request.url),
                        new_domain,
                        "redirect",
                        target,
                        f"{request.method} {request.url} answered {response.status} "
                        f"redirecting to {target}",
                    )
                )
                self.stats.inc_value(REFUSED_DOMAIN_MOVE)
                raise IgnoreRequest(
                    f"{request.url} redirects to {target}, off the site's domains: not followed, "
                    "proposed as a domain move"
                )
        if request.url in self._start_urls():
            if response.status in GONE:
                self.dead.setdefault(request.url, f"answered {response.status}")
            else:
                self.alive.add(request.url)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return  # refused on purpose (robots.txt, the private-network guard): not dead
        if self._config is None or request.meta.get(PROBE):
            return
        if request.url in self._start_urls():
            self.dead[request.url] = f"{type(exception).__name__}: {exception}"[:300]

    def _start_urls(self) -> set[str]:
        """The start URLs as the crawl's requests spell them."""
        return {safe_url_string(url) for url in self._config.start_urls}

    def _saw(self, move: SeenMove) -> None:
        if (move.old_domain, move.new_domain) not in self.seen:
            logger.warning(
                "Site %s may have moved from %s to %s: %s",
                self._config.name,
                move.old_domain,
                move.new_domain,
                move.evidence,
            )
        self.seen[(move.old_domain, move.new_domain)] = move

    def _all_start_urls_dead(self) -> bool:
        starts = self._start_urls()
        return bool(starts) and not (starts & self.alive) and starts <= set(self.dead)

    # --- successors ---------------------------------------------------------------------------
    def spider_idle(self, spider: Spider) -> None:
        config = self._config
        if self.probed or config is None or not config.successor_urls:
            return
        if getattr(spider, "keywords", None) is not None or not self._all_start_urls_dead():
            return  # a search crawl starts at search URLs; live start URLs: nothing moved
        self.probed = True
        candidates = config.successor_candidates(self.tries)
        logger.warning(
            "Every start URL of %s died (%s); trying its successor URLs: %s",
            config.name,
            "; ".join(f"{url} {why}" for url, why in sorted(self.dead.items())),
            " ".join(candidates),
        )
        for url in candidates:
            self.stats.inc_value(SUCCESSORS_TRIED)
            self.crawler.engine.crawl(
                Request(
                    url,
                    callback=self._answered,
                    errback=self._failed,
                    dont_filter=True,
                    meta={
                        PROBE: True,
                        "allow_offsite": True,
                        "dont_redirect": True,
                        "handle_httpstatus_all": True,
                        "max_retry_times": 0,
                    },
                )
            )
        raise DontCloseSpider

    def _answered(self, response: Response) -> None:
        if not 200 <= response.status < 300:
            logger.info("Successor URL %s answered %s", response.url, response.status)
            return
        self.stats.inc_value(SUCCESSORS_ANSWERED)
        config = self._config
        old = url_domain(config.start_urls[0])
        dead = "; ".join(f"{url} {why}" for url, why in sorted(self.dead.items()))
        self._saw(
            SeenMove(
                old,
                url_domain(response.url),
                "successor",
                response.url,
                f"every start URL died ({dead}); successor URL {response.url} answered "
                f"{response.status}",
            )
        )

    def _failed(self, failure) -> None:
        logger.info("Successor URL %s did not answer: %s", failure.request.url, failure.value)

    # --- recording ----------------------------------------------------------------------------
    def spider_closed(self, spider: Spider) -> None:
        config = self._config
        if config is None or not self.seen:
            return
        if not self.database_url:
            logger.error("No REPOSTWATCH_DATABASE_URL: the domain moves above are not recorded")
            return
        run_id = self.stats.get_value(RUN_ID) or None
        engine = db.make_engine(self.database_url, poolclass=NullPool)
        try:
            with db.make_sessionmaker(engine).begin() as session:
                for move in self.seen.values():
                    domain_moves.record_move(
                        session,
                        config.name,
                        old_domain=move.old_domain,
                        new_domain=move.new_domain,
                        kind=move.kind,
                        new_url=move.new_url,
                        evidence=move.evidence,
                        run_id=run_id,
                    )
        except SQLAlchemyError as exc:
            logger.error("The domain moves above could not be recorded: %s", exc)
        finally:
            engine.dispose()
