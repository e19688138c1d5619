"""Hostile media: a bomb of every format the sniffer accepts, truncated and lying files."""

from __future__ import annotations

import os
from functools import partial

from benchmarks.reliability import bombs
from benchmarks.reliability.corpus import Case, media_page, media_page_headers, page_only
from benchmarks.reliability.hostile_server import Answer, page


def media_cases() -> list[Case]:
    jpeg, png = bombs.photo("JPEG"), bombs.photo("PNG")
    out: list[Case] = []
    add = out.append
    # --- media bombs, one per format the sniffer accepts --------------------------------------
    too_large = "media/skipped/MediaTooLarge|media/skipped/UndecodableMedia"
    add(
        Case(
            "png decompression bomb (20000² zeros)",
            "media bomb",
            media_page("/b.png", bombs.png_bomb, "image/png"),
            too_large,
        )
    )
    add(
        Case(
            "jpeg claiming 60000 x 60000",
            "media bomb",
            media_page("/b.jpg", bombs.jpeg_huge_dimensions, "image/jpeg"),
            too_large,
        )
    )
    add(
        Case(
            "gif of 300 frames on a 6000² canvas",
            "media bomb",
            media_page("/b.gif", bombs.gif_frame_bomb, "image/gif"),
            "media/hashed|media/skipped/MediaTooLarge|media/skipped/UndecodableMedia"
            "|media/over_pixel_budget|media/failed/hash_timeout",
        )
    )
    add(
        Case(
            "webp canvas of 16383²",
            "media bomb",
            media_page("/b.webp", bombs.webp_huge_canvas, "image/webp"),
            too_large,
        )
    )
    add(
        Case(
            "bmp claiming 50000²",
            "media bomb",
            media_page("/b.bmp", bombs.bmp_huge_dimensions, "image/bmp"),
            too_large,
        )
    )
    add(
        Case(
            "tiff claiming 60000²",
            "media bomb",
            media_page("/b.tif", bombs.tiff_bomb, "image/tiff"),
            too_large,
        )
    )
    add(
        Case(
            "ico whose png claims 40000²",
            "media bomb",
            media_page("/b.ico", bombs.ico_huge, "image/x-icon"),
            too_large + "|media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "two hours of video (7200 frames)",
            "media bomb",
            media_page("/long.mp4", bombs.long_video, "video/mp4", "video"),
            "media/hashed/video|media/skipped/UndecodableMedia",
        )
    )
    add(
        Case(
            "4K video frames",
            "media bomb",
            media_page("/4k.mp4", bombs.huge_frame_video, "video/mp4", "video"),
            "media/hashed/video|media/skipped/MediaTooLarge",
        )
    )
    add(
        Case(
            "gzip bomb as an image (1 GB of zeros)",
            "media bomb",
            media_page_headers(
                "/gz.jpg",
                lambda: bombs.gzip_bomb(1024),
                "image/jpeg",
                (("Content-Encoding", "gzip"),),
            ),
            # Scrapy refuses a body that inflates past the size limit (IgnoreRequest)
            "refused/IgnoreRequest|media/failed|media/skipped/UnsupportedMedia"
            "|media/skipped/UndecodableMedia",
        )
    )
    add(
        Case(
            "gzip bomb as the page (1 GB of zeros)",
            "parser bomb",
            page_only(
                lambda canary: Answer(
                    bombs.gzip_bomb(1024), "text/html", headers=(("Content-Encoding", "gzip"),)
                )
            ),
            "downloader/exception_count|errors|log_count/ERROR|log_count/WARNING",
            exits=(0, 1),
        )
    )
    add(
        Case(
            "endless image (chunked, never ends)",
            "media bomb",
            lambda canary: {
                "/": page('<img src="/endless.jpg">'),
                "/endless.jpg": Answer(jpeg, "image/jpeg", endless=True),
            },
            "media/failed",
        )
    )
    add(
        Case(
            "image with Content-Length over the limit",
            "media bomb",
            media_page_headers("/big.jpg", jpeg, "image/jpeg", (), claimed_length=10 * 1024**3),
            "media/failed",
        )
    )
    # --- truncated files ------------------------------------------------------------------------
    for fmt, content_type in (
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
    ):
        add(
            Case(
                f"truncated {fmt.lower()}",
                "truncated",
                media_page(f"/t.{fmt.lower()}", partial(bombs.truncated_photo, fmt), content_type),
                "media/hashed|media/skipped/UndecodableMedia",
            )
        )
    for container, content_type in (
        ("mp4", "video/mp4"),
        ("webm", "video/webm"),
        ("matroska", "video/x-matroska"),
        ("avi", "video/x-msvideo"),
        ("flv", "video/x-flv"),
        ("mpegts", "video/mp2t"),
        ("mpeg", "video/mpeg"),
    ):
        add(
            Case(
                f"truncated {container}",
                "truncated",
                media_page(
                    f"/t.{container}",
                    partial(bombs.truncated_video, container),
                    content_type,
                    "video",
                ),
                "media/hashed|media/skipped/UndecodableMedia|media/skipped/UnsupportedMedia",
            )
        )
    add(
        Case(
            "image cut short (Content-Length larger than sent)",
            "truncated",
            media_page_headers(
                "/short.jpg", jpeg[: len(jpeg) // 2], "image/jpeg", (), claimed_length=len(jpeg)
            ),
            "media/failed|media/hashed|media/skipped/UndecodableMedia",
        )
    )
    # --- lying files --------------------------------------------------------------------------
    add(
        Case(
            "html served as image/jpeg",
            "lying file",
            media_page("/fake.jpg", b"<!doctype html><p>not an image", "image/jpeg"),
            "media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "zip served as image/png",
            "lying file",
            media_page("/fake.png", b"PK\x03\x04" + os.urandom(2000), "image/png"),
            "media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "png named .jpg, served as text/plain",
            "lying file",
            media_page("/real.jpg", png, "text/plain"),
            "media/hashed/image",
        )
    )
    add(
        Case(
            "empty 200 image",
            "lying file",
            media_page("/empty.jpg", b"", "image/jpeg"),
            "media/skipped/UnsupportedMedia|media/failed",
        )
    )
    add(
        Case(
            "mp4 header with random body",
            "lying file",
            media_page(
                "/noise.mp4",
                lambda: bombs.video("mp4")[:64] + os.urandom(50000),
                "video/mp4",
                "video",
            ),
            "media/skipped/UndecodableMedia|media/hashed|media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "jpeg of random bytes after the header",
            "lying file",
            media_page("/noise.jpg", jpeg[:600] + os.urandom(30000), "image/jpeg"),
            "media/hashed|media/skipped/UndecodableMedia",
        )
    )
    return out
