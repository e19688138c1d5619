import io
import itertools
import json
from functools import cache
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageSequence

from crawler import db
from crawler.demo import samples
from crawler.demo.localsite import LocalSite, Route, html
from crawler.references.register import add_files, media_files
from tests.sites import gallery
from tests.support import videos
from tests.support.cli_runner import repostwatch

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PHASH = "d1d1b1a1c1c1e1f0"
SHA = "a" * 64
ANIMATION_PHOTOS = ("astronaut", "coffee")
OTHER_ANIMATION_PHOTOS = ("camera", "coins")


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
    assert all(len(frame.value) == 64 for frame in video.frames)
    times = [frame.seconds for frame in video.frames]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] > 4
    # and a middle a second (repeats of still shots dropped), for cropped copies
    assert 2 <= len(video.middles) <= 7 and video.middles[0].seconds == 0.0
    again = add_files(session, "case-gif", [gif])
    assert (again.files_existing, again.videos_added) == (1, 0)


@pytest.mark.any_database
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
    evidence = json.loads(video["evidence"])
    assert evidence["frames_aligned"] >= 4 and abs(evidence["offset"]) <= 1.5


@cache
def long_slideshow() -> bytes:
    """20 s of four photos, each zoomed and panned: a "long" video once limits are lowered."""
    return videos.slideshow(("astronaut", "coffee", "camera", "coins"), seconds=20.0)


def test_a_reference_video_is_stored_to_its_end_past_a_crawled_copys_limits(
    session, tmp_path, monkeypatch
):
    """A crawled copy's frames stop at DEFAULT_MAX_FRAMES samples and MAX_DECODED_FRAMES decoded
    (and 900 s); a reference is read to its end (it used to be cut at 4 x DEFAULT_MAX_FRAMES
    samples and MAX_DECODED_FRAMES: a 2-hour reference kept its first 15 minutes)."""
    from crawler.hashing import video

    monkeypatch.setattr(video, "DEFAULT_MAX_FRAMES", 4)
    monkeypatch.setattr(video, "MAX_DECODED_FRAMES", 50)
    clip = tmp_path / "long.mp4"
    clip.write_bytes(long_slideshow())
    report = add_files(session, "case-long", [clip])
    assert (report.files_added, report.videos_added, report.cut_short) == (1, 1, [])
    (stored,) = db.load_reference_videos(session)
    assert stored.duration == pytest.approx(20.0, abs=0.5)
    assert max(frame.seconds for frame in stored.frames) > 19
    assert report.frames_stored == len(stored.frames) > 20
    # and its middles, once a second to the end, for cropped copies
    middles = [middle.seconds for middle in stored.middles]
    assert len(middles) >= 15 and middles[-1] > 18
    assert all(later - earlier >= 0.99 for earlier, later in itertools.pairwise(middles))


def test_refs_add_again_fills_in_the_middles_of_a_reference_stored_without_them(session, tmp_path):
    # Migration 0017 deleted the middles of the older region (10% off each edge): running
    # `refs add` on the file again stores the middles crops are now matched against.
    from crawler.db.models import ReferenceVideoMiddle

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(long_slideshow())
    add_files(session, "case-old", [clip])
    (before,) = db.load_reference_videos(session)
    session.execute(ReferenceVideoMiddle.__table__.delete())  # as migration 0017 leaves it
    assert db.load_reference_videos(session)[0].middles == ()
    again = add_files(session, "case-old", [clip])
    assert (again.files_existing, again.videos_added) == (1, 0)
    (stored,) = db.load_reference_videos(session)
    assert stored.middles == before.middles and len(stored.middles) >= 15
    assert stored.frames == before.frames


def test_a_reference_video_over_the_reference_limit_is_stored_cut_and_says_so(
    session, tmp_path, monkeypatch
):
    from crawler.hashing import video

    monkeypatch.setattr(video, "REFERENCE_MAX_SECONDS", 8.0)
    clip = tmp_path / "long.mp4"
    clip.write_bytes(long_slideshow())
    report = add_files(session, "case-long", [clip])
    (stored,) = db.load_reference_videos(session)
    assert 7 <= max(frame.seconds for frame in stored.frames) <= 8
    ((path, why),) = report.cut_short
    assert path == clip
    assert "up to 8 s of 20 s" in why and "split it" in why
