"""`repostwatch refs`, through the real console script and a real database."""

from __future__ import annotations

import json

import pytest

from crawler.demo import samples
from crawler.hashing import hash_file
from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def test_refs_add_stores_hashes_only_and_is_idempotent(env, tmp_path):
    photo = samples.photo_path("astronaut")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    first = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    assert "1 file(s) added (7 hashes)" in first.stdout
    again = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    # The withdrawn references are the file's; adding the file again brings them back.
    withdrawn = repostwatch("refs", "withdraw", "--case", "case-1", photo, env=env)
    assert "7 hash(es) withdrawn" in withdrawn.stdout
    assert repostwatch("refs", "export", env=env).stdout == "algorithm,hash,case,quality\n"
    back = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    assert "1 file(s) added (7 hashes)" in back.stdout
    assert "0 file(s) added (0 hashes), 1 already registered" in again.stdout
    rows = json.loads(repostwatch("refs", "export", "--format", "json", env=env).stdout)
    assert sorted(r["algorithm"] for r in rows) == [
        "crhash",
        "crpdq",
        "md5",
        "pdq",
        "pdq",
        "phash",
        "sha256",
    ]
    assert all(r["case"] == "case-1" for r in rows)
    # Nothing new was written next to the database but the database itself.
    after = sorted(p.name for p in tmp_path.rglob("*"))
    assert set(after) - set(before) <= {
        "repostwatch.db",
        "repostwatch.db-wal",
        "repostwatch.db-shm",
    }


def test_refs_add_again_gives_an_older_reference_its_crpdq(env, tmp_path):
    """A file registered before crpdq was stored (here: its other hashes imported) gains it
    when it is added again, and with it the region check of its crop matches."""
    photo = samples.photo_path("coffee")
    older = [v for v in hash_file(photo).reference_values() if v.algorithm != "crpdq"]
    listing = tmp_path / "older.csv"
    listing.write_text(
        "algorithm,hash,case,quality\n"
        + "".join(f"{v.algorithm},{v.hex},case-3,{v.quality or ''}\n" for v in older)
    )
    repostwatch("refs", "import", listing, env=env, cwd=tmp_path)
    added = repostwatch("refs", "add", "--case", "case-3", photo, env=env, cwd=tmp_path)
    assert "1 file(s) added (1 hashes)" in added.stdout
    rows = json.loads(repostwatch("refs", "export", "--format", "json", env=env).stdout)
    assert sorted(r["algorithm"] for r in rows) == sorted([v.algorithm for v in older] + ["crpdq"])


def test_refs_add_that_adds_nothing_fails(env, tmp_path):
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    out = repostwatch("refs", "add", "--case", "c", note, env=env, cwd=tmp_path, check=False)
    assert "0 file(s) added" in out.stdout and "1 skipped" in out.stdout
    assert "skipped" in out.stderr and "notes.txt" in out.stderr
    # A script adding references must not carry on as if the case had them.
    assert out.returncode == 1
    assert "nothing added to c: none of the 1 file(s) could be hashed" in out.stderr


def test_refs_import_is_all_or_nothing(env, tmp_path):
    good = "pdq," + "ab" * 32 + ",case-7\n"
    bad = tmp_path / "partner.csv"
    bad.write_text("algorithm,hash,case\n" + good + "phash,xyz,case-7\n")
    result = repostwatch("refs", "import", bad, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "partner.csv: line 3: 'xyz' is not a phash hash" in result.stderr
    assert repostwatch("refs", "export", env=env).stdout == "algorithm,hash,case,quality\n"

    bad.write_text("algorithm,hash,case\n" + good)
    assert "Imported 1 hash(es)" in repostwatch("refs", "import", bad, env=env).stdout
    assert "0 hash(es); 1 were already" in repostwatch("refs", "import", bad, env=env).stdout
    exported = repostwatch("refs", "export", "--case", "case-7", env=env).stdout
    assert exported.splitlines()[1] == "pdq," + "ab" * 32 + ",case-7,"
