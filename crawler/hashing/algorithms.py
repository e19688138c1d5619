"""One descriptor per hash algorithm: its size, how it matches, and how it ranks.

    >>> algorithm("pdq").threshold, algorithm("pdq").size_rule
    (31, '64')
    >>> names("perceptual")
    ('phash', 'pdq')

Every fact about an algorithm lives in its `Algorithm`; hashing, validation, the indexes and the
`Matcher` read them from here. Adding a hash type is one descriptor here (and its entry in
`ALGORITHMS`) and one hasher. A hash is always stored with its algorithm name; its type is never
guessed from its length. The database keeps algorithms as plain strings and never imports this.

Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

Kind = Literal["exact", "perceptual", "keypoint", "check"]
#: How an algorithm's hashes are compared: ``"exact"`` digests must be equal; ``"perceptual"``
#: hashes match within a Hamming distance (`BruteForceIndex` and `MultiIndexHashIndex` hold
#: them); ``"keypoint"`` hashes are sets of local features matched by geometric verification;
#: ``"check"`` hashes never match on their own: they confirm another algorithm's match within a
#: Hamming distance (crpdq confirms crhash's, see `crawler.hashing.crpdq`).
KINDS: tuple[Kind, ...] = get_args(Kind)

_HEX = re.compile(r"^[0-9a-f]*$")


class HashFormatError(ValueError):
    """A hash value that does not fit its algorithm (unknown name, wrong length, not hex)."""


@dataclass(frozen=True, slots=True)
class Algorithm:
    """Every fact about one hash algorithm.

    ``bits`` is its size, or for a variable-size algorithm its largest size: its hashes are then
    a whole number of units of ``unit_bits`` (at least one). ``threshold`` is the largest
    Hamming distance in bits at which two hashes match: 0 for exact digests, and None for
    keypoint hashes, which no single distance decides (crhash: `CRHASH_MIN_INLIERS` keypoints
    found in place scoring `CRHASH_MIN_SCORE`, see `crawler.hashing.crhash`). ``preference``
    ranks algorithms when one media has equally good matches by several: lower wins.
    """

    name: str
    bits: int
    kind: Kind
    threshold: int | None
    preference: int
    unit_bits: int | None = None

    def __post_init__(self) -> None:
        # Guards for a new descriptor: hashes are packed into bytes, and a threshold must be
        # reachable; a mistake here should stop the import, not mismatch quietly.
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        unit = self.bits if self.unit_bits is None else self.unit_bits
        if unit <= 0 or unit % 8 or self.bits % unit:
            raise ValueError(
                f"{self.name}: {self.bits} bits is not a whole number of {unit}-bit units of "
                "whole bytes; give bits and unit_bits as multiples of 8"
            )
        if (self.threshold is None) != (self.kind == "keypoint"):
            raise ValueError(
                f"{self.name}: a {self.kind} algorithm needs "
                + ("no threshold" if self.kind == "keypoint" else "a threshold in bits")
            )
        if self.threshold is not None and not 0 <= self.threshold <= self.bits:
            raise ValueError(f"{self.name}: threshold {self.threshold} is outside 0-{self.bits}")
        if self.kind == "exact" and self.threshold != 0:
            raise ValueError(f"{self.name}: exact digests match only when equal (threshold 0)")

    @property
    def fixed_size(self) -> bool:
        """Whether every hash of this algorithm has ``bits`` bits."""
        return self.unit_bits is None

    @property
    def hex_digits(self) -> int:
        """Hex digits of a hash (for a variable-size algorithm, of its largest)."""
        return self.bits // 4

    @property
    def max_units(self) -> int:
        """Units a hash holds at most: 1 for a fixed-size algorithm."""
        return 1 if self.unit_bits is None else self.bits // self.unit_bits

    def fits(self, digits: int) -> bool:
        """Whether a hex value of ``digits`` digits has a size this algorithm produces."""
        if self.unit_bits is None:
            return digits == self.hex_digits
        return 0 < digits <= self.hex_digits and digits % (self.unit_bits // 4) == 0

    @property
    def size_rule(self) -> str:
        """How many hex digits a hash has, in words: ``"64"``, ``"16 to 128 (a multiple of
        16)"``."""
        if self.unit_bits is None:
            return str(self.hex_digits)
        unit = self.unit_bits // 4
        return f"{unit} to {self.hex_digits} (a multiple of {unit})"

    def check(self, hex_value: str) -> None:
        """Raise `HashFormatError` unless ``hex_value`` is lowercase hex of a size that fits."""
        if not _HEX.match(hex_value) or not self.fits(len(hex_value)):
            raise HashFormatError(
                f"{hex_value!r} is not a {self.name} hash: "
                f"expected {self.size_rule} lowercase hex digits"
            )


SHA256 = Algorithm("sha256", bits=256, kind="exact", threshold=0, preference=0)
#: MD5 only because shared hash lists still carry it (see `crawler.hashing.digests`).
MD5 = Algorithm("md5", bits=128, kind="exact", threshold=0, preference=1)
#: Of two equally good matches by pHash and by PDQ, the PDQ one is reported.
PHASH = Algorithm("phash", bits=64, kind="perceptual", threshold=10, preference=3)
#: ThreatExchange's recommended threshold.
PDQ = Algorithm("pdq", bits=256, kind="perceptual", threshold=31, preference=2)
#: 1 to 8 keypoints of 64 bits (16 to 128 hex digits); see `crawler.hashing.crhash`. Ranked
#: after every global hash: a crop is the weakest evidence of the same picture.
CRHASH = Algorithm("crhash", bits=512, kind="keypoint", threshold=None, preference=4, unit_bits=64)
#: PDQ of the box a reference's crhash keypoints span; a crop match stands only where the media
#: hashes within ``threshold`` of it there (`crawler.hashing.crpdq`; docs/benchmarks.md shows
#: the measurements behind the number).
CRPDQ = Algorithm("crpdq", bits=256, kind="check", threshold=72, preference=5)

#: Every algorithm RepostWatch stores, by name, in the order hash lists document them.
ALGORITHMS: Mapping[str, Algorithm] = MappingProxyType(
    {spec.name: spec for spec in (SHA256, MD5, PHASH, PDQ, CRHASH, CRPDQ)}
)


def algorithm(name: str) -> Algorithm:
    """The descriptor of the algorithm called ``name``; `HashFormatError` names the known ones
    when there is none."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        known = ", ".join(sorted(ALGORITHMS))
        raise HashFormatError(f"unknown algorithm {name!r}; use one of: {known}") from None


def names(*kinds: Kind) -> tuple[str, ...]:
    """The names of the algorithms of these kinds (all when none is given), in `ALGORITHMS`
    order; sort by `Algorithm.preference` to rank them."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(
            f"unknown kind {', '.join(sorted(unknown))}; use one of: {', '.join(KINDS)}"
        )
    return tuple(spec.name for spec in ALGORITHMS.values() if not kinds or spec.kind in kinds)


def ranked(*kinds: Kind) -> tuple[str, ...]:
    """`names` of these kinds, best `Algorithm.preference` first: exact digests, then PDQ, then
    pHash, then crhash."""
    return tuple(sorted(names(*kinds), key=lambda name: ALGORITHMS[name].preference))
