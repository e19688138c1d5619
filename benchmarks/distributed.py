"""One worker against two on one local site, through Redis: pages/s, images/s and the ratio.

    python -m benchmarks.distributed [--pages 150] [--delay 0.05]

Serves a generated board on 127.0.0.1 (``--pages`` listing pages, each linking to the next ones
and showing two JPEGs of its own, 512 px wide, made from the sample photos) and crawls it twice
with the real ``repostwatch crawl SITE --distributed``: once with one worker, once with two
joining the same crawl run, on a fresh SQLite database and the local Redis (``--redis``, default
index 14). The site file keeps a download delay per worker (``--delay`` seconds between requests
to the site), as production site files do: that politeness, not the CPU, is what bounds one
worker, and what a second worker doubles. Rates are counted from the site's own request log,
first request to last, so process start-up is left out but a late second worker is not.
Prints a markdown table; takes ~2 minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html

REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))


def routes(pages: int) -> dict[str, Route]:
    photos = [samples.load_photo(name) for name in list(samples.PHOTOS)[:8]]
    site = {"/": html('<!doctype html><a href="/list/0">start</a>')}
    for i in range(pages):
        links = "".join(
            f'<a href="/list/{j}">{j}</a>'
            for j in ((i + 1) % pages, (i + 2) % pages, i * 3 % pages)
        )
        images = "".join(f'<img src="/img/{i}-{k}.jpg">' for k in range(2))
        site[f"/list/{i}"] = html(f"<!doctype html><title>{i}</title>{images}{links}")
        for k in range(2):
            photo = photos[(i * 2 + k) % len(photos)]
            scale = 512 / photo.width * (1 - 0.002 * (i % 50))  # every file a little different
            body = samples.encode(samples.resized(photo, scale), "JPEG", quality=80 - k)
            site[f"/img/{i}-{k}.jpg"] = Route(body, "image/jpeg")
    return site


def site_file(base_url: str, delay: float, pages: int) -> str:
    return (
        f'name = "bench"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        f"download_delay = {delay}\nconcurrency = 4\nautothrottle = false\n"
        f"[follow]\nallow = ['/list/\\d+']\nmax_depth = {min(pages + 5, 100)}\n"
        f"max_pages = {pages + 10}\n"
    )


def crawl(workers: int, env: dict[str, str], site_routes: dict, args) -> dict[str, float]:
    """Crawl the site with ``workers`` workers of one run; what the site saw."""
    from scrapy.settings import Settings

    from crawler.distributed import open_run

    settings = Settings({key: value for key, value in env.items() if key.startswith("REPOST")})
    with LocalSite(site_routes) as site:
        (Path(env["REPOSTWATCH_SITES_DIR"]) / "bench.toml").write_text(
            site_file(site.url, args.delay, args.pages)
        )
        run_id = open_run(settings, "bench")
        command = [REPOSTWATCH, "crawl", "bench", "--distributed", "--run-id", str(run_id)]
        started = time.monotonic()
        processes = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(workers)
        ]
        for process in processes:
            out, err = process.communicate(timeout=1800)
            if process.returncode != 0:
                sys.exit(f"a worker failed:\n{out.decode()}\n{err.decode()[-4000:]}")
        wall = time.monotonic() - started
        times = [(at, path) for at, path in site.request_times if path != "/robots.txt"]
    first, last = times[0][0], times[-1][0]
    pages = sum(path.startswith("/list/") for _, path in times)
    images = sum(path.startswith("/img/") for _, path in times)
    if pages != args.pages or images != 2 * args.pages:
        sys.exit(f"expected {args.pages} pages and {2 * args.pages} images, got {pages}, {images}")
    seconds = last - first
    return {"seconds": seconds, "wall": wall, "pages": pages / seconds, "images": images / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=150, help="listing pages (2 images each)")
    parser.add_argument("--delay", type=float, default=0.05, help="the site file's download_delay")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis URL")
    args = parser.parse_args()
    print(f"Building a site of {args.pages} pages and {2 * args.pages} images ...", flush=True)
    site_routes = routes(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        sites = Path(tmp) / "sites"
        sites.mkdir()
        env = {
            **os.environ,
            "REPOSTWATCH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "REPOSTWATCH_SITES_DIR": str(sites),
            "REPOSTWATCH_REDIS_URL": args.redis,
            "REPOSTWATCH_DISTRIBUTED_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "REPOSTWATCH_HASH_WORKERS": "1",
            "REPOSTWATCH_MEDIA_CACHE": "0",  # every run downloads and hashes every image
            "REPOSTWATCH_SPILL_FILE": f"{tmp}/spill.jsonl",
            "REPOSTWATCH_LOG_LEVEL": "WARNING",
        }
        subprocess.run([REPOSTWATCH, "db", "upgrade"], env=env, check=True, capture_output=True)
        results = {}
        try:
            for workers in (1, 2):
                print(f"Crawling with {workers} worker(s) ...", flush=True)
                results[workers] = crawl(workers, env, site_routes, args)
        finally:  # the runs' "closed" markers, and anything a failed run left
            with redis.Redis.from_url(args.redis) as client:
                for key in client.scan_iter(f"{env['REPOSTWATCH_DISTRIBUTED_PREFIX']}:*"):
                    client.delete(key)
    one, two = results[1], results[2]
    print(
        f"\n{args.pages} pages, {2 * args.pages} images, download_delay {args.delay} s per "
        f"worker, {os.cpu_count()} CPU cores\n"
    )
    print("| workers | crawl (first to last request) | wall, with start-up | pages/s | images/s |")
    print("|---|---|---|---|---|")
    for workers, r in results.items():
        print(
            f"| {workers} | {r['seconds']:.1f} s | {r['wall']:.1f} s | {r['pages']:.1f} "
            f"| {r['images']:.1f} |"
        )
    print(
        f"| **2 / 1** | {one['seconds'] / two['seconds']:.2f}x as fast | "
        f"{one['wall'] / two['wall']:.2f}x as fast | **{two['pages'] / one['pages']:.2f}x** | "
        f"**{two['images'] / one['images']:.2f}x** |"
    )


if __name__ == "__main__":
    main()
