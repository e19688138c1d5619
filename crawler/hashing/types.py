"""Plain value types shared by hashing and matching: a hash knows its algorithm."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Every algorithm RepostWatch stores, with its size in bits. A hash is always stored with its
#: algorithm name; its type is never guessed from its length.
ALGORITHM_BITS: dict[str, int] = {
    "sha256": 256,
    "md5": 128,
    "phash": 64,
    "pdq": 256,
}
EXACT_ALGORITHMS = frozenset({"sha256", "md5"})
PERCEPTUAL_ALGORITHMS = frozenset({"phash", "pdq"})

_HEX = re.compile(r"^[0-9a-f]*$")


class HashFormatError(ValueError):
    """A hash value that does not fit its algorithm (unknown name, wrong length, not hex)."""


@dataclass(frozen=True, slots=True)
class HashValue:
    """One hash: algorithm name, lowercase hex digits and, for PDQ, its quality (0-100)."""

    algorithm: str
    hex: str
    quality: int | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHM_BITS:
            known = ", ".join(sorted(ALGORITHM_BITS))
            raise HashFormatError(f"unknown algorithm {self.algorithm!r}; use one of: {known}")
        digits = ALGORITHM_BITS[self.algorithm] // 4
        if len(self.hex) != digits or not _HEX.match(self.hex):
            raise HashFormatError(
                f"{self.hex!r} is not a {self.algorithm} hash: "
                f"expected {digits} lowercase hex digits"
            )
        if self.quality is not None and not 0 <= self.quality <= 100:
            raise HashFormatError(f"quality {self.quality} is outside 0-100")

    @classmethod
    def parse(cls, algorithm: str, value: str, quality: int | None = None) -> HashValue:
        """Build a HashValue from user input: trims and lowercases the algorithm and the hex."""
        return cls(algorithm.strip().lower(), value.strip().lower(), quality)

    @property
    def bits(self) -> int:
        return ALGORITHM_BITS[self.algorithm]

    @property
    def is_exact(self) -> bool:
        return self.algorithm in EXACT_ALGORITHMS


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """What hashing one piece of media produced. The media bytes themselves are not kept."""

    kind: str  # "image" or "video"
    format: str  # sniffed from magic bytes: "jpeg", "png", "gif", "webp", "mp4", ...
    size: int  # bytes
    width: int | None
    height: int | None
    hashes: tuple[HashValue, ...]

    def get(self, algorithm: str) -> HashValue | None:
        for value in self.hashes:
            if value.algorithm == algorithm:
                return value
        return None

    @property
    def sha256(self) -> str:
        value = self.get("sha256")
        assert value is not None, "every MediaHashes carries a sha256"
        return value.hex
