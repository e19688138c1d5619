"""Screenshots and collages that show photos among page furniture, made in memory.

Layouts other than the robustness benchmark's forum page (`benchmarks.photos.screenshot`), so
that tests of `crawler.hashing.regions` do not only pass on the page it was measured on. Each
helper returns the picture and the boxes ``(left, top, right, bottom)`` where it put the photos.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Box = tuple[int, int, int, int]


def _fitted(photo: Image.Image, width: int, height: int) -> Image.Image:
    scale = min(width / photo.width, height / photo.height)
    size = (round(photo.width * scale), round(photo.height * scale))
    return photo.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def social_post(photo: Image.Image) -> tuple[Image.Image, Box]:
    """A 1080x1350 phone screenshot of a social network post: status bar, a card with a grey
    one-pixel border, an avatar, the author's name, the photo 1000 px wide at most, likes and a
    caption under it."""
    page = Image.new("RGB", (1080, 1350), (250, 250, 250))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=28)
    draw.rectangle((0, 0, 1080, 60), fill=(20, 20, 20))
    draw.text((30, 14), "9:41        LTE  87%", font=font, fill="white")
    draw.rectangle((20, 90, 1060, 1330), fill="white", outline=(200, 200, 205))
    draw.ellipse((40, 110, 110, 180), fill=(230, 120, 80))
    draw.text((130, 128), "someone_reposting  ·  2h", font=font, fill=(30, 30, 30))
    shown = _fitted(photo, 1000, 880)
    left, top = 40, 210
    page.paste(shown, (left, top))
    below = top + shown.height + 24
    draw.text((40, below), "♥ 1,204 likes", font=font, fill=(30, 30, 30))
    for row in range(3):
        text = "look what I found on an old drive, do you know her? #throwback"[: 60 - 9 * row]
        draw.text((40, below + 44 + 36 * row), text, font=font, fill=(60, 60, 60))
    return page, (left, top, left + shown.width, top + shown.height)


def shadowed(photo: Image.Image) -> tuple[Image.Image, Box]:
    """A 1080x1500 white page showing the photo, 1000x900 at most, with rounded corners (radius
    28) over a grey drop shadow blurred 8 px: no UI, so the page is also a padded picture."""
    page = Image.new("RGB", (1080, 1500), "white")
    shown = _fitted(photo, 1000, 900)
    shadow = Image.new("RGB", (shown.width + 40, shown.height + 40), "white")
    ImageDraw.Draw(shadow).rectangle((20, 20, shown.width + 20, shown.height + 20), fill=(200,) * 3)
    page.paste(shadow.filter(ImageFilter.GaussianBlur(8)), (20, 180))
    corners = Image.new("L", shown.size, 0)
    ImageDraw.Draw(corners).rounded_rectangle((0, 0, *(side - 1 for side in shown.size)), 28, 255)
    page.paste(shown, (40, 200), corners)
    return page, (40, 200, 40 + shown.width, 200 + shown.height)


def collage(photos: list[Image.Image], gap: int = 12) -> tuple[Image.Image, list[Box]]:
    """Four photos in a 2x2 grid of 400x300 cells on white, ``gap`` pixels apart and from
    the edges, each photo centred in its cell."""
    cell_w, cell_h = 400, 300
    page = Image.new("RGB", (2 * cell_w + 3 * gap, 2 * cell_h + 3 * gap), "white")
    boxes = []
    for number, photo in enumerate(photos[:4]):
        shown = _fitted(photo, cell_w, cell_h)
        col, row = number % 2, number // 2
        left = gap + col * (cell_w + gap) + (cell_w - shown.width) // 2
        top = gap + row * (cell_h + gap) + (cell_h - shown.height) // 2
        page.paste(shown, (left, top))
        boxes.append((left, top, left + shown.width, top + shown.height))
    return page, boxes


def text_page() -> Image.Image:
    """A 1366x768 screenshot of a page of text only: a header bar, a bordered text panel,
    paragraphs and a button."""
    page = Image.new("RGB", (1366, 768), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=18)
    draw.rectangle((0, 0, 1366, 64), fill=(33, 90, 160))
    draw.text((30, 20), "Help centre  ·  Reporting a post", font=font, fill="white")
    draw.rectangle((60, 100, 900, 700), fill=(248, 248, 250), outline=(180, 180, 190))
    words = "If a picture of you was posted without your consent, tell us where it is and "
    for row in range(24):
        draw.text((80, 120 + 23 * row), (words * 2)[row % 7 : row % 7 + 86], font=font, fill=0)
    draw.rounded_rectangle((960, 120, 1300, 180), radius=8, fill=(33, 90, 160))
    draw.text((1010, 138), "Send a report", font=font, fill="white")
    return page
