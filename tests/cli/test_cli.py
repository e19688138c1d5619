"""The CLI, through the real console script and a real database."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from crawler.cli import main
from tests.support.cli_runner import repostwatch
from tests.support.project import ROOT

#: Commands whose module is named otherwise (a module crawler/cli/db.py would read as crawler.db).
MODULES = {"db": "database", "refs": "references"}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_help_and_an_example():
    runner = CliRunner()
    for path, command in _commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert command.help, f"repostwatch {' '.join(path)} has no help text"
        if not isinstance(command, click.Group):
            assert "Example" in command.help, f"repostwatch {' '.join(path)} has no example"


def test_every_command_has_a_module_of_its_own_and_a_row_in_the_readme():
    modules = {path.stem for path in (ROOT / "crawler" / "cli").glob("*.py")}
    helpers = {"__init__", "common", "helptext", "language"}
    assert modules - helpers == {MODULES.get(name, name) for name in main.commands}
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n### Commands\n", 1)[1].split("\n### ", 1)[0]
    for name, command in main.commands.items():
        assert command.callback.__module__ == f"crawler.cli.{MODULES.get(name, name)}", name
        assert f"| `repostwatch {name}" in table, f"the README's Commands table has no {name}"


def test_a_database_without_migrations_is_one_clear_error(tmp_path):
    (tmp_path / "new.db").touch()  # there, but never migrated
    env = {"REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    for args in (("flags", "list"), ("crawl", "demo"), ("refs", "export")):
        result = repostwatch(*args, env=env, check=False)
        assert result.returncode == 1, args
        assert "has no tables yet" in result.stderr and "repostwatch db upgrade" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_mistyped_sqlite_url_creates_no_file(tmp_path, refused_port):
    typo = tmp_path / "vra" / "repostwatch.db"
    env = {
        "REPOSTWATCH_DATABASE_URL": f"sqlite:///{typo}",
        "REPOSTWATCH_SCRAPYD_URLS": f"http://ops:s3cret@127.0.0.1:{refused_port()}/",
    }
    for args in (("flags", "list"), ("crawls", "list"), ("status",)):
        result = repostwatch(*args, env=env, check=False)
        said = result.stdout + result.stderr  # status prints its report on stdout
        assert result.returncode == 1, args
        assert f"the database {typo} does not exist" in said, args
        assert "repostwatch db upgrade" in said and "Traceback" not in said
    assert not typo.parent.exists()  # neither the file nor its directory was made


def test_a_bad_database_url_is_one_clear_error(tmp_path):
    result = repostwatch(
        "flags", "list", env={"REPOSTWATCH_DATABASE_URL": "mysql://x/y"}, check=False
    )
    assert result.returncode == 1
    assert "unsupported database 'mysql'" in result.stderr and "Traceback" not in result.stderr
    down = "postgresql://repostwatch:repostwatch@127.0.0.1:1/x?connect_timeout=2"
    result = repostwatch("flags", "list", env={"REPOSTWATCH_DATABASE_URL": down}, check=False)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.any_database
def test_bad_environment_values_and_missing_deciders_are_clear_errors(env):
    bad = repostwatch(
        "flags", "list", env={**env, "REPOSTWATCH_MEDIA_MAXSIZE": "64MiB"}, check=False
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "REPOSTWATCH_MEDIA_MAXSIZE='64MiB' is not a whole number" in bad.stderr
    nobody = repostwatch("flags", "decide", "1", "confirm", "--by", "  ", env=env, check=False)
    assert nobody.returncode == 2 and "say who decides with --by NAME" in nobody.stderr


def test_tables_line_up_with_korean_text():
    from crawler.cli.common import display_width, table

    header, _, korean, latin = table(("CASE", "N"), [("사건-1", 1), ("case-22", 2)]).splitlines()
    # The second column starts at the same terminal column on every line.
    starts = {display_width(line[: line.rindex(" ") + 1]) for line in (header, korean, latin)}
    assert starts == {9}


#: Run the console script's main() with the arguments given, then write down which top-level
#: packages were imported and how many passwords were hashed (argon2), to $IMPORTED.
_IMPORT_PROBE = """
import atexit, json, os, sys
import argon2
hashed = []
hash_password = argon2.PasswordHasher.hash
def counted(*args, **kwargs):
    hashed.append(1)
    return hash_password(*args, **kwargs)
argon2.PasswordHasher.hash = counted
def report():
    with open(os.environ["IMPORTED"], "w") as out:
        json.dump({"packages": sorted({name.split(".")[0] for name in sys.modules}),
                   "hashed": len(hashed)}, out)
atexit.register(report)
from crawler.cli import main
sys.argv[0] = "repostwatch"
main()
"""
#: What only crawling, migrating, hashing media or sealing evidence needs.
HEAVY = {"scrapy", "twisted", "alembic", "cv2", "numpy", "PIL", "scipy", "cryptography", "nacl"}


def test_commands_that_only_read_the_database_load_no_crawler_migrations_or_hashing(tmp_path):
    """Every command pays for what it imports (the tests run hundreds of them): listing
    notices, flags, users or cases, or exporting a hash list, imports no Scrapy (settings are
    read without it), no Alembic (the revision check reads the version table), no image
    libraries (crawler.hashing loads its parts when used) and no ciphers, and hashes no
    password when the database layer is imported."""
    import json

    from crawler.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'repostwatch.db'}"
    upgrade(url)
    report = tmp_path / "imported.json"
    env = {**os.environ, "REPOSTWATCH_DATABASE_URL": url, "IMPORTED": str(report)}
    for args in (
        ["notices", "list"],
        ["flags", "list"],
        ["users", "list"],
        ["cases", "list"],
        ["refs", "export"],
    ):
        run = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, (args, run.stderr[-3000:])
        imported = json.loads(report.read_text())
        assert HEAVY.isdisjoint(imported["packages"]), (args, HEAVY & set(imported["packages"]))
        assert imported["hashed"] == 0, args
