"""Which segments of a stream to fetch: a few spread over the whole timeline first, then those
around the times where frames looked like a reference's.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crawler.delivery.stream import Segment


def spread(segments: Sequence[Segment], samples: int) -> list[Segment]:
    """At most ``samples`` segments whose spans hold times spread evenly over the timeline: the
    middle of each of ``samples`` equal parts (so the first seconds, often an intro card, and
    the last, often credits, weigh no more than the rest). Every segment when there are no more
    than ``samples``."""
    if samples < 1:
        raise ValueError(f"samples must be 1 or more, got {samples}")
    if len(segments) <= samples:
        return list(segments)
    first, last = segments[0].start, segments[-1].end
    length = last - first
    chosen: dict[int, Segment] = {}
    if length <= 0:  # durations unknown: spread by position
        step = len(segments) / samples
        for part in range(samples):
            segment = segments[int((part + 0.5) * step)]
            chosen[segment.index] = segment
        return sorted(chosen.values(), key=lambda s: s.index)
    for part in range(samples):
        segment = at(segments, first + (part + 0.5) * length / samples)
        chosen[segment.index] = segment
    return sorted(chosen.values(), key=lambda s: s.index)


def around(
    segments: Sequence[Segment],
    times: Iterable[float],
    window: float,
    *,
    fetched: Iterable[int] = (),
    limit: int,
) -> list[Segment]:
    """Segments within ``window`` seconds of any of ``times`` (the segment of the time first,
    then its neighbours), except those ``fetched`` already (by index); at most ``limit``."""
    done = set(fetched)
    chosen: list[Segment] = []
    for time in times:
        nearby = [s for s in segments if s.end > time - window and s.start < time + window]
        nearby.sort(key=lambda s: (0 if s.start <= time < s.end else 1, abs(s.start - time)))
        for segment in nearby:
            if segment.index not in done:
                done.add(segment.index)
                chosen.append(segment)
                if len(chosen) == limit:
                    return sorted(chosen, key=lambda s: s.index)
    return sorted(chosen, key=lambda s: s.index)


def at(segments: Sequence[Segment], time: float) -> Segment:
    """The segment playing at ``time`` (the nearest one outside the timeline)."""
    low, high = 0, len(segments) - 1
    while low < high:  # the last segment starting at or before ``time``
        middle = (low + high + 1) // 2
        if segments[middle].start <= time:
            low = middle
        else:
            high = middle - 1
    return segments[low]


def spaced(values: Sequence[float], count: int) -> list[float]:
    """At most ``count`` of the sorted ``values``, evenly spaced from the first to the last (the
    middle one for a count of one)."""
    if count < 1:
        raise ValueError(f"count must be 1 or more, got {count}")
    if len(values) <= count:
        return list(values)
    if count == 1:
        return [values[len(values) // 2]]
    last = len(values) - 1
    return [values[round(part * last / (count - 1))] for part in range(count)]
