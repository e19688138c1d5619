"""Reference video frames at scale: `VideoMatcher` speed and memory, as a markdown table.

    python -m benchmarks.video_index                          # 1M and 10M reference frames
    python -m benchmarks.video_index --sizes 100000 --queries 10

Per size: reference videos of 100 random PDQ frames each, four a second (so 10M frames are
100,000 videos of 25 s), added with `VideoMatcher.add_rows` as `LiveReferences` adds database
rows, in a spawned process pinned to one CPU, so its memory is its own (memory freed by the
load is handed back to the system, as `LiveReferences.load` does). Queries are videos of 60
frames sampled once a second, each frame with its eight turns and mirrors (480 rows for the
index): "planted" queries hold 20 s of a reference (every frame 0-20 bits off, half of them
mirrored) between unrelated frames, "unrelated" ones only random frames. Timed: `match`, and
`candidate_times`; every planted query must find its reference at the right offset.

Random frames spread evenly over PDQ's space, which suits the multi-index; real footage clusters
more (similar frames in a video), so this is a lower bound on the time a query takes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import time

import numpy as np

FRAMES_PER_VIDEO = 100
QUERY_FRAMES = 60


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(size: int, queries: int, seed: int, cpu: int) -> dict:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    from crawler.crawling.live_references import release_freed_memory
    from crawler.hashing.dihedral import DIHEDRAL
    from crawler.hashing.types import FrameHash, HashValue, VariantHash
    from crawler.matching.video import VideoMatcher

    rng = np.random.default_rng(seed)
    videos = size // FRAMES_PER_VIDEO
    before = rss_bytes()
    started = time.perf_counter()
    matcher = VideoMatcher()
    seconds = np.arange(FRAMES_PER_VIDEO) / 4
    qualities = np.full(FRAMES_PER_VIDEO, 90)
    for video_id in range(videos):
        codes = np.frombuffer(rng.bytes(FRAMES_PER_VIDEO * 32), dtype=np.uint8).reshape(-1, 32)
        matcher.add_rows(video_id, video_id // 4, seconds, codes, qualities, 25.0)
    matcher._flush()  # the index is built before the first query; time it with the load
    release_freed_memory()  # as LiveReferences.load does after a load
    load = time.perf_counter() - started
    memory = rss_bytes() - before

    def value(code: np.ndarray) -> HashValue:
        return HashValue("pdq", code.tobytes().hex(), 90)

    def random_frame(t: float) -> FrameHash:
        codes = np.frombuffer(rng.bytes(8 * 32), dtype=np.uint8).reshape(8, 32)
        variants = tuple(
            VariantHash(name, value(code))
            for name, code in zip(list(DIHEDRAL)[1:], codes[1:], strict=True)
        )
        return FrameHash(t, value(codes[0]), variants)

    def noisy(code: np.ndarray, bits: int) -> np.ndarray:
        unpacked = np.unpackbits(code)
        unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
        return np.packbits(unpacked)

    timings: dict[str, list[float]] = {"planted": [], "unrelated": [], "candidates": []}
    found = 0
    for number in range(queries):
        target = int(rng.integers(videos))
        ref_codes = matcher._codes_of(matcher._refs[target]).view(np.uint8)
        mirrored = number % 2 == 1
        frames = [random_frame(float(t)) for t in range(20)]
        for t in range(20):  # 20 s of the reference, one frame a second
            code = noisy(ref_codes[4 * t], int(rng.integers(0, 21)))
            frame = random_frame(20.0 + t)
            if mirrored:
                variants = tuple(
                    VariantHash("flipx", value(code)) if item.variant == "flipx" else item
                    for item in frame.variants
                )
                frame = FrameHash(frame.seconds, frame.value, variants)
            else:
                frame = FrameHash(frame.seconds, value(code), frame.variants)
            frames.append(frame)
        frames += [random_frame(40.0 + t) for t in range(20)]
        started = time.perf_counter()
        matches = matcher.match(frames)
        timings["planted"].append(time.perf_counter() - started)
        started = time.perf_counter()
        matcher.candidate_times(frames)
        timings["candidates"].append(time.perf_counter() - started)
        if [m.video_id for m in matches] == [target] and abs(matches[0].offset + 20) <= 1:
            found += 1
        unrelated = [random_frame(float(t)) for t in range(QUERY_FRAMES)]
        started = time.perf_counter()
        assert matcher.match(unrelated) == []
        timings["unrelated"].append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "size": size,
        "videos": videos,
        "load": load,
        "memory": memory,
        "peak": peak,
        "nbytes": matcher.nbytes,
        "found": found,
        "queries": queries,
        **{f"{name}_median": float(np.median(values)) for name, values in timings.items()},
        **{f"{name}_max": float(np.max(values)) for name, values in timings.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    cpu = sorted(os.sched_getaffinity(0))[-1] if hasattr(os, "sched_getaffinity") else 0
    print(f"{platform.processor() or platform.machine()}, one core, numpy {np.__version__}\n")
    print(
        "| reference frames | videos | load + build | RSS | peak RSS | planted query "
        "(median / max) | unrelated query | candidate_times | planted found |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        with context.Pool(1) as pool:
            r = pool.apply(measure, (size, args.queries, args.seed, cpu))
        print(
            f"| {r['size']:,} | {r['videos']:,} | {r['load']:.1f} s "
            f"| {r['memory'] / 2**20:,.0f} MiB | {r['peak'] / 2**20:,.0f} MiB "
            f"| {r['planted_median'] * 1e3:.1f} / {r['planted_max'] * 1e3:.1f} ms "
            f"| {r['unrelated_median'] * 1e3:.1f} ms "
            f"| {r['candidates_median'] * 1e3:.1f} ms "
            f"| {r['found']}/{r['queries']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
