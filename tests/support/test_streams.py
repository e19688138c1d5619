"""The test videos (tests/support/streams.py) are what their facts say: placements are checked
against the reference's own frames, streams are read back over HTTP from the test nginx."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.support import footage, streams

THUMB = (64, 36)


def _frame(path: Path | str, seconds: float, filters: str = "") -> np.ndarray:
    """The frame shown at ``seconds`` after ``filters``, grey, 64x36, as floats."""
    chain = f"{filters}," if filters else ""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds}", "-i", str(path), "-frames:v", "1",
         "-vf", f"{chain}scale={THUMB[0]}:{THUMB[1]},format=gray", "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(done.stdout, np.uint8).reshape(THUMB[1], THUMB[0]).astype(float)


#: Filters that undo an edit before frames are compared: (on the copy, on the reference).
_UNDO = {
    "mirrored": ("hflip", ""),
    "turned": ("transpose=cclock", ""),
    "letterboxed": ("crop=iw:iw*9/16", ""),
    "cropped": ("", "crop=iw*0.9:ih*0.9"),
    "banner": ("crop=iw:ih*5/6:0:ih/6", "crop=iw:ih*5/6:0:ih/6"),
}


def _shows_reference_at(video: streams.Video, query: float, reference: float) -> bool:
    """True when ``video`` at ``query`` s looks like the reference at ``reference`` s, and less
    like the reference 9 s earlier or later."""
    on_copy, on_reference = _UNDO.get(video.details.get("edit", ""), ("", ""))
    seen = _frame(video.path, query, on_copy)
    ref = streams.reference().path

    def distance(at: float) -> float:
        return float(np.abs(seen - _frame(ref, at, on_reference)).mean())

    elsewhere = [distance(at) for at in (reference - 9, reference + 9) if 2 < at < 59]
    return distance(reference) < 20 and all(distance(reference) < d / 2 for d in elsewhere)


@pytest.mark.parametrize("name", streams.EDITS)
def test_each_repost_shows_the_reference_where_its_placement_says(name):
    video = streams.edited(name)
    placement = video.placement
    assert placement is not None
    assert video.duration == pytest.approx(
        placement.query_end if name != "compilation" else 300.0, abs=0.2
    )
    for share in (0.3, 0.7):
        query = placement.query_start + share * (placement.query_end - placement.query_start)
        reference = placement.reference_start + (query - placement.query_start) * placement.speed
        assert _shows_reference_at(video, query, reference), (name, query, reference)


def test_the_reference_opens_on_the_title_card_that_two_unrelated_clips_share():
    reference = streams.reference()
    assert (reference.duration, reference.width, reference.height) == (60.0, 640, 360)
    card = _frame(reference.path, 1.0)
    with_card = [clip for clip in streams.unrelated() if clip.details["title_card"]]
    assert len(with_card) == 2
    for clip in with_card:
        assert np.abs(_frame(clip.path, 1.0) - card).mean() < 3
    for clip in streams.unrelated():
        assert clip.placement is None
        assert clip.duration == pytest.approx(48.0, abs=0.1)
        assert np.abs(_frame(clip.path, 20.0) - _frame(reference.path, 20.0)).mean() > 15


def test_the_big_files_hold_the_reference_in_the_middle_with_moov_where_said():
    for faststart in (False, True):
        big = streams.big_mp4(faststart)
        assert big.size >= 300_000_000
        boxes = streams.top_boxes(big.path)
        assert boxes.index("moov") > boxes.index("mdat") if not faststart else boxes[1] == "moov"
        middle = big.placement.query_start
        assert middle > 200 and big.duration - big.placement.query_end > 200
        assert _shows_reference_at(big, middle + 25, 25.0)


@pytest.mark.parametrize("segment_type", ["mpegts", "fmp4"])
def test_hls_master_lists_three_variants_that_play_over_http(nginx, segment_type):
    stream = streams.hls(segment_type)
    master = stream.path.read_text()
    assert [r.height for r in stream.renditions] == [240, 360, 720]
    assert re.findall(r"RESOLUTION=(\d+x\d+)", master) == ["426x240", "640x360", "1280x720"]
    for rendition in stream.renditions:
        playlist = (stream.path.parent / rendition.uri).read_text()
        assert "#EXT-X-ENDLIST" in playlist
        assert ("#EXT-X-MAP:URI=" in playlist) == (segment_type == "fmp4")
    url = stream.serve(nginx.site)
    assert footage.duration(url) == pytest.approx(60.0, abs=0.5)


def test_aes_segments_decrypt_with_the_key_the_playlist_names():
    stream = streams.hls_aes()
    playlist = stream.path.read_text()
    assert '#EXT-X-KEY:METHOD=AES-128,URI="key.key"' in playlist
    assert (stream.path.parent / "key.key").read_bytes() == stream.details["key"]
    first = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    encrypted = (stream.path.parent / first).read_bytes()
    assert encrypted[0] != 0x47  # not readable as MPEG-TS as it is
    iv = (0).to_bytes(16, "big")  # no IV attribute: the media sequence number
    decryptor = Cipher(algorithms.AES(stream.details["key"]), modes.CBC(iv)).decryptor()
    plain = decryptor.update(encrypted) + decryptor.finalize()
    assert plain[0] == 0x47 and plain[188] == 0x47


def test_the_live_playlist_is_a_window_without_an_end():
    live = streams.hls_live()
    playlist = live.path.read_text()
    assert "#EXT-X-ENDLIST" not in playlist and "#EXT-X-MEDIA-SEQUENCE:5" in playlist
    assert playlist.count("#EXTINF") == 6
    assert (live.placement.reference_start, live.placement.reference_end) == (20.0, 44.0)
    segment = streams.Video("seg", live.path.parent / "seg006.ts", "ts", 4, 640, 360, None)
    assert _shows_reference_at(segment, 1.0, 25.0)


@pytest.mark.parametrize("layout", streams.DASH_LAYOUTS)
def test_dash_manifests_have_their_layout(nginx, layout):
    stream = streams.dash(layout)
    mpd = stream.path.read_text()
    marker = {
        "template": "<SegmentTemplate",
        "timeline": "<SegmentTimeline",
        "list": "<SegmentURL",
        "base": "<SegmentBase",
    }[layout]
    assert marker in mpd
    if layout == "base":
        for name, start in re.findall(
            r'<BaseURL>(\S+)</BaseURL><SegmentBase indexRange="(\d+)', mpd
        ):
            data = (stream.path.parent / name).read_bytes()
            assert data[int(start) + 4 : int(start) + 8] == b"sidx"
        return
    url = stream.serve(nginx.site)
    assert footage.duration(url) == pytest.approx(60.0, abs=1.5)  # ffmpeg reads 59 s of DASH


def test_webm_and_mkv_keep_their_cues_where_said():
    webm, mkv = streams.webm(), streams.mkv()
    cues = bytes.fromhex("1c53bb6b")  # the Matroska Cues element's id
    for video, at_end in ((webm, True), (mkv, False)):
        data = video.path.read_bytes()
        assert (data.rfind(cues) > len(data) // 2) == at_end, video.name
        assert video.duration == pytest.approx(60.0, abs=0.1)


def test_a_served_file_is_read_from_the_test_nginx(nginx):
    reference = streams.reference()
    url = reference.serve(nginx.site)
    mark = nginx.mark()
    assert footage.duration(url) == pytest.approx(60.0)
    assert nginx.bytes_sent(url, since=mark) > 0
    assert {r.status for r in nginx.requests(url, since=mark)} <= {200, 206}
