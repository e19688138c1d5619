"""A crawl's images/s against the hashing pool's alone, on the same files, in one run.

    python -m benchmarks.crawl_speed [--images 400] [--per-page 10] [--workers 0]

Issue 14 asks that a crawl hash at least 0.8 of what its hashing pool alone does. Builds
``--images`` distinct 2-megapixel JPEGs from the bundled photos (each a little rescaled and
re-encoded, so no two files are the same), then:

1. **pool alone**: the crawl's own hashing pool (`crawler.crawling.hash_pool`, ``--workers``
   processes, 0 = one per core as `REPOSTWATCH_HASH_WORKERS` defaults) hashes every file with
   `hash_media` and the crawl's limits, all submitted at once; images/s from the first submit
   to the last answer (the processes are started and warmed up with one task each first, as a
   crawl's are by its first media);
2. **crawl**: serves them on 127.0.0.1 (listing pages of ``--per-page`` images, linked in a
   chain) with no download delay and crawls them with the real ``repostwatch crawl`` on a fresh
   SQLite database with three reference photos registered (none of them served: hashing and
   matching, no flags), the media cache off; images/s from the site's first request to the
   console script's exit (hashing and matching the last images and the crawl's shutdown
   included: a rate the crawl is not flattered by), and to the last image request.

Prints a markdown table with both rates and their ratio; takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

from crawler import db
from crawler.crawling.hash_pool import new_hash_pool
from crawler.crawling.pipeline import hash_processes
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.hashing import hash_media

REPOSTWATCH = str(Path(sys.executable).with_name("repostwatch"))
MEGAPIXELS = 2.0
#: Photos registered as references (never served): the crawl matches every file against them.
REFERENCE_PHOTOS = ("brick", "grass", "gravel")


def two_megapixel_jpegs(count: int) -> list[bytes]:
    """``count`` distinct 2-megapixel JPEGs: the bundled photos, each copy rescaled a little."""
    names = [name for name in samples.PHOTOS if name not in REFERENCE_PHOTOS]
    photos = [samples.load_photo(name) for name in names]
    files = []
    for i in range(count):
        photo = photos[i % len(photos)]
        scale = (MEGAPIXELS * 1e6 / (photo.width * photo.height)) ** 0.5
        scale *= 1 - 0.003 * (i // len(photos))
        files.append(samples.encode(samples.resized(photo, scale), "JPEG", quality=90 - i % 5))
    return files


def routes(files: list[bytes], per_page: int) -> dict[str, Route]:
    pages = (len(files) + per_page - 1) // per_page
    site = {"/": html('<!doctype html><a href="/list/0">start</a>')}
    for page in range(pages):
        images = "".join(
            f'<img src="/img/{i}.jpg">'
            for i in range(page * per_page, min(len(files), (page + 1) * per_page))
        )
        link = f'<a href="/list/{page + 1}">next</a>' if page + 1 < pages else ""
        site[f"/list/{page}"] = html(f"<!doctype html><title>{page}</title>{images}{link}")
    for i, body in enumerate(files):
        site[f"/img/{i}.jpg"] = Route(body, "image/jpeg")
    return site


def pool_alone(files: list[bytes], workers: int) -> dict[str, float]:
    """Hash every file in the crawl's pool; images/s from first submit to last answer."""
    from settings import REPOSTWATCH_HASH_PIXEL_BUDGET, REPOSTWATCH_MAX_PIXELS

    limits = {"max_pixels": REPOSTWATCH_MAX_PIXELS, "pixel_budget": REPOSTWATCH_HASH_PIXEL_BUDGET}
    pool = new_hash_pool(workers)
    try:
        wait([pool.submit(hash_media, files[i], **limits) for i in range(workers)])  # warm up
        started = time.monotonic()
        futures = [pool.submit(hash_media, body, **limits) for body in files]
        for future in futures:
            future.result()
        seconds = time.monotonic() - started
    finally:
        pool.shutdown()
    return {"seconds": seconds, "images": len(files) / seconds}


def site_file(base_url: str, pages: int) -> str:
    return (
        f'name = "speed"\nstart_urls = ["{base_url}/"]\nallow_private_network = true\n'
        "download_delay = 0\nconcurrency = 16\nautothrottle = false\n"
        f"[follow]\nallow = ['/list/\\d+']\nmax_depth = {pages + 5}\n"
        f"max_pages = {pages + 10}\n"
    )


def crawl(files: list[bytes], per_page: int, workers: int, tmp: str) -> dict[str, float]:
    """Crawl the served files with the console script; what the site saw and the run's stats."""
    sites = Path(tmp) / "sites"
    sites.mkdir()
    database_url = f"sqlite:///{tmp}/speed.db"
    env = {
        **os.environ,
        "REPOSTWATCH_DATABASE_URL": database_url,
        "REPOSTWATCH_SITES_DIR": str(sites),
        "REPOSTWATCH_HASH_WORKERS": str(workers),
        "REPOSTWATCH_MEDIA_CACHE": "0",  # every file is downloaded and hashed
        "REPOSTWATCH_SPILL_FILE": f"{tmp}/spill.jsonl",
        "REPOSTWATCH_LOG_LEVEL": "WARNING",
    }
    subprocess.run([REPOSTWATCH, "db", "upgrade"], env=env, check=True, capture_output=True)
    references = [str(samples.photo_path(name)) for name in REFERENCE_PHOTOS]
    subprocess.run(
        [REPOSTWATCH, "refs", "add", "--case", "speed", *references],
        env=env,
        check=True,
        capture_output=True,
    )
    site_routes = routes(files, per_page)
    pages = sum(path.startswith("/list/") for path in site_routes)
    with LocalSite(site_routes) as site:
        (sites / "speed.toml").write_text(site_file(site.url, pages))
        started = time.monotonic()
        done = subprocess.run(
            [REPOSTWATCH, "crawl", "speed"], env=env, capture_output=True, text=True, timeout=1800
        )
        wall = time.monotonic() - started
        times = [(at, path) for at, path in site.request_times if path != "/robots.txt"]
    if done.returncode != 0:
        sys.exit(f"the crawl failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    image_times = [at for at, path in times if path.startswith("/img/")]
    if len(image_times) != len(files):
        sys.exit(f"expected {len(files)} image requests, the site saw {len(image_times)}")
    engine = db.make_engine(database_url)
    with db.make_sessionmaker(engine)() as session:
        (run,) = db.list_runs(session, site="speed")
    engine.dispose()
    stats = json.loads(run.stats)
    hashed = stats.get("repostwatch/media/hashed", 0)
    if hashed != len(files):
        sys.exit(f"expected {len(files)} images hashed, the run's stats say {hashed}")
    first = times[0][0]
    to_end = started + wall - first  # to the console script's exit: its shutdown included
    downloads = image_times[-1] - first
    return {
        "wall": wall,
        "downloads": downloads,
        "to_end": to_end,
        "images": len(files) / to_end,
        "images_downloaded": len(files) / downloads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400, help="2-megapixel JPEGs to serve")
    parser.add_argument("--per-page", type=int, default=10, help="images per listing page")
    parser.add_argument(
        "--workers", type=int, default=0, help="hashing processes (0: one per core, the default)"
    )
    args = parser.parse_args()
    if args.images < 1 or args.per_page < 1 or args.workers < 0:
        parser.error("--images and --per-page must be at least 1, --workers at least 0")
    workers = hash_processes(args.workers)
    print(f"Making {args.images} 2-megapixel JPEGs ...", flush=True)
    files = two_megapixel_jpegs(args.images)
    megabytes = sum(map(len, files)) / 1e6
    print(f"Hashing them in the pool alone ({workers} processes) ...", flush=True)
    alone = pool_alone(files, workers)
    print("Crawling them ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        crawled = crawl(files, args.per_page, workers, tmp)
    load = os.getloadavg()[0]
    print(
        f"\n{args.images} JPEGs of 2 megapixels ({megabytes:.0f} MB), {args.per_page} a page, "
        f"{workers} hashing processes, {os.cpu_count()} CPU cores, load average {load:.1f} "
        "at the end\n"
    )
    print("| measure | seconds | images/s |")
    print("|---|---:|---:|")
    print(f"| hashing pool alone | {alone['seconds']:.1f} | {alone['images']:.1f} |")
    print(
        f"| crawl, first request to exit (hashed, matched, shut down) | {crawled['to_end']:.1f} | "
        f"{crawled['images']:.1f} |"
    )
    print(
        f"| crawl, first request to last image request | {crawled['downloads']:.1f} | "
        f"{crawled['images_downloaded']:.1f} |"
    )
    print(f"| crawl, wall with start-up | {crawled['wall']:.1f} | |")
    print(f"| **crawl / pool alone** | | **{crawled['images'] / alone['images']:.2f}** |")


if __name__ == "__main__":
    main()
