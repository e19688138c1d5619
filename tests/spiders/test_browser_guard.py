"""The crawl's Chromium behind the guard proxy: real crawls through the console script.

A rendered page can make the browser reach far more than its own site: a script's fetch or
WebSocket, a form posted to another port, a beacon, a ``*.localhost`` name Chromium resolves to
loopback by itself. A local service (scrapyd on 127.0.0.1, a router) must see none of it, also
when the site file opts in to its own private address.
"""

from __future__ import annotations

import ast
import re
import socketserver
import threading

import pytest

from crawler.demo.localsite import LocalSite, html
from tests.support.cli_runner import migrated_environment, repostwatch


class CountingService:
    """A local service on 127.0.0.1 that counts every connection made to it (any protocol)."""

    def __init__(self) -> None:
        self.hits: list[bytes] = []
        service = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(2)
                try:
                    data = self.request.recv(4096)
                except OSError:
                    data = b""
                service.hits.append(data.split(b"\r\n", 1)[0])
                body = b"ok"
                self.request.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n"
                    b"Connection: close\r\n\r\n" + body
                )

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> CountingService:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _final_stats(stderr: str) -> dict[str, object]:
    dump = stderr.rsplit("Dumping Scrapy stats:", 1)[1]
    text = dump[dump.index("{") : dump.index("}") + 1]
    return ast.literal_eval(re.sub(r"datetime\.datetime\([^)]*\)", "None", text))


def _site_file(name: str, start_url: str) -> str:
    return (
        f'name = "{name}"\nstart_urls = ["{start_url}"]\nallow_private_network = true\n'
        'render = "browser"\n[follow]\nmax_depth = 0\n[browser]\n'
        "wait_for = 'main[data-ready]'\nwait_timeout = 5.0\n"
    )


@pytest.fixture
def crawl_env(tmp_path):
    env = migrated_environment(tmp_path)
    return env, tmp_path / "sites", tmp_path


def _hostile_page(other: int) -> str:
    """A page that tries the ways a page has to make the browser reach the service on port
    ``other`` (its images are the crawler's to fetch, with GET, under the downloader's rule)."""
    target = f"http://127.0.0.1:{other}"
    return f"""<!doctype html><html><body><main>
<form id="f" method="post" action="{target}/schedule.json" target="sink">
<input name="egg" value="x"></form><iframe name="sink"></iframe>
<script>
fetch('{target}/fetch', {{method: 'POST', mode: 'no-cors', body: 'egg'}}).catch(() => {{}});
fetch('http://x.localhost:{other}/named', {{mode: 'no-cors'}}).catch(() => {{}});
try {{ new WebSocket('ws://127.0.0.1:{other}/ws'); }} catch (e) {{}}
try {{ new WebSocket('ws://x.localhost:{other}/ws'); }} catch (e) {{}}
navigator.sendBeacon('{target}/beacon', 'egg');
const s = document.createElement('script'); s.src = '{target}/script.js';
document.head.appendChild(s);
document.getElementById('f').submit();
setTimeout(() => {{ document.querySelector('main').dataset.ready = '1'; }}, 1500);
</script></main></body></html>"""


def test_a_rendered_page_cannot_reach_another_local_service(crawl_env):
    env, sites_dir, cwd = crawl_env
    with CountingService() as service, LocalSite({}) as site:
        site.routes["/"] = html(_hostile_page(service.port))
        (sites_dir / "hostile.toml").write_text(_site_file("hostile", f"{site.url}/"))
        crawl = repostwatch("crawl", "hostile", env=env, cwd=cwd)

    assert "/" in site.requests  # the site's own page was rendered (opted in: 127.0.0.1)
    assert service.hits == []  # and nothing it tried reached the service
    stats = _final_stats(crawl.stderr)
    assert stats["repostwatch/browser/pages"] == 1
    # What the page's request guard let through (a WebSocket, a loopback name), the proxy
    # refused.
    assert stats["repostwatch/browser/proxy_refused/private_network"] >= 1
    assert stats["repostwatch/browser/proxy_refused/host_name"] >= 1


def test_a_browser_site_named_by_a_localhost_name_is_never_reached(crawl_env):
    env, sites_dir, cwd = crawl_env
    with CountingService() as service:
        start = f"http://x.localhost:{service.port}/"
        (sites_dir / "named.toml").write_text(_site_file("named", start))
        crawl = repostwatch("crawl", "named", env=env, cwd=cwd, check=False)
    assert service.hits == []
    stats = _final_stats(crawl.stderr)
    assert stats["repostwatch/refused/host_name"] >= 1
