"""Blurred previews are made in a short-lived worker process with a memory limit and a
deadline: the web process never decodes a site's bytes, and a decompression bomb is refused
with a reason the reviewer can read while the web process carries on."""

from __future__ import annotations

import io
import os
import resource
import struct
import zlib

from PIL import Image

from crawler.db import evidence
from crawler.demo import samples
from crawler.review.blur import MAX_PIXELS, blurred_rendition
from tests.review.conftest import login

PHOTO = samples.reencoded_jpeg("coffee", quality=80, scale=0.5)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _big_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (side, side)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def test_the_preview_is_decoded_in_another_process():
    rendition = blurred_rendition(PHOTO, "image/jpeg")
    assert rendition.problem is None and rendition.mimetype == "image/jpeg"
    assert rendition.worker_pid is not None and rendition.worker_pid != os.getpid()
    assert max(Image.open(io.BytesIO(rendition.data)).size) <= 160


def test_a_worker_over_its_memory_limit_or_deadline_gives_a_placeholder_saying_so():
    bomb = _big_png(7000)  # 49 million pixels: under MAX_PIXELS, ~250 MB once decoded
    over = blurred_rendition(bomb, "image/png", memory=256 * 2**20)
    assert over.mimetype == "image/png" and "256 MiB" in over.problem
    card = Image.open(io.BytesIO(over.data))
    assert card.convert("L").getextrema()[0] < card.convert("L").getextrema()[1]  # writing on it
    late = blurred_rendition(PHOTO, "image/jpeg", seconds=0.001)
    assert late.mimetype == "image/png" and "took longer than" in late.problem


def test_a_decompression_bomb_is_refused_without_harming_the_web_process(
    app, client, world, evidence_keys
):
    bomb = _png_claiming(60_000, 60_000)  # 3.6 billion pixels declared
    assert MAX_PIXELS < 60_000 * 60_000
    flag_id, photo_flag = world.flag(1), world.flag(2)
    keys = evidence.sealer(evidence_keys.public)
    with world.sessions.begin() as session:
        for fid, data in ((flag_id, bomb), (photo_flag, PHOTO)):
            sealed = evidence.seal(keys, data, "image", "png" if data is bomb else "jpeg")
            evidence.store_evidence(
                session, fid, sealed.ciphertext, sealed.content_type, sealed.sha256
            )
    world.user("kim")
    login(client, "kim")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused = client.get(f"/flags/{flag_id}/evidence")
    assert refused.status_code == 200 and refused.mimetype == "image/png"
    assert "decompression bomb" in refused.headers["X-RepostWatch-Preview-Error"]
    # The web process goes on serving, and never held the decoded picture.
    assert client.get(f"/flags/{flag_id}").status_code == 200
    fine = client.get(f"/flags/{photo_flag}/evidence")
    assert fine.mimetype == "image/jpeg" and "X-RepostWatch-Preview-Error" not in fine.headers
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB
