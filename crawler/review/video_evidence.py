"""A video flag's evidence as one sentence for staff, in English and in Korean.

    >>> describe('{"reference_video": 3, "reference_start": 42, "reference_end": 97, ...}', "en")
    '00:42-01:37 of case video 3, found at 00:10-00:54, at 1.25x, mirrored (45 frames aligned,
    closest 6 bits)'

The evidence is the JSON `crawler.crawling.live_references.video_evidence` and `still_evidence`
write on a flag; keys this does not know are left alone, and evidence that is not a video's (a
crop's) gives None. How the video was fetched (``"delivery"``, added by the pipeline) has its
own sentence (`describe_delivery`): the form in words, and whether the page's player was seen
asking for it in the browser. The review app has no translation catalogue, so both languages'
sentences are kept here, side by side, in `_WORDS` and `_DELIVERY`.
"""

from __future__ import annotations

import json

LANGUAGES = ("en", "ko")

#: Per language: sentence templates and the words for each variant (how the found video is
#: turned, mirrored or letterboxed relative to the reference).
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "video": "{reference} of case video {video}, found at {found}{speed}{variant} "
        "({frames} frames aligned, closest {distance} bits)",
        "still": "a still of {at} of case video {video}{variant} ({distance} bits apart)",
        "speed": ", at {speed}x",
        "join": ", ",
        "trimmed": "letterboxed",
        "cropped": "cropped or covered at the edges",
        "flipx": "mirrored",
        "flipy": "upside down and mirrored",
        "rot90": "turned a quarter left",
        "rot270": "turned a quarter right",
        "rot180": "upside down",
        "transpose": "turned and mirrored",
        "transverse": "turned and mirrored",
    },
    "ko": {
        "video": "사례 영상 {video}의 {reference} 구간, 발견된 영상의 {found}{speed}{variant} "
        "(정렬된 프레임 {frames}개, 최소 거리 {distance}비트)",
        "still": "사례 영상 {video}의 {at} 장면 정지 화면{variant} (거리 {distance}비트)",
        "speed": ", {speed}배속",
        "join": ", ",
        "trimmed": "레터박스 추가",
        "cropped": "가장자리가 잘리거나 가려짐",
        "flipx": "좌우 반전",
        "flipy": "상하 반전",
        "rot90": "왼쪽으로 90° 회전",
        "rot270": "오른쪽으로 90° 회전",
        "rot180": "180° 회전",
        "transpose": "회전 및 반전",
        "transverse": "회전 및 반전",
    },
}


#: Per language: each delivery form (`crawler.hashing.types.Delivery`) in words, a stream the
#: page's player asked for in the browser ("browser-" forms), and the bytes fetched.
_DELIVERY: dict[str, dict[str, str]] = {
    "en": {
        "whole": "downloaded whole",
        "ranged": "a large file, sampled by byte ranges",
        "stream-budget": "only the start of the file (the server does not serve byte ranges)",
        "hls": "an HLS stream, sampled by segments",
        "dash": "a DASH stream, sampled by segments",
        "captured": "{form}; the page's video player asked for it in the browser",
        "bytes": "{fetched:,} bytes fetched",
        "bytes_of": "{fetched:,} of {total:,} bytes fetched",
    },
    "ko": {
        "whole": "파일 전체를 내려받음",
        "ranged": "큰 파일을 바이트 범위로 샘플링",
        "stream-budget": "파일 앞부분만 받음 (서버가 바이트 범위 요청을 지원하지 않음)",
        "hls": "HLS 스트림, 세그먼트 단위로 샘플링",
        "dash": "DASH 스트림, 세그먼트 단위로 샘플링",
        "captured": "{form}; 브라우저에서 페이지의 동영상 플레이어가 요청함",
        "bytes": "{fetched:,}바이트 받음",
        "bytes_of": "전체 {total:,}바이트 중 {fetched:,}바이트 받음",
    },
}
#: What a form starts with when the browser captured the stream (as
#: `crawler.hashing.types.BROWSER_CAPTURED` writes it; the review app imports no hashing).
_CAPTURED = "browser-"


def describe_delivery(evidence: str | None, language: str = "en") -> str | None:
    """How the flagged video was fetched, in ``language``: its evidence's ``"delivery"`` in
    words (a form this does not know is named as written), or None without one."""
    words = _DELIVERY[language]
    try:
        found = json.loads(evidence) if evidence else None
        delivery = found.get("delivery") if isinstance(found, dict) else None
        form = str(delivery["form"])
        fetched = int(delivery["bytes_fetched"])
        total = None if delivery.get("bytes_total") is None else int(delivery["bytes_total"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    captured = form.startswith(_CAPTURED)
    base = form.removeprefix(_CAPTURED) if captured else form
    said = words.get(base, base)
    if captured:
        said = words["captured"].format(form=said)
    size = words["bytes_of" if total else "bytes"].format(fetched=fetched, total=total)
    return f"{said} ({size})"


def describe_delivery_all(evidence: str | None) -> dict[str, str] | None:
    """`describe_delivery` in every language, or None when the evidence names no delivery."""
    if describe_delivery(evidence) is None:
        return None
    return {language: describe_delivery(evidence, language) or "" for language in LANGUAGES}


def describe(evidence: str | None, language: str = "en") -> str | None:
    """The sentence for a flag's ``evidence`` JSON in ``language`` (`LANGUAGES`), or None when
    the evidence is not a video match's."""
    words = _WORDS[language]
    try:
        found = json.loads(evidence) if evidence else None
    except ValueError:
        return None
    if not isinstance(found, dict) or "reference_video" not in found:
        return None
    variant = _variant(str(found.get("variant", "original")), words)
    common = {
        "video": found["reference_video"],
        "variant": words["join"] + variant if variant else "",
        "distance": found.get("best_distance", "?"),
    }
    if "found_start" not in found:  # a still image
        return words["still"].format(at=clock(found.get("reference_start", 0)), **common)
    speed = float(found.get("speed", 1.0))
    return words["video"].format(
        reference=f"{clock(found['reference_start'])}-{clock(found['reference_end'])}",
        found=f"{clock(found['found_start'])}-{clock(found['found_end'])}",
        speed="" if abs(speed - 1) < 0.02 else words["speed"].format(speed=f"{speed:g}"),
        frames=found.get("frames_aligned", "?"),
        **common,
    )


def describe_all(evidence: str | None) -> dict[str, str] | None:
    """`describe` in every language, or None when the evidence is not a video match's."""
    if describe(evidence) is None:
        return None
    return {language: describe(evidence, language) or "" for language in LANGUAGES}


def clock(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from an hour on (rounded to the second, never negative)."""
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _variant(variant: str, words: dict[str, str]) -> str:
    """Words for a variant name: ``"trimmed+flipx"`` is letterboxed and mirrored."""
    parts = []
    if variant.startswith("trimmed"):
        parts.append(words["trimmed"])
        variant = variant.removeprefix("trimmed").strip("+") or "original"
    if variant in words:
        parts.append(words[variant])
    return words["join"].join(parts)
