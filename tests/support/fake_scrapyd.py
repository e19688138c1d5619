"""scrapyd's JSON API as the scheduler uses it, on a real HTTP port, for web app tests that hand
a crawl over: the real scrapyd (tests/scheduling/test_scrapyd.py) takes a deployment and real
crawls, which those tests need not run to check what the web app asks for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeScrapyd(BaseHTTPRequestHandler):
    """scrapyd's JSON API as the scheduler uses it (no project deployed here: a crawl cannot run
    in this test), keeping what it was asked to schedule."""

    scheduled: list[dict[str, str | list[str]]] = []

    def do_GET(self):
        if self.path.startswith("/daemonstatus.json"):
            self._answer({"status": "ok", "pending": 0, "running": 0, "finished": 0})
        else:
            self._answer({"status": "ok", "pending": [], "running": [], "finished": []})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        pairs = parse_qsl(body)
        asked = {k: v for k, v in pairs if k != "setting"}
        asked["setting"] = [v for k, v in pairs if k == "setting"]
        self.scheduled.append(asked)
        self._answer({"status": "ok", "jobid": asked["jobid"]})

    def _answer(self, answer: dict) -> None:
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def fake_scrapyd() -> Iterator[str]:
    """A :class:`FakeScrapyd` on a free port, its ``scheduled`` emptied; yields its URL (with
    the credentials every node needs)."""
    FakeScrapyd.scheduled = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeScrapyd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://ops:s3cret@127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
