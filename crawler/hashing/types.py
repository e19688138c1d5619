"""Plain value types shared by hashing and matching: a hash knows its algorithm."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.hashing.algorithms import HashFormatError, algorithm

#: Variants that references store as well (as plain hashes of their algorithm: the database has
#: no variant column): the PDQ of the middle band without captions, ``"centre"``
#: (`crawler.hashing.media.CENTRE`, which imports this module, hence the name spelled out).
STORED_VARIANTS = frozenset({"centre"})


@dataclass(frozen=True, slots=True)
class HashValue:
    """One hash: algorithm name, lowercase hex digits and, for PDQ, its quality (0-100)."""

    algorithm: str
    hex: str
    quality: int | None = None

    def __post_init__(self) -> None:
        algorithm(self.algorithm).check(self.hex)
        if self.quality is not None and not 0 <= self.quality <= 100:
            raise HashFormatError(f"quality {self.quality} is outside 0-100")

    @classmethod
    def parse(cls, algorithm: str, value: str, quality: int | None = None) -> HashValue:
        """Build a HashValue from user input: trims and lowercases the algorithm and the hex."""
        return cls(algorithm.strip().lower(), value.strip().lower(), quality)

    @property
    def bits(self) -> int:
        return len(self.hex) * 4


@dataclass(frozen=True, slots=True)
class FrameHash:
    """One sampled frame of a video: seconds from the first frame, and its PDQ hash with
    quality."""

    seconds: float
    value: HashValue


@dataclass(frozen=True, slots=True)
class VariantHash:
    """A hash of a transformed copy of the media, named by the transform that turns the original
    into the media (``"flipx"``: the media is the original mirrored left to right). Only media being
    checked gets these; references store the original's hashes and its `STORED_VARIANTS` only."""

    variant: str
    value: HashValue


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """What hashing one piece of media produced. The media bytes themselves are not kept.

    ``hashes`` are the hashes of the media as it is: what `refs add` stores. ``variants`` are the
    hashes of transformed copies (rotations, mirrors, the content inside trimmed borders), and
    ``keypoints`` the packed local features (`crawler.hashing.crhash`) that find crops: both
    serve matching, and only the variants in `STORED_VARIANTS` are stored with a reference
    (`reference_values`).
    """

    kind: str  # "image" or "video"
    format: str  # sniffed from magic bytes: "jpeg", "png", "gif", "webp", "mp4", ...
    size: int  # bytes
    width: int | None
    height: int | None
    hashes: tuple[HashValue, ...]
    variants: tuple[VariantHash, ...] = ()
    keypoints: bytes = b""
    #: Videos: PDQ of the sampled frames in time order (`crawler.hashing.video`), for matching.
    frames: tuple[HashValue, ...] = ()
    duration: float | None = None
    #: The frames hashed stop where the pixel budget ran out (`crawler.hashing.budget`).
    over_budget: bool = False

    def get(self, algorithm: str) -> HashValue | None:
        for value in self.hashes:
            if value.algorithm == algorithm:
                return value
        return None

    def reference_values(self) -> tuple[HashValue, ...]:
        """What `refs add` stores: ``hashes``, then the `STORED_VARIANTS` hashes (the PDQ of the
        middle band without captions), which a captioned copy's own ``"centre"`` variant
        matches."""
        stored = [item.value for item in self.variants if item.variant in STORED_VARIANTS]
        return (*self.hashes, *stored)

    def with_variants(self, algorithm: str) -> list[VariantHash]:
        """The ``algorithm`` hash of the media as ``"original"``, then those of its variants."""
        found = [VariantHash("original", value) for value in self.hashes]
        found += self.variants
        return [item for item in found if item.value.algorithm == algorithm]

    @property
    def sha256(self) -> str:
        value = self.get("sha256")
        assert value is not None, "every MediaHashes carries a sha256"
        return value.hex


@dataclass(frozen=True)
class Delivery:
    form: str  # "whole" | "ranged" | "stream-budget" | "hls" | "dash" | "browser-hls" ...
    bytes_fetched: int
    bytes_total: int | None
    detail: str = ""  # e.g. "variant 640x360 800 kbit/s", "AES-128"


def media_hashes_to_json(media: MediaHashes) -> str:
    """Plain JSON for a media cache (never a pickle): every field, keypoints as base64."""
    import base64
    import json

    def value(v: HashValue) -> list:
        return [v.algorithm, v.hex, v.quality]

    return json.dumps(
        {
            "kind": media.kind,
            "format": media.format,
            "size": media.size,
            "width": media.width,
            "height": media.height,
            "hashes": [value(v) for v in media.hashes],
            "variants": [[item.variant, *value(item.value)] for item in media.variants],
            "keypoints": base64.b64encode(media.keypoints).decode("ascii"),
            "frames": [value(v) for v in media.frames],
            "duration": media.duration,
        },
        separators=(",", ":"),
    )


def media_hashes_from_json(text: str) -> MediaHashes:
    """The inverse of `media_hashes_to_json`; every hash is validated again on the way in."""
    import base64
    import json

    data = json.loads(text)
    return MediaHashes(
        kind=str(data["kind"]),
        format=str(data["format"]),
        size=int(data["size"]),
        width=data["width"],
        height=data["height"],
        hashes=tuple(HashValue(*item) for item in data["hashes"]),
        variants=tuple(VariantHash(item[0], HashValue(*item[1:])) for item in data["variants"]),
        keypoints=base64.b64decode(data["keypoints"]),
        frames=tuple(HashValue(*item) for item in data["frames"]),
        duration=data["duration"],
    )
