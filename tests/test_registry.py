import io
import json
from functools import cache
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageSequence

from crawler import db, samples
from crawler.localsite import LocalSite, Route, html
from crawler.registry import (
    HashListError,
    add_files,
    format_hash_list,
    media_files,
    parse_hash_list,
)
from tests import videos
from tests.cli_runner import repostwatch
from tests.sites import gallery

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PHASH = "d1d1b1a1c1c1e1f0"
SHA = "a" * 64


def test_csv_rows_are_normalised():
    text = f"algorithm,hash,case,quality\nPDQ, {PDQ.upper()} ,case-1,90\nphash,{PHASH},case-2,\n"
    assert parse_hash_list(text, "csv") == [
        db.ImportRow(case="case-1", algorithm="pdq", value=PDQ, quality=90),
        db.ImportRow(case="case-2", algorithm="phash", value=PHASH, quality=None),
    ]


def test_every_bad_csv_row_is_reported_by_line():
    text = (
        "algorithm,hash,case\n"
        f"pdq,{PDQ},case-1\n"
        "pdq,abc,case-1\n"
        f"sha1,{SHA},case-1\n"
        f"sha256,{SHA},\n"
        f"md5,{SHA},case-1\n"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "csv", "list.csv")
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "expected 64 lowercase hex digits" in problems[0]
    assert "unknown algorithm 'sha1'" in problems[1]
    assert "missing case" in problems[2]
    assert "not a md5 hash: expected 32" in problems[3]
    assert str(raised.value).startswith("list.csv: line 3:")


def test_csv_needs_its_header():
    with pytest.raises(HashListError, match="line 1: the header must name the columns"):
        parse_hash_list(f"pdq,{PDQ},case-1\n", "csv")


def test_json_rows_report_their_line():
    text = (
        "[\n"
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": 80}},\n'
        ' {"algorithm": "phash", "hash": "zz", "case": "c"},\n'
        ' {"algorithm": "phash", "hash": "' + PHASH + '", "case": "c", "extra": 1}\n'
        "]\n"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "json")
    assert [p.split(":")[0] for p in raised.value.problems] == ["line 3", "line 4"]
    assert "unknown column(s) extra" in raised.value.problems[1]


def test_round_trip_csv_and_json():
    rows = [
        db.ImportRow(case="case-1", algorithm="pdq", value=PDQ, quality=90),
        db.ImportRow(case="케이스-2", algorithm="sha256", value=SHA, quality=None),
    ]
    for fmt in ("csv", "json"):
        assert parse_hash_list(format_hash_list(rows, fmt), fmt) == rows


def test_media_files_walks_directories_and_skips_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "2.jpg").write_bytes(b"x")
    (tmp_path / "3.png").write_bytes(b"x")
    assert [p.name for p in media_files([tmp_path])] == ["3.png", "1.jpg"] or [
        p.name for p in media_files([tmp_path])
    ] == ["1.jpg", "3.png"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(media_files([tmp_path / "missing"]))


def test_json_must_be_one_closed_list():
    row = f'{{"algorithm": "pdq", "hash": "{PDQ}", "case": "c"}}'
    for text, problem in (
        (f"[{row},", "the list is not closed"),
        (f"[{row}] trailing", "unexpected text after the closing ]"),
        (f"[{row} {row}]", "expected , or ]"),
    ):
        with pytest.raises(HashListError, match=problem):
            parse_hash_list(text, "json")


def test_json_values_must_have_the_right_types():
    text = (
        "[\n"
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": 123}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "   "}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": true}},\n'
        f' {{"algorithm": "pdq", "hash": "{PDQ}", "case": "c", "quality": 49.9}},\n'
        f' {{"algorithm": "md5", "hash": "{"a" * 32}", "case": "c", "quality": 50}}\n'
        "]"
    )
    with pytest.raises(HashListError) as raised:
        parse_hash_list(text, "json")
    problems = raised.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "case: 123 is not text" in problems[0]
    assert "missing case" in problems[1]
    assert "quality: True is not a whole number" in problems[2]
    assert "only pdq hashes have a quality" in problems[4]


def test_csv_from_excel_with_a_byte_order_mark_and_other_encodings(tmp_path):
    from crawler.registry import read_hash_list

    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + f"algorithm,hash,case\npdq,{PDQ},\ucf00\n".encode())
    assert read_hash_list(bom)[0].case == "\ucf00"
    cp949 = tmp_path / "korean.csv"
    cp949.write_bytes(f"algorithm,hash,case\npdq,{PDQ},사건-1\n".encode("cp949"))
    with pytest.raises(HashListError, match=r"korean.csv: not UTF-8 .* `iconv -f CP949"):
        read_hash_list(cp949)


# --- animated images registered as frame sets --------------------------------------------------

#: An animated GIF made from sample photos (the reference) and one from other photos.
ANIMATION_PHOTOS = ("astronaut", "coffee")
OTHER_ANIMATION_PHOTOS = ("camera", "coins")


@cache
def animated(photos: tuple[str, ...], fmt: str = "GIF") -> bytes:
    """A 6-second animation: a slow zoom over each photo, 5 frames a second, 240x180."""
    frames = videos.slideshow_frames(photos, seconds=6.0, fps=5, size=(240, 180))
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buffer.getvalue()


def as_video(animation: bytes, container: str = "mp4", fps: int = 10) -> bytes:
    """The animation re-encoded as a video, as sites that turn GIFs into MP4s do."""
    with Image.open(io.BytesIO(animation)) as image:
        frames = []
        for frame in ImageSequence.Iterator(image):
            shown = round(frame.info.get("duration", 100) / 1000 * fps)
            frames += [frame.convert("RGB")] * max(1, shown)
    return videos.encode(frames, container, fps)


def as_webp(animation: bytes) -> bytes:
    with Image.open(io.BytesIO(animation)) as image:
        frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], duration=200, quality=60
    )
    return buffer.getvalue()


def test_an_animated_reference_is_stored_as_a_frame_set(session, tmp_path):
    gif = tmp_path / "clip.gif"
    gif.write_bytes(animated(ANIMATION_PHOTOS))
    still = tmp_path / "still.gif"
    still.write_bytes(samples.encode(samples.load_photo("coffee"), "GIF"))
    report = add_files(session, "case-gif", [gif, still])
    assert (report.files_added, report.videos_added) == (2, 1)
    (video,) = db.load_reference_videos(session)
    # Black lead-in, then each photo's zoom, sampled 4 times a second without near repeats.
    assert 6 <= len(video.frames) <= 24
    assert all(len(value) == 64 for value, _ in video.frames)
    again = add_files(session, "case-gif", [gif])
    assert (again.files_existing, again.videos_added) == (1, 0)


def test_copies_of_a_registered_gif_are_flagged_by_their_frames(database_url, tmp_path):
    """An MP4 made from the GIF has no image hashes at all: only the stored frames find it."""
    sites_dir = tmp_path / "sites"
    sites_dir.mkdir()
    env = {"REPOSTWATCH_DATABASE_URL": database_url, "REPOSTWATCH_SITES_DIR": str(sites_dir)}
    repostwatch("db", "upgrade", env=env, cwd=tmp_path)
    reference = tmp_path / "reference.gif"
    reference.write_bytes(animated(ANIMATION_PHOTOS))
    added = repostwatch("refs", "add", "--case", "case-gif", reference, env=env, cwd=tmp_path)
    assert "1 video(s) with frame hashes" in added.stdout
    routes = {
        "/": html(
            "<!doctype html><html><body>"
            '<video src="/v/clip.mp4"></video><img src="/a/clip.webp">'
            '<video src="/v/other.mp4"></video><img src="/a/other.gif">'
            "</body></html>"
        ),
        "/v/clip.mp4": Route(as_video(animated(ANIMATION_PHOTOS)), "video/mp4"),
        "/a/clip.webp": Route(as_webp(animated(ANIMATION_PHOTOS)), "image/webp"),
        "/v/other.mp4": Route(as_video(animated(OTHER_ANIMATION_PHOTOS)), "video/mp4"),
        "/a/other.gif": Route(animated(OTHER_ANIMATION_PHOTOS), "image/gif"),
    }
    with LocalSite(routes) as site:
        (sites_dir / "gifs.toml").write_text(gallery.site_file("gifs", site.url))
        repostwatch("crawl", "gifs", env=env, cwd=tmp_path)
        requested = set(site.requests)
    flags = json.loads(repostwatch("flags", "list", "--json", env=env, cwd=tmp_path).stdout)
    by_path = {urlsplit(flag["media_url"]).path: flag for flag in flags}
    assert set(by_path) == {"/v/clip.mp4", "/a/clip.webp"}
    assert requested >= {"/v/other.mp4", "/a/other.gif"}  # hashed, and not flagged
    video = by_path["/v/clip.mp4"]
    assert (video["case"], video["algorithm"], video["variant"]) == ("case-gif", "vpdq", "frames")
    assert json.loads(video["evidence"])["query_share"] >= 0.8
