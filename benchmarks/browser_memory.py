"""Memory of a long browser crawl: does it stay flat over 1,000 JavaScript-rendered pages?

    python -m benchmarks.browser_memory [--pages 1000] [--interval 5]

Serves a site on 127.0.0.1 whose pages build their three photos and their links with
JavaScript (each page links to two more, so the crawl reaches every page within ten links),
crawls it with ``repostwatch crawl`` (render = "browser", SQLite in a temporary directory, no
references) and samples the crawl's processes every ``--interval`` seconds: the Python crawler,
Playwright's driver (node) and Chromium (all its processes). RSS counts shared pages once per
process; PSS shares them out, so the Chromium PSS column is the fair total. Needs
/usr/bin/chromium (``make services``). Takes about two minutes for 1,000 pages.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html

IMAGES_PER_PAGE = 3

_PAGE = """<!doctype html><html><head><title>Page {i}</title></head><body><main></main>
<script>
const main = document.querySelector('main');
for (const n of [0, 1, 2]) {{
  const img = document.createElement('img'); img.src = '/img/{i}/' + n + '.jpg';
  img.width = 320; img.height = 240; main.appendChild(img);
}}
for (const next of [{left}, {right}]) {{
  if (next >= {pages}) continue;
  const a = document.createElement('a'); a.href = '/p/' + next; a.textContent = next;
  main.appendChild(a);
}}
main.dataset.ready = '1';
</script></body></html>"""


def routes(pages: int) -> dict[str, Route]:
    photos = [
        samples.reencoded_jpeg(name, quality=75, scale=0.25)
        for name in ("astronaut", "camera", "chelsea", "coffee", "coins", "moon")
    ]
    start = f'<main data-ready="1"><a href="/p/0">start</a> of {pages} pages</main>'
    table: dict[str, Route] = {"/": html(start)}
    for i in range(pages):
        page = _PAGE.format(i=i, left=2 * i + 1, right=2 * i + 2, pages=pages)
        table[f"/p/{i}"] = html(page)
        for n in range(IMAGES_PER_PAGE):
            table[f"/img/{i}/{n}.jpg"] = Route(photos[(i + n) % len(photos)], "image/jpeg")
    return table


def site_file(base_url: str, pages: int) -> str:
    return (
        f'name = "memory"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f'render = "browser"\n[follow]\nmax_depth = 20\nmax_pages = {pages + 1}\n'
        "[browser]\nwait_for = 'main[data-ready]'\n"
    )


# --- sampling /proc ---------------------------------------------------------------------------
def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it is gone."""
    try:
        rss = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        )
        pss = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            if line.startswith("Pss:")
        )
    except (OSError, StopIteration):
        return 0, 0
    return rss, pss


def _role(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "chromium" in command:
        return "chromium"
    if "playwright" in command and "node" in command:
        return "driver"
    if "repostwatch" in command and "crawl" in command:
        return "crawler"
    return "other"  # the hashing process pool


def sample(crawl_pid: int) -> dict[str, tuple[int, int, int]]:
    """role -> (processes, RSS MiB, PSS MiB) for the crawl and everything below it."""
    totals: dict[str, list[int]] = {}
    for pid in [crawl_pid, *_descendants(crawl_pid)]:
        rss, pss = _memory_kib(pid)
        if rss:
            entry = totals.setdefault(_role(pid), [0, 0, 0])
            entry[0] += 1
            entry[1] += rss
            entry[2] += pss
    return {role: (n, rss // 1024, pss // 1024) for role, (n, rss, pss) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    repostwatch = str(Path(sys.executable).with_name("repostwatch"))
    with tempfile.TemporaryDirectory(prefix="repostwatch-bench-") as tmp:
        sites = Path(tmp) / "sites"
        sites.mkdir()
        env = {
            **os.environ,
            "REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "REPOSTWATCH_SITES_DIR": str(sites),
            "REPOSTWATCH_HASH_WORKERS": "1",
            "REPOSTWATCH_LOG_LEVEL": "WARNING",
        }
        subprocess.run([repostwatch, "db", "upgrade"], env=env, check=True, capture_output=True)
        with LocalSite(routes(args.pages)) as site:
            (sites / "memory.toml").write_text(site_file(site.url, args.pages))
            started = time.monotonic()
            log = open(Path(tmp) / "crawl.log", "w")  # noqa: SIM115 (closed below)
            crawl = subprocess.Popen(
                [repostwatch, "crawl", "memory"], env=env, stdout=subprocess.PIPE, stderr=log
            )
            rows: list[tuple[float, int, dict[str, tuple[int, int, int]]]] = []
            done = threading.Event()

            def watch() -> None:
                while not done.wait(args.interval):
                    pages = sum(1 for path in list(site.requests) if path.startswith("/p/"))
                    rows.append((time.monotonic() - started, pages, sample(crawl.pid)))
                    print(_row(*rows[-1]), flush=True)

            print(_header(), flush=True)
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            stdout, _ = crawl.communicate()
            done.set()
            watcher.join()
            log.close()
        print(stdout.decode())
        if crawl.returncode != 0:
            print(Path(tmp, "crawl.log").read_text()[-4000:], file=sys.stderr)
            raise SystemExit(crawl.returncode)
    _summary(rows, args.pages)


def _header() -> str:
    return (
        "| seconds | pages | crawler RSS MiB | driver RSS MiB | chromium procs | "
        "chromium RSS MiB | chromium PSS MiB |\n|---:|---:|---:|---:|---:|---:|---:|"
    )


def _row(seconds: float, pages: int, memory: dict[str, tuple[int, int, int]]) -> str:
    crawler = memory.get("crawler", (0, 0, 0))
    driver = memory.get("driver", (0, 0, 0))
    chromium = memory.get("chromium", (0, 0, 0))
    return (
        f"| {seconds:7.0f} | {pages:5d} | {crawler[1]:15d} | {driver[1]:14d} | "
        f"{chromium[0]:14d} | {chromium[1]:16d} | {chromium[2]:16d} |"
    )


def _summary(rows: list, pages: int) -> None:
    """Compare the second quarter of the crawl with the last quarter."""
    busy = [r for r in rows if r[2].get("chromium")]
    if len(busy) < 4:
        print("Too few samples for a trend; lower --interval.")
        return
    quarter = len(busy) // 4

    def mean(part: list, role: str, column: int) -> float:
        return sum(r[2].get(role, (0, 0, 0))[column] for r in part) / len(part)

    early, late = busy[quarter : 2 * quarter], busy[-quarter:]
    print(f"\n{pages} pages. Mean memory, 2nd quarter of the crawl -> last quarter:")
    for role, column, label in [
        ("crawler", 1, "crawler RSS"),
        ("driver", 1, "driver RSS"),
        ("chromium", 2, "chromium PSS"),
    ]:
        print(
            f"  {label:13s} {mean(early, role, column):7.0f} -> {mean(late, role, column):7.0f} MiB"
        )


if __name__ == "__main__":
    main()
