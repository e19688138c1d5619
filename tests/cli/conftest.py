"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from tests.support.cli_runner import repostwatch


@pytest.fixture
def env(database_url, tmp_path):
    """The environment of a command on a migrated database of its own, with the test's
    directory as REPOSTWATCH_SITES_DIR."""
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(tmp_path)}
    out = repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    assert "is at revision" in out.stdout
    return env
