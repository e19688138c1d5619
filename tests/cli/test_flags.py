"""`repostwatch flags`, through the real console script and a real database."""

from __future__ import annotations

import pytest

from tests.support.accounts import add_staff
from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def test_flags_decide_unknown_id_is_a_clear_error(env):
    add_staff(env, "kim")
    result = repostwatch("flags", "decide", "999", "confirm", "--by", "kim", env=env, check=False)
    assert result.returncode == 1
    assert "no flag with id 999" in result.stderr
    assert repostwatch("flags", "list", env=env).stdout.strip() == "No flags."


def test_flags_replay_with_nothing_spilled(env, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text("")
    out = repostwatch("flags", "replay", spill, env=env)
    assert f"Replayed 0 match(es) from {spill}." in out.stdout


def test_flags_replay_of_a_missing_file_is_an_error(env, tmp_path):
    result = repostwatch("flags", "replay", tmp_path / "nope.jsonl", env=env, check=False)
    assert result.returncode == 1 and "no such file" in result.stderr
