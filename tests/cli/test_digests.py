"""`repostwatch digests`, run as a user would (sending: tests/scheduling/test_digests.py)."""

from __future__ import annotations

import pytest

from crawler.db import digests as db_digests
from tests.support.cli_runner import repostwatch


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_email_group_is_set_up_from_the_command_line(database_url, session, tmp_path):
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url,  # migrated by the session fixture
    }
    added = repostwatch(
        "digests", "add", "night", "--email", "kim@centre.example", "--email", "lee@centre.example",
        "--every", "30", "--language", "en", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert "Digest group night: email every 30 min." in added.stdout
    (group,) = db_digests.list_subscriptions(session)
    assert group.recipients == ["kim@centre.example", "lee@centre.example"]
    assert (group.name, group.interval_minutes, group.locale) == ("night", 30, "en")
