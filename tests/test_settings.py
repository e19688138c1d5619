"""One source of settings: every REPOSTWATCH_* setting the code reads is defined in
settings/__init__.py, documented in the README, and read there without a fallback.

The idea is sqlite-utils' tests/test_docs.py (every command documented, checked by a test), applied
to settings. The code is walked as syntax trees, not text, so that a read is told from a mention in
a docstring or a message. A read is any of:

    settings.get("REPOSTWATCH_X")          and getint/getfloat/getbool/getlist/getdict, on anything
    config["REPOSTWATCH_X"]                current_app.config[...], os.environ[...]
    os.environ.get(...), os.getenv(...)    getattr(settings, "REPOSTWATCH_X")
    settings.REPOSTWATCH_X                 from settings import REPOSTWATCH_X

and a fallback is a default argument (``get(name, default)``, ``default=``) or an ``or`` after the
read (``settings.get(name) or 20``, ``str(config.get(name) or "")``): a second default that drifts
from the one in settings/__init__.py. settings/__init__.py itself is where defaults live.
Names only the tests read (REPOSTWATCH_TEST_*) are left out.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.project import ROOT
from tests.support.settings import SETTINGS_FILE, TEST_PREFIX, default_settings

WALKED = ("crawler", "spiders", "settings", "scripts")
README = ROOT / "README.md"
NAME = re.compile(r"REPOSTWATCH_[A-Z0-9_]+")
#: Methods that read a setting by name: Scrapy's Settings, dict.get, Flask's config.
READERS = frozenset({"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getenv"})


@dataclass(frozen=True)
class Read:
    """One read of a setting in the code."""

    path: str
    line: int
    name: str
    fallback: str  # "" when there is none; else what the fallback is ("`or`", "default argument")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.name}"


def _setting(node: ast.AST | None) -> str | None:
    is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
    if is_text and NAME.fullmatch(node.value) and not node.value.startswith(TEST_PREFIX):
        return node.value
    return None


def _read_name(node: ast.AST) -> tuple[str | None, str]:
    """The setting ``node`` reads, if it is a read, and its fallback argument if it has one."""
    if isinstance(node, ast.Call):
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if method in READERS and node.args:
            name = _setting(node.args[0])
            extra = len(node.args) > 1 or any(k.arg == "default" for k in node.keywords)
            return name, "default argument" if name and extra else ""
        if method == "getattr" and len(node.args) >= 2:
            name = _setting(node.args[1])
            return name, "default argument" if name and len(node.args) > 2 else ""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return _setting(node.slice), ""
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        return _setting(ast.Constant(node.attr)), ""
    return None, ""


def _or_after(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether the value read at ``node`` (converted or not: ``int(...)``, ``.strip()``) is
    followed by ``or <value>``."""
    child, parent = node, parents.get(node)
    while isinstance(parent, ast.Call | ast.Attribute | ast.Subscript):
        if isinstance(parent, ast.Subscript) and child is not parent.value:
            return False
        child, parent = parent, parents.get(parent)
    return (
        isinstance(parent, ast.BoolOp)
        and isinstance(parent.op, ast.Or)
        and child is not parent.values[-1]
    )


def reads_in(source: str, path: str) -> list[Read]:
    """Every read of a REPOSTWATCH_* setting in ``source`` (the file at ``path``)."""
    tree = ast.parse(source, filename=path)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if name := _setting(ast.Constant(alias.name)):
                    found.append(Read(path, node.lineno, name, ""))
            continue
        name, fallback = _read_name(node)
        if name is None:
            continue
        if not fallback and _or_after(node, parents):
            fallback = "`or` after the read"
        found.append(Read(path, node.lineno, name, fallback))
    return sorted(found, key=lambda read: (read.path, read.line, read.name))


@pytest.fixture(scope="module")
def reads() -> list[Read]:
    found = []
    for top in WALKED:
        for file in sorted((ROOT / top).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            found.extend(reads_in(file.read_text(encoding="utf-8"), path))
    assert found, f"no setting read found under {', '.join(WALKED)}: is the walk broken?"
    return found


def defined_settings() -> dict[str, str]:
    """Each name settings/__init__.py defines -> the setting holding its value: a REPOSTWATCH_*
    assignment holds itself, an environment variable the setting assigned from it
    (``LOG_LEVEL = os.environ.get("REPOSTWATCH_LOG_LEVEL", "INFO")``)."""
    defined = {}
    for node in ast.parse(SETTINGS_FILE.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if NAME.fullmatch(target.id):
                defined[target.id] = target.id
            for inner in ast.walk(node.value) if node.value else ():
                if name := _setting(inner):
                    defined.setdefault(name, target.id)
    return defined


def _table_rows(text: str) -> dict[str, str]:
    """README table rows whose first cell names a setting: name -> the row's second cell."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        for name in re.findall(r"`(REPOSTWATCH_[A-Z0-9_]+)`", cells[0]):
            if not name.startswith(TEST_PREFIX):
                rows[name] = cells[1]
    return rows


def documented_settings() -> dict[str, str]:
    """Settings in any README table: name -> its default cell."""
    return _table_rows(README.read_text(encoding="utf-8"))


def environment_table() -> dict[str, str]:
    """The rows of the README's "Environment variables" table: name -> its default cell."""
    text = README.read_text(encoding="utf-8")
    section = text.partition("\n## Environment variables\n")[2].partition("\n## ")[0]
    assert section, "README.md has no '## Environment variables' section"
    return _table_rows(section)


def _unknown(reads: list[Read], known: dict[str, str], problem: str) -> list[str]:
    """A line per read of a name that is not in ``known``."""
    return [f"{read}: {problem}" for read in reads if read.name not in known]


def test_every_setting_read_is_defined_in_settings(reads):
    problems = _unknown(
        reads,
        defined_settings(),
        "not defined in settings/__init__.py: give it its default there (one name per setting)",
    )
    assert not problems, "\n".join(problems)


def test_every_setting_is_documented_in_the_readme(reads):
    documented = documented_settings()
    missing = "not in a README table: add a row to 'Environment variables'"
    problems = _unknown(reads, documented, missing)
    problems += [
        f"settings/__init__.py: {name}: {missing}"
        for name in sorted(set(defined_settings()) - set(documented))
    ]
    assert not problems, "\n".join(problems)


def test_the_readme_documents_no_setting_that_does_not_exist():
    stale = sorted(set(documented_settings()) - set(defined_settings()))
    assert not stale, f"README.md documents {', '.join(stale)}, which settings/__init__.py lacks"


def test_no_setting_is_read_with_a_fallback(reads):
    home = SETTINGS_FILE.relative_to(ROOT).as_posix()  # where the defaults live
    problems = [
        f"{read}: read with a fallback ({read.fallback}): its default belongs in "
        "settings/__init__.py only; read it plainly"
        for read in reads
        if read.fallback and read.path != home
    ]
    assert not problems, "\n".join(problems)


def shown(value: object) -> str | None:
    """How the README's default column writes ``value``; None for a table (the row says it)."""
    if value is None:
        return "none"
    if value == "":
        return "unset"
    if isinstance(value, bool):
        return f"`{int(value)}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(ROOT):
        value = Path(value).relative_to(ROOT).as_posix()
    return f"`{value}`" if isinstance(value, str | int | float) else None


def test_the_readme_gives_each_default_as_settings_has_it():
    defined, values = defined_settings(), default_settings()
    wrong = []
    for name, cell in environment_table().items():
        expected = shown(values[defined[name]]) if name in defined else None
        if expected is not None and not cell.startswith(expected):
            wrong.append(f"{name}: the README says {cell!r}; settings/__init__.py: {expected}")
    assert not wrong, "\n".join(wrong)


SAMPLE = '''
"""REPOSTWATCH_IN_A_DOCSTRING is a mention, not a read."""
import os
from settings import REPOSTWATCH_IMPORTED

a = settings.getint("REPOSTWATCH_PLAIN")
b = settings.getint("REPOSTWATCH_DEFAULT", 16)
c = config.get("REPOSTWATCH_KEYWORD", default="x")
d = int(config.get("REPOSTWATCH_OR") or 20)
e = current_app.config["REPOSTWATCH_ITEM"]
f = os.environ.get("REPOSTWATCH_ENV") or DEFAULT
g = os.getenv("REPOSTWATCH_GETENV", "")
h = (settings.REPOSTWATCH_ATTRIBUTE or "").strip()
i = getattr(settings, "REPOSTWATCH_GETATTR", None)
j = x or settings.get("REPOSTWATCH_LAST")
settings["REPOSTWATCH_WRITTEN"] = 1
env = {"REPOSTWATCH_IN_A_DICT": "1", "k": os.environ["REPOSTWATCH_TEST_ONLY"]}
message = f"set REPOSTWATCH_IN_A_MESSAGE"
'''


def test_the_walk_finds_every_kind_of_read_and_fallback():
    found = {read.name: read.fallback for read in reads_in(SAMPLE, "sample.py")}
    assert found == {
        "REPOSTWATCH_IMPORTED": "",
        "REPOSTWATCH_PLAIN": "",
        "REPOSTWATCH_DEFAULT": "default argument",
        "REPOSTWATCH_KEYWORD": "default argument",
        "REPOSTWATCH_OR": "`or` after the read",
        "REPOSTWATCH_ITEM": "",
        "REPOSTWATCH_ENV": "`or` after the read",
        "REPOSTWATCH_GETENV": "default argument",
        "REPOSTWATCH_ATTRIBUTE": "`or` after the read",
        "REPOSTWATCH_GETATTR": "default argument",
        "REPOSTWATCH_LAST": "",
    }


def test_the_readme_default_column_is_read_as_written():
    assert shown(None) == "none" and shown("") == "unset" and shown(False) == "`0`"
    assert shown(2.0) == "`2`" and shown(0.5) == "`0.5`" and shown({"http": "x"}) is None
    assert shown(str(ROOT / "settings" / "sites")) == "`settings/sites`"


def test_the_video_alignment_settings_default_to_the_matchers_own_rule():
    """settings/ writes the alignment rule's defaults as numbers (importing the matcher there
    would load numpy, Pillow and OpenCV into every command); they must stay the matcher's."""
    from crawler.matching import video

    defaults = default_settings()
    assert (
        defaults["REPOSTWATCH_VIDEO_MIN_ALIGNED_FRAMES"],
        defaults["REPOSTWATCH_VIDEO_MIN_ALIGNED_SECONDS"],
        defaults["REPOSTWATCH_VIDEO_SPARSE_ALIGNED_FRAMES"],
        defaults["REPOSTWATCH_VIDEO_SPARSE_ALIGNED_SECONDS"],
    ) == (
        video.DEFAULT_MIN_FRAMES,
        video.DEFAULT_MIN_SECONDS,
        video.DEFAULT_SPARSE_FRAMES,
        video.DEFAULT_SPARSE_SECONDS,
    )
