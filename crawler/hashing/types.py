"""Plain value types shared by hashing and matching: a hash knows its algorithm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from crawler.hashing.algorithms import HashFormatError, algorithm

#: Variants that references store as well (as plain hashes of their algorithm: the database has
#: no variant column): the PDQ of the middle band without captions, ``"centre"``
#: (`crawler.hashing.media.CENTRE`, which imports this module, hence the name spelled out).
STORED_VARIANTS = frozenset({"centre"})


@dataclass(frozen=True, slots=True)
class HashValue:
    """One hash: algorithm name, lowercase hex digits and, for PDQ, pHash and crhash, its quality
    (0-100: PDQ's own; for the others the share of the picture not plain black or white)."""

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
class VariantHash:
    """A hash of a transformed copy of the media, named by the transform that turns the original
    into the media (``"flipx"``: the media is the original mirrored left to right). Only media being
    checked gets these; references store the original's hashes and its `STORED_VARIANTS` only."""

    variant: str
    value: HashValue


@dataclass(frozen=True, slots=True)
class FrameHash:
    """One sampled frame of a video or animation: seconds from the first frame, its PDQ hash
    with quality, and, for media being checked, the PDQ of transformed copies of the frame
    (``variants``, named as `VariantHash` names them: the eight turns and mirrors, and
    ``"trimmed"``... for the picture inside letterbox bars). Reference frames carry none.

    ``crops`` are, for media being checked, the PDQ of the frame in each box of
    `crawler.hashing.crops.GRID`, 32 bytes a box in grid order: where a reference frame's
    middle would lie under each crop of up to 10% (the first box: the uncut copy's, where a
    banner over the top or bottom fifth leaves the middle alone). A media cache entry keeps
    only the boxes of `crawler.hashing.crops.COARSE_BOXES` (225 of the 2,025), in that order:
    the matcher tells the two apart by their number. Matched against references' middles
    only."""

    seconds: float
    value: HashValue
    variants: tuple[VariantHash, ...] = ()
    crops: bytes = b""

    def __post_init__(self) -> None:
        if len(self.crops) % 32:
            raise HashFormatError(
                f"crops hold {len(self.crops)} bytes; a frame's crops are 32-byte PDQ hashes"
            )

    def with_variants(self) -> tuple[VariantHash, ...]:
        """The frame's hash as ``"original"``, then its variants."""
        return (VariantHash("original", self.value), *self.variants)


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
    #: Videos and animations: the sampled frames in time order, each with its time and PDQ
    #: (`crawler.hashing.video`), for matching by temporal alignment (`crawler.matching.video`).
    frames: tuple[FrameHash, ...] = ()
    duration: float | None = None
    #: Still images: the picture hashed as a video frame is (`picture_frame_hash`, with its
    #: turns, mirrors and trimmed variants), to find it among reference videos' frames.
    still: FrameHash | None = None
    #: The frames hashed stop where the pixel budget ran out (`crawler.hashing.budget`).
    over_budget: bool = False
    #: How the media's bytes were fetched (a sampled video's ranges, a stream's segments), when
    #: not simply whole; see `Delivery`.
    delivery: Delivery | None = None

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
    def sha256(self) -> str | None:
        """The whole file's sha256, or None for media sampled without reading it whole (a large
        video's byte ranges, a stream's segments: see ``delivery``)."""
        value = self.get("sha256")
        return value.hex if value is not None else None

    @property
    def media_key(self) -> str:
        """What names these media among flags and in the media cache: the whole file's sha256,
        else the delivery's `Delivery.partial_sha256` (its first bytes and size), else a sha256
        of the sampled frames' hashes."""
        if (whole := self.sha256) is not None:
            return whole
        if self.delivery is not None and self.delivery.partial_sha256:
            return self.delivery.partial_sha256
        frames = ",".join(getattr(frame, "value", frame).hex for frame in self.frames)
        return hashlib.sha256(f"frames:{self.format}:{frames}".encode()).hexdigest()


#: A stream's form begins with this when the page's video player was seen asking for it in a
#: browser (``render = "browser"``), not named by the page: ``browser-hls``, ``browser-dash``.
BROWSER_CAPTURED = "browser-"


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a video's bytes were fetched: its ``form``, the bytes fetched and the size of what
    was served (None when the server never said).

    ``form``: ``"whole"`` (downloaded whole, with its sha256), ``"ranged"`` (a large progressive
    file sampled through HTTP Range requests), ``"stream-budget"`` (a server without Range, read
    up to a byte and time budget), ``"hls"``, ``"dash"`` (streams), ``"browser-hls"``,
    ``"browser-dash"`` (streams captured from the page's player, `BROWSER_CAPTURED`, sampled
    as the others are); ``detail`` says more, for people ("moov at end, 3 passes", "variant
    640x360 800 kbit/s").
    """

    form: str
    bytes_fetched: int
    bytes_total: int | None
    detail: str = ""
    #: sha256 of the size and the first bytes fetched, for media not read whole: the same file
    #: served again gets the same one (see `MediaHashes.media_key`); never a whole-file digest.
    partial_sha256: str = ""

    @property
    def share(self) -> float | None:
        """The bytes fetched as a share of the bytes served, when the total is known."""
        if not self.bytes_total:
            return None
        return self.bytes_fetched / self.bytes_total

    def to_json(self) -> dict:
        """The delivery as evidence JSON shows it."""
        found: dict = {
            "form": self.form,
            "bytes_fetched": self.bytes_fetched,
            "bytes_total": self.bytes_total,
        }
        if self.detail:
            found["detail"] = self.detail
        if self.partial_sha256:
            found["partial_sha256"] = self.partial_sha256
        return found

    @classmethod
    def from_json(cls, data: dict) -> Delivery:
        return cls(
            form=str(data["form"]),
            bytes_fetched=int(data["bytes_fetched"]),
            bytes_total=None if data.get("bytes_total") is None else int(data["bytes_total"]),
            detail=str(data.get("detail", "")),
            partial_sha256=str(data.get("partial_sha256", "")),
        )


#: A media cache entry keeps the crops (`FrameHash.crops`) of one sampled frame in this many,
#: and of those only the boxes on the coarse grid (`crawler.hashing.crops.COARSE_BOXES`: 225 of
#: 2,025, 7.2 KB a frame instead of 65 KB): enough to find and align again a copy cut on that
#: grid (5% off each edge, say), at a quarter of the frames. A copy cut off that grid (say 3%
#: and 6%) is found by a fresh crawl of it, not from its cache entry.
CACHED_CROPS_EVERY = 4


def _coarse_crops(crops: bytes) -> bytes:
    """A frame's crops as a cache entry keeps them: the `COARSE_BOXES` of the whole grid (crops
    of any other number of boxes are kept as they are)."""
    from crawler.hashing.crops import COARSE_BOXES, GRID

    if len(crops) != 32 * len(GRID):
        return crops
    return b"".join(crops[32 * box : 32 * box + 32] for box in COARSE_BOXES.tolist())


def media_hashes_to_json(media: MediaHashes) -> str:
    """Plain JSON for a media cache (never a pickle): every field, keypoints as base64, and the
    crops of one frame in `CACHED_CROPS_EVERY`."""
    import base64
    import json

    def value(v: HashValue) -> list:
        return [v.algorithm, v.hex, v.quality]

    def frame(f: FrameHash, number: int = 0) -> list:
        variants = [[i.variant, *value(i.value)] for i in f.variants]
        crops = _coarse_crops(f.crops) if number % CACHED_CROPS_EVERY == 0 else b""
        return [f.seconds, *value(f.value), variants, base64.b64encode(crops).decode("ascii")]

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
            "frames": [frame(item, number) for number, item in enumerate(media.frames)],
            "duration": media.duration,
            "still": None if media.still is None else frame(media.still),
            "delivery": media.delivery.to_json() if media.delivery is not None else None,
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
        frames=_frames_from_json(data["frames"]),
        still=(_frames_from_json([data["still"]]) or (None,))[0] if data.get("still") else None,
        duration=data["duration"],
        delivery=Delivery.from_json(data["delivery"]) if data.get("delivery") else None,
    )


def _frames_from_json(items: list) -> tuple[FrameHash, ...]:
    """The frames of `media_hashes_to_json`, each ``[seconds, algorithm, hex, quality,
    variants, crops]`` (crops in base64; entries written before crops were hashed lack them, and
    those frames are not matched as crops). Entries written before frames had times hold
    ``[algorithm, hex, quality]`` per frame: without times they cannot be aligned, so they are
    dropped, and the media matches by its other hashes until the cache entry is refreshed."""
    import base64

    if any(isinstance(item[0], str) for item in items):
        return ()
    return tuple(
        FrameHash(
            float(seconds),
            HashValue(algorithm, hex_value, quality),
            tuple(VariantHash(name, HashValue(*found)) for name, *found in variants),
            base64.b64decode(crops[0]) if crops else b"",
        )
        for seconds, algorithm, hex_value, quality, variants, *crops in items
    )
