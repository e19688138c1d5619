"""False alarms among thousands of real pictures no other benchmark uses: a markdown table.

    python -m benchmarks.false_alarms             # first run: downloads ~1.2 GB, ~40 minutes
    python -m benchmarks.false_alarms --per-package 50 --jobs 1

The corpus (`benchmarks.corpus`) is built from Debian packages of wallpapers, astronomy, games,
clip art and documentation, with dark pictures, star fields, small subjects on black, flat
drawings, text and UI, and skin tones over-represented. Every picture is registered as a
reference, its own case, as ``refs add`` stores it (`MediaHashes.reference_values`, hashed by
`crawler.hashing.hash_media`), in one `crawler.matching.Matcher` with production settings. Every
picture and `EDITS` copies of it (`benchmarks.photos.TRANSFORMS`) are then matched as a crawl
would match them, every algorithm and variant included, crop matches checked on the query's
pixels as a crawl checks them (`Matcher.confirmed`, crpdq); each (query, another picture's case)
is one pair, and any match in such a pair is a false alarm. With none, the rule of three bounds the
rate at 3 / pairs with 95% confidence.

Alongside, each algorithm alone (a Matcher holding only its references) shows how close
unrelated pairs come: pHash and PDQ at looser thresholds (`LOOSE`) for the closest distance, and
crhash's keypoint evidence (`crawler.hashing.crhash.crop_evidence`) for the best score among
pairs with enough keypoints in place. Hashes are cached under ``var/bench/corpus/hashes``, keyed
by the picture and by the source of ``crawler/hashing``.

Some pictures of the corpus share pixels though no two are the same picture: a game's sprites
built from the same parts, one map recoloured, a wallpaper with and without a logo, a tile and
the same tile with a road on it. A match between them is a crop or copy found, not a false
alarm against an innocent picture, and every flagged pair is checked for it on the pictures'
pixels, independently of the hashes (`shared_pixels`): the reference is aligned onto the query
(whole frame on whole frame, or by ORB features and RANSAC, under each turn and mirror) and
their fine detail compared. Pairs at `SHARED` or over count as sharing pixels. Others may
share a part only (one game's dialog in two languages with the same icons, one logo word in two
titles, a sprite's two animation frames, one HUD over two race tracks): `shared_part` aligns
the two by their ORB features alone and compares detail only around the features that agree;
pairs at `SHARED` or over by it count as sharing a part, the rest as unrelated. The table shows
all three, and the false-match column counts every flagged pair.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import pickle
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from benchmarks import corpus, photos
from benchmarks.robustness_report import markdown
from crawler.hashing import MediaError, MediaHashes, hash_media
from crawler.hashing.algorithms import ALGORITHMS, CRPDQ, names
from crawler.hashing.crhash import CRHASH_MIN_INLIERS, crop_evidence, probe_codes
from crawler.hashing.dihedral import DIHEDRAL
from crawler.hashing.dihedral import apply as dihedral_apply
from crawler.hashing.phash import is_plain
from crawler.matching import Matcher, Reference
from crawler.matching.keypoint_index import KeypointIndex, keypoint_codes
from crawler.matching.matcher import CROP, Match

CACHE = Path("var/bench/corpus")
#: The copies of each picture matched besides the picture itself.
EDITS = ("JPEG q50", "resize 0.5x", "crop 10%", "mirror", "text overlay")
#: Thresholds of the per-algorithm matchers, looser than production, to see the closest pairs.
LOOSE = {"phash": 16, "pdq": 50}
#: `shared_pixels` at or over this: the two pictures share pixels. Between 0.5 and 0.7 every
#: pair of a sample of the flagged ones shared drawn parts by eye (ship modules, brush handles,
#: a recoloured map); between 0.3 and 0.5 some did and some did not, and those count as
#: unrelated.
SHARED = 0.5
#: `shared_part` needs this many ORB features agreeing on one placement, and the box around
#: them (padded by `_PART_PAD` of the longer side) to cover this share of the query.
PART_MIN_FEATURES = 8
PART_MIN_AREA = 0.02
_PART_PAD = 0.05
#: Detail (standard deviation of high-pass luma) under which a picture or window is flat.
_FLAT = 0.01
#: Longer side the pixel check works at.
_CHECK_SIDE = 512
_HASHING = Path(__file__).resolve().parent.parent / "crawler" / "hashing"


@dataclass
class Hashed:
    picture: corpus.Picture
    reference: MediaHashes
    copies: dict[str, MediaHashes | str]


@dataclass
class Tally:
    """One class's queries: pairs, production matches, and each algorithm alone."""

    pictures: int = 0
    pairs: int = 0
    flagged: list[str] = field(default_factory=list)
    alone: Counter = field(default_factory=Counter)  # algorithm -> pairs within production
    closest: dict[str, int] = field(default_factory=dict)  # algorithm -> bits
    crhash_near: Counter = field(default_factory=Counter)  # score of pairs with enough inliers
    region_refused: int = 0  # crhash matches the region check (crpdq) refused

    def add(self, other: Tally) -> None:
        self.pictures += other.pictures
        self.pairs += other.pairs
        self.flagged += other.flagged
        self.alone.update(other.alone)
        for algorithm, bits in other.closest.items():
            self.closest[algorithm] = min(bits, self.closest.get(algorithm, bits))
        self.crhash_near.update(other.crhash_near)
        self.region_refused += other.region_refused


def code_version() -> str:
    """Digest of the hashing code: cached hashes are redone when it changes. crhash's match-time
    half (``class CropEvidence`` up to ``def keypoint_features``, and ``def unpack`` up to
    ``def _scaled``) is left out: changing how crhash matches does not change hashes."""
    digest = hashlib.sha256()
    for path in sorted(_HASHING.glob("*.py")):
        text = path.read_text()
        if path.name == "crhash.py":
            for start, stop in (
                ("class CropEvidence", "def keypoint_features"),
                ("def unpack", "def _scaled"),
            ):
                text = text[: text.index(start)] + text[text.index(stop) :]
        digest.update(text.encode())
    return digest.hexdigest()[:16]


def hash_picture(
    picture: corpus.Picture, cache: Path, version: str, edits: tuple[str, ...] = EDITS
) -> Hashed:
    """Runs in a worker: the picture's hashes and its copies', each from the disk cache if
    there (cached one by one, so a run with fewer or other ``edits`` reuses what it can)."""
    data = picture.path.read_bytes()
    image: Image.Image | None = None

    def hashed(edit: str) -> MediaHashes | str:
        nonlocal image
        key = hashlib.sha256(data + edit.encode() + version.encode()).hexdigest()
        stored = cache / "hashes" / f"{key[:24]}.pickle"
        if stored.exists():  # written by this function only, never downloaded
            return pickle.loads(stored.read_bytes())
        if edit == "original":
            found: MediaHashes | str = hash_media(data)
        else:
            if image is None:
                image = picture.load()
            try:
                found = hash_media(edited(picture, image, edit))
            except MediaError as error:
                found = f"{type(error).__name__}: {error}"
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(pickle.dumps(found))
        return found

    reference = hashed("original")
    assert isinstance(reference, MediaHashes)
    return Hashed(picture, reference, {edit: hashed(edit) for edit in edits})


def query_bytes(picture: corpus.Picture, edit: str) -> bytes:
    """The file a query of ``picture`` is: the picture's own, or its ``edit`` copy's."""
    if edit == "original":
        return picture.path.read_bytes()
    return edited(picture, picture.load(), edit)


def edited(picture: corpus.Picture, image: Image.Image, edit: str) -> bytes:
    seed = hashlib.sha256(f"{picture.name}/{edit}".encode()).digest()
    return photos.TRANSFORMS[edit](image, np.random.default_rng(list(seed)))


def matchers(
    hashed: list[Hashed],
) -> tuple[Matcher, dict[str, Matcher], KeypointIndex, set[int]]:
    """Over every picture's stored values (case = position): the production matcher (whose
    crhash stage `count_part` runs itself: ``match(crops=False)``); one matcher per perceptual
    algorithm at `LOOSE` thresholds holding only its own references; and the crhash references
    in a `KeypointIndex`, as `Matcher` keeps them."""
    refs = [
        Reference(slot * len(hashed) + case + 1, case, value)
        for case, item in enumerate(hashed)
        for slot, value in enumerate(item.reference.reference_values())
    ]
    alone = {
        algorithm: Matcher((r for r in refs if r.value.algorithm == algorithm), thresholds=LOOSE)
        for algorithm in names("perceptual")
    }
    crhash = [r for r in refs if r.value.algorithm == "crhash"]
    keypoints = KeypointIndex()
    codes, counts = keypoint_codes([r.value for r in crhash])
    keypoints.add(
        np.array([r.id for r in crhash], dtype=np.int64),
        np.array([r.case_id for r in crhash], dtype=np.int64),
        codes,
        counts,
    )
    plain = {r.id for r in crhash if is_plain(r.value)}
    return Matcher(refs), alone, keypoints, plain


def count(hashed: list[Hashed], pool: Executor, parts: int) -> dict[str, Tally]:
    """Every picture and copy against every other picture's case, per class of the query,
    counted in ``parts`` jobs of ``pool``."""
    jobs = [pool.submit(count_part, hashed, part, parts) for part in range(parts)]
    tallies: dict[str, Tally] = defaultdict(Tally)
    for done, job in enumerate(jobs, start=1):
        for kind, tally in job.result().items():
            tallies[kind].add(tally)
        progress(f"matched {done}/{parts} parts")
    return tallies


def count_part(hashed: list[Hashed], part: int, parts: int) -> dict[str, Tally]:
    """Runs in a worker: the queries of every ``parts``-th picture from ``part`` on.

    A pair is flagged as `Matcher.match` flags it: by a digest, pHash or PDQ (any variant, at
    production thresholds), or else by crhash, screened by the `KeypointIndex` and decided by
    `crop_evidence` as `Matcher` does. crhash is run here rather than inside `Matcher` so that
    each screened pair's evidence is computed once and kept for the near-miss column (the
    crop stage is most of the time)."""
    production, alone, keypoints, plain = matchers(hashed)
    tallies: dict[str, Tally] = defaultdict(Tally)
    others = len(hashed) - 1
    for case in range(part, len(hashed), parts):
        item = hashed[case]
        tally = tallies[item.picture.kind]
        tally.pictures += 1
        queries = [("original", item.reference)]
        queries += [(e, m) for e, m in item.copies.items() if not isinstance(m, str)]
        for edit, media in queries:
            tally.pairs += others
            label = f"{item.picture.name} ({edit})"
            found_cases = {case}
            for found in production.match(media, crops=False):
                found_cases.add(found.case_id)
                if found.case_id != case:
                    tally.flagged.append(
                        f"{label} -> {hashed[found.case_id].picture.name} by {found.algorithm} "
                        f"at {found.distance} ({found.variant}) #{case}:{edit}:{found.case_id}"
                    )
            for algorithm, matcher in alone.items():
                for found in matcher.match(media):
                    if found.case_id == case:
                        continue
                    bits = tally.closest.get(algorithm, ALGORITHMS[algorithm].bits)
                    tally.closest[algorithm] = min(bits, found.distance)
                    tally.alone[algorithm] += found.distance <= ALGORITHMS[algorithm].threshold
            if not media.keypoints:
                continue
            probe = probe_codes(media.keypoints)
            data: bytes | None = None  # the query's file, read for crop matches' region checks
            for ref_id, ref_case, codes in keypoints.screen(probe, CRHASH_MIN_INLIERS):
                if ref_case == case:
                    continue
                evidence = crop_evidence(probe, codes)
                if evidence.inliers < CRHASH_MIN_INLIERS:
                    continue
                tally.crhash_near[evidence.score] += 1
                if not evidence.is_match(plain=ref_id in plain):
                    continue
                crop = Match(ref_id, ref_case, "crhash", 0, CROP, placement=evidence.placement)
                if data is None:
                    data = query_bytes(item.picture, edit)
                if not production.confirmed([crop], data):
                    tally.region_refused += 1
                    continue
                tally.alone["crhash"] += 1
                if ref_case not in found_cases:
                    found_cases.add(ref_case)
                    tally.flagged.append(
                        f"{label} -> {hashed[ref_case].picture.name} by crhash "
                        f"({evidence.inliers} of {len(codes)} in place, score {evidence.score}) "
                        f"#{case}:{edit}:{ref_case}"
                    )
    return tallies


def shared_pixels(query: Image.Image, reference: Image.Image) -> float:
    """How much fine detail of ``reference`` is found in ``query``: the best correlation
    (-1 to 1) of their high-pass luma over where the reference lands in the query (a tenth of
    the query or more), the reference aligned whole frame on whole frame, by ORB feature
    matches and RANSAC, or one picture fitted inside the other at one zoom (`_framed`: a
    preview cut to another aspect, which smooth pictures give ORB too little to align), under
    each of the query's turns and mirrors."""
    ref, features, ref_detail = _prepared(reference)
    best = 0.0
    for turned in _turns(query):
        height, width = turned.shape
        detail = _detail(turned)
        scale = np.array([[width / ref.shape[1], 0, 0], [0, height / ref.shape[0], 0]])
        alignments = [scale]
        aligned = features.align(turned, 6)
        if aligned is not None:
            alignments.append(aligned[0])
        best = max(best, _framed(turned, ref))
        for alignment in alignments:
            inside = _landed(ref, alignment, turned.shape)
            if inside.mean() < 0.1:
                continue
            warped = cv2.warpAffine(ref_detail, alignment, (width, height))
            best = max(best, _correlation(detail[inside], warped[inside]))
    return best


def shared_part(query: Image.Image, reference: Image.Image) -> float:
    """How much fine detail of some part of ``reference`` is found in ``query``: the reference
    aligned by `PART_MIN_FEATURES` or more ORB features agreeing on one placement (RANSAC),
    under each of the query's turns and mirrors, and the correlation of their high-pass luma
    only inside the box around those features (padded, at least `PART_MIN_AREA` of the query).
    Over 600 random pairs of the corpus, the only one at 0.5 or over was two star textures of
    one game, one star field recoloured."""
    ref, features, ref_detail = _prepared(reference)
    best = 0.0
    for turned in _turns(query):
        height, width = turned.shape
        aligned = features.align(turned, PART_MIN_FEATURES)
        if aligned is None:
            continue
        alignment, points = aligned
        pad = _PART_PAD * max(width, height)
        left, top = np.maximum(points.min(axis=0) - pad, 0).astype(int)
        right, bottom = (points.max(axis=0) + pad).astype(int)
        region = np.zeros((height, width), dtype=bool)
        region[top : bottom + 1, left : right + 1] = True
        region &= _landed(ref, alignment, turned.shape)
        if region.mean() < PART_MIN_AREA:
            continue
        warped = cv2.warpAffine(ref_detail, alignment, (width, height))
        best = max(best, _correlation(_detail(turned)[region], warped[region]))
    return best


def _prepared(reference: Image.Image) -> tuple[np.ndarray, _Features, np.ndarray]:
    """The reference's luma at the check's size, its ORB features and its fine detail."""
    luma = _check_luma(reference)
    return luma, _Features(luma), _detail(luma)


def _turns(query: Image.Image) -> Iterator[np.ndarray]:
    """The query's luma at the check's size under each of its turns and mirrors."""
    for name in DIHEDRAL:
        yield _check_luma(dihedral_apply(query, name))


class _Features:
    """A picture's ORB features, to align it onto others."""

    def __init__(self, luma: np.ndarray) -> None:
        self.orb = cv2.ORB_create(nfeatures=3000)
        self.points, self.descriptors = self.orb.detectAndCompute(luma.astype(np.uint8), None)

    def align(self, other: np.ndarray, at_least: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The zoom, turn and shift taking this picture onto ``other`` that ``at_least`` of
        the features matched between them (ratio test) agree on, and where those land in
        ``other``; None without one."""
        points, descriptors = self.orb.detectAndCompute(other.astype(np.uint8), None)
        if self.descriptors is None or descriptors is None or len(points) < 2:
            return None
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(self.descriptors, descriptors, k=2)
        good = [p for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < at_least:
            return None
        source = np.float32([self.points[p[0].queryIdx].pt for p in good])
        target = np.float32([points[p[0].trainIdx].pt for p in good])
        found, inliers = cv2.estimateAffinePartial2D(
            source, target, method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        if found is None or inliers is None or inliers.sum() < at_least:
            return None
        return found, target[inliers.ravel() > 0]


def _landed(reference: np.ndarray, alignment: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where the aligned reference lands in a picture of ``shape``, away from the landed
    frame's edge (where the warp blends in black)."""
    height, width = shape
    inside = cv2.warpAffine(
        np.ones_like(reference), alignment, (width, height), flags=cv2.INTER_NEAREST
    )
    return cv2.erode((inside > 0.5).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0


def _framed(query: np.ndarray, reference: np.ndarray) -> float:
    """The best correlation of fine detail with the heights (or the widths) of the two lumas
    made equal, the larger reduced, and the narrower slid along the wider, when it spans at
    least half of it. Over 400 random pairs of the corpus the highest was 0.27."""
    best = 0.0
    for axis in (0, 1):
        a, b = (
            (query, reference) if query.shape[axis] >= reference.shape[axis] else (reference, query)
        )
        scale = b.shape[axis] / a.shape[axis]
        size = (max(1, round(a.shape[1] * scale)), max(1, round(a.shape[0] * scale)))
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        other = 1 - axis
        wide, narrow = (a, b) if a.shape[other] >= b.shape[other] else (b, a)
        if narrow.shape[other] < 0.5 * wide.shape[other] or min(narrow.shape) < 16:
            continue
        best = max(best, _slid(_detail(wide), _detail(narrow)))
    return best


def _slid(wide: np.ndarray, narrow: np.ndarray) -> float:
    """The best correlation of ``narrow`` with a window of ``wide`` as it slides, leaving out
    windows with next to no detail (where a normalised correlation means nothing)."""
    if narrow.std() < _FLAT:
        return 0.0
    found = cv2.matchTemplate(wide, narrow, cv2.TM_CCOEFF_NORMED)
    height, width = narrow.shape
    sums, squares = cv2.integral2(wide.astype(np.float64))[:2]

    def windows(table: np.ndarray) -> np.ndarray:
        return (
            table[height:, width:]
            - table[:-height, width:]
            - table[height:, :-width]
            + table[:-height, :-width]
        )

    count = height * width
    variance = windows(squares) / count - (windows(sums) / count) ** 2
    found[variance < (_FLAT * narrow.std()) ** 2 + _FLAT**2] = 0.0
    return float(np.clip(np.nan_to_num(found), -1.0, 1.0).max())


def _check_luma(image: Image.Image) -> np.ndarray:
    image = image.convert("L")
    scale = _CHECK_SIDE / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32)


def _detail(luma: np.ndarray) -> np.ndarray:
    return luma - cv2.GaussianBlur(luma, (0, 0), 3)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / scale) if scale > 0 else 0.0


def check_pair(query: corpus.Picture, reference: corpus.Picture) -> Shared:
    """Runs in a worker: `shared_pixels` and `shared_part` of two corpus pictures (the query's
    original: an edit adds nothing the reference could share)."""
    query_image, reference_image = query.load(), reference.load()
    whole = shared_pixels(query_image, reference_image)
    part = shared_part(query_image, reference_image) if whole < SHARED else whole
    return Shared(whole, part)


@dataclass(frozen=True)
class Shared:
    """What the pixel checks found between two pictures."""

    whole: float  # `shared_pixels`
    part: float  # `shared_part` (not computed when ``whole`` is SHARED or over)

    @property
    def verdict(self) -> str:
        if self.whole >= SHARED:
            return "shares pixels"
        return "shares a part" if self.part >= SHARED else "unrelated"


def pair_of(line: str) -> tuple[int, int]:
    """The (query case, reference case) of a flagged line."""
    case, _, other = line.rsplit("#", 1)[1].split(":")
    return int(case), int(other)


def bound(flagged: int, pairs: int) -> str:
    if not pairs:
        return "-"
    if flagged:
        return f"rate {flagged / pairs:.2g}"
    return f"0, at most {3 / pairs:.1g}"


def table(tallies: dict[str, Tally], shared: dict[tuple[int, int], Shared]) -> str:
    """The markdown table; ``shared`` is the pixel checks per flagged (query, reference) pair."""
    total = Tally()
    rows = []
    for kind in (*corpus.CLASSES, corpus.OTHER, "all"):
        if kind == "all":
            tally = total
        else:
            tally = tallies.get(kind, Tally())
            total.add(tally)
        near = tally.crhash_near
        rows.append(
            [
                f"**{kind}**" if kind == "all" else kind,
                str(tally.pictures),
                f"{tally.pairs:,}",
                str(len(tally.flagged)),
                *(
                    str(sum(shared[pair_of(line)].verdict == verdict for line in tally.flagged))
                    for verdict in ("shares a part", "unrelated")
                ),
                bound(len(tally.flagged), tally.pairs),
                *(str(tally.alone[a]) for a in ("pdq", "phash", "crhash")),
                *(str(tally.closest.get(a, f"> {LOOSE[a]}")) for a in ("pdq", "phash")),
                f"{sum(near.values())}, best {max(near)}" if near else "0",
            ]
        )
    header = [
        "class (of the query)",
        "pictures",
        "pairs",
        "false matches",
        "of which share a part only",
        "of which unrelated (no shared pixels)",
        "95% bound",
        "PDQ alone",
        "pHash alone",
        "crhash alone",
        "closest PDQ",
        "closest pHash",
        f"crhash pairs with {CRHASH_MIN_INLIERS}+ in place, best score",
    ]
    return markdown(header, rows)


def side_by_side(hashed: list[Hashed], line: str, path: Path) -> None:
    """The query (re-made) and the picture it was matched to, 256 pixels high, one PNG."""
    case, edit, other = line.rsplit("#", 1)[1].split(":")
    picture = hashed[int(case)].picture
    image = picture.load()
    if edit != "original":
        from io import BytesIO

        with Image.open(BytesIO(edited(picture, image, edit))) as copy:
            image = copy.convert("RGB")
    pair = [image, hashed[int(other)].picture.load()]
    for i, part in enumerate(pair):
        pair[i] = part.resize((max(1, round(part.width * 256 / part.height)), 256))
    canvas = Image.new("RGB", (pair[0].width + pair[1].width + 8, 256), "white")
    canvas.paste(pair[0], (0, 0))
    canvas.paste(pair[1], (pair[0].width + 8, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.false_alarms", description=__doc__)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument(
        "--per-package", type=int, default=300, help="pictures sampled per package (300)"
    )
    parser.add_argument(
        "--edits",
        default=",".join(EDITS),
        # argparse formats help with %: the edits' names hold some ("crop 10%")
        help=f"copies of each picture, comma-separated (default: {', '.join(EDITS)})".replace(
            "%", "%%"
        ),
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE,
        help=f"where the corpus and its hashes are kept (default {CACHE}; another checkout's "
        "var/bench/corpus can be shared)",
    )
    parser.add_argument(
        "--pictures",
        type=int,
        default=None,
        help="only the first N pictures of the corpus, in package order (default all)",
    )
    args = parser.parse_args(argv)
    edits = tuple(edit.strip() for edit in args.edits.split(",") if edit.strip())
    unknown = [edit for edit in edits if edit not in photos.TRANSFORMS]
    if unknown:
        parser.error(
            f"--edits: unknown {', '.join(unknown)}; use edits of benchmarks.photos.TRANSFORMS"
        )
    cache = args.cache
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        progress("corpus: fetching, unpacking and normalising (cached under var/bench/corpus)")
        pictures, lines = corpus.build(cache, pool, per_package=args.per_package)
        if args.pictures is not None and args.pictures < len(pictures):
            lines.append(
                f"Only the first {args.pictures} of {len(pictures)} pictures (--pictures)."
            )
            pictures = pictures[: args.pictures]
        progress(f"hashing {len(pictures)} pictures and {len(edits)} copies of each")
        version = code_version()
        jobs = [pool.submit(hash_picture, picture, cache, version, edits) for picture in pictures]
        hashed = []
        for done, job in enumerate(jobs, start=1):
            hashed.append(job.result())
            if done % 200 == 0 or done == len(jobs):
                progress(f"hashed {done}/{len(jobs)}")
        progress("matching every picture and copy against every other picture")
        tallies = count(hashed, pool, 4 * args.jobs)
        pairs = sorted({pair_of(line) for t in tallies.values() for line in t.flagged})
        progress(f"checking the pixels of {len(pairs)} flagged pairs of pictures")
        checked = pool.map(
            check_pair, [hashed[q].picture for q, _ in pairs], [hashed[r].picture for _, r in pairs]
        )
        shared = dict(zip(pairs, checked, strict=True))
    failed = Counter(e for h in hashed for e, m in h.copies.items() if isinstance(m, str))
    kinds = Counter(h.picture.kind for h in hashed)
    print(f"\n### False alarms: {len(hashed)} pictures, each with {len(edits)} copies\n")
    print(table(tallies, shared))
    print()
    refused = sum(tally.region_refused for tally in tallies.values())
    print(
        "crhash matches refused by their region check "
        f"(crpdq over {CRPDQ.threshold} bits): {refused}"
    )
    print(*lines, sep="\n")
    per_package = Counter(h.picture.package for h in hashed)
    print("Pictures matched, per package: " + ", ".join(f"{k} {n}" for k, n in per_package.items()))
    print("Classes: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"Copies: {', '.join(edits)}" + (f"; failed to hash: {dict(failed)}" if failed else ""))
    flagged = [line for tally in tallies.values() for line in tally.flagged]
    for verdict in ("shares a part", "unrelated"):
        found = Counter(
            line.split(" by ", 1)[1].split()[0]
            for line in flagged
            if shared[pair_of(line)].verdict == verdict
        )
        print(
            f"{verdict.capitalize()} (pixel checks), by algorithm: "
            + (", ".join(f"{a} {n}" for a, n in found.most_common()) or "none")
        )
    for number, line in enumerate(flagged, start=1):
        picture = cache.parent / "false-alarms" / f"{number:03d}.png"
        side_by_side(hashed, line, picture)
        check = shared[pair_of(line)]
        print(
            f"  false match {number}: {line.rsplit(' #', 1)[0]} ({picture}; pixel checks "
            f"{check.whole:.2f} whole, {check.part:.2f} a part: {check.verdict})"
        )
    print(f"\nTook {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
