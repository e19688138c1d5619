"""A board with known matches, the environment of a crawl of it, and its flags.

Listing pages link to each other and show two JPEGs each, made from the photos bundled with
scikit-image; every fifth image is a resized, re-encoded copy of one of the case's reference
photos, so the board holds a known set of media that must be flagged, and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from crawler.demo import samples
from crawler.demo.localsite import Route, html

REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))
CASE = "case-reliability"
REFERENCES = ("astronaut", "coffee", "chelsea", "rocket")
UNRELATED = ("camera", "coins", "moon", "hubble", "motorcycle", "retina")
SITE = "board"


@dataclass(frozen=True)
class Board:
    routes: dict[str, Route]
    #: Media paths that must be flagged.
    matches: frozenset[str]

    @property
    def media(self) -> int:
        return sum(path.startswith("/img/") for path in self.routes)


def board(pages: int = 60) -> Board:
    references = [samples.load_photo(name) for name in REFERENCES]
    unrelated = [samples.load_photo(name) for name in UNRELATED]
    routes = {"/": html('<!doctype html><a href="/list/0">start</a>')}
    matches = set()
    for i in range(pages):
        links = "".join(f'<a href="/list/{j}">{j}</a>' for j in ((i + 1) % pages, i * 7 % pages))
        images = ""
        for k in range(2):
            n = 2 * i + k
            path = f"/img/{i}-{k}.jpg"
            scale = 0.5 - 0.002 * (n % 40)  # every file a little different
            if n % 5 == 0:
                photo = references[n // 5 % len(references)]
                matches.add(path)
            else:
                photo = unrelated[n % len(unrelated)]
            body = samples.encode(samples.resized(photo, scale), "JPEG", quality=75 + n % 10)
            routes[path] = Route(body, "image/jpeg")
            images += f'<img src="{path}">'
        routes[f"/list/{i}"] = html(f"<!doctype html><title>{i}</title>{images}{links}")
    return Board(routes, frozenset(matches))


def site_file(base_url: str, pages: int, delay: float) -> str:
    return (
        f'name = "{SITE}"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f"download_delay = {delay}\nconcurrency = 4\nautothrottle = false\n"
        f"[follow]\nallow = ['/list/\\d+']\nmax_depth = {pages + 5}\nmax_pages = {pages + 10}\n"
    )


def environment(tmp: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of every command of one trial: its own database, sites, spill file."""
    sites = tmp / "sites"
    sites.mkdir(exist_ok=True)
    return {
        **os.environ,
        "REPOSTWATCH_DATABASE_URL": database_url or f"sqlite:///{tmp}/reliability.db",
        "REPOSTWATCH_SITES_DIR": str(sites),
        "REPOSTWATCH_SPILL_FILE": str(tmp / "spill.jsonl"),
        "REPOSTWATCH_HASH_WORKERS": "1",
        "REPOSTWATCH_LOG_LEVEL": "WARNING",
        "REPOSTWATCH_DISTRIBUTED_PREFIX": f"rel-{uuid.uuid4().hex[:8]}",
        **extra,
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``command`` (a crawl) in a session of its own; its output is dropped and its log
    (stderr) written to the file ``log``.

    Never to a pipe: the benchmark waits for its crawls one after the other, and the pipe of a
    crawl it is not waiting for is not read meanwhile. Once full (64 KiB), the crawl stops in
    the middle of a log line, reactor and all; a distributed worker so stopped sends no
    heartbeat, and the others wait for it until they count it lost.
    """
    with log.open("wb") as stderr:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )


def run(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [REPOSTWATCH, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"repostwatch {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return result


def prepare(env: dict[str, str]) -> None:
    """Migrate the trial's database and register the case's reference photos."""
    run("db", "upgrade", env=env)
    run("refs", "add", "--case", CASE, *map(str, map(samples.photo_path, REFERENCES)), env=env)


def open_distributed_run(env: dict[str, str]) -> int:
    """Open a distributed run of the board, as the scheduler does before it hands out the
    workers' jobs; its id."""
    from scrapy.settings import Settings

    from crawler.distributed import open_run

    settings = Settings({key: value for key, value in env.items() if key.startswith("REPOST")})
    return open_run(settings, SITE)


def flags(env: dict[str, str]) -> list[str]:
    """The flagged media paths, one entry per flag row (so duplicates show)."""
    found = json.loads(run("flags", "list", "--json", env=env).stdout)
    return ["/" + flag["media_url"].split("/", 3)[3] for flag in found]


def count(expected: frozenset[str], got: list[str]) -> tuple[int, int, int]:
    """(lost, duplicated, unexpected) of ``got`` against ``expected``."""
    lost = len(expected - set(got))
    duplicated = len(got) - len(set(got))
    unexpected = len(set(got) - expected)
    return lost, duplicated, unexpected
