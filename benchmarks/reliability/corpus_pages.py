"""Hostile pages: parser and regex bombs, drip-feeds, redirects, traps, legacy encodings, and
what a page's scripts try against the browser's guard."""

from __future__ import annotations

from benchmarks.reliability import bombs
from benchmarks.reliability.corpus import (
    Case,
    calendar,
    html,
    page_only,
    repeated_segments,
    session_ids,
)
from benchmarks.reliability.hostile_server import Answer, page, redirect


def page_cases() -> list[Case]:
    jpeg = bombs.photo("JPEG")
    out: list[Case] = []
    add = out.append
    # --- parser and regex bombs ---------------------------------------------------------------
    add(
        Case(
            "80 KB inline style attribute",
            "parser bomb",
            html('<div style="' + "background:url(" * 8000 + '">x</div>'),
            "pages",
        )
    )
    add(
        Case(
            "10 MB page on one line",
            "parser bomb",
            html("<!doctype html><p>" + "a" * 10_000_000 + "</p>"),
            "pages",
        )
    )
    add(
        Case(
            "100,000 nested divs",
            "parser bomb",
            html("<div>" * 100_000 + "x" + "</div>" * 100_000),
            "pages",
        )
    )
    add(
        Case(
            "srcset of 100,000 candidates",
            "parser bomb",
            html('<img srcset="' + ", ".join(f"/i{i}.jpg {i + 1}w" for i in range(100_000)) + '">'),
            "pages",
        )
    )
    add(
        Case(
            "100,000 links",
            "parser bomb",
            html("".join(f'<a href="/p{i}">{i}</a>' for i in range(100_000))),
            "pages",
        )
    )
    add(
        Case(
            "30,000-character URL",
            "parser bomb",
            html('<a href="/' + "a/" * 15_000 + '">x</a><img src="/' + "b" * 30_000 + '.jpg">'),
            "pages",
        )
    )
    add(
        Case(
            "unclosed tag soup",
            "parser bomb",
            html("<p><b><i><table><tr><td><img src=/x.jpg" * 20_000),
            "pages",
        )
    )
    add(
        Case(
            "5 MB inline script",
            "parser bomb",
            html("<script>var d=[" + '"/x.jpg",' * 500_000 + "];</script>"),
            "pages",
        )
    )
    add(
        Case(
            "quadratic-regex bait in URLs",
            "parser bomb",
            html('<img src="' + "/" * 50_000 + 'x.jpg"><a href="?' + "&" * 50_000 + '">a</a>'),
            "pages",
        )
    )
    # --- drip-feeds and stalls ---------------------------------------------------------------
    add(
        Case(
            "page dripping one byte a second",
            "drip-feed",
            page_only(page("<!doctype html>" + "x" * 5000, drip=1.0)),
            "errors|downloader/exception_count",
            exits=(0, 1),
            seconds=240,
        )
    )
    add(
        Case(
            "image dripping one byte a second",
            "drip-feed",
            lambda canary: {
                "/": page('<img src="/drip.jpg">'),
                "/drip.jpg": Answer(jpeg, "image/jpeg", drip=1.0),
            },
            "media/failed",
            seconds=240,
        )
    )
    add(
        Case(
            "headers never finish",
            "drip-feed",
            page_only(Answer(stall=True)),
            "errors|downloader/exception_count",
            exits=(0, 1),
            seconds=240,
        )
    )
    add(
        Case(
            "endless page",
            "drip-feed",
            page_only(Answer(b"<p>" * 20000, "text/html", endless=True)),
            "errors|downloader/exception_count|downloader/response_count",
            exits=(0, 1),
        )
    )
    # --- redirects ---------------------------------------------------------------------------
    add(
        Case(
            "redirect loop",
            "redirect",
            lambda canary: {"/": redirect("/a"), "/a": redirect("/b"), "/b": redirect("/a")},
            "retry/|redirect|refused|errors|downloader/response_status_count/302",
            exits=(0, 1),
        )
    )
    add(
        Case(
            "chain of 50 redirects",
            "redirect",
            lambda canary: {
                "/": redirect("/r0"),
                **{f"/r{i}": redirect(f"/r{i + 1}") for i in range(50)},
            },
            "refused|errors|downloader/response_status_count/302",
            exits=(0, 1),
        )
    )
    add(
        Case(
            "media redirecting to another local service",
            "private redirect",
            lambda canary: {"/": page('<img src="/m.jpg">'), "/m.jpg": redirect(canary + "/x.jpg")},
            "refused/private_network|media/failed",
        )
    )
    add(
        Case(
            "page redirecting to another local service",
            "private redirect",
            lambda canary: {"/": page('<a href="/go">go</a>'), "/go": redirect(canary + "/")},
            "refused/private_network|refused|offsite",
            exits=(0, 1),
        )
    )
    add(
        Case(
            "link to 169.254.169.254 (cloud metadata)",
            "private redirect",
            html(
                '<a href="http://169.254.169.254/latest/meta-data/">m</a>'
                '<img src="http://169.254.169.254/x.jpg">'
            ),
            "refused/private_network|refused|media/failed",
        )
    )
    add(
        Case(
            "links to localhost and *.localhost",
            "private redirect",
            lambda canary: {
                "/": page(
                    f'<img src="http://localhost:{canary.rsplit(":", 1)[1]}/a.jpg">'
                    f'<img src="http://x.localhost:{canary.rsplit(":", 1)[1]}/b.jpg">'
                    f'<a href="http://localhost:{canary.rsplit(":", 1)[1]}/">l</a>'
                )
            },
            "refused/private_network|refused|media/failed",
        )
    )
    add(
        Case(
            "redirect to file:// and ftp://",
            "private redirect",
            lambda canary: {
                "/": page('<img src="/f.jpg"><a href="/g">g</a>'),
                "/f.jpg": redirect("file:///etc/passwd"),
                "/g": redirect("ftp://127.0.0.1/"),
            },
            "refused/scheme|refused|media/failed",
        )
    )
    add(
        Case(
            "meta refresh to another local service",
            "private redirect",
            html('<meta http-equiv="refresh" content="0; url=CANARY/">'),
            "refused/private_network|refused|offsite",
            exits=(0, 1),
        )
    )
    # --- traps --------------------------------------------------------------------------------
    add(
        Case(
            "infinite calendar",
            "trap",
            calendar,
            "refused/calendar|refused/max_pages|refused/max_depth",
        )
    )
    add(
        Case(
            "session id in every link",
            "trap",
            session_ids,
            "refused/query_variants|refused/max_pages|refused/max_depth",
        )
    )
    add(
        Case(
            "repeated path segments",
            "trap",
            repeated_segments,
            "refused/repeated_segments|refused/max_depth|refused/max_pages",
        )
    )
    # --- legacy encodings ---------------------------------------------------------------------
    add(
        Case(
            "EUC-KR page, Korean media names",
            "encoding",
            lambda canary: {
                "/": page('<meta charset="euc-kr"><img src="/사진/한글.jpg">', "euc-kr"),
                "/%BB%E7%C1%F8/%C7%D1%B1%DB.jpg": Answer(jpeg, "image/jpeg"),
                "/%EC%82%AC%EC%A7%84/%ED%95%9C%EA%B8%80.jpg": Answer(jpeg, "image/jpeg"),
            },
            "media/hashed/image",
        )
    )
    add(
        Case(
            "Shift_JIS page, Japanese media names",
            "encoding",
            lambda canary: {
                "/": page('<img src="/写真.jpg">', "shift_jis"),
                "/%E5%86%99%E7%9C%9F.jpg": Answer(jpeg, "image/jpeg"),
                "/%8E%CA%90%5E.jpg": Answer(jpeg, "image/jpeg"),
            },
            "media/hashed/image",
        )
    )
    add(
        Case(
            "charset header and meta disagree",
            "encoding",
            lambda canary: {
                "/": Answer(
                    '<meta charset="utf-8"><img src="/ü.jpg">'.encode("latin-1"),
                    "text/html; charset=iso-8859-1",
                ),
                "/%C3%BC.jpg": Answer(jpeg, "image/jpeg"),
                "/%FC.jpg": Answer(jpeg, "image/jpeg"),
            },
            "media/hashed/image",
        )
    )
    add(
        Case(
            "UTF-16 page with a BOM",
            "encoding",
            lambda canary: {
                "/": Answer('\ufeff<img src="/u16.jpg">'.encode("utf-16-le"), "text/html"),
                "/u16.jpg": Answer(jpeg, "image/jpeg"),
            },
            "media/hashed/image|pages",
        )
    )
    add(
        Case(
            "invalid bytes in a UTF-8 page",
            "encoding",
            page_only(Answer(b'<img src="/ok.jpg">\xff\xfe\xc3(<p>', "text/html; charset=utf-8")),
            "pages",
        )
    )
    # --- the browser: the guard and what a page's scripts try --------------------------------
    add(
        Case(
            "browser: script fetches another local service",
            "browser guard",
            html(
                "<script>fetch('CANARY/steal'); new Image().src='CANARY/p.jpg';</script>"
                "<img src='CANARY/i.jpg'>"
            ),
            "browser/pages",
            render="browser",
            seconds=120,
        )
    )
    add(
        Case(
            "browser: form POST to another local service",
            "browser guard",
            html(
                "<form id=f method=post action='CANARY/schedule.json'>"
                "<input name=project value=x></form><script>f.submit()</script>"
            ),
            "browser/pages",
            render="browser",
            seconds=120,
        )
    )
    add(
        Case(
            "browser: iframe and websocket to another local service",
            "browser guard",
            html(
                "<iframe src='CANARY/frame'></iframe><script>try{new WebSocket("
                "'ws://'+'CANARY'.split('//')[1]+'/ws')}catch(e){}</script>"
            ),
            "browser/pages",
            render="browser",
            seconds=120,
        )
    )
    add(
        Case(
            "browser: *.localhost from a script",
            "browser guard",
            lambda canary: {
                "/": page(
                    f"<script>fetch('http://x.localhost:{canary.rsplit(':', 1)[1]}/steal')</script>"
                    f"<img src='http://x.localhost:{canary.rsplit(':', 1)[1]}/i.jpg'>"
                )
            },
            "browser/pages",
            render="browser",
            seconds=120,
        )
    )
    return out
