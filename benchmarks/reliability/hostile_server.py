"""A web server that misbehaves on purpose: drip-feeds, endless bodies, stalls, lies.

Every route is a :class:`Answer`; ``HostileSite(routes, host)`` serves them on ``host`` (default
127.0.0.1) and a free port, and counts requests. The canary (a :class:`HostileSite` on 127.0.0.2
with no routes) stands for "another service on the machine": any request it gets is a leak.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    #: Send the body one byte every ``drip`` seconds.
    drip: float = 0.0
    #: Send ``body`` again and again, for ever (chunked).
    endless: bool = False
    #: Send the status line, then nothing for ever.
    stall: bool = False
    #: Claim this Content-Length whatever the body is (then close).
    claimed_length: int | None = None


def page(text: str, charset: str = "utf-8", **options) -> Answer:
    return Answer(text.encode(charset), f"text/html; charset={charset}", **options)


def redirect(location: str, status: int = 302) -> Answer:
    return Answer(b"", "text/plain", status, (("Location", location),))


class HostileSite:
    def __init__(self, routes: dict[str, Answer], host: str = "127.0.0.1", port: int = 0):
        self.routes = routes
        self.hits: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, body: bool = True) -> None:
                with site._lock:
                    site.hits.append(self.path)
                answer = site.routes.get(self.path)
                if answer is None and self.path == "/robots.txt":
                    answer = Answer(b"User-agent: *\nAllow: /\n", "text/plain")
                if answer is None:
                    answer = Answer(b"not found", "text/plain", 404)
                with contextlib.suppress(OSError):  # the crawler hung up: what we want of it
                    self._send(answer, body)

            def _send(self, answer: Answer, body: bool) -> None:
                if answer.stall:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    site._stop.wait(600)
                    return
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers:
                    self.send_header(name, value)
                if answer.endless:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = answer.body or b"\0" * 65536
                    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                    while not site._stop.is_set() and body:
                        self.wfile.write(framed)
                    return
                length = answer.claimed_length
                self.send_header(
                    "Content-Length", str(len(answer.body) if length is None else length)
                )
                if length is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if not body:
                    return
                if answer.drip:
                    for i in range(len(answer.body)):
                        if site._stop.wait(answer.drip):
                            return
                        self.wfile.write(answer.body[i : i + 1])
                        self.wfile.flush()
                    return
                self.wfile.write(answer.body)
                if length is not None:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> HostileSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0.05)
