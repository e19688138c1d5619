"""align: the line through close frame pairs, on pairs written out (the real videos are in
`test_video` and `test_video_edits`)."""

from __future__ import annotations

import numpy as np
import pytest

from crawler.matching.alignment import Pairs, align

#: A plain copy of six seconds of a slow zoom, sampled once a second from 1.2 s of its
#: reference: (query second, reference frame's span, bits apart). The reference keeps one frame
#: per stretch within 8 bits, so the closest hash of a query frame is often a stretch later or
#: earlier than where it lies; weighed by closeness alone, speeds of 0.74-0.78 won.
SLOW_ZOOM = [
    (0.0, 0.533, 1.533, 8), (0.0, 1.533, 2.533, 4), (0.0, 2.533, 3.267, 14),
    (0.0, 3.267, 3.800, 24), (1.0, 0.533, 1.533, 16), (1.0, 1.533, 2.533, 6),
    (1.0, 2.533, 3.267, 4), (1.0, 3.267, 3.800, 18), (1.0, 3.800, 4.267, 28),
    (2.0, 0.533, 1.533, 28), (2.0, 1.533, 2.533, 20), (2.0, 2.533, 3.267, 10),
    (2.0, 3.267, 3.800, 4), (2.0, 3.800, 4.267, 14), (3.0, 3.267, 3.800, 18),
    (3.0, 3.800, 4.267, 10), (4.0, 4.267, 5.267, 10), (4.0, 5.267, 6.000, 8),
    (4.0, 6.000, 7.267, 18), (4.0, 7.267, 7.800, 28), (5.0, 4.267, 5.267, 30),
    (5.0, 5.267, 6.000, 16), (5.0, 6.000, 7.267, 2), (5.0, 7.267, 7.800, 10),
    (5.0, 7.800, 8.000, 18),
]  # fmt: skip


def pairs_of(rows: list[tuple[float, float, float, int]]) -> Pairs:
    query, start, end, distance = (np.array(column) for column in zip(*rows, strict=True))
    _, query_frame = np.unique(query, return_inverse=True)
    _, reference_frame = np.unique(start, return_inverse=True)
    return Pairs(
        query_frame=query_frame,
        query=query.astype(float),
        reference_frame=reference_frame,
        start=start.astype(float),
        end=end.astype(float),
        distance=distance.astype(int),
        variant=np.zeros(len(rows), int),
    )


def test_slow_footage_aligns_at_its_own_speed_over_all_its_seconds():
    found = align(pairs_of(SLOW_ZOOM), tolerance=1.0, max_gap=15.0)
    assert found.speed == 1.0 and found.frames_aligned == 6
    assert found.reference_span == pytest.approx(5.0)
    assert 0.8 <= found.offset <= 1.6  # it starts 1.2 s in


def test_one_frame_less_still_aligns_at_its_own_speed():
    found = align(
        pairs_of([row for row in SLOW_ZOOM if row[0] != 0.0]), tolerance=1.0, max_gap=15.0
    )
    assert found.speed == 1.0 and found.frames_aligned == 5
    assert found.reference_span == pytest.approx(4.0)


@pytest.mark.parametrize("speed", [0.5, 0.8, 1.1, 1.25, 1.5, 2.0])
def test_a_copy_played_faster_or_slower_keeps_its_speed(speed):
    # A moving shot: one reference frame every 0.25 s, each query frame a second apart close to
    # the frame at its own place only (and 12 bits from the neighbouring ones).
    rows = []
    for second in range(12):
        at = 3.0 + speed * second
        nearest = round(at * 4) / 4
        rows += [(float(second), nearest, nearest + 0.25, 2)]
        rows += [
            (float(second), nearest + step, nearest + step + 0.25, 12) for step in (-0.25, 0.25)
        ]
    found = align(pairs_of(rows), tolerance=1.0, max_gap=15.0)
    assert found.frames_aligned == 12
    assert found.speed == pytest.approx(speed, rel=0.03)
    assert found.offset == pytest.approx(3.0, abs=0.3)
