"""Reference video frames at scale: `VideoMatcher` speed and memory, as a markdown table.

    python -m benchmarks.video_index                          # 1M and 10M reference frames
    python -m benchmarks.video_index --sizes 100000 --queries 10
    python -m benchmarks.video_index --sizes 10000000 --crop-seed-distance 11

Per size: reference videos of 100 random PDQ frames each, four a second (so 10M frames are
100,000 videos of 25 s), and their middles (`crawler.hashing.crops.MIDDLE`), one per four frames
(once a second, as ``refs add`` stores them: 10M frames come with 2.5M middles), added with
`VideoMatcher.add_rows` as `LiveReferences` adds database rows, in a spawned process pinned to
one CPU, so its memory is its own (memory freed by the load is handed back to the system, as
`LiveReferences.load` does). Queries are videos of 60 frames sampled once a second, each frame
with its eight turns and mirrors and its 2,025 grid crops (`crawler.hashing.crops.GRID`), as a
crawl hashes them: the crops of every eighth frame are looked up among the middles, so a query
is about 165 frame lookups and 16,000 crop lookups. Kinds:

- "planted": 20 s of a reference (every frame 0-20 bits off, half of them mirrored) between
  unrelated frames;
- "planted cropped": 20 s of a reference's middles, each 0-20 bits off, in one grid box of
  each frame (the same box throughout, as a copy is cut the same way all along; a random one
  per query), the frames themselves and their other boxes random, between unrelated frames;
- "unrelated": only random frames and crops;
- "planted without crops": the planted query again with no crops, as a crawl's queries were
  before cropped copies could match: the crops' cost, measured at the same load.

Random bytes stand for every hash. Timed: `match`, and `candidate_times` of the planted
queries; every planted query must find its reference at the right offset (and the cropped ones
in the variant "cropped"); no unrelated query may find anything.

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
FRAMES_PER_MIDDLE = 4  # frames are four a second, middles one a second
QUERY_FRAMES = 60
KINDS = ("planted", "planted cropped", "unrelated", "planted without crops")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(size: int, queries: int, seed: int, cpu: int, options: dict[str, int]) -> dict:
    """One size, in a process of its own: ``options`` are `VideoMatcher`'s, beyond its
    defaults."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    from crawler.crawling.live_references import release_freed_memory
    from crawler.hashing.crops import GRID
    from crawler.hashing.dihedral import DIHEDRAL
    from crawler.hashing.types import FrameHash, HashValue, VariantHash
    from crawler.matching.video import VideoMatcher

    rng = np.random.default_rng(seed)
    videos = size // FRAMES_PER_VIDEO
    boxes = len(GRID)
    before = rss_bytes()
    started = time.perf_counter()
    matcher = VideoMatcher(**options)
    seconds = np.arange(FRAMES_PER_VIDEO) / 4
    qualities = np.full(FRAMES_PER_VIDEO, 90)
    middle_seconds = seconds[::FRAMES_PER_MIDDLE]
    middle_qualities = qualities[::FRAMES_PER_MIDDLE]
    for video_id in range(videos):
        codes = np.frombuffer(rng.bytes(FRAMES_PER_VIDEO * 32), dtype=np.uint8).reshape(-1, 32)
        middles = np.frombuffer(rng.bytes(len(middle_seconds) * 32), dtype=np.uint8)
        matcher.add_rows(
            video_id, video_id // 4, seconds, codes, qualities, 25.0,
            middles=(middle_seconds, middles.reshape(-1, 32), middle_qualities),
        )  # fmt: skip
    matcher._flush()  # the indexes are built before the first query; time it with the load
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
        return FrameHash(t, value(codes[0]), variants, rng.bytes(boxes * 32))

    def noisy(code: np.ndarray, bits: int) -> np.ndarray:
        unpacked = np.unpackbits(code)
        unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
        return np.packbits(unpacked)

    def planted(target: int, mirrored: bool) -> list[FrameHash]:
        ref = matcher._refs[target]
        ref_codes = ref.frames.codes.view(np.uint8)
        frames = [random_frame(float(t)) for t in range(20)]
        for t in range(20):  # 20 s of the reference, one frame a second
            code = noisy(ref_codes[4 * t], int(rng.integers(0, 21)))
            frame = random_frame(20.0 + t)
            if mirrored:
                variants = tuple(
                    VariantHash("flipx", value(code)) if item.variant == "flipx" else item
                    for item in frame.variants
                )
                frame = FrameHash(frame.seconds, frame.value, variants, frame.crops)
            else:
                frame = FrameHash(frame.seconds, value(code), frame.variants, frame.crops)
            frames.append(frame)
        return frames + [random_frame(40.0 + t) for t in range(20)]

    def planted_cropped(target: int) -> list[FrameHash]:
        ref = matcher._refs[target]
        middles = ref.middles.codes.view(np.uint8)
        box = int(rng.integers(boxes))
        frames = [random_frame(float(t)) for t in range(20)]
        for t in range(20):  # 20 s of the reference's middles, in one box of each frame
            frame = random_frame(20.0 + t)
            crops = bytearray(frame.crops)
            crops[32 * box : 32 * (box + 1)] = noisy(middles[t], int(rng.integers(0, 21))).tobytes()
            frames.append(FrameHash(frame.seconds, frame.value, frame.variants, bytes(crops)))
        return frames + [random_frame(40.0 + t) for t in range(20)]

    timings: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "candidates")}

    def timed(kind: str, frames: list[FrameHash]) -> list:
        started = time.perf_counter()
        matches = matcher.match(frames)
        timings[kind].append(time.perf_counter() - started)
        return matches

    found = dict.fromkeys(KINDS, 0)
    for number in range(queries):
        target = int(rng.integers(videos))
        frames = planted(target, mirrored=number % 2 == 1)
        matches = timed("planted", frames)
        started = time.perf_counter()
        matcher.candidate_times(frames)
        timings["candidates"].append(time.perf_counter() - started)
        if [m.video_id for m in matches] == [target] and abs(matches[0].offset + 20) <= 1:
            found["planted"] += 1
        # The same query as crawls made it before crops: the cost of the crops, at equal load.
        bare = [FrameHash(f.seconds, f.value, f.variants) for f in frames]
        matches = timed("planted without crops", bare)
        if [m.video_id for m in matches] == [target] and abs(matches[0].offset + 20) <= 1:
            found["planted without crops"] += 1
        target = int(rng.integers(videos))
        matches = timed("planted cropped", planted_cropped(target))
        if (
            [m.video_id for m in matches] == [target]
            and abs(matches[0].offset + 20) <= 1
            and matches[0].variant == "cropped"
        ):
            found["planted cropped"] += 1
        matches = timed("unrelated", [random_frame(float(t)) for t in range(QUERY_FRAMES)])
        found["unrelated"] += not matches
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "size": size,
        "videos": videos,
        "middles": matcher.middles,
        "options": ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults",
        "load": load,
        "memory": memory,
        "peak": peak,
        "nbytes": matcher.nbytes,
        "found": found,
        "queries": queries,
        **{f"{name}_median": float(np.median(values)) for name, values in timings.items()},
        **{f"{name}_max": float(np.max(values)) for name, values in timings.items()},
    }


def ms(result: dict, kind: str) -> str:
    """A kind of query's median and maximum time."""
    return f"{result[f'{kind}_median'] * 1e3:.1f} / {result[f'{kind}_max'] * 1e3:.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--crop-seed-distance",
        type=int,
        default=None,
        help="VideoMatcher's crop_seed_distance (default: the matcher's own)",
    )
    parser.add_argument(
        "--crop-probe-every",
        type=int,
        default=None,
        help="VideoMatcher's crop_probe_every: the crops of one frame in this many are looked up "
        "(default: the matcher's own)",
    )
    parser.add_argument(
        "--hashed-from",
        type=int,
        default=None,
        help="VideoMatcher's hashed_from: indexes smaller than this scan (default: its own)",
    )
    args = parser.parse_args(argv)
    cpu = sorted(os.sched_getaffinity(0))[-1] if hasattr(os, "sched_getaffinity") else 0
    print(f"{platform.processor() or platform.machine()}, one core, numpy {np.__version__}\n")
    print(
        "| reference frames (middles) | videos | matcher | load + build | RSS | peak RSS "
        "| planted query (median / max) | planted cropped | unrelated | planted without crops "
        "| candidate_times | found: planted, cropped, unrelated empty, without crops |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    options = {
        name: value
        for name, value in (
            ("crop_seed_distance", args.crop_seed_distance),
            ("crop_probe_every", args.crop_probe_every),
            ("hashed_from", args.hashed_from),
        )
        if value is not None
    }
    context = multiprocessing.get_context("spawn")
    for size in args.sizes:
        with context.Pool(1) as pool:
            r = pool.apply(measure, (size, args.queries, args.seed, cpu, options))
        found = ", ".join(f"{r['found'][kind]}/{r['queries']}" for kind in KINDS)
        print(
            f"| {r['size']:,} ({r['middles']:,}) | {r['videos']:,} | {r['options']} "
            f"| {r['load']:.1f} s | {r['memory'] / 2**20:,.0f} MiB | {r['peak'] / 2**20:,.0f} MiB "
            f"| {ms(r, 'planted')} | {ms(r, 'planted cropped')} | {ms(r, 'unrelated')} "
            f"| {ms(r, 'planted without crops')} "
            f"| {r['candidates_median'] * 1e3:.1f} ms | {found} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
