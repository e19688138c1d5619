"""A video query's frames as the matcher works on them, and the close pairs it aligns.

`QueryFrames` holds one row per (usable frame, variant), packed for lookups: the frame as it is,
its turns and mirrors, the picture inside its letterbox bars, and its boxes in
`crawler.hashing.crops.GRID` (``"cropped"``, matched against references' middles).
`frame_pairs` finds the pairs of query and reference frames within a distance, which
`crawler.matching.alignment` aligns; `frame_rows` turns reference frames, from hashes or
database rows, into the arrays the matcher stores.

Pure: numpy, on `crawler.hashing` types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from crawler.hashing.crops import COARSE_BOXES
from crawler.hashing.dihedral import DIHEDRAL
from crawler.hashing.types import FrameHash, HashValue
from crawler.matching.alignment import Pairs

#: The variants matched: the eight turns and mirrors, each also of the picture inside bars.
VARIANTS = tuple(DIHEDRAL) + tuple(
    f"trimmed+{name}" if name != "original" else "trimmed" for name in DIHEDRAL
)
DIHEDRAL_NAMES = tuple(DIHEDRAL)
#: The variant of a row holding one of a frame's crops (`FrameHash.crops`).
CROPPED = "cropped"
CROPPED_VARIANT = len(VARIANTS)
#: The geometric variant (family) of a frame's crop in box ``k`` of the grid is
#: ``CROP_FAMILY + k``: each box is aligned on its own, as a copy is cut the same way throughout.
CROP_FAMILY = len(DIHEDRAL_NAMES)
_VARIANT_INDEX = {name: number for number, name in enumerate(VARIANTS)}
#: Per variant: its geometric variant, the index of its turn or mirror in `DIHEDRAL_NAMES`
#: (``"trimmed+flipx"`` and ``"flipx"`` are both the mirror).
_FAMILY = np.array(
    [
        DIHEDRAL_NAMES.index(name.removeprefix("trimmed").strip("+") or "original")
        for name in VARIANTS
    ]
)


def _boxes_of(count: int) -> np.ndarray:
    """The grid boxes (indexes into `crawler.hashing.crops.GRID`) of a frame's ``count`` crops:
    the whole grid's, or the `COARSE_BOXES` a media cache entry keeps, so that a frame from the
    cache and a fresh one are aligned in the same box; any other count, in order."""
    if count == len(COARSE_BOXES):
        return COARSE_BOXES
    return np.arange(count, dtype=np.int64)


@dataclass
class QueryFrames:
    """A query's usable frames in all their variants, one row per (frame, variant)."""

    seconds: np.ndarray  # per frame
    frame_of: np.ndarray  # per row: the frame
    variant_of: np.ndarray  # per row: index into variant_names
    family_of: np.ndarray  # per row: its geometric variant (trimmed or not), an index
    codes: np.ndarray  # (rows, 4) uint64
    variant_names: tuple[str, ...]
    common_frames: np.ndarray | None = None
    families: np.ndarray | None = None  # the geometric variants looked up for every frame
    #: Per frame: whether its crops are the coarse grid's only (`COARSE_BOXES`, from a cache).
    coarse: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.codes)

    @property
    def bytes(self) -> np.ndarray:
        return self.codes.view(np.uint8).reshape(-1, 32)

    @property
    def cropped(self) -> np.ndarray:
        """Per row: whether it is one of a frame's crops (matched against middles)."""
        return self.family_of >= CROP_FAMILY

    @classmethod
    def of(
        cls,
        frames: Sequence[FrameHash],
        usable: Callable[[HashValue, str], bool],
        *,
        crops: bool = True,
    ) -> QueryFrames:
        """The frames ``usable`` accepts (it raises for a hash that is not PDQ), in rows;
        ``crops=False`` leaves the frames' crops out."""
        seconds: list[float] = []
        frame_of: list[int] = []
        variant_of: list[int] = []
        family_of: list[int] = []
        chunks: list[bytes] = []
        crop_parts: list[tuple[int, bytes]] = []  # (frame, crops), rows after all the others
        for frame in frames:
            if not usable(frame.value, "the query") or frame.seconds != frame.seconds:
                continue  # too flat to match on, or a time that is not a number
            number = len(seconds)
            seconds.append(frame.seconds)
            frame_of.append(number)
            variant_of.append(0)
            family_of.append(0)
            chunks.append(bytes.fromhex(frame.value.hex))
            for item in frame.variants:
                index = _VARIANT_INDEX.get(item.variant)
                if index is not None and item.value.algorithm == "pdq":
                    frame_of.append(number)
                    variant_of.append(index)
                    family_of.append(int(_FAMILY[index]))
                    chunks.append(bytes.fromhex(item.value.hex))
            if crops and frame.crops:
                crop_parts.append((number, frame.crops))
        # A frame's crops are thousands of rows: numbered with numpy, not row by row.
        crop_frames = [np.full(len(c) // 32, n, dtype=np.int64) for n, c in crop_parts]
        crop_families = [CROP_FAMILY + _boxes_of(len(c) // 32) for _, c in crop_parts]
        packed = np.frombuffer(b"".join(chunks + [c for _, c in crop_parts]), dtype=np.uint8)
        coarse = np.zeros(len(seconds), dtype=bool)
        coarse[[n for n, c in crop_parts if len(c) // 32 == len(COARSE_BOXES)]] = True
        return cls(
            seconds=np.array(seconds, dtype=np.float64),
            frame_of=np.concatenate([np.array(frame_of, dtype=np.int64), *crop_frames]),
            variant_of=np.concatenate(
                [
                    np.array(variant_of, dtype=np.int64),
                    np.full(sum(map(len, crop_frames)), CROPPED_VARIANT, dtype=np.int64),
                ]
            ),
            family_of=np.concatenate([np.array(family_of, dtype=np.int64), *crop_families]),
            codes=packed.reshape(-1, 32).view(np.uint64).copy(),
            variant_names=(*VARIANTS, CROPPED),
            coarse=coarse,
        )

    def common(self, rows: np.ndarray, videos: np.ndarray, max_videos: int) -> np.ndarray:
        """The query frames whose hits (``rows`` and the ``videos`` they hit) fall in more than
        ``max_videos`` videos (remembered for the later steps)."""
        frames = self.frame_of[rows]
        pairs = np.unique(np.stack([frames, videos]), axis=1) if len(rows) else np.empty((2, 0))
        numbers, counts = np.unique(pairs[0], return_counts=True)
        self.common_frames = numbers[counts > max_videos].astype(np.int64)
        return self.common_frames


def frame_pairs(
    query: QueryFrames,
    rows: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    codes: np.ndarray,
    distance: int,
) -> Pairs:
    """Every (query row of ``rows``, reference frame) within ``distance`` bits, as `Pairs`: the
    reference's frames are ``codes`` (n, 4) uint64, standing for ``starts`` to ``ends``."""
    distances = distance_table(query.codes[rows], codes)
    hit_rows, columns = np.nonzero(distances <= distance)
    query_rows = rows[hit_rows]
    frames = query.frame_of[query_rows]
    return Pairs(
        query_frame=frames,
        query=query.seconds[frames],
        reference_frame=columns,
        start=starts[columns],
        end=ends[columns],
        distance=distances[hit_rows, columns].astype(np.int64),
        variant=query.variant_of[query_rows],
    )


def frame_rows(
    frames: Iterable[tuple[float, str, int | None]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames given as ``(seconds, PDQ hex, quality)`` (from `FrameHash` values or database
    rows) as `crawler.matching.video.VideoMatcher.add_rows` takes them: seconds (n,) float64,
    codes (n, 32) uint8 (each row the bytes of a hex) and qualities (n,) (100 where a quality
    is unknown). Raises ValueError for a hash that is not PDQ's 64 hex digits."""
    seconds: list[float] = []
    hexes: list[str] = []
    qualities: list[int] = []
    for second, hex_value, quality in frames:
        seconds.append(second)
        hexes.append(hex_value)
        qualities.append(100 if quality is None else quality)
    if any(len(hex_value) != 64 for hex_value in hexes):
        raise ValueError("a frame hash is not 64 hex digits (PDQ)")
    try:
        packed = bytes.fromhex("".join(hexes))
    except ValueError:
        raise ValueError("a frame hash is not 64 hex digits (PDQ)") from None
    return (
        np.array(seconds, dtype=np.float64),
        np.frombuffer(packed, dtype=np.uint8).reshape(-1, 32),
        np.array(qualities, dtype=np.int64),
    )


def distance_table(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Hamming distances, (query rows, reference rows), from rows of four uint64 words."""
    if not len(query) or not len(codes):
        return np.zeros((len(query), len(codes)), dtype=np.uint16)
    distances = np.bitwise_count(query[:, 0, None] ^ codes[None, :, 0]).astype(np.uint16)
    for word in range(1, 4):
        distances += np.bitwise_count(query[:, word, None] ^ codes[None, :, word])
    return distances
