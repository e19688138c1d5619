"""RegionTable: reference videos' regions by id, their hashes waiting for the index and then in
it, and removals either side of the index being built."""

from __future__ import annotations

import numpy as np

from crawler.matching.video_regions import RegionTable


def _video(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts = np.arange(count, dtype=np.float64) / 4
    return starts, starts + 0.25, rng.integers(0, 256, size=(count, 32), dtype=np.uint8)


def test_regions_read_back_the_same_before_and_after_the_index_is_built():
    rng = np.random.default_rng(1)
    table = RegionTable(hashed_from=0)
    videos = [_video(rng, count) for count in (5, 0, 2000, 3)]
    regions = [table.add(*video) for video in videos]
    assert [r.first_id for r in regions] == [0, 5, 5, 2005] and table.next_id == 2008
    for flushed in (False, True):
        for (starts, ends, codes), r in zip(videos, regions, strict=True):
            assert r.codes.view(np.uint8).tolist() == codes.tolist(), flushed
            assert r.starts.tolist() == starts.astype(np.float32).tolist()
            assert r.ends.tolist() == ends.astype(np.float32).tolist()
        assert table.pending is not flushed
        table.flush()
    assert len(table.index) == 2008


def test_a_video_removed_before_the_index_is_built_never_enters_it():
    rng = np.random.default_rng(2)
    table = RegionTable(hashed_from=0)
    first, gone, last = (table.add(*_video(rng, 40)) for _ in range(3))
    table.remove(gone)
    table.flush()
    assert table.index.contains(range(120)).tolist() == [True] * 40 + [False] * 40 + [True] * 40
    found = table.index.query_codes(last.codes.view(np.uint8), 0)[1]
    assert sorted(found.tolist()) == last.ids.tolist()
    assert first.codes.shape == (40, 4)


def test_a_video_removed_after_the_index_is_built_leaves_it():
    rng = np.random.default_rng(3)
    table = RegionTable(hashed_from=0)
    kept, gone = table.add(*_video(rng, 30)), table.add(*_video(rng, 30))
    table.flush()
    codes = gone.codes.view(np.uint8).copy()
    table.remove(gone)
    assert len(table.index) == 30
    assert len(table.index.query_codes(codes, 0)[1]) == 0
    later = table.add(*_video(rng, 10))  # waits for the next flush, numbered on
    assert later.first_id == 60 and table.pending
    table.flush()
    assert table.index.contains(later.ids).all() and table.index.contains(kept.ids).all()
