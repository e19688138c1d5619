"""Partner hash lists: read and write CSV or JSON with ``algorithm,hash,case`` and an optional
``quality``. Every bad row is reported by line number and nothing is saved unless every row is
good.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from crawler import db
from crawler.hashing.types import HashFormatError, HashValue

HASH_LIST_FORMATS = ("csv", "json")
HASH_LIST_COLUMNS = ("algorithm", "hash", "case", "quality")
#: The algorithms whose hashes carry a quality (0-100): PDQ's own (crpdq is a PDQ too), and for
#: pHash and crhash the share of the picture that is not plain black or white
#: (`crawler.hashing.phash.phash_quality`).
QUALITY_ALGORITHMS = frozenset({"pdq", "phash", "crhash", "crpdq"})


class HashListError(ValueError):
    """A hash list with bad rows; ``str()`` names each one by line."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        shown = problems[:50]
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__("\n".join(f"{source}: {p}" for p in shown) + more)


def guess_format(path: Path | str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in HASH_LIST_FORMATS:
        return suffix
    raise HashListError(str(path), ["cannot tell the format from the file name; pass --format"])


def _row(values: dict, where: str, problems: list[str]) -> db.ImportRow | None:
    unknown = set(values) - set(HASH_LIST_COLUMNS)
    if unknown:
        problems.append(f"{where}: unknown column(s) {', '.join(sorted(map(str, unknown)))}")
        return None
    for name in ("algorithm", "hash", "case"):
        if name in values and not isinstance(values[name], str):
            problems.append(f"{where}: {name}: {values[name]!r} is not text")
            return None
    missing = [n for n in ("algorithm", "hash", "case") if not (values.get(n) or "").strip()]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    quality_value = values.get("quality")
    quality = None
    if quality_value not in (None, ""):
        if isinstance(quality_value, str) and quality_value.strip().isdigit():
            quality = int(quality_value)
        elif isinstance(quality_value, int) and not isinstance(quality_value, bool):
            quality = quality_value
        else:
            problems.append(f"{where}: quality: {quality_value!r} is not a whole number 0-100")
            return None
        if str(values["algorithm"]).strip().lower() not in QUALITY_ALGORITHMS:
            problems.append(
                f"{where}: quality: only pdq, phash, crhash and crpdq hashes have a quality"
            )
            return None
    try:
        value = HashValue.parse(str(values["algorithm"]), str(values["hash"]), quality)
    except HashFormatError as exc:
        problems.append(f"{where}: {exc}")
        return None
    case = str(values["case"]).strip()
    return db.ImportRow(case=case, algorithm=value.algorithm, value=value.hex, quality=quality)


def _csv_rows(text: str, problems: list[str]) -> list[db.ImportRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if not {"algorithm", "hash", "case"} <= set(header):
        problems.append("line 1: the header must name the columns algorithm,hash,case[,quality]")
        return []
    reader.fieldnames = header
    rows = []
    for record in reader:
        where = f"line {reader.line_num}"
        if None in record:
            problems.append(f"{where}: more values than columns")
            continue
        values = {k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
        row = _row({k: v for k, v in values.items() if v not in (None, "")}, where, problems)
        if row:
            rows.append(row)
    return rows


def _json_rows(text: str, problems: list[str]) -> list[db.ImportRow]:
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if not text.startswith("[", position):
        problems.append("line 1: a JSON hash list is an array of objects")
        return []
    position += 1
    rows = []
    expect_item = True
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            problems.append(f"line {text.count(chr(10)) + 1}: the list is not closed with ]")
            return rows
        if text[position] == "]":
            rest = text[position + 1 :].strip()
            if rest:
                line = text.count(chr(10), 0, position) + 1
                problems.append(f"line {line}: unexpected text after the closing ]")
            break
        if not expect_item:
            if text[position] != ",":
                line = text.count(chr(10), 0, position) + 1
                problems.append(f"line {line}: expected , or ] between objects")
                return rows
            position += 1
            expect_item = True
            continue
        expect_item = False
        where = f"line {text.count(chr(10), 0, position) + 1}"
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            problems.append(f"line {exc.lineno}: not valid JSON: {exc.msg}")
            return rows
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object with algorithm, hash and case")
            continue
        row = _row(item, where, problems)
        if row:
            rows.append(row)
    return rows


def read_hash_list(path: Path, fmt: str | None = None) -> list[db.ImportRow]:
    """Read and parse a hash list file (UTF-8, with or without a byte order mark)."""
    fmt = guess_format(path, fmt)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HashListError(
            str(path),
            [
                f"not UTF-8 (byte {exc.start} cannot be read); save it as UTF-8, e.g. "
                f"`iconv -f CP949 -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}`"
            ],
        ) from None
    return parse_hash_list(text, fmt, str(path))


def parse_hash_list(text: str, fmt: str, source: str = "<hash list>") -> list[db.ImportRow]:
    """Rows of a CSV or JSON hash list; raises HashListError listing every bad row."""
    problems: list[str] = []
    rows = _csv_rows(text, problems) if fmt == "csv" else _json_rows(text, problems)
    if problems:
        raise HashListError(source, problems)
    if not rows:
        raise HashListError(source, ["no hashes in the file"])
    return rows


def format_hash_list(rows: Iterable[db.ImportRow], fmt: str) -> str:
    if fmt == "json":
        items = [
            {"algorithm": r.algorithm, "hash": r.value, "case": r.case}
            | ({"quality": r.quality} if r.quality is not None else {})
            for r in rows
        ]
        return json.dumps(items, indent=1, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HASH_LIST_COLUMNS)
    for r in rows:
        writer.writerow([r.algorithm, r.value, r.case, "" if r.quality is None else r.quality])
    return buffer.getvalue()
