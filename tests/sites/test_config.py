import re
from pathlib import Path

import pytest

from crawler.sites import SiteConfigError, find_site, load_site, parse_site, resolve_site
from tests.support.project import ROOT

MINIMAL = 'name = "board"\nstart_urls = ["https://board.example/gallery?page=1"]\n'


def test_minimal_site_file_gets_defaults():
    config = parse_site(MINIMAL, "settings/sites/board.toml")
    assert config.domains == ["board.example"]
    assert config.render == "html"
    assert config.allow_private_network is False
    assert config.follow.max_depth == 5 and config.follow.max_pages == 1000
    assert config.source == "settings/sites/board.toml"


def test_every_problem_names_the_file_and_the_key():
    text = (
        'name = "board"\nstart_urls = ["https://ok.example/", "ftp://bad"]\n'
        'colour = "red"\nrender = "pdf"\n[follow]\nallow = ["ok", "(unclosed"]\nmax_depth = -1\n'
    )
    with pytest.raises(SiteConfigError) as raised:
        parse_site(text, "sites/board.toml")
    message = str(raised.value)
    assert "sites/board.toml: start_urls[1]: 'ftp://bad' is not an absolute http(s) URL" in message
    assert "sites/board.toml: colour: unknown key" in message
    assert "sites/board.toml: render:" in message
    assert "sites/board.toml: follow.allow[1]: '(unclosed' is not a valid regular expression" in (
        message
    )
    assert "sites/board.toml: follow.max_depth:" in message
    assert len(raised.value.problems) == 5


def test_missing_required_keys():
    with pytest.raises(SiteConfigError, match=r"start_urls: required key is missing"):
        parse_site('name = "board"\n', "board.toml")


def test_invalid_toml_says_where():
    with pytest.raises(SiteConfigError, match=r"x.toml: not valid TOML: .*line 1"):
        parse_site('name = "board" start_urls = []', "x.toml")


def test_name_must_match_file_name(tmp_path: Path):
    path = tmp_path / "other.toml"
    path.write_text(MINIMAL)
    with pytest.raises(SiteConfigError, match="differs from the file name"):
        load_site(path)


def test_unknown_site_name_lists_the_known_ones(tmp_path: Path):
    (tmp_path / "board.toml").write_text(MINIMAL)
    assert find_site("board", tmp_path).name == "board"
    with pytest.raises(SiteConfigError, match=r"no site named 'nope'.*known sites: board"):
        resolve_site("nope", tmp_path)


def test_allowed_domains_must_be_host_names():
    text = MINIMAL + 'allowed_domains = ["https://board.example/"]\n'
    with pytest.raises(SiteConfigError, match=r"allowed_domains\[0\]: .* is not a host name"):
        parse_site(text, "board.toml")


def test_shipped_site_files_are_valid():
    sites_dir = ROOT / "settings" / "sites"
    files = sorted(sites_dir.glob("*.toml"))
    assert files, "the repository ships at least the demo site"
    for path in files:
        load_site(path)


def test_every_bad_start_url_is_named():
    text = 'name = "board"\nstart_urls = ["nope", "https://ok.example/", "ftp://x"]\n'
    with pytest.raises(
        SiteConfigError,
        match=r"start_urls: these are not absolute http\(s\) "
        r"URLs: \[0\] 'nope', \[2\] 'ftp://x'",
    ):
        parse_site(text, "board.toml")


def test_wildcards_and_quoted_booleans_are_refused():
    text = MINIMAL + 'allowed_domains = ["*.board.example"]\nallow_private_network = "yes"\n'
    with pytest.raises(SiteConfigError) as raised:
        parse_site(text, "board.toml")
    assert "allowed_domains[0]: '*.board.example' is not a host name" in str(raised.value)
    assert "allow_private_network: must be true or false" in str(raised.value)


def test_start_url_outside_allowed_domains_would_never_be_crawled():
    text = MINIMAL + 'allowed_domains = ["cdn.example"]\n'
    with pytest.raises(SiteConfigError, match=r"start_urls\[0\]: host 'board.example' is not in"):
        parse_site(text, "board.toml")
    assert parse_site(MINIMAL + 'allowed_domains = ["example"]\n', "board.toml")


def test_follow_must_be_a_table():
    with pytest.raises(SiteConfigError, match=r"follow: must be a table"):
        parse_site(MINIMAL + 'follow = "yes"\n', "board.toml")
    with pytest.raises(SiteConfigError, match=r'render: must be "html" or "browser"'):
        parse_site(MINIMAL + 'render = "javascript"\n', "board.toml")


def test_a_missing_sites_directory_is_an_error(tmp_path):
    from crawler.sites import site_files

    with pytest.raises(SiteConfigError, match="no such directory"):
        site_files(tmp_path / "nope")


def test_browser_rendering_gets_defaults():
    config = parse_site(MINIMAL + 'render = "browser"\n', "board.toml")
    assert config.render == "browser" and config.browser is None
    options = config.browser_options
    assert options.wait_for is None and options.wait_timeout == 10.0
    assert options.scroll == 0 and options.scroll_pause == 0.5
    assert options.click == [] and options.block == ["font"]
    assert "google-analytics.com" in options.block_hosts
    assert parse_site(MINIMAL, "board.toml").browser_options == options


def test_browser_table_keys():
    text = MINIMAL + (
        'render = "browser"\n[browser]\nwait_for = "#gallery img"\nwait_timeout = 20\n'
        'scroll = 10\nscroll_pause = 1.5\nclick = "button.enter"\nblock = ["font", "stylesheet"]\n'
        'block_hosts = ["Ads.Example"]\n'
    )
    options = parse_site(text, "board.toml").browser_options
    assert options.wait_for == "#gallery img" and options.wait_timeout == 20.0
    assert options.scroll == 10 and options.scroll_pause == 1.5
    assert options.click == ["button.enter"]  # one selector or a list
    assert options.block == ["font", "stylesheet"]
    assert options.block_hosts == ["ads.example"]  # replaces the default list


def test_every_browser_problem_names_the_key():
    text = MINIMAL + (
        'render = "browser"\n[browser]\nwait_for = "div["\nwait_timeout = 0\nscroll = 500\n'
        'click = ["#ok", "a[href"]\nblock = ["image"]\nblock_hosts = ["https://ads.example/"]\n'
        "colour = 1\n"
    )
    with pytest.raises(SiteConfigError) as raised:
        parse_site(text, "sites/board.toml")
    message = str(raised.value)
    assert "sites/board.toml: browser.wait_for: 'div[' is not a valid CSS selector" in message
    assert "sites/board.toml: browser.wait_timeout: Input should be greater than or equal" in (
        message
    )
    assert "sites/board.toml: browser.scroll: Input should be less than or equal to 200" in message
    assert "sites/board.toml: browser.click[1]: 'a[href' is not a valid CSS selector" in message
    assert "sites/board.toml: browser.block[0]: 'image' cannot be blocked" in message
    assert "sites/board.toml: browser.block_hosts[0]: 'https://ads.example/' is not a host" in (
        message
    )
    assert "sites/board.toml: browser.colour: unknown key" in message
    assert len(raised.value.problems) == 7


def test_block_takes_resource_types_only():
    for kind, why in [("document", "it is the page itself"), ("fonts", "not a resource type")]:
        text = MINIMAL + f'render = "browser"\n[browser]\nblock = ["{kind}"]\n'
        with pytest.raises(SiteConfigError, match=rf"browser.block\[0\]: '{kind}' .*{why}"):
            parse_site(text, "board.toml")


def test_browser_table_needs_browser_rendering():
    with pytest.raises(
        SiteConfigError, match=r"board.toml: browser: the \[browser\] table is only used with"
    ):
        parse_site(MINIMAL + "[browser]\nscroll = 3\n", "board.toml")
    with pytest.raises(SiteConfigError, match=r"browser: must be a table, e.g. \[browser\]"):
        parse_site(MINIMAL + 'render = "browser"\nbrowser = true\n', "board.toml")


def test_not_obeying_robots_needs_a_reason():
    with pytest.raises(SiteConfigError, match=r"board.toml: robots_reason: required when"):
        parse_site(MINIMAL + "obey_robots = false\n", "board.toml")
    config = parse_site(
        MINIMAL + 'obey_robots = false\nrobots_reason = "court order 2026-113"\n'
        'user_agent = "RepostWatch-SeoulCentre/1.0"\nautothrottle = false\n',
        "board.toml",
    )
    assert not config.obey_robots and not config.autothrottle
    assert config.user_agent == "RepostWatch-SeoulCentre/1.0"


# --- [search] ---------------------------------------------------------------------------------
def test_search_table_defaults():
    config = parse_site(
        MINIMAL + '[search]\nurl = "https://board.example/s?q={query}"\n', "board.toml"
    )
    search = config.search
    assert search.url == "https://board.example/s?q={query}" and search.form_url is None
    assert search.encoding is None  # UTF-8 for a URL, the form page's own for a form
    assert search.next_page == 'a[rel~="next"]' and search.max_result_pages == 5
    assert search.result_links is None and search.follow_depth == 1
    assert parse_site(MINIMAL, "board.toml").search is None


def test_search_form_keys():
    text = MINIMAL + (
        '[search]\nform_url = "https://board.example/bbs/search.php"\n'
        'form_selector = "form[name=fsearch]"\nfield = "stx"\nencoding = "EUC-KR"\n'
        'next_page = "a.pg_next"\nmax_result_pages = 3\nresult_links = "#list"\nfollow_depth = 0\n'
    )
    search = parse_site(text, "board.toml").search
    assert (search.form_url, search.form_selector, search.field) == (
        "https://board.example/bbs/search.php",
        "form[name=fsearch]",
        "stx",
    )
    assert search.encoding == "euc_kr" and search.next_page == "a.pg_next"
    assert (search.max_result_pages, search.result_links, search.follow_depth) == (3, "#list", 0)


def test_every_search_problem_names_the_key():
    text = MINIMAL + (
        '[search]\nurl = "https://board.example/s?q="\nencoding = "klingon"\nnext_page = "a["\n'
        'result_links = ""\nmax_result_pages = 0\nfollow_depth = 9\ncolour = 1\n'
    )
    with pytest.raises(SiteConfigError) as raised:
        parse_site(text, "sites/board.toml")
    message = str(raised.value)
    assert "sites/board.toml: search.url: 'https://board.example/s?q=' must contain {query}" in (
        message
    )
    assert "sites/board.toml: search.encoding: 'klingon' is not a known text encoding" in message
    assert "sites/board.toml: search.next_page: 'a[' is not a valid CSS selector" in message
    assert "sites/board.toml: search.result_links: must be a CSS selector, not empty" in message
    assert "sites/board.toml: search.max_result_pages: Input should be greater than" in message
    assert "sites/board.toml: search.follow_depth: Input should be less than or equal to 5" in (
        message
    )
    assert "sites/board.toml: search.colour: unknown key" in message
    assert len(raised.value.problems) == 7


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("", "search: give url (a GET template with {query}) or form_url and field"),
        (
            'url = "https://board.example/s?q={query}"\nform_url = "https://board.example/f"\n',
            "search: give url or form_url, not both",
        ),
        ('form_url = "https://board.example/f"\n', "search: form_url needs field"),
        (
            'url = "https://board.example/s?q={query}"\nfield = "q"\n',
            "search: field and form_selector are only used with form_url",
        ),
        (
            'url = "https://board.example/{query}/{query}"\n',
            "search.url: 'https://board.example/{query}/{query}' must contain {query} exactly once",
        ),
        (
            'url = "https://board.example/s?q={query}&p={page}"\n',
            "search.url: 'https://board.example/s?q={query}&p={page}': only {query} may appear",
        ),
        ('url = "/search?q={query}"\n', "search.url: '/search?q=x' is not an absolute http(s)"),
        (
            'url = "https://elsewhere.example/s?q={query}"\n',
            "search.url: host 'elsewhere.example' is not one of the site's domains",
        ),
        (
            'form_url = "https://elsewhere.example/f"\nfield = "q"\n',
            "search.form_url: host 'elsewhere.example' is not one of the site's domains",
        ),
    ],
)
def test_search_needs_one_way_to_search_on_the_site(table, problem):
    with pytest.raises(SiteConfigError) as raised:
        parse_site(MINIMAL + "[search]\n" + table, "sites/board.toml")
    assert f"sites/board.toml: {problem}" in str(raised.value)


def test_embeds_table_errors_name_file_key_and_problem():
    base = 'name = "tube"\nstart_urls = ["https://tube.example/"]\n'
    cases = {
        '[embeds]\nallow = ["https://player.example/"]': (
            "tube.toml: embeds.allow[0]: 'https://player.example/' is not a host name"
        ),
        '[embeds]\nallow = ["p.example"]\ndeny = ["P.example"]': (
            "tube.toml: embeds: 'p.example' is in both allow and deny"
        ),
        "[embeds]\nmax_per_page = 0": "tube.toml: embeds.max_per_page: ",
        '[embeds]\nfollow = "no"': "tube.toml: embeds.follow: must be true or false",
        'render = "browser"\n[browser]\nplay = ["#go", "a["]': "tube.toml: browser.play[1]: ",
        'render = "browser"\n[browser]\nplayer_wait = 61': "tube.toml: browser.player_wait: ",
    }
    for text, problem in cases.items():
        with pytest.raises(SiteConfigError) as error:
            parse_site(base + text, "tube.toml")
        assert str(error.value).startswith(problem), str(error.value)


def test_embeds_allow_and_deny_cover_subdomains():
    text = (
        'name = "tube"\nstart_urls = ["https://tube.example/"]\n'
        '[embeds]\nallow = ["player.example"]\ndeny = ["ads.player.example"]\n'
    )
    embeds = parse_site(text, "tube.toml").embeds_options
    assert embeds.admits("player.example") and embeds.admits("CDN.player.example")
    assert not embeds.admits("ads.player.example") and not embeds.admits("x.ads.player.example")
    assert not embeds.admits("other.example")
    default = parse_site('name = "t"\nstart_urls = ["https://t.example/"]\n', "t.toml")
    assert default.embeds_options.follow and default.embeds_options.admits("anything.example")


def test_successor_urls_are_validated_and_numbered_after_the_start_url():
    base = 'name = "hop"\nstart_urls = ["https://www.site12.example/list"]\n'
    config = parse_site(
        base + 'successor_urls = ["https://www.site{n}.example/list", "https://m.example/"]'
    )
    assert config.successor_candidates(2) == [
        "https://www.site13.example/list",
        "https://www.site14.example/list",
        "https://m.example/",
    ]
    for value, problem in (
        (
            '["site13.example"]',
            "successor_urls[0]: 'site13.example' is not an absolute http(s) URL",
        ),
        ('["https://s{m}.example/"]', "only {n} may stand in a successor URL"),
        ('["https://board{n}.example/"]', "matches no start URL's host"),
    ):
        with pytest.raises(SiteConfigError, match=re.escape(problem)):
            parse_site(base + f"successor_urls = {value}")
