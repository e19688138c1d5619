"""The example site files load, and the README documents every site-file key.

The README's "## Site files" section must name every key of SiteConfig, walked recursively
through its tables: a top-level key as `` `key` ``, a table as `` `[table]` `` and a key of a table
as `` `table.key` `` (the form of the "Every key" table). A key added to crawler/sites.py without
its README row fails here.
"""

from __future__ import annotations

import re
import types
import typing

import pytest
from pydantic import BaseModel

from crawler.sites import SiteConfig, load_site
from tests.support.project import ROOT

EXAMPLES = ROOT / "docs" / "site-examples"
REQUIRED_EXAMPLES = {
    "static-gallery.toml",
    "javascript-gallery.toml",
    "searchable-site.toml",
    "video-tube.toml",
}


def _tables(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (``BrowserConfig | None`` -> [BrowserConfig])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [model for arg in typing.get_args(annotation) for model in _tables(arg)]
    return []


def site_file_keys(model: type[BaseModel] = SiteConfig, prefix: str = "") -> list[str]:
    """Every key a site file may hold, tables as ``[name]`` and their keys as ``name.key``."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        if field.exclude:  # set by the loader, not a key in the file (``source``)
            continue
        tables = _tables(field.annotation)
        if tables:
            keys.append(f"[{prefix}{name}]")
            for table in tables:
                keys += site_file_keys(table, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _site_files_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Site files")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else len(readme)]


def test_the_walk_finds_nested_keys():
    keys = site_file_keys()
    assert {"name", "start_urls", "[follow]", "follow.max_depth", "[browser]", "browser.click"} <= (
        set(keys)
    )
    assert "source" not in keys


def test_the_examples_named_in_the_readme_exist():
    missing = REQUIRED_EXAMPLES - {path.name for path in EXAMPLES.glob("*.toml")}
    assert missing == set(), f"docs/site-examples/ lacks {', '.join(sorted(missing))}"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda path: path.name)
def test_every_example_site_file_loads(path):
    config = load_site(path)  # raises SiteConfigError naming the file and the key
    assert config.name == path.stem
    assert config.source == str(path)


def test_the_javascript_example_renders_in_the_browser_and_the_static_one_does_not():
    assert load_site(EXAMPLES / "javascript-gallery.toml").render == "browser"
    assert load_site(EXAMPLES / "static-gallery.toml").render == "html"


def test_every_site_file_key_is_documented_in_the_readme():
    section = _site_files_section()
    missing = [key for key in site_file_keys() if not re.search(rf"`{re.escape(key)}`", section)]
    assert missing == [], (
        "README.md, ## Site files: document these site-file keys (a row in 'Every key', "
        f"written `table.key` for a key of a table): {', '.join(missing)}"
    )
