"""Run the real ``repostwatch`` console script in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))


def repostwatch(
    *args: object,
    env: dict[str, str],
    cwd: Path | str | None = None,
    check: bool = True,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "REPOSTWATCH_HASH_WORKERS": "2", **env}
    result = subprocess.run(
        [REPOSTWATCH, *map(str, args)],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"repostwatch {' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


def migrated_environment(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    """The console script's environment for a test: ``database_url`` (a SQLite file in
    ``tmp_path`` by default) migrated to head, and an empty ``tmp_path/sites`` for site files."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {
        "REPOSTWATCH_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'repostwatch.db'}",
        "REPOSTWATCH_SITES_DIR": str(sites_dir),
    }
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    return env


def flags_json(env: dict[str, str], cwd: Path | str) -> list[dict]:
    """The flags as `repostwatch flags list --json` prints them."""
    return json.loads(repostwatch("flags", "list", "--json", env=env, cwd=cwd).stdout)
