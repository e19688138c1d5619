"""The project's settings as settings/__init__.py defines them, for tests that need a complete
configuration: the defaults, never a value a test invents, and never the environment the tests
happen to run in (a developer's REPOSTWATCH_REDIS_URL must not leak into a web app test)."""

from __future__ import annotations

import os
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from unittest import mock

from settings import REPOSTWATCH_CHROMIUM
from tests.support.project import ROOT

SETTINGS_FILE = ROOT / "settings" / "__init__.py"
#: Variables the tests themselves read (never the product): kept in the environment.
TEST_PREFIX = "REPOSTWATCH_TEST_"
#: The Chromium that tests start, as the product finds it: REPOSTWATCH_CHROMIUM from the
#: environment, else the default of settings/__init__.py (the one place that default lives).
CHROMIUM: str = REPOSTWATCH_CHROMIUM


@contextmanager
def _without_project_environment() -> Iterator[None]:
    """The environment with every REPOSTWATCH_* variable but the tests' own removed, then back."""
    kept = {k: v for k, v in os.environ.items() if not _is_project_variable(k)}
    with mock.patch.dict(os.environ, kept, clear=True):
        yield


def _is_project_variable(name: str) -> bool:
    return name.startswith("REPOSTWATCH_") and not name.startswith(TEST_PREFIX)


@cache
def _evaluated() -> dict[str, Any]:
    with _without_project_environment():
        return runpy.run_path(str(SETTINGS_FILE))


def default_settings() -> dict[str, Any]:
    """Every upper-case setting of settings/__init__.py with its default (no variable set)."""
    return {name: value for name, value in _evaluated().items() if name.isupper()}


#: The web app's language in tests that read its English text (the product's default is Korean:
#: tests/review/test_i18n.py renders every page in both, and checks that default).
TEST_WEB_LANGUAGE = {"REPOSTWATCH_LOCALE": "en"}
#: The commands' language in tests (tests/conftest.py sets it for every process the suite starts):
#: English, the text tests assert; tests/cli/test_language.py clears it to read the Korean default.
TEST_CLI_LANGUAGE = {"REPOSTWATCH_CLI_LANG": "en"}


def default_web_config(**overrides: Any) -> dict[str, Any]:
    """A complete config for ``create_app``: every key it reads at its project default but the
    language (:data:`TEST_WEB_LANGUAGE`), then ``overrides`` (which must name keys the app reads,
    so that a typo cannot pass silently)."""
    from crawler.review.app import CONFIG_KEYS

    unknown = sorted(set(overrides) - set(CONFIG_KEYS))
    if unknown:
        raise KeyError(f"the web app reads no {', '.join(unknown)}; see crawler.review.CONFIG_KEYS")
    defaults = default_settings()
    return {key: defaults[key] for key in CONFIG_KEYS} | TEST_WEB_LANGUAGE | overrides
