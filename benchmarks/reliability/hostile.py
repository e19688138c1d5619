"""A hostile-input corpus, each case a local site crawled by the real ``repostwatch crawl``.

For every case: the crawl must not crash (no traceback, exit 0 or the documented 1 of a crawl
that found no page), must not leak (the canary, another service on the machine at 127.0.0.2,
gets no request; no hashing process outlives the crawl), must end within the case's bound and
under ``MEMORY_MB`` of peak memory, and must name what happened in a stat of its crawl run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from benchmarks.reliability import board as boards
from benchmarks.reliability import bombs
from benchmarks.reliability.hostile_server import Answer, HostileSite, page, redirect

#: Peak memory of the crawl process (its own and its waited-for children's largest RSS).
MEMORY_MB = 1500
#: Default bound on a case's crawl, start-up included.
SECONDS = 90
CANARY = "127.0.0.2"


@dataclass
class Case:
    name: str
    category: str
    #: Routes of the site, given the canary's base URL ("/" is the start page).
    routes: Callable[[str], dict[str, Answer]]
    #: A stat (RepostWatch's name without ``repostwatch/``, or Scrapy's) that must be > 0, or
    #: several separated by "|" (any one).
    expect: str
    render: str = "html"
    seconds: float = SECONDS
    #: Exit statuses that are right for this case (1: the crawl found no page, as documented).
    exits: tuple[int, ...] = (0,)


def _media_page(path: str, body, content_type: str, tag: str = "img") -> Callable:
    """A page showing one media file; ``body`` is its bytes or a function making them (the
    expensive bombs are made only when their case runs)."""
    markup = f'<{tag} src="{path}"></{tag}>' if tag == "video" else f'<img src="{path}">'

    def routes(canary: str) -> dict[str, Answer]:
        return {
            "/": page(f"<!doctype html><title>media</title>{markup}"),
            path: Answer(body() if callable(body) else body, content_type),
        }

    return routes


def _page_only(answer: Answer | Callable[[str], Answer]) -> Callable:
    def routes(canary: str) -> dict[str, Answer]:
        return {"/": answer(canary) if callable(answer) else answer}

    return routes


def _html(text: str, **options) -> Callable:
    return _page_only(lambda canary: page(text.replace("CANARY", canary), **options))


def cases() -> list[Case]:
    jpeg, png = bombs.photo("JPEG"), bombs.photo("PNG")
    out: list[Case] = []
    add = out.append
    # --- media bombs, one per format the sniffer accepts --------------------------------------
    too_large = "media/skipped/MediaTooLarge|media/skipped/UndecodableMedia"
    add(
        Case(
            "png decompression bomb (20000² zeros)",
            "media bomb",
            _media_page("/b.png", bombs.png_bomb, "image/png"),
            too_large,
        )
    )
    add(
        Case(
            "jpeg claiming 60000 x 60000",
            "media bomb",
            _media_page("/b.jpg", bombs.jpeg_huge_dimensions, "image/jpeg"),
            too_large,
        )
    )
    add(
        Case(
            "gif of 300 frames on a 6000² canvas",
            "media bomb",
            _media_page("/b.gif", bombs.gif_frame_bomb, "image/gif"),
            "media/hashed|media/skipped/MediaTooLarge|media/skipped/UndecodableMedia"
            "|media/skipped/PixelBudgetExceeded|media/failed/hash_timeout",
        )
    )
    add(
        Case(
            "webp canvas of 16383²",
            "media bomb",
            _media_page("/b.webp", bombs.webp_huge_canvas, "image/webp"),
            too_large,
        )
    )
    add(
        Case(
            "bmp claiming 50000²",
            "media bomb",
            _media_page("/b.bmp", bombs.bmp_huge_dimensions, "image/bmp"),
            too_large,
        )
    )
    add(
        Case(
            "tiff claiming 60000²",
            "media bomb",
            _media_page("/b.tif", bombs.tiff_bomb, "image/tiff"),
            too_large,
        )
    )
    add(
        Case(
            "ico whose png claims 40000²",
            "media bomb",
            _media_page("/b.ico", bombs.ico_huge, "image/x-icon"),
            too_large + "|media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "two hours of video (7200 frames)",
            "media bomb",
            _media_page("/long.mp4", bombs.long_video, "video/mp4", "video"),
            "media/hashed/video|media/skipped/UndecodableMedia",
        )
    )
    add(
        Case(
            "4K video frames",
            "media bomb",
            _media_page("/4k.mp4", bombs.huge_frame_video, "video/mp4", "video"),
            "media/hashed/video|media/skipped/MediaTooLarge",
        )
    )
    add(
        Case(
            "gzip bomb as an image (1 GB of zeros)",
            "media bomb",
            _media_page_headers(
                "/gz.jpg",
                lambda: bombs.gzip_bomb(1024),
                "image/jpeg",
                (("Content-Encoding", "gzip"),),
            ),
            "media/failed|media/skipped/UnsupportedMedia|media/skipped/UndecodableMedia",
        )
    )
    add(
        Case(
            "gzip bomb as the page (1 GB of zeros)",
            "parser bomb",
            _page_only(
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
            _media_page_headers("/big.jpg", jpeg, "image/jpeg", (), claimed_length=10 * 1024**3),
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
                _media_page(f"/t.{fmt.lower()}", partial(bombs.truncated_photo, fmt), content_type),
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
                _media_page(
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
            _media_page_headers(
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
            _media_page("/fake.jpg", b"<!doctype html><p>not an image", "image/jpeg"),
            "media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "zip served as image/png",
            "lying file",
            _media_page("/fake.png", b"PK\x03\x04" + os.urandom(2000), "image/png"),
            "media/skipped/UnsupportedMedia",
        )
    )
    add(
        Case(
            "png named .jpg, served as text/plain",
            "lying file",
            _media_page("/real.jpg", png, "text/plain"),
            "media/hashed/image",
        )
    )
    add(
        Case(
            "empty 200 image",
            "lying file",
            _media_page("/empty.jpg", b"", "image/jpeg"),
            "media/skipped/UnsupportedMedia|media/failed",
        )
    )
    add(
        Case(
            "mp4 header with random body",
            "lying file",
            _media_page(
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
            _media_page("/noise.jpg", jpeg[:600] + os.urandom(30000), "image/jpeg"),
            "media/hashed|media/skipped/UndecodableMedia",
        )
    )
    # --- parser and regex bombs ---------------------------------------------------------------
    add(
        Case(
            "80 KB inline style attribute",
            "parser bomb",
            _html('<div style="' + "background:url(" * 8000 + '">x</div>'),
            "pages",
        )
    )
    add(
        Case(
            "10 MB page on one line",
            "parser bomb",
            _html("<!doctype html><p>" + "a" * 10_000_000 + "</p>"),
            "pages",
        )
    )
    add(
        Case(
            "100,000 nested divs",
            "parser bomb",
            _html("<div>" * 100_000 + "x" + "</div>" * 100_000),
            "pages",
        )
    )
    add(
        Case(
            "srcset of 100,000 candidates",
            "parser bomb",
            _html(
                '<img srcset="' + ", ".join(f"/i{i}.jpg {i + 1}w" for i in range(100_000)) + '">'
            ),
            "pages",
        )
    )
    add(
        Case(
            "100,000 links",
            "parser bomb",
            _html("".join(f'<a href="/p{i}">{i}</a>' for i in range(100_000))),
            "pages",
        )
    )
    add(
        Case(
            "30,000-character URL",
            "parser bomb",
            _html('<a href="/' + "a/" * 15_000 + '">x</a><img src="/' + "b" * 30_000 + '.jpg">'),
            "pages",
        )
    )
    add(
        Case(
            "unclosed tag soup",
            "parser bomb",
            _html("<p><b><i><table><tr><td><img src=/x.jpg" * 20_000),
            "pages",
        )
    )
    add(
        Case(
            "5 MB inline script",
            "parser bomb",
            _html("<script>var d=[" + '"/x.jpg",' * 500_000 + "];</script>"),
            "pages",
        )
    )
    add(
        Case(
            "quadratic-regex bait in URLs",
            "parser bomb",
            _html('<img src="' + "/" * 50_000 + 'x.jpg"><a href="?' + "&" * 50_000 + '">a</a>'),
            "pages",
        )
    )
    # --- drip-feeds and stalls ---------------------------------------------------------------
    add(
        Case(
            "page dripping one byte a second",
            "drip-feed",
            _page_only(page("<!doctype html>" + "x" * 5000, drip=1.0)),
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
            _page_only(Answer(stall=True)),
            "errors|downloader/exception_count",
            exits=(0, 1),
            seconds=240,
        )
    )
    add(
        Case(
            "endless page",
            "drip-feed",
            _page_only(Answer(b"<p>" * 20000, "text/html", endless=True)),
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
            _html(
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
            _html('<meta http-equiv="refresh" content="0; url=CANARY/">'),
            "refused/private_network|refused|offsite",
            exits=(0, 1),
        )
    )
    # --- traps --------------------------------------------------------------------------------
    add(
        Case(
            "infinite calendar",
            "trap",
            _calendar,
            "refused/calendar|refused/max_pages|refused/max_depth",
        )
    )
    add(
        Case(
            "session id in every link",
            "trap",
            _session_ids,
            "refused/query_variants|refused/max_pages|refused/max_depth",
        )
    )
    add(
        Case(
            "repeated path segments",
            "trap",
            _repeated_segments,
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
            _page_only(Answer(b'<img src="/ok.jpg">\xff\xfe\xc3(<p>', "text/html; charset=utf-8")),
            "pages",
        )
    )
    # --- the browser: the guard and what a page's scripts try --------------------------------
    add(
        Case(
            "browser: script fetches another local service",
            "browser guard",
            _html(
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
            _html(
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
            _html(
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


def _media_page_headers(path, body, content_type, headers, claimed_length=None) -> Callable:
    def routes(canary: str) -> dict[str, Answer]:
        return {
            "/": page(f'<!doctype html><img src="{path}">'),
            path: Answer(
                body() if callable(body) else body,
                content_type,
                headers=headers,
                claimed_length=claimed_length,
            ),
        }

    return routes


def _calendar(canary: str) -> dict[str, Answer]:
    routes = {"/": redirect("/cal/2024/1")}
    for year in range(2024, 2060):
        for month in range(1, 13):
            nxt = (year + month // 12, month % 12 + 1)
            routes[f"/cal/{year}/{month}"] = page(
                f'<a href="/cal/{nxt[0]}/{nxt[1]}">next</a><a href="/cal/{year - 1}/{month}">p</a>'
            )
    return routes


def _session_ids(canary: str) -> dict[str, Answer]:
    routes = {}
    for i in range(400):
        routes["/" if i == 0 else f"/?sid={i}"] = page(
            f'<a href="/?sid={i + 1}">more</a><a href="/list?sid={i + 1}&p=1">l</a>'
        )
    return routes


def _repeated_segments(canary: str) -> dict[str, Answer]:
    routes, path = {}, "/"
    for _ in range(60):
        routes[path] = page('<a href="a/">deeper</a>')
        path += "a/"
    return routes


@dataclass
class Result:
    case: Case
    exit: int
    seconds: float
    memory_mb: float
    canary_hits: int
    tracebacks: int
    stats: dict = field(default_factory=dict)
    #: The last line of the first traceback in the crawl's output (what raised), if any.
    raised: str = ""

    @property
    def named(self) -> list[str]:
        found = []
        for wanted in self.case.expect.split("|"):
            for stat, value in self.stats.items():
                name = stat.removeprefix("repostwatch/")
                if (name == wanted or name.startswith(wanted)) and value:
                    found.append(f"{name}={value}")
        return sorted(set(found))[:3]

    @property
    def problems(self) -> list[str]:
        problems = []
        if self.exit not in self.case.exits:
            problems.append(f"exit {self.exit}")
        if self.tracebacks:
            problems.append(f"{self.tracebacks} traceback(s)")
        if self.canary_hits:
            problems.append(f"LEAK: {self.canary_hits} request(s) reached the canary")
        if self.seconds > self.case.seconds:
            problems.append(f"over {self.case.seconds:.0f} s")
        if self.memory_mb > MEMORY_MB:
            problems.append(f"over {MEMORY_MB} MB")
        if not self.named:
            problems.append(f"no stat {self.case.expect}")
        return problems


def _site_file(case: Case, url: str) -> str:
    max_pages = 50
    return (
        f'name = "{boards.SITE}"\nstart_urls = ["{url}/"]\nallow_private_network = true\n'
        f'download_delay = 0\nconcurrency = 4\nautothrottle = false\nrender = "{case.render}"\n'
        f"[follow]\nallow = ['.']\nmax_depth = 30\nmax_pages = {max_pages}\n"
    )


def run_case(case: Case, base: Path, canary: HostileSite, logs: Path | None = None) -> Result:
    from crawler import db

    with tempfile.TemporaryDirectory(dir=base) as tmp, HostileSite(case.routes(canary.url)) as site:
        env = boards.environment(Path(tmp), REPOSTWATCH_LOG_LEVEL="INFO")
        if not (base / "template.db").exists():
            boards.prepare(env)
            Path(env["REPOSTWATCH_DATABASE_URL"].removeprefix("sqlite:///")).rename(
                base / "template.db"
            )
        database = Path(tmp) / "reliability.db"
        database.write_bytes((base / "template.db").read_bytes())
        (Path(env["REPOSTWATCH_SITES_DIR"]) / f"{boards.SITE}.toml").write_text(
            _site_file(case, site.url)
        )
        hits_before = len(canary.hits)
        started = time.monotonic()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.reliability.peak",
                boards.REPOSTWATCH,
                "crawl",
                boards.SITE,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=case.seconds * 3)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            out, err = process.communicate()
        seconds = time.monotonic() - started
        log = (out + err).decode("utf-8", "replace")
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / (re.sub(r"\W+", "-", case.name).strip("-") + ".log")).write_text(log)
        memory = _peak_memory_mb(log)
        engine = db.make_engine(env["REPOSTWATCH_DATABASE_URL"])
        try:
            with db.make_sessionmaker(engine)() as session:
                runs = db.list_runs(session, boards.SITE)
                stats = json.loads(runs[0].stats or "{}") if runs else {}
        finally:
            engine.dispose()
        return Result(
            case,
            process.returncode,
            seconds,
            memory,
            len(canary.hits) - hits_before,
            len(re.findall(r"^Traceback \(most recent call last\)", log, re.M)),
            stats,
            _first_raised(log),
        )


def _first_raised(log: str) -> str:
    at = log.find("Traceback (most recent call last)")
    if at < 0:
        return ""
    for line in log[at:].splitlines()[1:]:
        if line and not line.startswith((" ", "\t")):
            return line[:200]
    return ""


def _peak_memory_mb(log: str) -> float:
    """What :mod:`benchmarks.reliability.peak` printed: the crawl's and its hashing processes'
    largest resident memory."""
    found = re.findall(r"^peak-rss-kb (\d+)$", log, re.M)
    return int(found[-1]) / 1024 if found else float("nan")


def measure(args) -> list[str]:
    selected = [c for c in cases() if not args.only or any(o in c.name for o in args.only)]
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="reliability-") as base_dir,
        HostileSite({}, CANARY) as canary,
        HostileSite({}, "127.0.0.1", canary.port) as loopback,
    ):
        canary.hits = loopback.hits  # one count: the canary's port on 127.0.0.2 and 127.0.0.1
        for i, case in enumerate(selected, 1):
            result = run_case(case, Path(base_dir), canary, args.logs)
            results.append(result)
            verdict = "; ".join(result.problems) or "ok"
            if result.raised:
                verdict += f" [{result.raised}]"
            print(
                f"hostile {i}/{len(selected)}: {case.name}: {verdict} ({result.seconds:.1f} s)",
                flush=True,
            )
    failed = [r for r in results if r.problems]
    lines = [
        f"{len(results)} cases, {len(results) - len(failed)} ok. Each is a site on 127.0.0.1 "
        f"crawled by `repostwatch crawl` (the site file opts in to private addresses for its own "
        f"host); the canary is another service on {CANARY}. Limits: no traceback, no request "
        f"to the canary, the case's time bound, {MEMORY_MB} MB peak memory, and a stat that "
        "names the outcome.\n",
        "| # | case | kind | outcome (stats) | exit | seconds (bound) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results, 1):
        lines.append(
            f"| {i} | {r.case.name} | {r.case.category} | {', '.join(r.named) or '-'} "
            f"| {r.exit} | {r.seconds:.1f} ({r.case.seconds:.0f}) "
            f"| {'; '.join(r.problems) or 'ok'} |"
        )
    return lines
