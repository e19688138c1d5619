"""A hostile-input corpus, each case a local site crawled by the real ``repostwatch crawl``.

For every case: the crawl must not crash (no traceback, exit 0 or the documented 1 of a crawl
that found no page), must not leak (the canary, another service on the machine at 127.0.0.2,
gets no request; no hashing process outlives the crawl), must end within the case's bound and
under ``MEMORY_MB`` of peak memory, and must name what happened in a stat of its crawl run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.reliability import board as boards
from benchmarks.reliability.corpus import Case
from benchmarks.reliability.corpus_media import media_cases
from benchmarks.reliability.corpus_pages import page_cases
from benchmarks.reliability.hostile_server import HostileSite

#: Peak memory of the crawl process (its own and its waited-for children's largest RSS).
MEMORY_MB = 1500
CANARY = "127.0.0.2"


def cases() -> list[Case]:
    """Every case of the corpus, media first."""
    return media_cases() + page_cases()


@dataclass
class Result:
    case: Case
    exit: int
    seconds: float
    memory_mb: float
    canary_hits: int
    tracebacks: int
    stats: dict = field(default_factory=dict)
    #: The last line of the first traceback in the crawl's output (what raised), if any.
    raised: str = ""
    #: Processes of the crawl (hashing workers, Chromium) still alive a second after it ended.
    survivors: int = 0

    @property
    def named(self) -> list[str]:
        found = []
        for wanted in self.case.expect.split("|"):
            for stat, value in self.stats.items():
                name = stat.removeprefix("repostwatch/")
                if (name == wanted or name.startswith(wanted)) and value:
                    found.append(f"{name}={value}")
        return sorted(set(found))[:3]

    @property
    def problems(self) -> list[str]:
        problems = []
        if self.exit not in self.case.exits:
            problems.append(f"exit {self.exit}")
        if self.tracebacks:
            problems.append(f"{self.tracebacks} traceback(s)")
        if self.canary_hits:
            problems.append(f"LEAK: {self.canary_hits} request(s) reached the canary")
        if self.seconds > self.case.seconds:
            problems.append(f"over {self.case.seconds:.0f} s")
        if self.survivors:
            problems.append(f"LEAK: {self.survivors} process(es) outlived the crawl")
        if self.memory_mb > MEMORY_MB:
            problems.append(f"over {MEMORY_MB} MB")
        if not self.named:
            problems.append(f"no stat {self.case.expect}")
        return problems


def _site_file(case: Case, url: str) -> str:
    max_pages = 50
    return (
        f'name = "{boards.SITE}"\nstart_urls = ["{url}/"]\nallow_private_network = true\n'
        f'download_delay = 0\nconcurrency = 4\nautothrottle = false\nrender = "{case.render}"\n'
        f"[follow]\nallow = ['.']\nmax_depth = 30\nmax_pages = {max_pages}\n"
    )


def run_case(case: Case, base: Path, canary: HostileSite, logs: Path | None = None) -> Result:
    from crawler import db

    with tempfile.TemporaryDirectory(dir=base) as tmp, HostileSite(case.routes(canary.url)) as site:
        env = boards.environment(Path(tmp), REPOSTWATCH_LOG_LEVEL="INFO")
        if not (base / "template.db").exists():
            boards.prepare(env)
            Path(env["REPOSTWATCH_DATABASE_URL"].removeprefix("sqlite:///")).rename(
                base / "template.db"
            )
        database = Path(tmp) / "reliability.db"
        database.write_bytes((base / "template.db").read_bytes())
        (Path(env["REPOSTWATCH_SITES_DIR"]) / f"{boards.SITE}.toml").write_text(
            _site_file(case, site.url)
        )
        hits_before = len(canary.hits)
        started = time.monotonic()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.reliability.peak",
                boards.REPOSTWATCH,
                "crawl",
                boards.SITE,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=case.seconds * 3)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            out, err = process.communicate()
        seconds = time.monotonic() - started
        log = (out + err).decode("utf-8", "replace")
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / (re.sub(r"\W+", "-", case.name).strip("-") + ".log")).write_text(log)
        memory = _peak_memory_mb(log)
        engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
        try:
            with db.make_sessionmaker(engine)() as session:
                runs = db.list_runs(session, boards.SITE)
                stats = json.loads(runs[0].stats or "{}") if runs else {}
        finally:
            engine.dispose()
        return Result(
            case,
            process.returncode,
            seconds,
            memory,
            len(canary.hits) - hits_before,
            len(re.findall(r"^Traceback \(most recent call last\)", log, re.M)),
            stats,
            _first_raised(log),
            _survivors(tmp),
        )


def _survivors(tmp: str) -> int:
    """Processes whose environment names this case's directory, a second after the crawl."""
    time.sleep(1)
    marker = tmp.encode()
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes():
                count += 1
        except OSError:
            continue
    return count


def _first_raised(log: str) -> str:
    at = log.find("Traceback (most recent call last)")
    if at < 0:
        return ""
    for line in log[at:].splitlines()[1:]:
        if line and not line.startswith((" ", "\t")):
            return line[:200]
    return ""


def _peak_memory_mb(log: str) -> float:
    """What :mod:`benchmarks.reliability.peak` printed: the crawl's and its hashing processes'
    largest resident memory."""
    found = re.findall(r"^peak-rss-kb (\d+)$", log, re.M)
    return int(found[-1]) / 1024 if found else float("nan")


def measure(args) -> list[str]:
    selected = [c for c in cases() if not args.only or any(o in c.name for o in args.only)]
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="reliability-") as base_dir,
        HostileSite({}, CANARY) as canary,
        HostileSite({}, "127.0.0.1", canary.port) as loopback,
    ):
        canary.hits = loopback.hits  # one count: the canary's port on 127.0.0.2 and 127.0.0.1
        for i, case in enumerate(selected, 1):
            result = run_case(case, Path(base_dir), canary, args.logs)
            results.append(result)
            verdict = "; ".join(result.problems) or "ok"
            if result.raised:
                verdict += f" [{result.raised}]"
            print(
                f"hostile {i}/{len(selected)}: {case.name}: {verdict} ({result.seconds:.1f} s)",
                flush=True,
            )
    failed = [r for r in results if r.problems]
    lines = [
        f"{len(results)} cases, {len(results) - len(failed)} ok. Each is a site on 127.0.0.1 "
        f"crawled by `repostwatch crawl` (the site file opts in to private addresses for its own "
        f"host); the canary is another service on {CANARY}. Limits: no traceback, no request "
        f"to the canary, the case's time bound, {MEMORY_MB} MB peak memory, and a stat that "
        "names the outcome.\n",
        "| # | case | kind | outcome (stats) | exit | seconds (bound) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results, 1):
        lines.append(
            f"| {i} | {r.case.name} | {r.case.category} | {', '.join(r.named) or '-'} "
            f"| {r.exit} | {r.seconds:.1f} ({r.case.seconds:.0f}) "
            f"| {'; '.join(r.problems) or 'ok'} |"
        )
    return lines
