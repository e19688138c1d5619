"""Which segments to fetch: spread over the timeline, then around candidate times."""

from __future__ import annotations

import pytest

from crawler.delivery.plan import around, at, spaced, spread
from crawler.delivery.stream import Resource, Segment


def _segments(*durations: float) -> list[Segment]:
    found, start = [], 0.0
    for index, duration in enumerate(durations):
        found.append(Segment(index, start, duration, Resource(f"s{index}.ts")))
        start += duration
    return found


def test_spread_takes_the_middle_of_equal_parts_of_the_timeline():
    segments = _segments(*[2.0] * 50)  # 100 s
    chosen = spread(segments, 5)
    assert [s.start for s in chosen] == [10.0, 30.0, 50.0, 70.0, 90.0]


def test_spread_follows_time_not_segment_count():
    # one long segment holds the first half of the video: it is sampled once, not skipped
    segments = _segments(50.0, *[1.0] * 50)
    chosen = spread(segments, 4)  # times 12.5, 37.5, 62.5, 87.5
    assert [s.index for s in chosen] == [0, 13, 38]


def test_spread_of_a_short_stream_takes_every_segment():
    segments = _segments(4.0, 4.0, 2.0)
    assert spread(segments, 10) == segments


def test_spread_without_durations_goes_by_position():
    segments = _segments(*[0.0] * 20)
    assert [s.index for s in spread(segments, 4)] == [2, 7, 12, 17]


def test_spread_refuses_no_samples():
    with pytest.raises(ValueError, match="1 or more"):
        spread(_segments(1.0), 0)


def test_at_finds_the_segment_playing():
    segments = _segments(4.0, 4.0, 4.0)
    assert [at(segments, t).index for t in (-1.0, 0.0, 3.9, 4.0, 11.9, 50.0)] == [0, 0, 0, 1, 2, 2]


def test_around_takes_the_neighbours_of_candidate_times_not_fetched_yet():
    segments = _segments(*[2.0] * 20)
    chosen = around(segments, [21.0], 3.0, fetched=[10], limit=10)
    assert [s.index for s in chosen] == [9, 11]  # 18-20 and 22-24; 20-22 is fetched already


def test_around_stops_at_its_limit_closest_first():
    segments = _segments(*[2.0] * 20)
    chosen = around(segments, [21.0, 5.0], 4.0, limit=3)
    assert [s.index for s in chosen] == [9, 10, 11]


def test_spaced_keeps_the_ends_and_spreads_the_rest():
    values = [float(v) for v in range(10)]
    assert spaced(values, 3) == [0.0, 4.0, 9.0]  # round(4.5) is 4: half to even
    assert spaced(values, 2) == [0.0, 9.0]
    assert spaced(values, 1) == [5.0]
    assert spaced(values[:2], 5) == [0.0, 1.0]
    with pytest.raises(ValueError, match="1 or more"):
        spaced(values, 0)
