"""A hostile page against the screenshot: media in same- and cross-origin frames, on a canvas,
in closed shadow roots (made by script or declared in the HTML), as CSS
content/border-image/mask-image/background, a video poster, a srcset, fetched by script as a
blob or made from the page's own bytes, under a slow CSS transition, next to the notice's own
photo. Every one must come out grey or blurred in the PNG, while a drawing that is no medium
stays sharp. Both sites are servers on 127.0.0.1 (two ports: two origins, so the second frame
is cross-origin). Pages the blur cannot see into get no screenshot, and the route's own
fetches keep the guard proxy's network rule."""

from __future__ import annotations

import base64
import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from crawler.demo.localsite import LocalSite, Route, html
from crawler.takedown import screenshot_browser, screenshot_route
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
CHECKER_B64 = base64.b64encode(CHECKER).decode()
CHECKER_URI = "data:image/png;base64," + CHECKER_B64
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
    "canvas": (20, 240),
    "closed_shadow_root": (260, 240),
    "css_content": (500, 240),
    "border_image": (740, 240),
    "mask_image": (980, 240),
    "video_poster": (20, 460),
    "picture_srcset": (260, 460),
    "css_background": (740, 460),
    "blob_from_page_bytes": (980, 460),
    "declared_closed_shadow_root": (20, 680),
    "data_background_in_declared_root": (260, 680),
    "slow_transition": (500, 680),
}
#: A checkerboard drawn with CSS gradients: no medium, it stays sharp (the page is not simply
#: blurred all over).
CONTROL = (500, 460)
_FULL = "width:200px;height:200px;display:block"


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
<img class="box" id="blob_from_page_bytes" style="{at["blob_from_page_bytes"]}">
<div class="box" style="{at["declared_closed_shadow_root"]}"><template shadowrootmode="closed">
  <img style="{_FULL}" src="{CHECKER_URI}"></template></div>
<div class="box" style="{at["data_background_in_declared_root"]}"><template
  shadowrootmode=closed><div style="{_FULL};background:url({CHECKER_URI})"></div></template></div>
<img class="box" style="{at["slow_transition"]};transition:all 600s" src="{CHECKER_URI}">
<div class="box" id="control" style="left:{CONTROL[0]}px;top:{CONTROL[1]}px"></div>
<script>
  const root = document.getElementById('host').attachShadow({{mode: 'closed'}});
  root.innerHTML = '<img style="width:200px;height:200px;display:block" src="{CHECKER_URI}">';
  fetch('/media/blob.bin').then((r) => r.blob()).then((b) => {{
    document.getElementById('blob_by_fetch').src = URL.createObjectURL(b);
  }});
  const bytes = Uint8Array.from(atob('{CHECKER_B64}'), (c) => c.charCodeAt(0));
  document.getElementById('blob_from_page_bytes').src =
    URL.createObjectURL(new Blob([bytes], {{type: 'image/png'}}));
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


def test_a_page_the_blur_cannot_see_into_gets_no_screenshot():
    """A closed shadow root the route never saw (HTML a script hands to setHTMLUnsafe), in the
    page or in a frame of another site (127.0.0.2: Chromium runs it in another process), and a
    document in UTF-16, whose bytes the route cannot rewrite: each is refused, with why."""
    image = f'<img style="{_FULL}" src="{CHECKER_URI}"></template>'
    by_script = html(  # the attribute's name in two halves: the route's rewrite misses it
        "<div id=host></div><script>document.getElementById('host').setHTMLUnsafe("
        f"'<div><template shadowroot' + 'mode=\"closed\">{image}</div>')</script>"
    )
    declared = f'<div><template shadowrootmode="closed">{image}</div>'
    utf16 = Route(declared.encode("utf-16"), "text/html")
    with LocalSite({"/frame": by_script}, host="127.0.0.2") as other_site:
        frame = html(f'<iframe style="{_FULL}" src="{other_site.url}/frame"></iframe>')
        with LocalSite({"/by-script": by_script, "/frame": frame, "/utf16": utf16}) as site:
            targets = [
                ShotTarget(n, site.url + path, (), True, (("127.0.0.2", other_site.port),))
                for n, path in enumerate(site.routes)
            ]
            shots = take_screenshots(targets, chromium=CHROMIUM)
    assert [shot.png for shot in shots] == [None, None, None]
    assert shots[0].error.startswith(f"refused: a closed shadow root in {site.url}/by-script")
    assert shots[1].error.startswith(f"refused: a closed shadow root in {other_site.url}/frame")
    assert shots[2].error.startswith(f"refused: the document {site.url}/utf16 (UTF-16")


def test_the_routes_own_fetches_go_through_the_guard_proxy(monkeypatch):
    """The route fetches every request but media itself (route.fetch: Playwright's driver makes
    it, not Chromium). Should the route's own address check let a private address through (a
    DNS answer that changes between its check and the fetch), the guard proxy still refuses
    it: a script and a frame from another port of this machine reach nothing, and the proxy
    counts both refusals."""
    proxies = []
    guard_proxy = screenshot_browser.guard_proxy

    @contextlib.contextmanager
    def kept(opt_in):
        with guard_proxy(opt_in) as proxy:
            proxies.append(proxy)
            yield proxy

    monkeypatch.setattr(screenshot_browser, "guard_proxy", kept)
    monkeypatch.setattr(screenshot_route, "checked_addresses_blocking", lambda *args: [])
    canary_routes = {
        "/frame": html("<p>another service</p>"),
        "/script.js": Route(b"", "text/javascript"),
    }
    with LocalSite(canary_routes) as canary:
        page = html(
            f'<p style="font-size:40px">a page</p><iframe src="{canary.url}/frame"></iframe>'
            f'<script src="{canary.url}/script.js"></script>'
        )
        with LocalSite({"/post/1": page}) as site:
            (shot,) = screenshot_browser.shoot(
                [ShotTarget(1, site.url + "/post/1", (), True)], chromium=CHROMIUM
            )
    assert canary.requests == []
    assert proxies[0].refusals()["private_network"] == 2
    assert shot.error is None and shot.png is not None
