"""How fast RepostWatch hashes a 2-megapixel JPEG, against the obvious way, and how close it stays.

    python -m benchmarks.hashing

Naive: decode the whole JPEG to RGB, then imagehash.phash and pdqhash.compute. Ours: SHA-256,
then `open_luma` (luma only, at the JPEG's 1/2, 1/4 or 1/8 DCT scale) with pHash and PDQ's eight
turns and mirrors (`pdq_variants`). The last columns time all of `hash_media` (also MD5, the
mirrored pHash, border search, picture regions and crhash keypoints). Prints a markdown table
and the cost of picture regions on the robustness benchmark's forum screenshots; takes ~15 s.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import time
from collections.abc import Callable

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from benchmarks.photos import screenshot
from crawler.demo.samples import PHOTOS, encode, load_photo, resized
from crawler.hashing import centre_box, hamming, hash_media, open_luma
from crawler.hashing.pdq import bits_to_hex, pdq_luma, pdq_variants, symmetric_size
from crawler.hashing.phash import phash, phash_variants
from crawler.hashing.regions import picture_regions

MEGAPIXELS = 2.0
ROUNDS = 7


def two_megapixel_jpeg(name: str) -> bytes:
    photo = load_photo(name)
    scale = (MEGAPIXELS * 1e6 / (photo.width * photo.height)) ** 0.5
    return encode(resized(photo, scale), "JPEG", quality=90)


def naive(data: bytes) -> tuple[str, str]:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    bits, _ = pdqhash.compute(np.asarray(image))
    return str(imagehash.phash(image)), bits_to_hex(bits)


def ours(data: bytes) -> tuple[str, str]:
    hashlib.sha256(data).hexdigest()
    decoded = open_luma(data)
    luma = decoded.luma
    phashes = phash_variants(luma)
    if decoded.shrink > 1:  # as hash_media does
        luma = luma.resize(symmetric_size(*luma.size), Image.Resampling.BILINEAR)
    pdqs = pdq_variants(np.asarray(luma))
    return phashes["original"].hex, pdqs["original"].hex


def centre_ms(data: bytes) -> float:
    """The part of `hash_media` spent on the ``"centre"`` variant: the PDQ of the middle band
    of the decoded luma (decoding is shared with everything else, so it is not counted)."""
    luma = open_luma(data).luma
    middle = luma.crop(centre_box(*luma.size))
    return best_ms(lambda _: pdq_luma(np.asarray(middle)), data)


def regions_ms(data: bytes) -> float:
    """The part of `hash_media` spent looking for pictures inside the picture
    (`picture_regions` on the decoded luma; an ordinary photo has none to hash)."""
    luma = open_luma(data).luma
    return best_ms(lambda _: picture_regions(luma), data)


def region_hashing_ms(data: bytes) -> float:
    """`picture_regions` and the pHash and PDQ of each region found, as `hash_media` does."""
    luma = open_luma(data).luma

    def hashed(_: bytes) -> None:
        for box in picture_regions(luma):
            region = luma.crop(box)
            phash(region)
            pdq_luma(np.asarray(region))

    return best_ms(hashed, data)


def best_ms(function: Callable[[bytes], object], data: bytes) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        function(data)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hashing", description=__doc__.split("\n\n")[0]
    )
    parser.parse_args(argv)
    print(f"2-megapixel JPEGs (quality 90) of the bundled photos; best of {ROUNDS} runs, ms/image")
    print()
    columns = ["photo", "size", "naive ms", "ours ms", "ratio", "hash_media ms", "ratio"]
    columns += ["of it centre ms", "of it regions ms", "pHash diff", "PDQ diff"]
    print("| " + " | ".join(columns) + " |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratios, full_ratios, pdq_diffs, centre_shares, regions = [], [], [], [], []
    for name in PHOTOS:
        data = two_megapixel_jpeg(name)
        with Image.open(io.BytesIO(data)) as image:
            size = "x".join(map(str, image.size))
        naive_ms, ours_ms = best_ms(naive, data), best_ms(ours, data)
        full_ms = best_ms(hash_media, data)
        middle_ms = centre_ms(data)
        regions.append(regions_ms(data))
        centre_shares.append(middle_ms / full_ms)
        (naive_phash, naive_pdq), (our_phash, our_pdq) = naive(data), ours(data)
        ratios.append(naive_ms / ours_ms)
        full_ratios.append(naive_ms / full_ms)
        pdq_diffs.append(hamming(naive_pdq, our_pdq))
        print(
            f"| {name} | {size} | {naive_ms:.1f} | {ours_ms:.1f} | {naive_ms / ours_ms:.1f}x "
            f"| {full_ms:.1f} | {naive_ms / full_ms:.1f}x | {middle_ms:.1f} | {regions[-1]:.1f} "
            f"| {hamming(naive_phash, our_phash)} "
            f"| {pdq_diffs[-1]} |"
        )
    print()
    print(
        f"median speed-up {statistics.median(ratios):.1f}x (SHA-256 + pHash + 8 PDQ), "
        f"{statistics.median(full_ratios):.1f}x (all of hash_media); "
        f"PDQ difference median {statistics.median(pdq_diffs)}, max {max(pdq_diffs)} bits; "
        f"the centre PDQ is a median {100 * statistics.median(centre_shares):.1f}% of hash_media, "
        f"looking for picture regions {statistics.median(regions):.1f} ms"
    )
    shots = [screenshot(load_photo(name), np.random.default_rng(0)) for name in PHOTOS]
    found = [regions_ms(shot) for shot in shots]
    hashed = [region_hashing_ms(shot) for shot in shots]
    whole = [best_ms(hash_media, shot) for shot in shots]
    print(
        f"1366x768 forum screenshots (PNG) of the same photos: hash_media median "
        f"{statistics.median(whole):.1f} ms, of it finding the picture region "
        f"{statistics.median(found):.1f} ms and finding and hashing it "
        f"{statistics.median(hashed):.1f} ms"
    )


if __name__ == "__main__":
    main()
