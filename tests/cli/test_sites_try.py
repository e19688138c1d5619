"""`repostwatch sites try NAME|PATH`, through the real console script (no database: a try
reads a site file by path, or by name from the site files, and stores nothing)."""

from __future__ import annotations

from crawler.demo.localsite import LocalSite, html
from tests.support.cli_runner import repostwatch


def test_sites_try_prints_media_and_links_and_names_a_private_refusal(tmp_path):
    env = {"REPOSTWATCH_SITES_SOURCE": "", "REPOSTWATCH_SITES_DIR": str(tmp_path)}
    routes = {"/": html('<img src="/m/1.jpg"><a href="/post/2">next</a>')}
    with LocalSite(routes) as site:
        text = f'name = "board"\nstart_urls = ["{site.url}/"]\n'
        (tmp_path / "board.toml").write_text(text + "allow_private_network = true\n")
        (tmp_path / "lan.toml").write_text(text.replace('"board"', '"lan"'))
        tried = repostwatch("sites", "try", "board", env=env, cwd=tmp_path)
        refused = repostwatch("sites", "try", tmp_path / "lan.toml", env=env, check=False)
        gets = [path for method, path, _ in site.exchanges if method == "GET"]

    assert f"image    {site.url}/m/1.jpg" in tried.stdout
    assert f"links it would follow: 1\n    {site.url}/post/2" in tried.stdout
    assert "Nothing was stored, hashed or matched." in tried.stdout
    assert refused.returncode == 1
    assert "1 request(s) refused: on a private network" in refused.stderr
    assert "allow_private_network = true" in refused.stderr
    assert sorted(gets) == ["/", "/robots.txt"]  # only board's start page; lan's was refused
    assert not list(tmp_path.glob("*.db"))  # no database was made
