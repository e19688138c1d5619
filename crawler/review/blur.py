"""The blurred rendition of found media, made for every evidence view until the reviewer
deliberately unblurs the flag (a logged POST).

A CSS blur alone is not a blur: the full picture still reaches the browser, where a right-click
or the developer tools show it. So the evidence route sends this instead: the picture reduced to
at most ``BLOCKS`` pixels on its longer side (the average colour of each part survives; a face,
text or a tattoo does not), scaled back up to at most ``MAX_SIDE`` and smoothed with a strong
Gaussian blur so it reads as a blur rather than as blocks.

The media came from a site we do not trust, and decoders have bugs: the web process, which
holds the session secret, the evidence key and the database, never decodes it. Each rendition
is made in a short-lived worker process (:func:`blurred_rendition`) with a memory limit
(``resource.setrlimit``) and a deadline, killed when it passes either; nothing is written
anywhere. Media that is not a decodable picture (a video, corrupt bytes) gets a plain grey
placeholder; a picture that could not be decoded safely (too many pixels, over the memory limit
or the deadline) gets a grey placeholder that says why, drawn by the web process itself.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import resource
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageOps

logger = logging.getLogger(__name__)

#: Pixels on the longer side of the reduced picture: all the detail the blurred view keeps.
BLOCKS = 24
#: Pixels on the longer side of the rendition sent (never more than the original's).
MAX_SIDE = 160
#: Radius of the Gaussian blur applied at ``MAX_SIDE``, scaled down for smaller renditions.
BLUR_RADIUS = 6
#: Pictures declaring more pixels than this are not decoded (the placeholder is sent).
MAX_PIXELS = 50_000_000
#: The worker's address space (bytes) and wall-clock deadline (seconds).
WORKER_MEMORY = 1024 * 1024 * 1024
WORKER_SECONDS = 10.0
#: The Pillow plugins allowed per content type (never let Pillow try every plugin it has).
_PLUGINS = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
    "image/bmp": ("BMP",),
    "image/tiff": ("TIFF",),
}
_GREY = (128, 128, 128)


@dataclass(frozen=True)
class Rendition:
    """What the evidence route sends: the bytes, their type, and why it is only a placeholder
    (None when it is the blurred picture or the media is not a picture at all)."""

    data: bytes
    mimetype: str
    problem: str | None = None
    worker_pid: int | None = None  # the process that decoded the media


def blurred_rendition(
    data: bytes,
    content_type: str,
    *,
    memory: int = WORKER_MEMORY,
    seconds: float = WORKER_SECONDS,
) -> Rendition:
    """A strongly blurred, downscaled JPEG of the picture ``data``, made in a worker process
    limited to ``memory`` bytes and ``seconds``; or a grey PNG placeholder (saying why, when the
    worker failed or refused the picture)."""
    if _PLUGINS.get(_mime(content_type)) is None:
        return Rendition(_placeholder(), "image/png")  # never decoded: a video, a document
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_work, args=(sender, data, content_type, memory), name="repostwatch-blur"
    )
    worker.start()
    sender.close()
    try:
        if receiver.poll(seconds):
            answer = receiver.recv()
        else:
            answer = ("failed", f"decoding took longer than {seconds:g} s")
    except EOFError:  # the worker died without an answer (killed by a limit, or crashed)
        answer = ("failed", "the decoding process died (over its memory limit, or a crash)")
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join(5)
    if answer[0] == "ok":
        return Rendition(answer[1], "image/jpeg", None, answer[2])
    logger.warning("Evidence preview not made: %s", answer[1])
    return Rendition(_placeholder(answer[1]), "image/png", answer[1], worker.pid)


def _work(sender, data: bytes, content_type: str, memory: int) -> None:
    """In the worker: limit memory and CPU, decode, blur, send ("ok", jpeg, pid) or the reason."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(WORKER_SECONDS) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        try:
            answer = ("ok", _render(data, content_type), os.getpid())
        except MemoryError:
            answer = ("failed", f"decoding needed more than {memory // 2**20} MiB")
        except _Refused as exc:
            answer = ("refused", str(exc))
        sender.send(answer)
    finally:
        sender.close()


class _Refused(ValueError):
    """Not decoded on purpose, or not decodable; the message says why."""


def _mime(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _render(data: bytes, content_type: str) -> bytes:
    image = _decoded(data, content_type)
    width, height = image.size
    scale = BLOCKS / max(width, height)
    small = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX
    )
    side = min(MAX_SIDE, max(width, height))
    scale = side / max(width, height)
    shown = small.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BICUBIC
    )
    radius = max(2, BLUR_RADIUS * side // MAX_SIDE)
    shown = shown.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    shown.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _decoded(data: bytes, content_type: str) -> Image.Image:
    plugins = _PLUGINS[_mime(content_type)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=plugins) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise _Refused(
                        f"the picture declares {image.width}x{image.height} pixels, over the "
                        f"limit of {MAX_PIXELS:,}"
                    )
                # JPEG decodes straight to a smaller size: the detail is thrown away anyway.
                image.draft("RGB", (BLOCKS * 8, BLOCKS * 8))
                image = ImageOps.exif_transpose(image)
                rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _GREY)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    except (_Refused, MemoryError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Refused(f"refused as a decompression bomb ({exc})") from None
    except Exception as exc:  # Pillow raises many types on hostile bytes; all mean "not shown".
        raise _Refused(f"not a decodable picture ({exc.__class__.__name__})") from None


def _placeholder(problem: str | None = None) -> bytes:
    """Grey, with ``problem`` written on it: drawn here, nothing of the media is decoded."""
    image = Image.new("RGB", (MAX_SIDE * 2, MAX_SIDE * 9 // 16), _GREY)
    if problem:
        draw = ImageDraw.Draw(image)
        words, lines = ["Preview", "not", "made:", *problem.split()], [""]
        for word in words:
            if len(lines[-1]) + len(word) > 50:
                lines.append("")
            lines[-1] = f"{lines[-1]} {word}".strip()
        draw.multiline_text((8, 8), "\n".join(lines), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
