"""The CLI, through the real console script and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.demo import samples
from tests.support.cli_runner import repostwatch


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


@pytest.fixture
def env(database_url, tmp_path):
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(tmp_path)}
    out = repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    assert "is at revision" in out.stdout
    return env


def test_refs_add_stores_hashes_only_and_is_idempotent(env, tmp_path):
    photo = samples.photo_path("astronaut")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    first = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    assert "1 file(s) added (6 hashes)" in first.stdout
    again = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    # The withdrawn references are the file's; adding the file again brings them back.
    withdrawn = repostwatch("refs", "withdraw", "--case", "case-1", photo, env=env)
    assert "6 hash(es) withdrawn" in withdrawn.stdout
    assert repostwatch("refs", "export", env=env).stdout == "algorithm,hash,case,quality\n"
    back = repostwatch("refs", "add", "--case", "case-1", photo, env=env, cwd=tmp_path)
    assert "1 file(s) added (6 hashes)" in back.stdout
    assert "0 file(s) added (0 hashes), 1 already registered" in again.stdout
    rows = json.loads(repostwatch("refs", "export", "--format", "json", env=env).stdout)
    assert sorted(r["algorithm"] for r in rows) == [
        "crhash",
        "md5",
        "pdq",
        "pdq",
        "phash",
        "sha256",
    ]
    assert all(r["case"] == "case-1" for r in rows)
    # Nothing new was written next to the database but the database itself.
    after = sorted(p.name for p in tmp_path.rglob("*"))
    assert set(after) - set(before) <= {
        "repostwatch.db",
        "repostwatch.db-wal",
        "repostwatch.db-shm",
    }


def test_refs_add_skips_files_that_are_not_media(env, tmp_path):
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    out = repostwatch("refs", "add", "--case", "c", note, env=env, cwd=tmp_path)
    assert "0 file(s) added" in out.stdout and "1 skipped" in out.stdout
    assert "skipped" in out.stderr and "notes.txt" in out.stderr


def test_refs_import_is_all_or_nothing(env, tmp_path):
    good = "pdq," + "ab" * 32 + ",case-7\n"
    bad = tmp_path / "partner.csv"
    bad.write_text("algorithm,hash,case\n" + good + "phash,xyz,case-7\n")
    result = repostwatch("refs", "import", bad, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "partner.csv: line 3: 'xyz' is not a phash hash" in result.stderr
    assert repostwatch("refs", "export", env=env).stdout == "algorithm,hash,case,quality\n"

    bad.write_text("algorithm,hash,case\n" + good)
    assert "Imported 1 hash(es)" in repostwatch("refs", "import", bad, env=env).stdout
    assert "0 hash(es); 1 were already" in repostwatch("refs", "import", bad, env=env).stdout
    exported = repostwatch("refs", "export", "--case", "case-7", env=env).stdout
    assert exported.splitlines()[1] == "pdq," + "ab" * 32 + ",case-7,"


def test_sites_check_names_file_key_and_problem(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nstart_urls = ["nope"]\nrender = 3\n')
    listing = repostwatch("sites", "list", env=env).stdout
    assert "good" in listing and "INVALID" in listing
    assert "good.toml: ok" in repostwatch("sites", "check", "good", env=env).stdout
    result = repostwatch("sites", "check", env=env, check=False)
    assert result.returncode == 1
    assert "bad.toml: start_urls[0]: 'nope' is not an absolute http(s) URL" in result.stderr
    assert "bad.toml: render:" in result.stderr
    assert "1 of 2 site file(s) have problems" in result.stderr


def test_flags_decide_unknown_id_is_a_clear_error(env):
    result = repostwatch("flags", "decide", "999", "confirm", env=env, check=False)
    assert result.returncode == 1
    assert "no flag with id 999" in result.stderr
    assert repostwatch("flags", "list", env=env).stdout.strip() == "No flags."


def test_crawl_of_unknown_site_lists_known_sites(env, tmp_path):
    (tmp_path / "good.toml").write_text('name = "good"\nstart_urls = ["https://a.example/"]\n')
    result = repostwatch("crawl", "nope", env=env, check=False)
    assert result.returncode == 1
    assert "no site named 'nope'" in result.stderr and "known sites: good" in result.stderr


def test_flags_replay_with_nothing_spilled(env, tmp_path):
    spill = tmp_path / "spill.jsonl"
    spill.write_text("")
    out = repostwatch("flags", "replay", spill, env=env)
    assert f"Replayed 0 match(es) from {spill}." in out.stdout


def test_a_database_without_migrations_is_one_clear_error(tmp_path):
    env = {"REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    for args in (("flags", "list"), ("crawl", "demo"), ("refs", "export")):
        result = repostwatch(*args, env=env, check=False)
        assert result.returncode == 1, args
        assert "has no tables yet" in result.stderr and "repostwatch db upgrade" in result.stderr
        assert "Traceback" not in result.stderr


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


def test_bad_environment_values_and_missing_deciders_are_clear_errors(env):
    bad = repostwatch(
        "flags", "list", env={**env, "REPOSTWATCH_MEDIA_MAXSIZE": "64MiB"}, check=False
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "REPOSTWATCH_MEDIA_MAXSIZE='64MiB' is not a whole number" in bad.stderr
    nobody = repostwatch("flags", "decide", "1", "confirm", "--by", "  ", env=env, check=False)
    assert nobody.returncode == 2 and "say who decides with --by NAME" in nobody.stderr


def test_flags_replay_of_a_missing_file_is_an_error(env, tmp_path):
    result = repostwatch("flags", "replay", tmp_path / "nope.jsonl", env=env, check=False)
    assert result.returncode == 1 and "no such file" in result.stderr


def test_tables_line_up_with_korean_text():
    from crawler.cli.common import display_width, table

    header, _, korean, latin = table(("CASE", "N"), [("사건-1", 1), ("case-22", 2)]).splitlines()
    # The second column starts at the same terminal column on every line.
    starts = {display_width(line[: line.rindex(" ") + 1]) for line in (header, korean, latin)}
    assert starts == {9}
