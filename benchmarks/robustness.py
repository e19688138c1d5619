"""How often RepostWatch finds edited copies of real photos and videos: markdown tables and a plot.

    python -m benchmarks.robustness               # about 9 minutes on 2 busy cores
    python -m benchmarks.robustness --no-video --jobs 1

The method is that of Thorn's ``perception`` benchmark. Originals are real photos
(`benchmarks.photos`: scikit-image's and Debian's opencv-doc examples). Each edit in
`benchmarks.photos.TRANSFORMS` is applied to each original; originals and copies are hashed with
`crawler.hashing.hash_media` and the copies matched with `crawler.matching.Matcher` over the
originals' hashes, each original its own case, as a crawl would. Per edit:

* matched: the share of copies whose matches include their own original's case (production
  rules: every algorithm, variant and threshold the Matcher uses);
* PDQ and pHash alone, at the production thresholds, and at the largest threshold that keeps
  precision at 99.99% or better over the whole benchmark. A copy's distance to an original is
  the smallest over the copy's variants (turns, mirrors, trimmed borders), as matching takes it;
  PDQ hashes under quality 50 count as no match. Positives are copies against their own original,
  negatives every copy and every original against every other original;
* wrong cases flagged: copies matched to another original's case.

The false-positive rate counts ordered pairs (query, another original) the Matcher flagged, over
originals and copies alike; `benchmarks.crhash_pairs` tries crhash on every other photo's copies too
(about 3 million pairs). Videos: slideshows of the photos and their edited copies, matched with
`crawler.matching.video.VideoMatcher` (`benchmarks.robustness_video`). Targets, verdicts and
tables: `benchmarks.robustness_report`.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import platform
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks import crhash_pairs, photos
from benchmarks.robustness_report import false_positive_line, markdown, verdict
from benchmarks.robustness_video import VIDEO_TARGET, hash_video_copies, score_videos
from crawler.hashing import MediaError, MediaHashes, hash_media
from crawler.hashing.algorithms import ALGORITHMS, ranked
from crawler.hashing.pdq import PDQ_MIN_QUALITY
from crawler.hashing.phash import phash_is_usable
from crawler.hashing.types import HashValue
from crawler.matching import Matcher, Reference
from crawler.matching.video import DEFAULT_MIN_FRAMES, DEFAULT_MIN_SECONDS

CACHE = Path("var/bench")
PLOT = Path("docs/benchmarks-robustness.png")
PRECISION = 0.9999
#: Perceptual algorithms whose thresholds are studied, PDQ first (crhash has no single
#: distance).
STUDIED = ranked("perceptual")
#: Distance standing for "cannot match" (a PDQ hash below quality 50 on either side).
FAR = 10_000


@dataclass
class Hashed:
    """One original's hashes and its copies' (a string for a copy that would not hash)."""

    name: str
    reference: MediaHashes
    copies: dict[str, MediaHashes | str] = field(default_factory=dict)
    original: photos.Original | None = None


def hash_photo(original: photos.Original) -> Hashed:
    """Runs in a worker: hash the original file and every copy of it."""
    image = photos.load(original)
    hashed = Hashed(original.name, hash_media(original.path.read_bytes()), original=original)
    for name in photos.TRANSFORMS:
        try:
            hashed.copies[name] = hash_media(copy_bytes(original, image, name))
        except MediaError as error:
            hashed.copies[name] = f"{type(error).__name__}: {error}"
    return hashed


def copy_bytes(original: photos.Original, image: Image.Image | None, name: str) -> bytes:
    """The file of ``original``'s copy by edit ``name`` (the same bytes on every call), or of
    the original itself for ``"original"``; ``image`` is `photos.load` of it, if loaded."""
    if name == "original":
        return original.path.read_bytes()
    seed = hashlib.sha256(f"{original.name}/{name}".encode()).digest()
    image = photos.load(original) if image is None else image
    return photos.TRANSFORMS[name](image, np.random.default_rng(list(seed)))


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class ImageScores:
    rows: list[list[str]]
    recall: dict[str, dict[str, float]]  # column -> transform -> share of copies
    distances: dict[str, tuple[np.ndarray, np.ndarray]]  # algorithm -> (positives, negatives)
    thresholds: dict[str, int | None]  # algorithm -> t*
    notes: list[str]


def score_images(hashed: list[Hashed]) -> ImageScores:
    """Match every original and copy against all originals, and study each algorithm's
    distances; a copy that failed to hash counts as missed."""
    count = len(hashed)
    queries = [(case, "original", item.reference) for case, item in enumerate(hashed)]
    queries += [
        (case, name, copy)
        for case, item in enumerate(hashed)
        for name, copy in item.copies.items()
        if not isinstance(copy, str)
    ]
    failed = Counter(
        name for item in hashed for name, copy in item.copies.items() if isinstance(copy, str)
    )
    results, flagged = _match(hashed, queries)
    recall = {"Matcher": {name: len(hits) / count for name, (hits, _, _) in results.items()}}
    distances, thresholds = {}, {}
    owner = np.array([case for case, _, _ in queries])
    label = np.array([name for _, name, _ in queries])
    for algorithm in STUDIED:
        table = _distance_table(algorithm, [media for _, _, media in queries], hashed)
        own = table[np.arange(len(queries)), owner]
        positives = own[label != "original"]
        negatives = table[np.arange(count)[None, :] != owner[:, None]]
        distances[algorithm] = (positives, negatives)
        best = _precise_threshold(positives, negatives, ALGORITHMS[algorithm].bits)
        thresholds[algorithm] = best
        production = ALGORITHMS[algorithm].threshold
        for column, limit in ((f"{production}", production), (f"{best} (t*)", best)):
            recall[f"{algorithm} <= {column}"] = {
                name: _share(own[label == name], limit, count) for name in results
            }

    rows, notes = [], []
    for name, (hits, via, wrong) in results.items():
        target = photos.target(name)
        share = len(hits) / count
        rows.append(
            [
                name,
                "-" if target is None else f">= {target:.1%}",
                f"{share:.1%} ({len(hits)}/{count})",
                verdict(share, target),
                *(f"{recall[column][name]:.1%}" for column in list(recall)[1:]),
                ", ".join(f"{a} {n}" for a, n in via.most_common()) or "-",
                str(wrong),
            ]
        )
        if target is not None and share < target:
            missed = [item.name for case, item in enumerate(hashed) if case not in hits]
            notes.append(f"{name} missed: {', '.join(missed)}")
    notes += [
        f"{count} originals, {len(queries) - count} copies"
        + (f"; copies that failed to hash: {dict(failed)}" if failed else ""),
        false_positive_line("Matcher, images", len(flagged), len(queries) * (count - 1)),
        *(f"  flagged: {line}" for line in flagged[:20]),
    ]
    for algorithm in STUDIED:
        negatives = distances[algorithm][1]
        usable = negatives[negatives < FAR]
        production = ALGORITHMS[algorithm].threshold
        notes.append(
            f"{algorithm}: t* = {thresholds[algorithm]} (production "
            f"{production}); unrelated pairs at or under the production "
            f"threshold: {int((negatives <= production).sum())} of "
            f"{len(negatives):,}; closest unrelated pair {int(usable.min())} bits, 1st "
            f"percentile {np.percentile(usable, 1):.0f}, median {np.median(usable):.0f}"
        )
    return ImageScores(rows, recall, distances, thresholds, notes)


def _match(
    hashed: list[Hashed], queries: list[tuple[int, str, MediaHashes]]
) -> tuple[dict[str, tuple[set[int], Counter, int]], list[str]]:
    """Per transform: the cases whose copy matched its own case, which algorithm matched it,
    and how many other cases copies were matched to; and every wrong match, described."""
    matcher = Matcher(
        Reference(len(hashed) * slot + case + 1, case, value)  # ids unique, as database rows
        for case, item in enumerate(hashed)
        for slot, value in enumerate(item.reference.reference_values())
    )
    results = {name: (set(), Counter(), 0) for name in photos.TRANSFORMS}
    flagged = []
    for case, name, media in queries:
        matches = matcher.match(media)
        if any(m.placement is not None for m in matches):  # a crop match: its region check
            original = hashed[case].original
            assert original is not None, "hash_photo keeps the original"
            matches = matcher.confirmed(matches, copy_bytes(original, None, name))
        wrong = [m for m in matches if m.case_id != case]
        flagged += [
            f"{hashed[case].name} ({name}) -> {hashed[m.case_id].name} by {m.algorithm} at "
            f"{m.distance} ({m.variant})"
            for m in wrong
        ]
        if name == "original":
            continue
        hits, via, wrong_count = results[name]
        own = [m for m in matches if m.case_id == case]
        if own:
            hits.add(case)
            via[own[0].algorithm] += 1
        results[name] = (hits, via, wrong_count + len(wrong))
    return results, flagged


def _distance_table(algorithm: str, queries: list[MediaHashes], hashed: list[Hashed]) -> np.ndarray:
    """(queries, originals): the smallest distance over a query's variants to each original."""
    refs = [item.reference.get(algorithm) for item in hashed]
    ref_codes = np.array([_packed(value) for value in refs])
    ref_usable = np.array([_usable(value) for value in refs])
    table = np.full((len(queries), len(hashed)), FAR, dtype=np.int64)
    for row, media in enumerate(queries):
        values = [item.value for item in media.with_variants(algorithm) if _usable(item.value)]
        if not values:
            continue
        codes = np.array([_packed(value) for value in values])
        bits = np.bitwise_count(codes[:, None, :] ^ ref_codes[None, :, :]).sum(axis=2)
        table[row] = np.where(ref_usable, bits.min(axis=0), FAR)
    return table


def _packed(value: HashValue) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(value.hex), dtype=np.uint8)


def _usable(value: HashValue) -> bool:
    """As `Matcher` takes it: a PDQ hash under `PDQ_MIN_QUALITY`, or the pHash of a flat
    picture, matches nothing."""
    if value.algorithm == "phash":
        return phash_is_usable(value)
    return value.algorithm != "pdq" or value.quality is None or value.quality >= PDQ_MIN_QUALITY


def _precise_threshold(positives: np.ndarray, negatives: np.ndarray, bits: int) -> int | None:
    """The largest threshold at which matches are right at least `PRECISION` of the time."""
    best = None
    for threshold in range(bits + 1):
        true = int((positives <= threshold).sum())
        false = int((negatives <= threshold).sum())
        if true and true / (true + false) >= PRECISION:
            best = threshold
    return best


def _share(distances: np.ndarray, limit: int | None, total: int) -> float:
    return 0.0 if limit is None else float((distances <= limit).sum()) / total


# --- output ----------------------------------------------------------------------------------


def plot(scores: ImageScores, video_recall: dict[str, float] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(14, 11), layout="constrained")
    grid = figure.add_gridspec(3, 2, width_ratios=(1.4, 1))
    bars = figure.add_subplot(grid[:, 0])
    names = list(photos.TRANSFORMS)[::-1]
    y = np.arange(len(names))
    columns = list(scores.recall)
    height = 0.8 / len(columns)
    for i, column in enumerate(columns):
        label = column if column == "Matcher" else f"{column} alone"
        values = [100 * scores.recall[column][name] for name in names]
        bars.barh(y + (len(columns) / 2 - i - 0.5) * height, values, height, label=label)
    targets = [photos.target(name) for name in names]
    marked = [(i, 100 * t) for i, t in enumerate(targets) if t is not None]
    bars.scatter(
        [t for _, t in marked],
        [i for i, _ in marked],
        marker="|",
        s=300,
        c="black",
        label="target",
        zorder=3,
    )
    bars.set(
        yticks=y,
        yticklabels=names,
        xlim=(0, 101),
        xlabel="copies matched to their original (%)",
        title="Images: recall per edit",
    )
    bars.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, fontsize=8)
    for row, algorithm in enumerate(STUDIED):
        axis = figure.add_subplot(grid[row, 1])
        positives, negatives = scores.distances[algorithm]
        bins = np.arange(min(ALGORITHMS[algorithm].bits, 160) + 2) - 0.5
        axis.hist(negatives[negatives < FAR], bins, alpha=0.6, label="other originals")
        axis.hist(positives[positives < FAR], bins, alpha=0.6, label="copy vs its original")
        axis.axvline(ALGORITHMS[algorithm].threshold, color="black", label="production threshold")
        if scores.thresholds[algorithm] is not None:
            axis.axvline(scores.thresholds[algorithm], color="red", ls="--", label="t* (99.99%)")
        axis.set(
            yscale="log",
            xlabel=f"{algorithm} distance (bits)",
            ylabel="pairs",
            title=f"{algorithm}: distances",
        )
        axis.legend(fontsize=8)
    axis = figure.add_subplot(grid[2, 1])
    if video_recall:
        names = list(video_recall)[::-1]
        axis.barh(np.arange(len(names)), [100 * video_recall[n] for n in names], color="C2")
        axis.axvline(100 * VIDEO_TARGET, color="black", label="target")
        axis.set(
            yticks=np.arange(len(names)),
            yticklabels=names,
            xlim=(0, 101),
            xlabel="copies matched (%)",
            title="Videos: VideoMatcher recall",
        )
        axis.tick_params(axis="y", labelsize=8)
    else:
        axis.set_axis_off()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.robustness", description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--no-video", action="store_true", help="images only")
    parser.add_argument(
        "--no-crhash-pairs",
        action="store_true",
        help="skip crhash against every other photo's copies (about 2.9 million pairs)",
    )
    parser.add_argument("--plot", type=Path, default=PLOT, help=f"PNG to write (default {PLOT})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    progress("collecting originals (opencv-doc is fetched once into var/bench)")
    originals, source = photos.originals(CACHE)
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.jobs} processes. Originals: {source}."
    )
    hashed: list[Hashed] = []
    video_results: dict[int, tuple] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        jobs = {}
        if not args.no_video:
            jobs |= {
                pool.submit(hash_video_copies, n): i for i, n in enumerate(photos.VIDEO_PHOTOS)
            }
        jobs |= {pool.submit(hash_photo, original): original for original in originals}
        for done, future in enumerate(as_completed(jobs), start=1):
            key = jobs[future]
            if isinstance(key, int):
                video_results[key] = future.result()
            else:
                hashed.append(future.result())
            if done % 8 == 0 or done == len(jobs):
                progress(f"hashed {done}/{len(jobs)} originals and videos with their copies")
        order = {original.name: i for i, original in enumerate(originals)}
        hashed.sort(key=lambda item: order[item.name])
        crhash_lines = []
        if not args.no_crhash_pairs:
            progress("crhash: every picture against every other photo's copies")
            _, crhash_lines = crhash_pairs.run(
                [(item.name, item.reference, item.copies) for item in hashed], pool
            )
    progress("pHash and PDQ: every picture against every other photo's copies")
    everything = [(item.name, item.reference, item.copies) for item in hashed]
    global_lines = [
        *crhash_pairs.global_run(everything)[2],
        *crhash_pairs.global_run(everything, centre=False)[2],
    ]
    progress("matching")
    scores = score_images(hashed)
    columns = ["transform", "target", "matched", "met", *list(scores.recall)[1:]]
    columns += ["best match by", "wrong cases flagged"]
    print(f"\n### Images: {len(hashed)} originals x {len(photos.TRANSFORMS)} edits\n")
    print(markdown(columns, scores.rows))
    met = sum(row[3] == "yes" for row in scores.rows)
    print(
        "\nt* = the largest threshold keeping precision >= 99.99% over every pair of the run. "
        f"Targets met: {met} of {sum(row[3] != '-' for row in scores.rows)} edits with one."
    )
    print("\n".join(["", *scores.notes, *global_lines, *crhash_lines]))
    video_recall = None
    if video_results:
        rows, video_recall, notes = score_videos([video_results[i] for i in sorted(video_results)])
        header = ["video edit", "target", "matched", "met", "fewest frames aligned", "wrong videos"]
        print(f"\n### Videos: {len(video_results)} slideshows of two photos each (8 s, 15 fps)\n")
        print(markdown(header, rows))
        print(
            "\nFewest frames aligned: the fewest of a copy's frames on one offset and speed with "
            f"its own video ({DEFAULT_MIN_FRAMES} needed, over {DEFAULT_MIN_SECONDS:g} s of the "
            "reference or half of a shorter one)."
        )
        print("\n".join(["", *notes]))
    plot(scores, video_recall, args.plot)
    print(f"\nPlot: {args.plot}. Took {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
