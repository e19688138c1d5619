"""frame_rows: one converter from PDQ hex to the matcher's rows, for hashes and database rows."""

from __future__ import annotations

import numpy as np
import pytest

from crawler.matching.video_frames import frame_rows


def test_frames_become_seconds_byte_rows_and_qualities():
    hexes = ["00" * 31 + "ff", "ab" * 32]
    seconds, codes, qualities = frame_rows([(0.0, hexes[0], 80), (0.25, hexes[1], None)])
    assert seconds.tolist() == [0.0, 0.25]
    assert codes.shape == (2, 32) and codes.dtype == np.uint8
    assert [row.tobytes().hex() for row in codes] == hexes
    assert qualities.tolist() == [80, 100]  # unknown quality: used


def test_no_frames_are_empty_rows():
    seconds, codes, qualities = frame_rows([])
    assert seconds.shape == (0,) and codes.shape == (0, 32) and qualities.shape == (0,)


@pytest.mark.parametrize("hex_value", ["ab" * 8, "zz" * 32, "ab" * 33])
def test_a_hash_that_is_not_pdq_hex_is_refused(hex_value):
    with pytest.raises(ValueError, match="not 64 hex digits"):
        frame_rows([(0.0, "00" * 32, 90), (1.0, hex_value, 90)])
