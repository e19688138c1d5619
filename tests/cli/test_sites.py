"""`repostwatch sites`, through the real console script."""

from __future__ import annotations

import pytest

from tests.support.cli_runner import repostwatch

# End to end through the console script: once, on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.any_database


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
    assert "1 of 2 site(s) have problems" in result.stderr


def test_sites_check_fails_a_private_start_url_without_the_opt_in(env, tmp_path):
    (tmp_path / "lan.toml").write_text(
        'name = "lan"\nstart_urls = ["https://a.example/", "http://127.0.0.1:8080/"]\n'
    )
    (tmp_path / "box.toml").write_text(
        'name = "box"\nstart_urls = ["http://box.localhost/", "http://[::1]/"]\n'
        '[search]\nform_url = "http://box.localhost/search"\nfield = "q"\n'
    )
    result = repostwatch("sites", "check", env=env, check=False)
    assert result.returncode == 1
    assert (
        "lan.toml: start_urls[1]: http://127.0.0.1:8080/ is on a private network (127.0.0.1); "
        "crawls refuse it unless the site file sets allow_private_network = true"
    ) in result.stderr
    assert "box.toml: start_urls[0]: http://box.localhost/ is on a private network" in result.stderr
    assert "box.toml: start_urls[1]: http://[::1]/ is on a private network (::1)" in result.stderr
    assert "box.toml: search.form_url: http://box.localhost/search is on a private" in (
        result.stderr
    )
    assert "2 of 2 site(s) have problems" in result.stderr

    # With the opt-in, a local site (the demo's, a test's) is fine.
    text = (tmp_path / "lan.toml").read_text().replace("\n", "\nallow_private_network = true\n", 1)
    (tmp_path / "lan.toml").write_text(text)
    assert "lan.toml: ok" in repostwatch("sites", "check", "lan", env=env).stdout
