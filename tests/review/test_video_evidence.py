"""A video flag's evidence reads as one sentence, in English and Korean, on the flag page (in
the language the staff member reads)."""

from __future__ import annotations

import json

from crawler.review.video_evidence import (
    clock,
    describe,
    describe_all,
    describe_delivery,
    describe_delivery_all,
)
from tests.review.conftest import login, post

EVIDENCE = {
    "reference_video": 3,
    "reference_start": 42.2,
    "reference_end": 96.9,
    "found_start": 10.0,
    "found_end": 54.0,
    "offset": 29.7,
    "speed": 1.25,
    "frames_aligned": 45,
    "best_distance": 6,
    "variant": "flipx",
    "delivery": {"form": "hls", "bytes_fetched": 1000, "bytes_total": None},
}


def test_a_video_match_reads_as_a_sentence_in_english_and_korean():
    text = json.dumps(EVIDENCE)
    assert describe(text) == (
        "00:42-01:37 of case video 3, found at 00:10-00:54, at 1.25x, mirrored "
        "(45 frames aligned, closest 6 bits)"
    )
    assert describe(text, "ko") == (
        "사례 영상 3의 00:42-01:37 구간, 발견된 영상의 00:10-00:54, 1.25배속, 좌우 반전 "
        "(정렬된 프레임 45개, 최소 거리 6비트)"
    )


def test_normal_speed_and_the_original_orientation_go_unsaid_and_letterboxing_is_said():
    plain = json.dumps(EVIDENCE | {"speed": 1.004, "variant": "original"})
    assert describe(plain) == (
        "00:42-01:37 of case video 3, found at 00:10-00:54 (45 frames aligned, closest 6 bits)"
    )
    boxed = json.dumps(EVIDENCE | {"variant": "trimmed+rot90"})
    assert ", letterboxed, turned a quarter left (" in describe(boxed)
    assert ", 레터박스 추가, 왼쪽으로 90° 회전 (" in describe(boxed, "ko")


def test_a_copy_found_through_its_crops_says_so():
    cropped = json.dumps(EVIDENCE | {"speed": 1.0, "variant": "cropped"})
    assert ", found at 00:10-00:54, cropped or covered at the edges (45" in describe(cropped)
    assert "00:10-00:54, 가장자리가 잘리거나 가려짐 (정렬된" in describe(cropped, "ko")


def test_a_still_and_other_evidence():
    still = {"reference_video": 5, "reference_start": 3725.4, "reference_end": 3725.4}
    still |= {"frames_aligned": 1, "best_distance": 4, "variant": "original"}
    assert describe(json.dumps(still)) == "a still of 1:02:05 of case video 5 (4 bits apart)"
    assert describe(json.dumps({"inliers": 30, "keypoints": 40, "score": 0.9})) is None
    assert describe(None) is None and describe("not json") is None
    assert describe_all(None) is None
    assert clock(-0.4) == "00:00" and clock(59.6) == "01:00"


def test_the_flag_page_shows_the_sentence(client, world):
    flag_id = world.flag(1, algorithm="vpdq", variant="frames", evidence=json.dumps(EVIDENCE))
    plain = world.flag(2)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "00:42-01:37 of case video 3, found at 00:10-00:54, at 1.25x, mirrored" in page
    assert "사례 영상" not in page
    post(client, "/account/preferences", {"locale": "ko"})
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "사례 영상 3의 00:42-01:37 구간" in page and "of case video" not in page
    assert 'id="video-evidence"' not in client.get(f"/flags/{plain}").get_data(as_text=True)


def test_the_delivery_says_how_the_video_was_fetched_and_whether_the_browser_captured_it():
    hls = json.dumps(EVIDENCE)
    assert describe_delivery(hls) == "an HLS stream, sampled by segments (1,000 bytes fetched)"
    assert describe_delivery(hls, "ko") == "HLS 스트림, 세그먼트 단위로 샘플링 (1,000바이트 받음)"
    captured = {"form": "browser-dash", "bytes_fetched": 2500, "bytes_total": 10000}
    text = json.dumps(EVIDENCE | {"delivery": captured})
    assert describe_delivery(text) == (
        "a DASH stream, sampled by segments; the page's video player asked for it in the "
        "browser (2,500 of 10,000 bytes fetched)"
    )
    assert describe_delivery(text, "ko") == (
        "DASH 스트림, 세그먼트 단위로 샘플링; 브라우저에서 페이지의 동영상 플레이어가 요청함 "
        "(전체 10,000바이트 중 2,500바이트 받음)"
    )
    future = json.dumps({"delivery": {"form": "webrtc", "bytes_fetched": 5}})
    assert describe_delivery(future) == "webrtc (5 bytes fetched)"  # named as written
    assert describe_delivery(json.dumps({"reference_video": 1})) is None
    assert describe_delivery("not json") is None and describe_delivery_all(None) is None
    # The review app imports no hashing: its prefix is the one the crawl writes.
    from crawler.hashing.types import BROWSER_CAPTURED
    from crawler.review import video_evidence

    assert video_evidence._CAPTURED == BROWSER_CAPTURED


def test_the_flag_page_shows_how_the_video_was_fetched(client, world):
    captured = {"form": "browser-hls", "bytes_fetched": 1000, "bytes_total": None}
    flag_id = world.flag(
        1, algorithm="vpdq", evidence=json.dumps(EVIDENCE | {"delivery": captured})
    )
    plain = world.flag(2)
    world.user("kim")
    login(client, "kim")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    delivery = page.split('id="delivery"', 1)[1].split("</dd>", 1)[0]
    assert "an HLS stream, sampled by segments; the page&#39;s video player asked" in delivery
    post(client, "/account/preferences", {"locale": "ko"})
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    delivery = page.split('id="delivery"', 1)[1].split("</dd>", 1)[0]
    assert "브라우저에서 페이지의 동영상 플레이어가 요청함" in delivery
    assert 'id="delivery"' not in client.get(f"/flags/{plain}").get_data(as_text=True)
