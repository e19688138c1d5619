"""`repostwatch crawl`, through the real console script (tests/crawling crawls real sites with
it; tests/distributed runs it as distributed workers)."""

from __future__ import annotations

from tests.support.cli_runner import repostwatch


def test_crawl_of_unknown_site_lists_known_sites(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    result = repostwatch("crawl", "nope", env=env, check=False)
    assert result.returncode == 1
    assert "no site named 'nope'" in result.stderr and "known sites: good" in result.stderr
