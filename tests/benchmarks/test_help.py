"""Every benchmark answers ``--help`` (argparse formats help texts with %: a default holding
"crop 10%" once made ``benchmarks.false_alarms --help`` crash)."""

from __future__ import annotations

import runpy
import sys

import pytest

from tests.support.project import ROOT

#: Benchmarks run as ``python -m benchmarks.NAME``: every module of the package with a main.
COMMANDS = [
    *sorted(
        f"benchmarks.{path.stem}"
        for path in (ROOT / "benchmarks").glob("*.py")
        if '__name__ == "__main__"' in path.read_text(encoding="utf-8")
    ),
    "benchmarks.reliability",
]


# runpy warns when a benchmark was imported by an earlier one (as benchmarks.video imports
# benchmarks.video_index); each still runs as __main__.
@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")
@pytest.mark.parametrize("command", COMMANDS)
def test_every_benchmark_answers_help(command, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [command, "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module(command, run_name="__main__", alter_sys=True)
    assert done.value.code in (0, None)
    assert "usage:" in capsys.readouterr().out
