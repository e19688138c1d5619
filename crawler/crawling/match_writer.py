"""Write a page's matches as flags: one transaction per media file's matches, on the crawl's
writer thread, with the natural keys the spill file needs should the database be down, and the
encrypted evidence of each new flag."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.crawling.media_download import MediaOutcome
from crawler.crawling.recording import FlagRecorder
from crawler.crawling.run import RunRow
from crawler.db import evidence as evidence_store
from crawler.db.flags import MatchRecord
from crawler.db.match_keys import MatchNames, ReferenceKey, reference_keys
from crawler.matching import Match
from crawler.stats import (
    EVIDENCE_KEPT,
    FLAGS_NEW,
    FLAGS_RECORDED,
    FLAGS_REFUSED,
    FLAGS_SEEN_AGAIN,
    FLAGS_SPILLED,
)

logger = logging.getLogger(__name__)

#: A matched media URL: its outcome, one of its matches, and that match's evidence (JSON) or None.
Matched = tuple[MediaOutcome, Match, str | None]


class MatchWriter:
    """Records matches through a :class:`FlagRecorder` (call it on the writer thread only)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        recorder: FlagRecorder,
        run: RunRow,
        stats: StatsCollector,
    ):
        self.sessions = sessions
        self.recorder = recorder
        self.run = run
        self.stats = stats
        # What matched references are called without ids, for the spill file.
        self.reference_keys: dict[int, ReferenceKey] = {}

    def record(
        self,
        page_url: str,
        matched: list[Matched],
        keyword: str | None = None,
        embedded_in: str | None = None,
    ) -> None:
        """Write one flag per match, in one transaction (runs on the writer thread).
        ``keyword``: the case keyword whose site search led to the page (search crawls);
        ``embedded_in``: the page that embeds ``page_url`` (an embedded player's page)."""
        now = datetime.now(UTC)
        records = [
            MatchRecord(
                run_id=self.run.run_id,
                site_id=self.run.site_id,
                page_url=page_url,
                media_url=outcome.url,
                media_sha256=outcome.sha256,
                case_id=match.case_id,
                reference_id=match.reference_id,
                algorithm=match.algorithm,
                distance=match.distance,
                seen_at=now,
                variant=match.variant,
                evidence=evidence,
                media_pdq=outcome.pdq,
                keyword=keyword,
                embedded_in=embedded_in,
            )
            for outcome, match, evidence in matched
        ]
        results = self.recorder.record(records, self._names(matched))
        if results is None:
            self.stats.inc_value(FLAGS_SPILLED, len(records))
            return
        for (outcome, match, _), result in zip(matched, results, strict=True):
            if result.refused is not None:  # e.g. the case closed during the crawl
                self.stats.inc_value(f"{FLAGS_REFUSED}/{result.refused}")
                logger.warning("Match not recorded (%s): case %d", result.refused, match.case_id)
                continue
            self.stats.inc_value(FLAGS_RECORDED)
            self.stats.inc_value(FLAGS_NEW if result.created else FLAGS_SEEN_AGAIN)
            # INFO names the flag and its case by id only: scrapyd keeps every job's log, and a
            # flagged URL next to a case is exactly what must not lie around in plain text.
            logger.info(
                "%s flag %d (case %d, %s %s distance %d)",
                "New" if result.created else "Seen again:",
                result.flag_id,
                match.case_id,
                match.algorithm,
                match.variant,
                match.distance,
            )
            logger.debug("Flag %d: %s on %s", result.flag_id, outcome.url, page_url)
        self._keep_evidence(matched, results)

    def _names(self, matched: list[Matched]) -> list[MatchNames]:
        """The natural keys of each match, for the spill file (writer thread): as the matcher
        knew them, else looked up once per crawl; one neither could name stays None."""
        for outcome, _, _ in matched:
            for ref_id, key in outcome.reference_keys:
                self.reference_keys.setdefault(ref_id, key)
        missing = {m.reference_id for _, m, _ in matched} - self.reference_keys.keys()
        if missing:
            try:
                with self.sessions() as session:
                    self.reference_keys.update(reference_keys(session, missing))
            except SQLAlchemyError as exc:
                logger.warning("Could not look up references %s: %s", sorted(missing), exc)
        return [
            MatchNames(
                reference=self.reference_keys.get(match.reference_id),
                site=self.run.site_name,
                run_started_at=self.run.started_at,
            )
            for _, match, _ in matched
        ]

    def _keep_evidence(self, matched: list[Matched], results: list[db.RecordResult]) -> None:
        """Store the encrypted media of each flag that has none yet (writer thread)."""
        pairs = [(o.sealed, r.flag_id) for (o, _, _), r in zip(matched, results, strict=True)]
        pairs = [(sealed, f) for sealed, f in pairs if sealed is not None and f is not None]
        if not pairs:
            return
        try:
            with self.sessions.begin() as session:
                for sealed, flag_id in pairs:
                    if evidence_store.store_evidence(
                        session, flag_id, sealed.ciphertext, sealed.content_type, sealed.sha256
                    ):
                        self.stats.inc_value(EVIDENCE_KEPT)
        except SQLAlchemyError as exc:  # the flags are recorded; only the evidence is missing
            logger.error("Could not keep evidence for flags %s: %s", [f for _, f in pairs], exc)
