"""Kill -9 a crawl at random moments: flags lost and duplicated against an undisturbed crawl.

Alone: the killed crawl is followed by the next crawl of the site (what the scheduler does),
which replays what the killed one spilled and crawls again. Distributed: one of two workers of
a run is killed; a replacement worker joins the same run (what scrapyd's next job does), and
the run is finished by the survivors. Each trial has its own database and Redis key prefix.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.reliability import board as boards
from crawler.demo.localsite import LocalSite


@dataclass
class Trial:
    mode: str
    killed_at: float
    lost: int
    duplicated: int
    unexpected: int
    seconds: float  # from the kill until the flags were complete again


def _crawl_command(*extra: str) -> list[str]:
    return [boards.REPOSTWATCH, "crawl", boards.SITE, *extra]


def _wait(process: subprocess.Popen, log: Path, timeout: float = 900) -> None:
    process.wait(timeout=timeout)
    if process.returncode in (0, -signal.SIGKILL):
        return
    err = log.read_text(errors="replace")
    if "is already finished" in err:
        return  # a replacement that came after the survivors closed the run: nothing to do
    raise RuntimeError(f"a crawl exited {process.returncode}:\n{err[-3000:]}")


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the crawl and its hashing processes, as the OOM killer or a power cut would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def undisturbed(site: boards.Board, base: Path, args) -> float:
    """One crawl without trouble: its seconds (the board's flags are checked too)."""
    with tempfile.TemporaryDirectory(dir=base) as tmp, LocalSite(site.routes) as server:
        env = boards.environment(Path(tmp))
        boards.prepare(env)
        _site_file(env, server, args)
        started = time.monotonic()
        boards.run("crawl", boards.SITE, env=env)
        seconds = time.monotonic() - started
        lost, duplicated, unexpected = boards.count(site.matches, boards.flags(env))
        if lost or duplicated or unexpected:
            raise RuntimeError(
                f"the undisturbed crawl itself is off: lost {lost}, duplicated {duplicated}, "
                f"unexpected {unexpected}; fix the board before measuring kills"
            )
        return seconds


def _site_file(env: dict[str, str], server: LocalSite, args) -> None:
    path = Path(env["REPOSTWATCH_SITES_DIR"]) / f"{boards.SITE}.toml"
    path.write_text(boards.site_file(server.url, args.pages, args.delay))


def alone(site: boards.Board, base: Path, at: float, args) -> Trial:
    with tempfile.TemporaryDirectory(dir=base) as tmp, LocalSite(site.routes) as server:
        env = boards.environment(Path(tmp))
        boards.prepare(env)
        _site_file(env, server, args)
        log = Path(tmp) / "crawl.log"
        process = boards.start(_crawl_command(), env, log)
        time.sleep(at)
        killed = time.monotonic()
        if process.poll() is None:
            _kill_tree(process)
        else:
            _wait(process, log)
        boards.run("crawl", boards.SITE, env=env)  # the next scheduled crawl
        seconds = time.monotonic() - killed
        return Trial("alone", at, *boards.count(site.matches, boards.flags(env)), seconds)


def distributed(site: boards.Board, base: Path, at: float, args) -> Trial:
    with tempfile.TemporaryDirectory(dir=base) as tmp, LocalSite(site.routes) as server:
        env = boards.environment(
            Path(tmp),
            REPOSTWATCH_REDIS_URL=args.redis,
            # a killed worker counts as lost after this long without a heartbeat
            REPOSTWATCH_DISTRIBUTED_WORKER_TIMEOUT="30",
        )
        boards.prepare(env)
        _site_file(env, server, args)
        run_id = boards.open_distributed_run(env)
        command = _crawl_command("--distributed", "--run-id", str(run_id))

        def worker(name: str) -> tuple[subprocess.Popen, Path]:
            log = Path(tmp) / f"{name}.log"
            return boards.start(command, env, log), log

        (victim, _), survivor = worker("victim"), worker("survivor")
        time.sleep(at)
        killed = time.monotonic()
        if victim.poll() is None:
            _kill_tree(victim)
        replacement = worker("replacement")
        for process, log in (survivor, replacement):
            _wait(process, log)
        seconds = time.monotonic() - killed
        try:
            return Trial("distributed", at, *boards.count(site.matches, boards.flags(env)), seconds)
        finally:
            _forget_keys(args.redis, env["REPOSTWATCH_DISTRIBUTED_PREFIX"])


def _forget_keys(url: str, prefix: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def measure(args) -> list[str]:
    """Run the trials; the markdown lines of the results."""
    rng = random.Random(args.seed)
    site = boards.board(args.pages)
    lines = []
    with tempfile.TemporaryDirectory(prefix="reliability-") as base_dir:
        base = Path(base_dir)
        print("kills: an undisturbed crawl first ...", flush=True)
        reference_seconds = undisturbed(site, base, args)
        print(f"kills: undisturbed crawl {reference_seconds:.1f} s", flush=True)
        trials: list[Trial] = []
        modes = {"alone": alone, "distributed": distributed}
        for mode, run_trial in ((m, modes[m]) for m in args.modes):
            for i in range(args.trials):
                at = rng.uniform(0.05, 1.0) * reference_seconds
                trial = run_trial(site, base, at, args)
                trials.append(trial)
                print(
                    f"kills: {mode} {i + 1}/{args.trials}: killed at {at:.1f} s, lost "
                    f"{trial.lost}, duplicated {trial.duplicated}, unexpected {trial.unexpected}",
                    flush=True,
                )
    lines.append(
        f"Board: {args.pages} pages, {site.media} images, {len(site.matches)} known matches; "
        f"undisturbed crawl {reference_seconds:.1f} s; SIGKILL to the crawl's process group "
        f"(crawl and hashing processes) at a uniformly random moment in 5-100% of that.\n"
    )
    lines.append(
        "| crawl | trials | flags expected per trial | lost | duplicated | unexpected "
        "| kill moments (s) | kill to complete flags (median, max) |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for mode in args.modes:
        done = [t for t in trials if t.mode == mode]
        seconds = sorted(t.seconds for t in done)
        moments = sorted(t.killed_at for t in done)
        lines.append(
            f"| {mode} | {len(done)} | {len(site.matches)} | {sum(t.lost for t in done)} "
            f"| {sum(t.duplicated for t in done)} | {sum(t.unexpected for t in done)} "
            f"| {moments[0]:.1f} to {moments[-1]:.1f} | {seconds[len(seconds) // 2]:.1f} s, "
            f"{seconds[-1]:.1f} s |"
        )
    return lines
