"""A small web site served from memory on 127.0.0.1, for the demo and the tests.

Never a crawl target on the internet: RepostWatch's demos, tests and benchmarks crawl only sites
they serve themselves. Routes map a path (with its query string, if any) to a body and a
content type; ``/robots.txt`` allows everything unless a route overrides it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Every page and file of a local site claims to have last changed at this moment.
LAST_MODIFIED = "Wed, 25 Nov 2026 00:00:00 GMT"


@dataclass(frozen=True)
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def html(text: str) -> Route:
    return Route(text.encode("utf-8"))


def redirect(location: str, status: int = 302) -> Route:
    return Route(b"", "text/plain", status, (("Location", location),))


class LocalSite:
    """Serve ``routes`` on ``http://127.0.0.1:PORT`` in a background thread.

    Use as a context manager: ``with LocalSite(routes) as site: crawl(site.url + "/")``.
    ``port=0`` picks a free port; ``host`` another loopback address (``127.0.0.2``: another
    site to the browser, whose frames it puts in another process). ``requests`` records every
    path asked for, in order, and ``exchanges`` every (method, path, status), ``referers`` the
    Referer of each path (``all_referers`` of each request). Like an
    ordinary web server, every 200 answer carries an ``ETag`` and a ``Last-Modified`` and a
    matching conditional request gets a 304; ``validators=False`` serves without them.
    """

    def __init__(
        self,
        routes: Mapping[str, Route],
        port: int = 0,
        validators: bool = True,
        host: str = "127.0.0.1",
    ):
        self.routes = dict(routes)
        self.validators = validators
        self.requests: list[str] = []
        self.exchanges: list[tuple[str, str, int]] = []
        self.user_agents: list[str] = []
        self.all_referers: list[tuple[str, str | None]] = []  # (path, Referer), every request
        self.request_times: list[tuple[float, str]] = []  # (time.monotonic(), path)
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, body: bool) -> None:
                route = site.routes.get(self.path)
                if route is None and self.path == "/robots.txt":
                    route = Route(b"User-agent: *\nAllow: /\n", "text/plain")
                if route is None:
                    route = Route(b"not found", "text/plain", 404)
                headers = list(route.headers)
                status = route.status
                if site.validators and status == 200:
                    etag = f'"{hashlib.sha256(route.body).hexdigest()[:20]}"'
                    headers += [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
                    if self.headers.get("If-None-Match") == etag or (
                        "If-None-Match" not in self.headers
                        and self.headers.get("If-Modified-Since") == LAST_MODIFIED
                    ):
                        status = 304
                with site._lock:
                    site.requests.append(self.path)
                    site.request_times.append((time.monotonic(), self.path))
                    site.exchanges.append((self.command, self.path, status))
                    site.user_agents.append(self.headers.get("User-Agent", ""))
                    site.all_referers.append((self.path, self.headers.get("Referer")))
                self.send_response(status)
                if status != 304:
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(route.body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                if body and status != 304:
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the crawler logs what it fetches

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def referers(self) -> dict[str, str | None]:
        """Each path asked for, with the Referer it was last asked with."""
        with self._lock:
            return dict(self.all_referers)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}"

    def start(self) -> LocalSite:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
