"""`repostwatch sites`, through the real console script."""

from __future__ import annotations

from tests.support.cli_runner import repostwatch


def test_sites_check_names_file_key_and_problem(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nstart_urls = ["nope"]\nrender = 3\n')
    listing = repostwatch("sites", "list", env=env).stdout
    assert "good" in listing and "INVALID" in listing
    assert "good.toml: ok" in repostwatch("sites", "check", "good", env=env).stdout
    result = repostwatch("sites", "check", env=env, check=False)
    assert result.returncode == 1
    assert "bad.toml: start_urls[0]: 'nope' is not an absolute http(s) URL" in result.stderr
    assert "bad.toml: render:" in result.stderr
    assert "1 of 2 site file(s) have problems" in result.stderr
