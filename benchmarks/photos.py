"""Real photos for the robustness benchmark, and the edits repost sites make to them.

Originals: the photos bundled with scikit-image (`crawler.demo.samples.PHOTOS`) and the example
photos of Debian's ``opencv-doc`` package, which `opencv_examples` fetches with ``apt-get
download`` and unpacks with ``dpkg-deb -x`` into a cache under ``var/`` (never committed). Only
ordinary photos are kept: JPEG or PNG, RGB or greyscale, at least `MIN_SIDE` pixels a side, and
not one of `SKIPPED` (drawings, logos, masks, and second shots of a scene already in the set).

`TRANSFORMS` turn a decoded original into the bytes of a copy. JPEG rows re-encode; every other
edit is saved as PNG so that only the edit itself is measured.

Videos: slideshows made by ``tests/support/videos.py`` from `VIDEO_PHOTOS`, and `VIDEO_TRANSFORMS`
made with its helpers.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from crawler.demo.samples import PHOTOS, photo_path
from tests.support import videos

#: Smallest side of an original, in pixels: below this are icons, templates and word crops.
MIN_SIDE = 128
#: opencv-doc example images (paths under ``examples/``) that are not ordinary photos, or are a
#: second shot of a scene already kept (stereo pairs, calibration series, before/after pairs).
SKIPPED = (
    r".*(mask|result|GT|[Ll]ogo).*",  # masks, matting results, ground truth, logos
    r"data/(HappyFish|digits|ellipses|ml|notes|pic\d|Blender_Suzanne\d)\..*",  # drawn, rendered
    r"data/(left(0[2-9]|1\d)|right\d\d)\.jpg",  # chessboard calibration series: left01 kept
    r"data/(right|aero3|aloeR|basketball2|ela_modified|graf3|leuvenB|rubberwhale2)\..*",
    r"data/box\.png",  # the object cut out of box_in_scene.png
)
OPENCV_PACKAGE = "opencv-doc"
_EXAMPLES = Path("usr/share/doc/opencv-doc/examples")


@dataclass(frozen=True, slots=True)
class Original:
    """An original photo: a short name, and its file (hashed as it is, as `refs add` would)."""

    name: str
    path: Path


def originals(cache: Path) -> tuple[list[Original], str]:
    """The originals, and a line saying where they came from (and why opencv-doc is missing,
    when it is)."""
    found = [Original(f"skimage/{name}", photo_path(name)) for name in PHOTOS]
    try:
        examples, version = opencv_examples(cache)
    except (OSError, subprocess.SubprocessError, StopIteration) as error:
        lines = str(getattr(error, "stderr", None) or error).strip().splitlines() or [""]
        reason = next((line for line in lines if line.startswith("E:")), lines[-1])
        note = (
            f"{len(found)} scikit-image photos only: could not fetch {OPENCV_PACKAGE} "
            f"({type(error).__name__}: {reason})"
        )
        return found, note
    kept = [
        Original(f"opencv/{path.relative_to(examples)}", path)
        for path in sorted(examples.rglob("*"))
        if _ordinary(path, path.relative_to(examples).as_posix())
    ]
    found += _without_duplicates(kept, {_pixels_digest(o.path) for o in found})
    note = (
        f"{len(PHOTOS)} scikit-image photos and {len(found) - len(PHOTOS)} photos of "
        f"Debian's {OPENCV_PACKAGE} {version}"
    )
    return found, note


def opencv_examples(cache: Path) -> tuple[Path, str]:
    """The example images of ``opencv-doc``, fetched once into ``cache``; and the version."""
    target = cache / OPENCV_PACKAGE
    marker = target / ".version"
    if marker.exists():
        return target, marker.read_text().strip()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        subprocess.run(
            ["apt-get", "download", OPENCV_PACKAGE],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        deb = next(Path(tmp).glob(f"{OPENCV_PACKAGE}_*.deb"))
        unpacked = Path(tmp) / "unpacked"
        subprocess.run(
            ["dpkg-deb", "-x", str(deb), str(unpacked)],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
        shutil.rmtree(target, ignore_errors=True)
        for path in (unpacked / _EXAMPLES).rglob("*"):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                copy = target / path.relative_to(unpacked / _EXAMPLES)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
        version = deb.name.split("_")[1]
    marker.write_text(version + "\n")
    return target, version


def _ordinary(path: Path, relative: str) -> bool:
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        return False
    if any(re.fullmatch(pattern, relative) for pattern in SKIPPED):
        return False
    with Image.open(path) as image:
        return min(image.size) >= MIN_SIDE and image.mode in ("RGB", "L")


def _without_duplicates(found: list[Original], seen: set[str]) -> list[Original]:
    """``found`` without pictures whose pixels are already in ``seen`` (or earlier in found)."""
    kept = []
    for original in found:
        digest = _pixels_digest(original.path)
        if digest not in seen:
            seen.add(digest)
            kept.append(original)
    return kept


def _pixels_digest(path: Path) -> str:
    with Image.open(path) as image:
        return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def load(original: Original) -> Image.Image:
    with Image.open(original.path) as image:
        return image.convert("RGB")


# --- the edits -------------------------------------------------------------------------------

Transform = Callable[[Image.Image, np.random.Generator], bytes]


def jpeg(quality: int) -> Transform:
    return lambda image, rng: _save(image, "JPEG", quality=quality)


def resize(scale: float) -> Transform:
    def apply(image: Image.Image, rng: np.random.Generator) -> bytes:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return _png(image.resize(size, Image.Resampling.LANCZOS))

    return apply


def blur(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Gaussian blur, radius 1% of the shorter side (5 px at 512)."""
    return _png(image.filter(ImageFilter.GaussianBlur(0.01 * min(image.size))))


def noise(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Gaussian noise of standard deviation 5% of the range (12.75 levels), per channel."""
    pixels = np.asarray(image, dtype=np.float32)
    noisy = pixels + rng.normal(0.0, 12.75, pixels.shape)
    return _png(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)))


def gamma(value: float) -> Transform:
    table = [round(255 * (level / 255) ** value) for level in range(256)] * 3
    return lambda image, rng: _png(image.point(table))


def grayscale(image: Image.Image, rng: np.random.Generator) -> bytes:
    return _png(image.convert("L"))


def text_overlay(image: Image.Image, rng: np.random.Generator) -> bytes:
    """Meme captions: white text with a black outline at the top and the bottom."""
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    for text, anchor, y in (("WHEN YOU SEE IT", "mt", 0.03), ("full set in bio", "mb", 0.97)):
        size = max(8, min(round(image.height * 0.1), round(image.width / (0.62 * len(text)))))
        font = ImageFont.load_default(size=size)
        draw.text(
            (image.width / 2, image.height * y),
            text,
            font=font,
            anchor=anchor,
            fill="white",
            stroke_width=max(1, size // 12),
            stroke_fill="black",
        )
    return _png(copy)


def watermark(image: Image.Image, rng: np.random.Generator) -> bytes:
    """A site's mark in the lower right corner: text at half opacity, about half the width."""
    text = "reposts.example"
    size = max(8, round(image.width * 0.5 / (0.5 * len(text))))
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (image.width * 0.97, image.height * 0.96),
        text,
        font=ImageFont.load_default(size=size),
        anchor="rb",
        fill=(255, 255, 255, 128),
        stroke_width=max(1, size // 15),
        stroke_fill=(0, 0, 0, 128),
    )
    return _png(Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB"))


def thorn_watermark(image: Image.Image, rng: np.random.Generator) -> bytes:
    """The text edit of Thorn's ``perception`` benchmark (its "watermark", the example in
    docs/examples/benchmarking.rst): the word TEST in OpenCV's Hershey simplex font, 5 px
    strokes, 20% of the width, in the lower left corner, black at 200/255 opacity. It covers
    far less of the picture than the meme captions of `text_overlay`."""
    import cv2

    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    (width, height), _ = cv2.getTextSize("TEST", cv2.FONT_HERSHEY_SIMPLEX, 5, 5)
    scale = 0.2 * image.width / width
    origin = (int(height * scale), int(image.height - height * scale))
    alpha = np.zeros(pixels.shape[:2], dtype=np.uint8)
    cv2.putText(alpha, "TEST", origin, cv2.FONT_HERSHEY_SIMPLEX, 5 * scale, 200, 5)
    opacity = alpha[..., None].astype(np.float32) / 255
    return _png(Image.fromarray((pixels * (1 - opacity)).astype(np.uint8)))


def transpose(method: Image.Transpose) -> Transform:
    return lambda image, rng: _png(image.transpose(method))


def rotate(degrees: float) -> Transform:
    """Turned counter-clockwise, canvas grown to hold it all, corners black."""
    return lambda image, rng: _png(
        image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor="black")
    )


def crop(share: float) -> Transform:
    """``share`` of the width and of the height cut away, split at random between the sides."""

    def apply(image: Image.Image, rng: np.random.Generator) -> bytes:
        cut_x, cut_y = image.width * share, image.height * share
        left, top = cut_x * rng.uniform(), cut_y * rng.uniform()
        right, bottom = left + image.width - cut_x, top + image.height - cut_y
        return _png(image.crop((round(left), round(top), round(right), round(bottom))))

    return apply


def pad(share: float, blurred: bool) -> Transform:
    """A border adding ``share`` to the width and the height (the picture centred): black, or the
    picture itself stretched and blurred behind it (as apps fill a square frame)."""

    def apply(image: Image.Image, rng: np.random.Generator) -> bytes:
        size = (round(image.width * (1 + share)), round(image.height * (1 + share)))
        if blurred:
            back = image.resize(size, Image.Resampling.BILINEAR)
            back = back.filter(ImageFilter.GaussianBlur(0.05 * min(size)))
        else:
            back = Image.new("RGB", size, "black")
        back.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
        return _png(back)

    return apply


def screenshot(image: Image.Image, rng: np.random.Generator) -> bytes:
    """A 1366x768 screenshot of a forum page showing the picture at up to 760x520 among a
    header, a sidebar and lines of text."""
    page = Image.new("RGB", (1366, 768), (245, 245, 242))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=16)
    draw.rectangle((0, 0, 1366, 56), fill=(40, 52, 72))
    draw.text((24, 18), "board.example  /  gallery  /  post 48213", font=font, fill="white")
    draw.rectangle((0, 56, 230, 768), fill=(226, 229, 234))
    for row in range(14):
        draw.text((20, 80 + 40 * row), f"thread {917 - 13 * row}", font=font, fill=(60, 60, 60))
    draw.text((270, 76), "new upload, tell me what you think", font=font, fill=(20, 20, 20))
    scale = min(760 / image.width, 520 / image.height)
    shown = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
    )
    page.paste(shown, (270, 108))
    for row in range(3):
        y = 108 + shown.height + 16 + 22 * row
        draw.text((270, y), "reply  quote  report  " * (3 - row), font=font, fill=(90, 90, 90))
    return _png(page)


def _png(image: Image.Image) -> bytes:
    return _save(image, "PNG", compress_level=1)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


#: Name -> edit, in the order of the results table.
TRANSFORMS: dict[str, Transform] = {
    "JPEG q30": jpeg(30),
    "JPEG q50": jpeg(50),
    "JPEG q70": jpeg(70),
    "resize 0.25x": resize(0.25),
    "resize 0.5x": resize(0.5),
    "resize 2x": resize(2.0),
    "blur": blur,
    "noise": noise,
    "gamma 0.7": gamma(0.7),
    "gamma 1.4": gamma(1.4),
    "grayscale": grayscale,
    "text overlay": text_overlay,
    "text (Thorn's watermark)": thorn_watermark,
    "watermark": watermark,
    "mirror": transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotate 90": transpose(Image.Transpose.ROTATE_90),
    "rotate 180": transpose(Image.Transpose.ROTATE_180),
    "rotate 2": rotate(2),
    "rotate 4": rotate(4),
    "rotate 8": rotate(8),
    "crop 5%": crop(0.05),
    "crop 10%": crop(0.10),
    "crop 20%": crop(0.20),
    "pad 10% solid": pad(0.10, blurred=False),
    "pad 20% solid": pad(0.20, blurred=False),
    "pad 10% blurred": pad(0.10, blurred=True),
    "pad 20% blurred": pad(0.20, blurred=True),
    "screenshot": screenshot,
}


def target(name: str) -> float | None:
    """The share of copies of a transform that should match (None: no target set)."""
    kind = name.split()[0]
    if kind in ("JPEG", "resize", "blur", "noise", "gamma", "grayscale", "text", "watermark"):
        return 0.995
    if name in ("mirror", "rotate 90", "rotate 180"):
        return 0.99
    if kind == "pad":
        return 0.95
    if name in ("crop 5%", "crop 10%"):
        return 0.90
    if name == "rotate 4":
        return 0.80
    return None


#: Each video is a slideshow of two photos; no photo is in two videos, and each has an ordinary
#: photo (the textures and scanned pages are paired with one).
VIDEO_PHOTOS = (
    ("astronaut", "grass"),
    ("camera", "gravel"),
    ("chelsea", "brick"),
    ("coffee", "page"),
    ("coins", "text"),
    ("hubble", "rocket"),
    ("ihc", "retina"),
    ("moon", "motorcycle"),
)
#: Name -> what a repost site does to a video's bytes.
VIDEO_TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "re-encode (H.264, low quality)": lambda data: videos.transcoded(data, quality="low"),
    "WebM VP9 (low quality)": lambda data: videos.transcoded(data, "webm", quality="low"),
    "resize 0.5x": lambda data: videos.transcoded(data, scale=0.5),
    "trim 20% (start)": lambda data: videos.transcoded(data, keep=(0.2, 1.0)),
    "trim 20% (10% each end)": lambda data: videos.transcoded(data, keep=(0.1, 0.9)),
    "frame rate 15 -> 10 fps": lambda data: videos.transcoded(data, fps=10),
    "frame rate 15 -> 30 fps": lambda data: videos.transcoded(data, fps=30),
    "all at once (WebM, 0.5x, 10 fps, trim 20%)": lambda data: videos.transcoded(
        data, "webm", quality="low", scale=0.5, fps=10, keep=(0.1, 0.9)
    ),
}
