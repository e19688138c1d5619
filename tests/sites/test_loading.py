"""load_sites/find_site over a source of stored sites (the database's shape, without one): the
same validation and messages as a site file's, and the site files while the source is empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sites import SiteConfigError, configured_sites, find_site, load_sites

GOOD = 'name = "good"\nstart_urls = ["https://good.example/"]\n'
BAD = 'name = "bad"\nstart_urls = ["nope"]\n'


class Stored:
    """A SiteSource holding ``texts`` (None: holds no site)."""

    description = "the database"

    def __init__(self, texts: dict[str, str] | None, sites_dir: Path | str = ""):
        self.texts = texts
        self.sites_dir = sites_dir

    def site_texts(self) -> dict[str, str] | None:
        return self.texts

    def origin(self, name: str) -> str:
        return f"database:{name}"


def test_stored_sites_are_validated_like_files_and_name_their_origin():
    loaded = load_sites(Stored({"good": GOOD, "bad": BAD}))
    assert list(loaded.sites) == ["good"] and loaded.sites["good"].source == "database:good"
    (invalid,) = loaded.invalid
    assert (invalid.name, invalid.origin, invalid.stored) == ("bad", "database:bad", True)
    assert str(invalid.error) == (
        "database:bad: start_urls[0]: 'nope' is not an absolute http(s) URL"
    )


def test_a_stored_site_is_found_by_name_and_an_unknown_one_names_the_known(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD.replace("good.example", "file.example"))
    source = Stored({"good": GOOD}, tmp_path)
    assert find_site("good", source).start_urls == ["https://good.example/"]  # not the file's
    with pytest.raises(SiteConfigError, match=r"no site named 'other' in the database \(known"):
        find_site("other", source)
    # A path is always its file.
    assert find_site(str(tmp_path / "good.toml"), source).start_urls[0] == "https://file.example/"


def test_a_stored_text_must_keep_its_sites_name():
    with pytest.raises(SiteConfigError, match="name: 'good' differs from the site's name 'old'"):
        find_site("old", Stored({"old": GOOD}))


def test_an_empty_source_reads_the_site_files(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD)
    source = Stored(None, tmp_path)
    loaded = load_sites(source)
    assert list(loaded.sites) == ["good"] and loaded.origin == str(tmp_path)
    assert find_site("good", source).source == str(tmp_path / "good.toml")


def test_the_settings_choose_the_source(tmp_path):
    files = {"REPOSTWATCH_SITES_DIR": str(tmp_path), "REPOSTWATCH_SITES_SOURCE": ""}
    assert configured_sites(files) == str(tmp_path)
    database = {
        **files,
        "REPOSTWATCH_SITES_SOURCE": "crawler.db.sites.DatabaseSites.from_settings",
        "REPOSTWATCH_DATABASE_URL": "sqlite:///nowhere.db",
    }
    source = configured_sites(database)
    assert (source.database_url, source.sites_dir) == ("sqlite:///nowhere.db", str(tmp_path))
    with pytest.raises(ValueError, match="names no importable object"):
        configured_sites({**files, "REPOSTWATCH_SITES_SOURCE": "no_such_module.thing"})
