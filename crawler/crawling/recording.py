"""Record matches as flags without ever losing one.

A match is written and committed as soon as it is found. When the database cannot take it (the
server restarts, the network drops), the write is retried with backoff; if it still fails, the
match is appended to a local *spill file* (JSON lines, ``MatchRecord.to_json``: URLs, hashes,
ids; never media) and the next crawl, or ``repostwatch flags replay``, writes it to the
database. Replaying is safe any number of times: a flag is unique per case, media URL and
content, so a replayed match either creates its flag or moves its *last seen*.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.db.flags import MatchRecord

logger = logging.getLogger(__name__)


def _is_transient(exc: Exception) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FlagRecorder:
    """Writes matches in one transaction per call; retries, then spills to ``spill_path``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        spill_path: Path | str,
        *,
        attempts: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.sessions = sessions
        self.spill_path = Path(spill_path)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep

    def _write(self, records: Sequence[MatchRecord]) -> list[db.RecordResult]:
        with self.sessions.begin() as session:
            return [db.record_match(session, record) for record in records]

    def record(self, records: Sequence[MatchRecord]) -> list[db.RecordResult] | None:
        """The flags written, or None when the database failed and the records were spilled."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._write(records)
            except Exception as exc:
                if not _is_transient(exc) or attempt == self.attempts:
                    self._spill(records, exc)
                    return None
                delay = self.backoff * 2 ** (attempt - 1)
                logger.warning(
                    "Database write failed (%s); retrying in %.1fs (%d/%d)",
                    str(exc).splitlines()[0],
                    delay,
                    attempt,
                    self.attempts,
                )
                self.sleep(delay)
        return None  # pragma: no cover (the loop always returns)

    def _spill(self, records: Sequence[MatchRecord], exc: Exception) -> None:
        with _locked(self.spill_path) as handle:
            for record in records:
                handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        logger.error(
            "Could not record %d match(es) in the database (%s). They are kept in %s and will "
            "be written by the next crawl or by `repostwatch flags replay`.",
            len(records),
            str(exc).splitlines()[0],
            self.spill_path,
        )

    def pending(self) -> int:
        """Matches waiting in the spill file."""
        if not self.spill_path.exists():
            return 0
        with _locked(self.spill_path) as handle:
            handle.seek(0)
            return sum(1 for line in handle if line.strip())

    @property
    def rejected_path(self) -> Path:
        return self.spill_path.with_name(self.spill_path.name + ".rejected")

    def replay(self) -> int:
        """Write every spilled match to the database; the file is emptied only on success.

        A line that cannot be read (cut short by a crash or a full disk) is moved to
        ``<spill file>.rejected`` with an error naming it, so that it never blocks the others.
        """
        if not self.spill_path.exists():
            return 0
        with _locked(self.spill_path) as handle:
            handle.seek(0)
            records = []
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(MatchRecord.from_json(line))
                except (ValueError, TypeError, KeyError) as exc:
                    with open(self.rejected_path, "a", encoding="utf-8") as rejected:
                        rejected.write(line if line.endswith("\n") else line + "\n")
                    logger.error(
                        "%s: line %d is not a readable match (%s); moved it to %s",
                        self.spill_path,
                        number,
                        exc,
                        self.rejected_path,
                    )
            if not records:
                handle.truncate(0)
                return 0
            self._write(records)  # raises on failure: the file stays as it is
            handle.truncate(0)
            handle.flush()
            os.fsync(handle.fileno())
        logger.info("Replayed %d spilled match(es) from %s", len(records), self.spill_path)
        return len(records)
