"""Record matches as flags without ever losing one.

A match is written and committed as soon as it is found. When the database cannot take it (the
server restarts, the network drops), the write is retried with backoff; if it still fails, the
match is appended to a local *spill file* (JSON lines; URLs, hashes and the natural keys of
:mod:`crawler.db.match_keys`, never database ids, never media) and the next crawl, or
``repostwatch flags replay``, writes it to the database.

Replay goes line by line, each line in its own transaction. A line the database refuses for
good (its case or reference is gone, it cannot be read) moves to the *quarantine file*
(``<spill file>.rejected``) with the reason; a transient failure (the database is down again)
keeps it, and the lines after it, for the next replay. Replaying is safe any number of times: a
flag is unique per case, media URL and content, so a replayed match either creates its flag or
moves its *last seen*. Both files are created readable by their owner only (0600).

A closed case keeps nothing outside the database: :func:`purge_cases` deletes its lines from
both files (`repostwatch cases close` calls it for the host it runs on; every replay does it
for the cases closed since, so the crawl hosts' files follow at their next crawl).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler import db
from crawler.db.cases import closed_case_names
from crawler.db.flags import MatchRecord
from crawler.db.match_keys import MatchNames, ReferenceKey, UnresolvableMatch, resolve

logger = logging.getLogger(__name__)

#: The version of a spill line. Lines without it were written with database ids.
SPILL_FORMAT = 2
#: MatchRecord fields that are database ids: a spill line replaces them with natural keys.
_ID_FIELDS = frozenset({"run_id", "site_id", "case_id", "reference_id"})
_FILE_MODE = 0o600


def _is_transient(exc: Exception) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def spill_line(record: MatchRecord, names: MatchNames) -> str:
    """One line of JSON for the spill file: the match without its ids, with its natural keys."""
    data = {k: v for k, v in asdict(record).items() if k not in _ID_FIELDS}
    data["seen_at"] = (record.seen_at or datetime.now(UTC)).isoformat()
    reference = names.reference
    return json.dumps(
        {
            "format": SPILL_FORMAT,
            "case": reference.case if reference else None,
            "reference": None if reference is None else [reference.algorithm, reference.value],
            "site": names.site,
            "run_started_at": names.run_started_at.isoformat(),
            **data,
        },
        ensure_ascii=False,
    )


@dataclass(frozen=True, slots=True)
class SpilledMatch:
    names: MatchNames
    values: dict[str, object]  # the MatchRecord fields other than ids

    @classmethod
    def from_line(cls, line: str) -> SpilledMatch:
        """Raises ValueError (with the reason) for a line that is not a spilled match."""
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format") != SPILL_FORMAT:
                if "case_id" in data:
                    raise ValueError(
                        "written by an older RepostWatch with database ids, which may name "
                        "another case after a restore; check the case and record it by hand"
                    )
                raise ValueError(f"unknown spill format {data.get('format')!r}")
            reference = data["reference"]
            names = MatchNames(
                reference=None
                if reference is None
                else ReferenceKey(str(data["case"]), str(reference[0]), str(reference[1])),
                site=str(data["site"]),
                run_started_at=datetime.fromisoformat(data["run_started_at"]),
            )
            known = {f.name for f in fields(MatchRecord)} - _ID_FIELDS
            values = {k: v for k, v in data.items() if k in known}
            values["seen_at"] = datetime.fromisoformat(values["seen_at"])
            return cls(names, values)
        except (KeyError, TypeError, IndexError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a readable match ({exc.__class__.__name__}: {exc})") from None

    def record(self, session: Session) -> MatchRecord:
        ids = resolve(session, self.names)
        return MatchRecord(
            run_id=ids.run_id,
            site_id=ids.site_id,
            case_id=ids.case_id,
            reference_id=ids.reference_id,
            **self.values,
        )


def _open_private(path: Path, flags: int) -> int:
    """A file descriptor of ``path``, created 0600 and made 0600 if it was not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, flags | os.O_CREAT, _FILE_MODE)
    os.fchmod(fd, _FILE_MODE)
    return fd


def _append_lines(path: Path, lines: Sequence[str]) -> None:
    """Append whole lines: after a crash cut the last line short, a newline ends it first so
    that it cannot swallow the first of these."""
    fd = _open_private(path, os.O_RDWR | os.O_APPEND)
    with os.fdopen(fd, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        prefix = b""
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                prefix = b"\n"
        handle.write(prefix + "".join(line + "\n" for line in lines).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


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

    @property
    def rejected_path(self) -> Path:
        """The quarantine: lines that can never be recorded, each with its reason."""
        return self.spill_path.with_name(self.spill_path.name + ".rejected")

    @property
    def lock_path(self) -> Path:
        return self.spill_path.with_name(self.spill_path.name + ".lock")

    def _locked(self):
        """Held while the spill file is appended to, read or rewritten (by any process)."""
        return _locked(self.lock_path)

    def _write(self, records: Sequence[MatchRecord]) -> list[db.RecordResult]:
        with self.sessions.begin() as session:
            return [db.record_match(session, record) for record in records]

    def record(
        self, records: Sequence[MatchRecord], names: Sequence[MatchNames]
    ) -> list[db.RecordResult] | None:
        """The flags written, or None when the database failed and the records were spilled
        (``names``, one per record, say what they matched without ids)."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._write(records)
            except Exception as exc:
                if not _is_transient(exc) or attempt == self.attempts:
                    self._spill(records, names, exc)
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

    def _spill(
        self, records: Sequence[MatchRecord], names: Sequence[MatchNames], exc: Exception
    ) -> None:
        lines = [spill_line(r, n) for r, n in zip(records, names, strict=True)]
        with self._locked():
            _append_lines(self.spill_path, lines)
        logger.error(
            "Could not record %d match(es) in the database (%s). They are kept in %s and will "
            "be written by the next crawl or by `repostwatch flags replay`.",
            len(records),
            str(exc).splitlines()[0],
            self.spill_path,
        )

    def pending(self) -> int:
        """Matches waiting in the spill file."""
        return _count_lines(self.spill_path)

    def quarantined(self) -> int:
        """Lines set aside for good in the quarantine file."""
        return _count_lines(self.rejected_path)

    def replay(self) -> int:
        """Write the spilled matches to the database, each in its own transaction; returns how
        many were written.

        A line that can never be written goes to the quarantine file with its reason (logged
        too); a transient database failure keeps it and every later line in the spill file for
        the next replay, and the failure is logged, not raised: it never stops a crawl.
        """
        if not self.spill_path.exists():
            return 0
        written = 0
        with self._locked():
            lines = self.spill_path.read_text(encoding="utf-8", errors="replace").splitlines()
            kept: list[str] = []
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                if kept:  # the database is down: keep the rest as it is
                    kept.append(line)
                    continue
                try:
                    match = SpilledMatch.from_line(line)
                    with self.sessions.begin() as session:
                        db.record_match(session, match.record(session))
                    written += 1
                except Exception as exc:
                    if _is_transient(exc):
                        logger.warning(
                            "Could not replay %s (%s); its %d match(es) wait for the next replay",
                            self.spill_path,
                            str(exc).splitlines()[0],
                            len(lines) - number + 1,
                        )
                        kept.append(line)
                    else:
                        self._quarantine(number, line, exc)
            self._rewrite(kept)
        try:
            self.purge_closed_cases()
        except Exception as exc:  # the database went away again: the next replay purges
            logger.warning("Could not purge spilled lines of closed cases: %s", exc)
        if written:
            logger.info("Replayed %d spilled match(es) from %s", written, self.spill_path)
        return written

    def _quarantine(self, number: int, line: str, exc: Exception) -> None:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if not isinstance(exc, ValueError | UnresolvableMatch):
            reason = f"the database refused it: {exc.__class__.__name__}: {reason}"
        entry = {"quarantined_at": datetime.now(UTC).isoformat(), "reason": reason, "line": line}
        _append_lines(self.rejected_path, [json.dumps(entry, ensure_ascii=False)])
        logger.error(
            "%s: line %d cannot be recorded (%s); moved it to %s. The other matches are "
            "recorded; `repostwatch status` counts the lines set aside there.",
            self.spill_path,
            number,
            reason,
            self.rejected_path,
        )

    def _rewrite(self, kept: list[str]) -> None:
        _rewrite(self.spill_path, kept)

    def purge_closed_cases(self) -> int:
        """:func:`purge_cases` for every closed case of the database (after a replay)."""
        with self.sessions() as session:
            closed = closed_case_names(session)
        return purge_cases(self.spill_path, closed)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with os.fdopen(_open_private(lock_path, os.O_RDWR), "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rewrite(path: Path, kept: list[str]) -> None:
    """Replace ``path`` by the lines kept, atomically (a crash leaves either file)."""
    if not kept:
        path.unlink(missing_ok=True)
        return
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    _append_lines(partial, kept)
    os.replace(partial, path)


def purge_cases(spill_path: Path | str, cases: Collection[str]) -> int:
    """Delete the lines of ``cases`` (closed) from the spill file at ``spill_path`` and its
    quarantine; returns how many went. Lines of an older format name no case and stay."""
    spill_path = Path(spill_path)
    wanted = set(cases)
    files = (spill_path, spill_path.with_name(spill_path.name + ".rejected"))
    if not wanted or not any(path.exists() for path in files):
        return 0
    removed = 0
    lock = spill_path.with_name(spill_path.name + ".lock")
    with _locked(lock):
        for path in files:
            if not path.exists():
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and _case_of(line) not in wanted]
            removed += sum(1 for line in lines if line.strip()) - len(kept)
            if len(kept) != len(lines):
                _rewrite(path, kept)
    if removed:
        logger.info("Deleted %d spilled line(s) of closed case(s) from %s", removed, spill_path)
    return removed


def _case_of(line: str) -> str | None:
    """The case a spill line (or a quarantined one, which holds it) is about."""
    try:
        data = json.loads(line)
        if isinstance(data, dict) and "line" in data and "case" not in data:
            data = json.loads(data["line"])
    except (ValueError, TypeError):
        return None
    return data.get("case") if isinstance(data, dict) else None


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())
