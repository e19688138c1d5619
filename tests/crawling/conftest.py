"""Fixtures of the crawl tests."""

from __future__ import annotations

import pytest

from crawler.demo import samples
from tests.sites import gallery
from tests.support.cli_runner import repostwatch


@pytest.fixture
def registered(database_url, tmp_path):
    """A migrated database with the gallery case's references, and the CLI environment."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    photos = [samples.photo_path(name) for name in gallery.REFERENCES]
    reference_video = tmp_path / "reference.mp4"  # generated from ordinary photos
    reference_video.write_bytes(gallery.reference_video())
    added = repostwatch(
        "refs", "add", "--case", gallery.CASE, *photos, reference_video, env=env, cwd=tmp_path
    )
    assert "1 video(s) with frame hashes" in added.stdout
    hash_list = tmp_path / "partner.csv"
    hash_list.write_text(f"algorithm,hash,case\nsha256,{gallery.VIDEO_SHA256},{gallery.CASE}\n")
    repostwatch("refs", "import", hash_list, env=env, cwd=tmp_path)
    return env, sites_dir
