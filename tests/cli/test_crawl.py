"""`repostwatch crawl`, through the real console script (tests/crawling crawls real sites with
it; tests/distributed runs it as distributed workers)."""

from __future__ import annotations

import pytest

from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


def test_crawl_of_unknown_site_lists_known_sites(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    result = repostwatch("crawl", "nope", env=env, check=False)
    assert result.returncode == 1
    assert "no site named 'nope'" in result.stderr and "known sites: good" in result.stderr


def test_a_site_that_is_down_is_one_line_per_url_and_a_failed_run(env, tmp_path, refused_port):
    port = refused_port()
    (tmp_path / "down.toml").write_text(
        f'name = "down"\nstart_urls = ["http://127.0.0.1:{port}/", "http://127.0.0.1:{port}/a"]\n'
        "allow_private_network = true\nretries = 1\nretry_backoff = 0.1\n"
    )
    result = repostwatch("crawl", "down", env=env, check=False)
    assert result.returncode == 1
    assert "no page could be crawled" in result.stderr
    assert ": failed, no page crawled\n" in result.stdout  # not "finished"
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "] ERROR: " in line]
    assert [line.split("] ERROR: ", 1)[1].split(" (")[0] for line in errors] == [
        f"Could not fetch http://127.0.0.1:{port}/robots.txt",
        f"Could not fetch http://127.0.0.1:{port}/",
        f"Could not fetch http://127.0.0.1:{port}/a",
    ]
    assert all("(2 attempts): Connection was refused" in line for line in errors)
    # No deprecation warning from the settings (Scrapy 2.19 renamed the delay jitter).
    assert "Deprecat" not in result.stderr
    # The run is a failure, for `crawls list` and the site's health alike.
    listed = repostwatch("crawls", "list", env=env).stdout
    assert "1 failed" in listed.splitlines()[-1]
