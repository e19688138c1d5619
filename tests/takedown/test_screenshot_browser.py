"""A hostile page against the screenshot: media in same- and cross-origin frames, on a canvas,
in a closed shadow root, as CSS content/border-image/mask-image/background, a video poster, a
srcset, fetched by script as a blob, next to the notice's own photo. Every one must come out
grey or blurred in the PNG, while a drawing that is no medium stays sharp. Both sites are
servers on 127.0.0.1 (two ports: two origins, so the second frame is cross-origin)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from crawler.demo.localsite import LocalSite, Route, html
from crawler.takedown.screenshot_browser import STUB_PNG, is_media
from crawler.takedown.screenshots import ShotTarget, take_screenshots
from tests.support.settings import CHROMIUM


def _checkerboard(size: int = 200, square: int = 8, transparent: bool = False) -> bytes:
    """Black and white squares (or black and transparent): as sharp as a picture gets."""
    cells = (np.indices((size, size)) // square).sum(axis=0) % 2
    if transparent:
        pixels = np.zeros((size, size, 4), np.uint8)
        pixels[..., 3] = np.where(cells == 0, 255, 0)
        image = Image.fromarray(pixels, "RGBA")
    else:
        image = Image.fromarray(np.where(cells == 0, 0, 255).astype(np.uint8), "L")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


CHECKER = _checkerboard()
CHECKER_URI = "data:image/png;base64," + base64.b64encode(CHECKER).decode()
MASK_URI = "data:image/png;base64," + base64.b64encode(_checkerboard(transparent=True)).decode()
_CANVAS = """<canvas width="200" height="200"></canvas><script>
const c = document.currentScript.previousElementSibling.getContext('2d');
for (let x = 0; x < 200; x += 8) for (let y = 0; y < 200; y += 8)
  if ((x + y) / 8 % 2 === 0) c.fillRect(x, y, 8, 8);
</script>"""

#: Box name -> its left and top on the page (each box is 200 x 200).
BOXES = {
    "notice_photo": (20, 20),
    "other_flagged_photo": (260, 20),
    "same_origin_frame": (500, 20),
    "cross_origin_frame": (740, 20),
    "blob_by_fetch": (980, 20),
    "canvas": (20, 300),
    "closed_shadow_root": (260, 300),
    "css_content": (500, 300),
    "border_image": (740, 300),
    "mask_image": (980, 300),
    "video_poster": (20, 580),
    "picture_srcset": (260, 580),
    "css_background": (740, 580),
}
#: A checkerboard drawn with CSS gradients: no medium, it stays sharp (the page is not simply
#: blurred all over).
CONTROL = (500, 580)


def _page(other_origin: str) -> str:
    at = {name: f"left:{x}px;top:{y}px" for name, (x, y) in BOXES.items()}
    return f"""<!doctype html><html><head><style>
  body {{ margin: 0; background: #fff; }}
  .box {{ position: absolute; width: 200px; height: 200px; border: 0; padding: 0; margin: 0;
          box-sizing: border-box; display: block; }}
  #css_content {{ content: url(/media/content.png); }}
  #border_image {{ border: 100px solid transparent; border-image: url({CHECKER_URI}) 100 stretch; }}
  #mask_image {{ background: #000; -webkit-mask-image: url({MASK_URI});
                 mask-image: url({MASK_URI}); }}
  #control {{ background: repeating-conic-gradient(#000 0 25%, #fff 0 50%) 0 0 / 16px 16px; }}
</style></head><body>
<img class="box" id="notice_photo" style="{at["notice_photo"]}" src="/media/flagged.png">
<img class="box" id="other_flagged_photo" style="{at["other_flagged_photo"]}"
     src="/media/other-case.png">
<iframe class="box" style="{at["same_origin_frame"]}" src="/frame"></iframe>
<iframe class="box" style="{at["cross_origin_frame"]}" src="{other_origin}/frame"></iframe>
<img class="box" id="blob_by_fetch" style="{at["blob_by_fetch"]}">
<div class="box" style="{at["canvas"]}">{_CANVAS}</div>
<div class="box" id="host" style="{at["closed_shadow_root"]}"></div>
<div class="box" id="css_content" style="{at["css_content"]}"></div>
<div class="box" id="border_image" style="{at["border_image"]}"></div>
<div class="box" id="mask_image" style="{at["mask_image"]}"></div>
<video class="box" style="{at["video_poster"]}" poster="/media/poster.png"></video>
<picture><source srcset="/media/srcset.png 1x, /media/srcset.png 2x" type="image/png">
  <img class="box" style="{at["picture_srcset"]}" src="/media/none.png"></picture>
<div class="box" style="{at["css_background"]};background:url(/media/bg.png)"></div>
<div class="box" id="control" style="left:{CONTROL[0]}px;top:{CONTROL[1]}px"></div>
<script>
  const root = document.getElementById('host').attachShadow({{mode: 'closed'}});
  root.innerHTML = '<img style="width:200px;height:200px;display:block" src="{CHECKER_URI}">';
  fetch('/media/blob.bin').then((r) => r.blob()).then((b) => {{
    document.getElementById('blob_by_fetch').src = URL.createObjectURL(b);
  }});
</script></body></html>"""


_FRAME = """<!doctype html><html><body style="margin:0">
<img style="width:100px;height:200px;display:block;float:left" src="/media/in-frame.png">
<img style="width:100px;height:200px;display:block;float:left" src="{uri}">
</body></html>"""


def _detail(png: bytes, box: tuple[int, int], inset: int = 20) -> float:
    """Mean difference between neighbouring pixels inside a 200 x 200 box: a sharp
    checkerboard gives about 60, anything blurred or grey under 3."""
    left, top = box
    area = (left + inset, top + inset, left + 200 - inset, top + 200 - inset)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L").crop(area), dtype=np.float32)
    return float(np.abs(np.diff(pixels, axis=1)).mean() + np.abs(np.diff(pixels, axis=0)).mean())


@pytest.fixture
def hostile_sites():
    media = {
        path: Route(CHECKER, "image/png")
        for path in (
            "/media/flagged.png",
            "/media/other-case.png",
            "/media/content.png",
            "/media/poster.png",
            "/media/srcset.png",
            "/media/bg.png",
        )
    }
    frame = html(_FRAME.format(uri=CHECKER_URI))
    with LocalSite({"/frame": frame, "/media/in-frame.png": Route(CHECKER, "image/png")}) as other:
        routes = {
            "/post/1": html(_page(other.url)),
            "/frame": frame,
            "/media/in-frame.png": Route(CHECKER, "image/png"),
            # A picture sent as bytes of no type, for a script to show as a blob.
            "/media/blob.bin": Route(CHECKER, "application/octet-stream"),
            **media,
        }
        with LocalSite(routes) as site:
            yield site, other


def test_no_medium_of_a_hostile_page_shows_in_the_screenshot(hostile_sites):
    site, other = hostile_sites
    # the second origin is the site's too (a private_hosts entry): its frame loads
    origins = (("127.0.0.1", other.port),)
    target = ShotTarget(1, site.url + "/post/1", (site.url + "/media/flagged.png",), True, origins)
    (shot,) = take_screenshots([target], chromium=CHROMIUM)
    assert shot.error is None and shot.png is not None
    sharp = {name: round(_detail(shot.png, box), 1) for name, box in BOXES.items()}
    assert {name: value for name, value in sharp.items() if value >= 3.0} == {}, sharp
    assert _detail(shot.png, CONTROL) > 20, "the page itself must stay readable"
    # Nothing of the media was asked of either site: the browser got the grey stub instead
    # (the blob's bytes were fetched, recognised as a picture and replaced).
    for requested in (site.requests, other.requests):
        assert not [path for path in requested if path.endswith(".png")], requested


def test_a_screenshot_cannot_make_chromium_reach_another_service_on_the_machine():
    """The page is the site's (opted in to its own private host and port); a frame, a script's
    fetch and WebSocket, an image and a form to another port of this machine, or to
    *.localhost, reach nothing: Chromium goes through the guard proxy."""
    with LocalSite({"/": html("<p>another service</p>")}) as service:
        port = service.port
        page = html(
            f'<p style="font-size:40px">a page</p>'
            f'<iframe src="http://127.0.0.1:{port}/frame"></iframe>'
            f'<iframe srcdoc="<form method=post action=http://127.0.0.1:{port}/schedule.json>'
            f'</form><script>document.forms[0].submit()</script>"></iframe>'
            f'<img src="http://x.localhost:{port}/pixel.png">'
            f"<script>fetch('http://127.0.0.1:{port}/steal').catch(() => {{}});"
            f"try {{ new WebSocket('ws://127.0.0.1:{port}/ws') }} catch (e) {{}}"
            f"fetch('http://x.localhost:{port}/steal').catch(() => {{}});</script>"
        )
        with LocalSite({"/post/1": page}) as site:
            target = ShotTarget(1, site.url + "/post/1", (), True)
            (shot,) = take_screenshots([target], chromium=CHROMIUM)
        assert service.requests == []
    assert shot.error is None and shot.png is not None


def test_a_page_that_answers_404_is_a_failure_not_a_screenshot():
    with LocalSite({"/gone": Route(b"<h1>Not Found</h1>", "text/html", 404)}) as site:
        (shot,) = take_screenshots([ShotTarget(1, site.url + "/gone", (), True)], chromium=CHROMIUM)
    assert shot.png is None
    assert shot.error.startswith("HTTP 404")


def test_media_is_recognised_by_type_or_by_its_first_bytes():
    assert is_media("image/jpeg", b"")
    assert is_media("VIDEO/mp4; codecs=x", b"")
    assert is_media("application/octet-stream", CHECKER)
    assert is_media("text/plain", b"\xff\xd8\xff\xe0" + bytes(12))
    assert is_media("", b"\x00\x00\x00\x18ftypmp42")
    assert is_media("", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not is_media("text/html", b"<!doctype html>")
    assert not is_media("application/json", b'["/a.jpg"]')
    assert Image.open(io.BytesIO(STUB_PNG)).getextrema() == (128, 128)  # one grey


def test_a_media_response_without_the_stub_is_noticed():
    """What refuses the screenshot when media reached the page around the route."""
    from types import SimpleNamespace

    from crawler.takedown.screenshot_browser import STUB_HEADER, _Watch

    def response(url, resource_type, headers):
        request = SimpleNamespace(resource_type=resource_type)
        return SimpleNamespace(url=url, request=request, headers=headers)

    watch = _Watch()
    watch.on_response(response("http://a/p.png", "image", {STUB_HEADER: "1"}))
    watch.on_response(response("http://a/page", "document", {"content-type": "text/html"}))
    watch.on_response(response("data:image/png;base64,AA", "image", {}))
    assert watch.slipped == []
    watch.on_response(response("http://a/x.bin", "fetch", {"content-type": "video/mp4"}))
    watch.on_response(response("http://a/y.jpg", "image", {"content-type": "image/jpeg"}))
    assert watch.slipped == ["http://a/x.bin", "http://a/y.jpg"]
