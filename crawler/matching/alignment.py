"""Temporal alignment: the one offset and speed under which most frames of two videos agree.

    >>> found = align(pairs, tolerance=1.0)
    >>> found.offset, found.speed, found.frames_aligned  # ref_time = offset + speed * query_time

The input is every pair (query frame, reference frame) whose hashes are close: ``query`` the
query frame's time, ``start`` and ``end`` the span of the reference the reference frame stands
for (from its time to the next stored frame's: references store `unique_frame_hashes`, so a still
shot is one frame standing for all of its seconds), ``distance`` the bits between them. A pair
agrees with a line ``ref = offset + speed * query`` when the line passes through its span, give or
take ``tolerance`` seconds (query samples fall between the reference's, and slow footage keeps a
frame close for a while).

How: for each speed on a grid 1% apart from `MIN_SPEED` to `MAX_SPEED` (plus the exact ratios
0.5, 0.75, 1, 1.25, 1.5, 2), every pair allows an interval of offsets; the offset that the most
query frames allow is found by a sweep over the sorted interval ends (each query frame weighs 1,
shared by its pairs, the closest hashes weighing most: `_best_line`); speed 1 unless another
allows clearly more (`_PLAIN_MARGIN`). The line is then refined
by least squares through each query frame's closest reference frame on it (still shots left
out), and the agreeing frames are cut into runs at gaps of
more than ``max_gap`` query seconds, of which the longest is the match: a compilation's other
parts do not stretch it.

Pure: numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SPEED = 0.5
MAX_SPEED = 2.0
#: Speeds tried: 1% apart, so that over a 60 s run the drift between grid points stays under the
#: tolerance, plus the speeds re-uploads use most.
SPEEDS = np.unique(
    np.concatenate(
        [
            np.exp(np.arange(np.log(MIN_SPEED), np.log(MAX_SPEED) + 1e-9, np.log(1.01))),
            [0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
        ]
    )
)
#: The row of speed 1 in `SPEEDS`.
_UNCHANGED = int(np.flatnonzero(SPEEDS == 1.0)[0])
#: How much more of the query frames' weight another speed must allow than speed 1 to be
#: taken. Most copies play at their reference's speed, and in slow footage a band of speeds
#: agrees with every frame; the closest hashes of a reference that keeps one frame per still
#: stretch leaned the weighing 0.05-0.16 of a frame towards speeds of 0.6-0.85, shrinking a
#: copy's span by up to a third. Copies at 1.25x and 1.3x allowed 2.3-3 frames more there.
_PLAIN_MARGIN = 0.5
#: How far (seconds) a line of speed 1 may pass from the stretch of a reference frame that
#: anchors the fit and still be kept: a reference sample (`REFERENCE_SECONDS_PER_SAMPLE`). The
#: least-squares line through those stretches' first seconds put plain copies of slow footage
#: at 0.78-0.88x; a copy at 1.1x over 12 s misses by 0.85 s and is fitted, one at 1.05x over
#: 12 s (0.3 s) reads as 1.0, as it does over a few seconds at any speed within 5%.
_PLAIN_MISS = 0.25
#: Reference frames this many bits further than a query frame's closest count as close too in
#: that test: in slow footage the next stored frame is often as near.
_NEAR_BITS = 4
#: Pairs whose reference frame stands for at most this many seconds anchor the least-squares fit.
_ANCHOR_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Pairs:
    """Close frame pairs of one query and one reference video (one entry per pair)."""

    query_frame: np.ndarray  # int: index of the query frame (a frame counts once)
    query: np.ndarray  # float: the query frame's seconds
    reference_frame: np.ndarray  # int: index of the reference frame
    start: np.ndarray  # float: the reference frame's seconds
    end: np.ndarray  # float: the next stored reference frame's seconds (or the video's end)
    distance: np.ndarray  # int: bits apart
    variant: np.ndarray  # int: which variant of the query frame matched (an index for the caller)

    def __len__(self) -> int:
        return len(self.query)

    def take(self, keep: np.ndarray) -> Pairs:
        return Pairs(*(getattr(self, name)[keep] for name in self.__dataclass_fields__))


@dataclass(frozen=True, slots=True)
class Alignment:
    """The run of frames that agree with one line, ``ref = offset + speed * query``."""

    offset: float
    speed: float
    frames_aligned: int  # query frames on the line, in the run
    reference_frames: int  # distinct reference frames they matched
    query_start: float
    query_end: float
    reference_start: float  # offset + speed * query_start
    reference_end: float
    #: Seconds of the reference the run covers: along the line, but at most ``tolerance`` more
    #: than between the first and the last reference frame matched (a still shot, one frame
    #: standing for many seconds, covers no more than ``tolerance``).
    reference_span: float
    best_distance: int
    variant: int  # the variant most of the run's frames matched through


def align(pairs: Pairs, *, tolerance: float, max_gap: float) -> Alignment | None:
    """The best line through ``pairs`` (see the module), or None when there are no pairs."""
    if not len(pairs):
        return None
    offset, speed = _best_line(pairs, tolerance)
    chosen = _agreeing(pairs, offset, speed, tolerance)
    for _ in range(2):
        refined = _refit(pairs, chosen, offset, speed, tolerance)
        if refined is None:
            break
        again = _agreeing(pairs, *refined, tolerance)
        if len(again) < len(chosen):
            break
        (offset, speed), chosen = refined, again
    run = _longest_run(pairs.query[chosen], max_gap)
    chosen = chosen[run]
    best = pairs.take(chosen)
    q_start, q_end = float(best.query.min()), float(best.query.max())
    variants, counts = np.unique(best.variant, return_counts=True)
    return Alignment(
        offset=offset,
        speed=speed,
        frames_aligned=len(chosen),
        reference_frames=len(np.unique(best.reference_frame)),
        query_start=q_start,
        query_end=q_end,
        reference_start=offset + speed * q_start,
        reference_end=offset + speed * q_end,
        reference_span=min(
            speed * (q_end - q_start), float(best.start.max() - best.start.min()) + tolerance
        ),
        best_distance=int(best.distance.min()),
        variant=int(variants[np.argmax(counts)]),
    )


def _best_line(pairs: Pairs, tolerance: float) -> tuple[float, float]:
    """The (offset, speed) on the grid that the most query frames allow (see the module); speed
    1 when it falls short of that by less than `_PLAIN_MARGIN`.

    Each query frame weighs 1, shared among its pairs by closeness (``2 ** -(distance / 4)``:
    a pair 4 bits closer weighs twice as much), and the sweep allows half the ``tolerance``:
    in slow footage a query frame is near several seconds of reference frames, and the line
    through the closest of them is the right one."""
    _, inverse = np.unique(pairs.query_frame, return_inverse=True)
    closeness = np.exp2(-pairs.distance / 4.0)
    weight = closeness / np.bincount(inverse, weights=closeness)[inverse]
    speeds = SPEEDS[:, None]
    slack = tolerance / 2
    lows = pairs.start[None, :] - speeds * pairs.query[None, :] - slack
    highs = pairs.end[None, :] - speeds * pairs.query[None, :] + slack
    n = len(pairs)
    # Sweep each speed's row: +weight where an interval opens, -weight after it closes (opens
    # first at equal values, so touching intervals count together).
    values = np.concatenate([lows, highs], axis=1)
    steps = np.concatenate(
        [np.broadcast_to(weight, (len(SPEEDS), n)), -np.broadcast_to(weight, (len(SPEEDS), n))],
        axis=1,
    )
    closing = np.concatenate([np.zeros((len(SPEEDS), n)), np.ones((len(SPEEDS), n))], axis=1)
    order = np.lexsort((closing, values), axis=1)
    cover = np.cumsum(np.take_along_axis(steps, order, axis=1), axis=1)
    highest = cover.max(axis=1)
    row = int(np.argmax(highest))
    if highest[_UNCHANGED] >= highest[row] - _PLAIN_MARGIN:
        row = _UNCHANGED
    column = int(np.argmax(cover[row]))
    ordered = values[row, order[row]]
    # The middle of the stretch of offsets where the cover is highest.
    offset = (ordered[column] + ordered[min(column + 1, len(ordered) - 1)]) / 2
    return float(offset), float(SPEEDS[row])


def _agreeing(pairs: Pairs, offset: float, speed: float, tolerance: float) -> np.ndarray:
    """Indices of the pairs on the line, one per query frame (the nearest to it, then the
    closest hash), in query time order."""
    predicted = offset + speed * pairs.query
    miss = np.maximum(pairs.start - predicted, 0) + np.maximum(predicted - pairs.end, 0)
    on = np.flatnonzero(miss <= tolerance)
    if not len(on):
        return on
    order = on[np.lexsort((pairs.distance[on], miss[on], pairs.query_frame[on]))]
    first = np.unique(pairs.query_frame[order], return_index=True)[1]
    chosen = order[first]
    return chosen[np.argsort(pairs.query[chosen], kind="stable")]


def _refit(
    pairs: Pairs, chosen: np.ndarray, offset: float, speed: float, tolerance: float
) -> tuple[float, float] | None:
    """Least squares through the best-matching reference frame of each query frame on the line
    (the closest hash among its pairs within ``tolerance``, at its own time: in moving footage
    the frames between two stored ones look like one or the other), leaving out still shots
    (frames standing for over `_ANCHOR_SECONDS`); the speed kept within range. A line of speed
    1 stays at speed 1 when it can pass within `_PLAIN_MISS` of every such frame's stretch (only
    its offset moves, to the middle of what they allow). None when fewer than three frames
    anchor it."""
    predicted = offset + speed * pairs.query
    miss = np.maximum(pairs.start - predicted, 0) + np.maximum(predicted - pairs.end, 0)
    on = np.flatnonzero(
        (miss <= tolerance)
        & ((pairs.end - pairs.start) <= _ANCHOR_SECONDS)
        & np.isin(pairs.query_frame, pairs.query_frame[chosen])
    )
    if len(on) < 3:
        return None
    order = on[np.lexsort((miss[on], pairs.distance[on], pairs.query_frame[on]))]
    best = order[np.unique(pairs.query_frame[order], return_index=True)[1]]
    query, ref = pairs.query[best], pairs.start[best]
    if len(query) < 3 or np.ptp(query) <= 0:
        return None
    if speed == 1.0:
        plain = _plain_offset(pairs, chosen, miss <= tolerance)
        if plain is not None:
            return plain, 1.0
    fitted_speed, fitted_offset = np.polyfit(query, ref, 1)
    if not MIN_SPEED <= fitted_speed <= MAX_SPEED:
        return None
    return float(fitted_offset), float(fitted_speed)


def _plain_offset(pairs: Pairs, chosen: np.ndarray, on_line: np.ndarray) -> float | None:
    """The offset of a line of speed 1 through the stretches of every chosen query frame's
    closest reference frames on the line (those within `_NEAR_BITS` of its closest), or None
    when no such line passes within `_PLAIN_MISS` of each."""
    frames = pairs.query_frame[chosen]
    near = on_line & np.isin(pairs.query_frame, frames)
    closest = np.full(int(pairs.query_frame.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(closest, pairs.query_frame[near], pairs.distance[near])
    near &= pairs.distance <= closest[pairs.query_frame] + _NEAR_BITS
    lows, highs = np.full(len(closest), np.inf), np.full(len(closest), -np.inf)
    np.minimum.at(lows, pairs.query_frame[near], (pairs.start - pairs.query)[near])
    np.maximum.at(highs, pairs.query_frame[near], (pairs.end - pairs.query)[near])
    latest_start, earliest_end = float(lows[frames].max()), float(highs[frames].min())
    if latest_start - earliest_end > 2 * _PLAIN_MISS:
        return None
    return (latest_start + earliest_end) / 2


def _longest_run(times: np.ndarray, max_gap: float) -> np.ndarray:
    """Indices of the longest stretch of ``times`` (sorted) without a gap over ``max_gap``."""
    cuts = np.flatnonzero(np.diff(times) > max_gap) + 1
    bounds = np.concatenate([[0], cuts, [len(times)]])
    sizes = np.diff(bounds)
    best = int(np.argmax(sizes))
    return np.arange(bounds[best], bounds[best + 1])
