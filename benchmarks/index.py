"""Reference index speed and memory at scale, as markdown tables.

    python -m benchmarks.index                       # 1M and 10M PDQ references
    python -m benchmarks.index --sizes 100000 --queries 200

Per size: random PDQ hashes from numpy random bytes (fixed seed, ids 0..n-1); queries with a
planted match at 10-31 bits from a reference, and random queries that match nothing. The index
(`MultiIndexHashIndex`, what `Matcher` uses) runs in its own spawned process pinned to one CPU,
built from rows with `add_codes`, so its build time and resident memory are its own; queries go
through `query`. The baseline is numpy brute force as `BruteForceIndex` does it (XOR and
`np.bitwise_count` over a packed uint8 array); its answers to the first queries are checked
against the index's.

Then the whole `Matcher`, as a crawl holds it, in another fresh process: the same hashes as
`Reference` objects (quality 90, four references per case) handed to `Matcher.add` as a generator,
the way `LiveReferences.load` streams database rows into it (and, like it, handing the memory the
load freed back to the system), and queried through `match` with media whose only hash is the
query's PDQ. Its memory is everything the process grew by.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import resource
import sys
import time

import numpy as np

MAX_DISTANCE = 31


def make_data(size: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, planted, unrelated)``: (size, 32) reference codes, planted queries (each a copy
    of reference i with 10 + i % 22 random bits flipped) and random queries."""
    rng = np.random.default_rng(seed)
    codes = np.frombuffer(rng.bytes(size * 32), dtype=np.uint8).reshape(size, 32)
    bits = np.unpackbits(codes[:queries], axis=1)
    for i in range(queries):
        bits[i, rng.choice(256, size=planted_distance(i), replace=False)] ^= 1
    unrelated = np.frombuffer(rng.bytes(queries * 32), dtype=np.uint8).reshape(queries, 32)
    return codes, np.packbits(bits, axis=1), unrelated


def planted_distance(i: int) -> int:
    return 10 + i % 22


def brute_force(codes: np.ndarray, query: np.ndarray, max_distance: int) -> list[tuple[int, int]]:
    """`BruteForceIndex.query` over ids 0..n-1."""
    distances = np.bitwise_count(codes ^ query).sum(axis=1, dtype=np.int64)
    hits = np.flatnonzero(distances <= max_distance)
    order = np.lexsort((hits, distances[hits]))
    return [(int(i), int(distances[i])) for i in hits[order]]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_index(size: int, queries: int, seed: int, checked: int, cpu: int) -> dict:
    """Build the index in this (fresh) process and time its queries."""
    os.sched_setaffinity(0, {cpu})
    from crawler.hashing.types import HashValue
    from crawler.matching.multi_index import MultiIndexHashIndex

    codes, planted, unrelated = make_data(size, queries, seed)
    planted_values = [HashValue("pdq", row.tobytes().hex()) for row in planted]
    unrelated_values = [HashValue("pdq", row.tobytes().hex()) for row in unrelated]
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    index = MultiIndexHashIndex("pdq")
    index.add_codes(np.arange(size), codes)
    build = time.perf_counter() - started
    gc.collect()
    memory = rss_bytes() - before
    for value in planted_values[:20]:  # warm up: probe tables, caches
        index.query(value, MAX_DISTANCE)
    timings, results = {}, []
    for name, values in (("planted", planted_values), ("unrelated", unrelated_values)):
        latencies = []
        for i, value in enumerate(values):
            started = time.perf_counter()
            hits = index.query(value, MAX_DISTANCE)
            latencies.append(time.perf_counter() - started)
            if name == "planted":
                if (i, planted_distance(i)) not in hits:
                    raise AssertionError(f"planted query {i} missed reference {i}")
                if i < checked:
                    results.append(hits)
            elif hits:
                raise AssertionError(f"random query {i} matched {hits}")
        timings[name] = latencies
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "name": type(index).__name__,
        "build": build,
        "memory": memory,
        "nbytes": index.nbytes,
        "peak": peak,
        "timings": timings,
        "results": results,
    }


#: References per case in the Matcher benchmark.
PER_CASE = 4


def measure_matcher(size: int, queries: int, seed: int, checked: int, cpu: int) -> dict:
    """Load a Matcher with ``size`` PDQ references in this (fresh) process and time `match`."""
    os.sched_setaffinity(0, {cpu})
    from crawler.crawling.live_references import release_freed_memory
    from crawler.hashing.types import HashValue, MediaHashes
    from crawler.matching import Match, Matcher, Reference

    codes, planted, unrelated = make_data(size, queries, seed)

    def media(row: np.ndarray) -> MediaHashes:
        value = HashValue("pdq", row.tobytes().hex(), 90)
        return MediaHashes("image", "jpeg", 0, None, None, (value,))

    planted_media = [media(row) for row in planted]
    unrelated_media = [media(row) for row in unrelated]

    def references():
        for start in range(0, size, 65_536):
            block = codes[start : start + 65_536]
            for offset, row in enumerate(block):
                ref_id = start + offset
                value = HashValue("pdq", row.tobytes().hex(), 90)
                yield Reference(ref_id, ref_id // PER_CASE, value)

    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    matcher = Matcher(references())
    build = time.perf_counter() - started
    gc.collect()
    release_freed_memory()  # as LiveReferences.load does
    memory = rss_bytes() - before
    assert len(matcher) == size
    for item in planted_media[:20]:  # warm up
        matcher.match(item)
    timings, results = {}, []
    for name, items in (("planted", planted_media), ("unrelated", unrelated_media)):
        latencies = []
        for i, item in enumerate(items):
            started = time.perf_counter()
            found = matcher.match(item)
            latencies.append(time.perf_counter() - started)
            if name == "planted":
                expected = Match(i, i // PER_CASE, "pdq", planted_distance(i), "original")
                if expected not in found:
                    raise AssertionError(f"planted query {i} missed reference {i}: {found}")
                if i < checked:
                    results.append(found)
            elif found:
                raise AssertionError(f"random query {i} matched {found}")
        timings[name] = latencies
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "name": "Matcher (whole)",
        "build": build,
        "memory": memory,
        "nbytes": sum(getattr(index, "nbytes", 0) for index in matcher._indexes.values()),
        "peak": peak,
        "timings": timings,
        "results": results,
    }


def run_in_process(size: int, args: argparse.Namespace, cpu: int, measure=measure_index) -> dict:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(measure, (size, args.queries, args.seed, args.check, cpu))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def mib(count: int) -> str:
    return f"{count / 2**20:,.0f} MiB"


def bench_size(size: int, args: argparse.Namespace, cpu: int) -> None:
    progress(f"{size:,} references: generating hashes and brute-force answers")
    codes, planted, _ = make_data(size, args.queries, args.seed)
    brute_latencies, expected = [], []
    for query in planted[: args.check]:
        started = time.perf_counter()
        expected.append(brute_force(codes, query, MAX_DISTANCE))
        brute_latencies.append(time.perf_counter() - started)
    brute_median = float(np.median(brute_latencies))
    progress(f"{size:,} references: MultiIndexHashIndex (build, {2 * args.queries} queries)")
    found = run_in_process(size, args, cpu)
    if found["results"] != expected:
        raise AssertionError(f"{found['name']} disagrees with brute force at size {size}")
    rows = [row_of(found, brute_median)]
    if not args.no_matcher:
        progress(f"{size:,} references: the whole Matcher (load from a generator, match)")
        whole = run_in_process(size, args, cpu, measure_matcher)
        for hits, matches in zip(expected, whole["results"], strict=True):
            # One match per case: the nearest reference of each case brute force found.
            nearest: dict[int, tuple[int, int]] = {}
            for ref_id, distance in hits:
                nearest.setdefault(ref_id // PER_CASE, (distance, ref_id))
            got = {m.case_id: (m.distance, m.reference_id) for m in matches}
            if got != nearest:
                raise AssertionError(f"Matcher disagrees with brute force at size {size}")
        rows.append(row_of(whole, brute_median))
    rows.append(
        [
            "numpy brute force",
            "-",
            mib(size * 32),
            mib(size * 40),
            "-",
            ms(brute_median),
            ms(float(np.percentile(brute_latencies, 99))),
            "(same)",
            "-",
            "1x",
        ]
    )
    header = [
        "index",
        "build",
        "RSS growth",
        "arrays",
        "peak RSS",
        "planted median",
        "planted p99",
        "random median",
        "random p99",
        "speed-up (median)",
    ]
    print(f"\n### {size:,} PDQ references, max_distance {MAX_DISTANCE}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n{args.queries} planted queries (match at 10-31 bits) and {args.queries} random ones; "
        f"brute force timed on {args.check}, whose answers the index matched exactly (the "
        "Matcher: the nearest reference of each case). Arrays: the index's own accounting "
        "(`nbytes`; the Matcher's: its indexes'); brute force: codes + int64 ids. The Matcher's "
        "build is its load from Reference objects; its RSS growth is all the process kept.",
        flush=True,
    )


def row_of(found: dict, brute_median: float) -> list[str]:
    planted_t, unrelated_t = found["timings"]["planted"], found["timings"]["unrelated"]
    return [
        found["name"],
        f"{found['build']:.1f} s",
        mib(found["memory"]),
        mib(found["nbytes"]),
        mib(found["peak"]),
        ms(float(np.median(planted_t))),
        ms(float(np.percentile(planted_t, 99))),
        ms(float(np.median(unrelated_t))),
        ms(float(np.percentile(unrelated_t, 99))),
        f"{brute_median / float(np.median(planted_t)):,.0f}x",
    ]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.index", description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated sizes")
    parser.add_argument("--queries", type=int, default=500, help="queries of each kind")
    parser.add_argument("--check", type=int, default=10, help="queries timed on brute force")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument(
        "--no-matcher", action="store_true", help="measure the index alone, not the Matcher"
    )
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    if min(sizes) < args.queries or args.check > args.queries:
        parser.error("each size needs at least --queries references, and --check <= --queries")
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    print(
        f"numpy {np.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(pinned to CPU {cpu}), load average {os.getloadavg()[0]:.2f} at start"
    )
    for size in sizes:
        bench_size(size, args, cpu)


if __name__ == "__main__":
    main()
