"""One rule for Chromium's sandbox, for crawls, screenshots and PDF exports: off for root only."""

from __future__ import annotations

import os
import runpy
from unittest import mock

import pytest

from crawler.browser import launch
from crawler.browser.launch import SWITCHES, chromium_args
from tests.support.settings import SETTINGS_FILE


@pytest.mark.parametrize(("euid", "sandboxed"), [(1000, True), (0, False)])
def test_the_sandbox_is_off_for_root_only(euid, sandboxed):
    with mock.patch.object(launch.os, "geteuid", return_value=euid):
        args = chromium_args()
        settings = runpy.run_path(str(SETTINGS_FILE))
    assert ("--no-sandbox" not in args) is sandboxed
    assert [arg for arg in args if arg != "--no-sandbox"] == list(SWITCHES)
    # The crawl's browser follows the same rule.
    assert settings["PLAYWRIGHT_LAUNCH_OPTIONS"]["args"] == args


def test_screenshots_and_pdf_exports_launch_with_the_same_rule():
    """The worker that takes screenshots and prints PDFs carries no switch list of its own."""
    from crawler.takedown import exports, screenshot_browser, screenshots

    assert screenshot_browser.chromium_args is chromium_args
    for module in (exports, screenshots, screenshot_browser):
        assert not hasattr(module, "CHROMIUM_ARGS"), module.__name__
    assert os.geteuid() == 0 or "--no-sandbox" not in chromium_args()


def test_our_features_keep_playwrights_own():
    """Chromium reads only the last ``--enable-features``: ours must carry Playwright's too."""
    import re
    from pathlib import Path

    import playwright

    bundle = Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js"
    found = re.search(r"enabledFeatures = \(\) => \[(.*?)\]", bundle.read_text(), re.S)
    assert found, f"Playwright's enabled features not found in {bundle}: update this test"
    theirs = set(re.findall(r'"([A-Za-z0-9]+)"', found.group(1)))
    ours = [arg for arg in chromium_args() if arg.startswith("--enable-features=")]
    assert len(ours) == 1
    assert theirs <= set(ours[0].removeprefix("--enable-features=").split(",")) | {""}
    assert "NoReferrers" in ours[0]
