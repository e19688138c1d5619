"""Which site a manual check's URLs belong to, and the one-off configuration it crawls."""

from __future__ import annotations

import re

import pytest

from crawler.sites import parse_site
from crawler.sites.checks import MANUAL_SITE, check_config, site_for_urls

BOARD = parse_site(
    'name = "board"\nstart_urls = ["https://board.example/"]\nrender = "browser"\n'
    'download_delay = 2.5\n[follow]\nmax_depth = 3\n[schedule]\nevery = "1d"\n'
)
MIRRORS = parse_site(
    'name = "mirrors"\nstart_urls = ["https://m1.example/"]\n'
    'allowed_domains = ["m1.example", "m2.example"]\n'
)


def test_urls_belong_to_the_site_whose_domains_hold_their_host():
    assert site_for_urls(["https://board.example/p/1"], [MIRRORS, BOARD]) is BOARD
    assert site_for_urls(["https://cdn.board.example/p/1"], [MIRRORS, BOARD]) is BOARD
    assert site_for_urls(["https://m2.example/x", "https://m1.example/y"], [BOARD, MIRRORS]) is (
        MIRRORS
    )
    assert site_for_urls(["https://notboard.example/"], [BOARD]) is None
    with pytest.raises(ValueError, match=re.escape("board: https://board.example/1; mirrors")):
        site_for_urls(["https://board.example/1", "https://m1.example/2"], [BOARD, MIRRORS])


def test_a_check_keeps_the_sites_rules_but_follows_no_link():
    urls = ["https://board.example/p/1", "https://board.example/p/2"]
    checked = check_config(urls, BOARD)
    assert checked.start_urls == urls and checked.follow.max_depth == 0
    assert checked.follow.max_pages == 2
    assert (checked.name, checked.render, checked.download_delay) == ("board", "browser", 2.5)
    assert checked.schedule is None and checked.search is None
    assert checked.source == BOARD.source

    default = check_config(["http://10.0.0.5/p"], None)
    assert default.name == MANUAL_SITE and default.render == "html"
    assert not default.allow_private_network
    assert check_config(
        ["http://10.0.0.5/p"], None, allow_private_network=True
    ).allow_private_network
    with pytest.raises(ValueError, match="ftp://x"):
        check_config(["ftp://x/"], None)
