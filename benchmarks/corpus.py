"""A corpus of real pictures no other test or benchmark uses, for `benchmarks.false_alarms`.

Debian packages of wallpapers, artwork, astronomy, games and documentation are fetched with
``apt-get download`` (no root needed) into ``var/bench/corpus/debs`` and unpacked with
``dpkg-deb -x``; nothing here is committed. `PACKAGES` says why each is in; scikit-image and
opencv-doc (the photos of `benchmarks.photos` and `crawler.demo.samples`) are not, and a picture
within `NEAR` pHash bits of one of those photos is dropped as well.

From each package, JPEG, PNG and WebP files at least `MIN_SIDE` pixels a side and not under an
``icons`` folder are taken, one of each numbered series (names equal but for their digits, in one
folder: animation frames, sizes, colour variants), at most ``per_package`` of them (a fixed
sample: the files sorted by the sha256 of their path), decoded,
laid on black when they have transparency (sprites and clip art as a dark page shows them), and
reduced to `MAX_SIDE` pixels on the longer side (JPEG files saved again as JPEG at quality 95,
others as PNG). SVG files are left out: no renderer is installed.
Duplicates go: the same pixels (sha256), or a pHash within `NEAR` bits of a kept picture, as it
is or turned or mirrored (games ship sprites facing both ways and tiles in each of four turns;
wallpapers ship each size of one picture).

Each picture gets one class, for reporting only, from crude statistics of a 256-pixel copy
(`classify`): they say where the hard pictures are, not what a person would call them.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from benchmarks import photos
from crawler.hashing.phash import phash_variants

#: Package -> why it is in (what it adds to the corpus).
PACKAGES: dict[str, str] = {
    "desktop-base": "Debian's own wallpapers, login and boot screens",
    "plasma-workspace-wallpapers": "KDE wallpapers: photos and abstract art",
    "gnome-backgrounds": "GNOME wallpapers",
    "mate-backgrounds": "MATE wallpapers: photos",
    "ukui-wallpapers": "UKUI wallpapers: photos",
    "stellarium-data": "star fields, nebulae, galaxies, night landscapes",
    "endless-sky-data": "space game: ships on black, planets, star fields",
    "marble-data": "maps, the Earth at night, planet textures",
    "extremetuxracer-data": "game: snow scenes, night skies, textures",
    "frozen-bubble-data": "game: flat illustrations",
    "pingus-data": "game: flat pixel art and dark levels",
    "freeciv-data": "game: flat tiles, units, icons, text",
    "lincity-ng-data": "game: isometric drawings, UI panels",
    "wesnoth-1.16-data": "game: painted portraits (skin tones), maps, UI",
    "tuxpaint-stamps-default": "photos and drawings of objects, animals, people",
    "openclipart-png": "flat clip art",
    "gimp-data": "brushes, patterns, splash screen, tips",
    "krita-data": "brushes, patterns, paper textures",
    "blender-data": "splash screen and matcaps",
    "gnome-user-docs": "documentation: UI screenshots",
}
#: Packages other tests and benchmarks take their photos from: never in the corpus.
EXCLUDED = frozenset({"opencv-doc", "python3-skimage", "python3-skimage-lib", "scikit-image"})
#: Smallest side of a picture, in pixels: below are icons and sprites.
MIN_SIDE = 128
#: Longer side a picture is reduced to (hashing reduces larger pictures anyway).
MAX_SIDE = 1024
#: pHash bits within which two pictures count as one.
NEAR = 4
SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: Report classes, hardest first: a picture takes the first whose test it passes.
CLASSES = ("star field", "small subject on black", "dark", "skin tones", "text or UI", "flat")
OTHER = "other"

assert not EXCLUDED & set(PACKAGES)


@dataclass(frozen=True, slots=True)
class Picture:
    """One corpus picture: ``name`` is package/path-in-package, ``path`` the normalised file."""

    name: str
    package: str
    path: Path
    kind: str

    def load(self) -> Image.Image:
        with Image.open(self.path) as image:
            return image.convert("RGB")


def build(cache: Path, pool: Executor, *, per_package: int) -> tuple[list[Picture], list[str]]:
    """The corpus (fetched, unpacked and normalised once into ``cache``), and report lines."""
    manifest = cache / f"manifest-{per_package}.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        pictures = [Picture(**{**item, "path": Path(item["path"])}) for item in data["pictures"]]
        return pictures, data["lines"]
    versions = fetch(cache)
    chosen = [
        (package, path)
        for package in PACKAGES
        for path in _sample(cache / "unpacked" / package, per_package)
    ]
    out = cache / "pictures"
    jobs = [pool.submit(_normalise, package, path, cache, out) for package, path in chosen]
    found = [job.result() for job in jobs]
    test_photos, _ = photos.originals(cache.parent)
    test_hashes = list(pool.map(_test_photo_hashes, [original.path for original in test_photos]))
    kept, dropped = _without_near_duplicates([f for f in found if f is not None], test_hashes)
    pictures = [Picture(f["name"], f["package"], Path(f["path"]), f["kind"]) for f in kept]
    per_package = Counter(p.package for p in pictures)
    lines = [
        "Packages (Debian bookworm): "
        + ", ".join(f"{name} {versions[name]} ({per_package[name]})" for name in PACKAGES),
        f"Dropped as duplicates: {dropped['same']} same pixels or pHash within {NEAR} bits of "
        f"a kept picture (or one of its turns and mirrors), {dropped['test']} near a test photo.",
    ]
    manifest.write_text(
        json.dumps(
            {"pictures": [{**asdict(p), "path": str(p.path)} for p in pictures], "lines": lines}
        )
    )
    return pictures, lines


def fetch(cache: Path) -> dict[str, str]:
    """Each package downloaded and unpacked once under ``cache``; package -> version."""
    debs, unpacked = cache / "debs", cache / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [name for name in PACKAGES if not list(debs.glob(f"{name}_*.deb"))]
    if missing:
        subprocess.run(
            ["apt-get", "download", *missing],
            cwd=debs,
            check=True,
            capture_output=True,
            timeout=3600,
        )
    versions = {}
    for name in PACKAGES:
        deb = next(debs.glob(f"{name}_*.deb"))
        versions[name] = deb.name.split("_")[1].replace("%3a", ":")
        target = unpacked / name
        if not (target / ".done").exists():
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["dpkg-deb", "-x", str(deb), str(target)], check=True, capture_output=True
            )
            (target / ".done").touch()
    return versions


def _sample(root: Path, limit: int) -> list[Path]:
    """At most ``limit`` pictures of a package at least `MIN_SIDE` a side, a fixed sample."""
    files = [
        p
        for p in root.rglob("*")
        if p.suffix.lower() in SUFFIXES
        and p.is_file()
        and not p.is_symlink()
        and "icons" not in p.relative_to(root).parts
    ]
    files.sort(key=lambda p: hashlib.sha256(str(p.relative_to(root)).encode()).digest())
    kept, series = [], set()
    for path in files:
        # One of a numbered series (animation frames, sizes, variants of one drawing).
        stem = (path.parent, re.sub(r"\d+", "#", path.stem))
        if stem in series:
            continue
        try:
            with Image.open(path) as image:
                big = min(image.size) >= MIN_SIDE
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if big:
            series.add(stem)
            kept.append(path)
            if len(kept) == limit:
                break
    return kept


def _normalise(package: str, path: Path, cache: Path, out: Path) -> dict | None:
    """Runs in a worker: the picture as RGB on black, reduced, saved; its pixels' sha256, pHash
    (as it is, first, then turned and mirrored) and class. None when it does not decode."""
    relative = path.relative_to(cache / "unpacked" / package)
    try:
        with Image.open(path) as image:
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            rgb = _on_black(image)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
    if min(rgb.size) < MIN_SIDE:
        return None
    if max(rgb.size) > MAX_SIDE:
        rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    digest = hashlib.sha256(rgb.tobytes()).hexdigest()
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    target = out / package / f"{digest[:16]}.{'jpg' if jpeg else 'png'}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, suffix=target.suffix, delete=False
        ) as f:
            options = {"quality": 95} if jpeg else {"compress_level": 1}
            rgb.save(f, format="JPEG" if jpeg else "PNG", **options)
        Path(f.name).replace(target)
    hashes = phash_variants(rgb)
    return {
        "name": f"{package}/{relative}",
        "package": package,
        "path": str(target),
        "kind": classify(rgb),
        "sha256": digest,
        "phash": [value.hex for value in hashes.values()],
    }


def _on_black(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return image.convert("RGB")


def _test_photo_hashes(path: Path) -> list[str]:
    with Image.open(path) as image:
        hashes = phash_variants(image.convert("RGB"))
    return [value.hex for value in hashes.values()]


def _without_near_duplicates(
    found: list[dict], test_hashes: list[list[str]]
) -> tuple[list[dict], Counter]:
    """``found`` without repeated pixels, pictures near a kept one, and pictures near a test
    photo; and how many went for which reason."""
    dropped: Counter = Counter()
    seen: set[str] = set()
    kept: list[dict] = []
    kept_codes: list[int] = []
    test_codes = {int(h, 16) for pair in test_hashes for h in pair}
    for item in found:
        if item["sha256"] in seen:
            dropped["same"] += 1
            continue
        seen.add(item["sha256"])
        codes = [int(h, 16) for h in item["phash"]]
        if any((code ^ other).bit_count() <= NEAR for code in codes for other in test_codes):
            dropped["test"] += 1
            continue
        if any(_near(value, kept_codes) for value in item["phash"]):
            dropped["same"] += 1
            continue
        kept.append(item)
        kept_codes.append(codes[0])
    return kept, dropped


def _near(value: str, kept: Iterable[int]) -> bool:
    code = int(value, 16)
    return any((code ^ other).bit_count() <= NEAR for other in kept)


# --- classes ---------------------------------------------------------------------------------


def statistics(image: Image.Image) -> dict[str, float]:
    """Crude statistics of a 256-pixel copy: mean luma, shares of dark and black pixels, small
    bright points, colours, edge rows and skin-coloured pixels."""
    small = image.convert("RGB")
    small.thumbnail((256, 256), Image.Resampling.BOX)
    ycbcr = np.asarray(small.convert("YCbCr"), dtype=np.int32)
    y, cb, cr = ycbcr[..., 0], ycbcr[..., 1], ycbcr[..., 2]
    bright = y > 128
    labels, count = ndimage.label(bright)
    sizes = np.bincount(labels.ravel())[1:] if count else np.zeros(0, dtype=np.int64)
    quantised = np.asarray(small, dtype=np.int32) >> 4
    colours = np.unique(quantised.reshape(-1, 3) @ np.array([256, 16, 1]), return_counts=True)[1]
    top = np.sort(colours)[::-1]
    edges = np.abs(np.diff(y, axis=1)) > 48
    per_row = edges.mean(axis=1)
    skin = (cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173) & (y > 60)
    return {
        "mean_luma": float(y.mean()),
        "dark": float((y < 50).mean()),
        "black": float((y < 20).mean()),
        "points": float((sizes <= 6).sum()),
        "bright": float(bright.mean()),
        "top8_colours": float(top[:8].sum() / y.size),
        "edges": float(edges.mean()),
        "busy_rows": float((per_row > 0.1).mean()),
        "quiet_rows": float((per_row < 0.01).mean()),
        "skin": float(skin.mean()),
    }


def classify(image: Image.Image) -> str:
    """One of `CLASSES` (the first that fits) or `OTHER`. Crude by design: a star field is
    mostly dark with 30 or more bright specks of at most 6 pixels (of a 256-pixel copy); a small
    subject on black is 60% or more black pixels; dark is a mean luma under 60; skin tones are
    35% or more pixels in the YCbCr skin range (Cb 77-127, Cr 133-173); text or UI has many
    edge-dense rows between edge-free ones; flat has 8 colours (of 4,096) covering 85%."""
    s = statistics(image)
    if s["dark"] > 0.7 and s["points"] >= 30:
        return "star field"
    if s["black"] > 0.6:
        return "small subject on black"
    if s["mean_luma"] < 60:
        return "dark"
    if s["skin"] > 0.35:
        return "skin tones"
    if s["busy_rows"] > 0.25 and s["quiet_rows"] > 0.15 and s["edges"] > 0.05:
        return "text or UI"
    if s["top8_colours"] > 0.85:
        return "flat"
    return OTHER
