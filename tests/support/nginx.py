"""A real nginx (Debian's /usr/sbin/nginx) serving test files on 127.0.0.1, with Range requests.

Repost sites serve video from web servers that answer Range requests; Python's ``http.server``
does not, so the video tests use the server sites use. ``tests/conftest.py``'s session fixture
``nginx`` starts one per pytest process (one per pytest-xdist worker) on free ports, with its
configuration, pid file, temp folders and logs in a temporary directory (it runs as any user,
``daemon off`` under a subprocess stopped at the end of the session):

    >>> folder = nginx.site.folder("hls")                 # a fresh folder under the site's root
    >>> url = nginx.site.publish(streams.reference().path, folder / "ref.mp4")   # symlinked
    >>> mark = nginx.mark()                               # the access log from here on
    >>> ... crawl ...
    >>> nginx.bytes_sent(url, since=mark)                 # body bytes nginx sent for that path
    >>> [r.range for r in nginx.requests(url, since=mark)]   # e.g. ["bytes=0-65535", ...]

Two hosts, each its own port and document root: ``nginx.site`` (the repost site) and
``nginx.embed`` (an embed host whose player a site's ``<iframe>`` loads). Both answer CORS requests
from any origin (as video CDNs do, for hls.js players) and serve, under the same root:

- ``/...``: static files with byte ranges (206 + Content-Range), ETag and Last-Modified;
- ``/norange/...``: the same files with Range ignored (``max_ranges 0``: always 200, whole file),
  as some sites serve them;
- ``/slow/...``: the same files at `SLOW_RATE` bytes per second.

Types: MP4/M4V/MOV/WebM/MKV/AVI/TS/M4S, HLS playlists (``application/vnd.apple.mpegurl``), DASH
manifests (``application/dash+xml``), ``.key`` (``application/octet-stream``), WebVTT, HTML,
images; anything else is ``application/octet-stream``.

The access log is one JSON object per request (`Request`: host, method, URI, path, Range header,
status, body bytes sent, Referer, User-Agent), unbuffered. Reading it first waits until nginx has
no request in progress (its stub_status says so), so a request the client has finished is in it.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.support.ports import free_port

NGINX = Path("/usr/sbin/nginx")
#: Bytes per second under ``/slow/``.
SLOW_RATE = 1_000_000
START_TIMEOUT = 10.0
SETTLE_TIMEOUT = 10.0
_STATUS_PATH = "/.repostwatch-nginx-status"

TYPES = {
    "text/html": "html htm",
    "text/css": "css",
    "text/plain": "txt",
    "text/vtt": "vtt",
    "text/xml": "xml",
    "application/javascript": "js mjs",
    "application/json": "json",
    "image/jpeg": "jpg jpeg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "video/mp4": "mp4 m4v",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "video/x-msvideo": "avi",
    "video/mp2t": "ts",
    "video/iso.segment": "m4s",
    "audio/mp4": "m4a",
    "application/vnd.apple.mpegurl": "m3u8",
    "application/dash+xml": "mpd",
}


@dataclass(frozen=True)
class Request:
    """One line of the access log."""

    host: str  # "site" or "embed"
    method: str
    uri: str  # as the client sent it, with the query
    path: str  # decoded, without the query
    range: str | None  # the Range header, e.g. "bytes=0-1023"
    status: int
    body_bytes_sent: int
    referer: str | None
    user_agent: str | None


class Host:
    """One of the server's hosts: its port, its document root, URLs of the files under it."""

    def __init__(self, server: NginxServer, name: str, root: Path, port: int) -> None:
        self.server = server
        self.name = name
        self.root = root
        self.port = port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str | Path, *, prefix: str = "") -> str:
        """The URL of ``path``: a file under `root` (absolute, or relative to it) or a URL path.
        ``prefix="norange"`` or ``"slow"`` gives the same file through that location."""
        if isinstance(path, Path):
            path = (path if path.is_absolute() else self.root / path).relative_to(self.root)
            path = path.as_posix()
        path = str(path).lstrip("/")
        return f"{self.origin}/{prefix.strip('/') + '/' if prefix else ''}{path}"

    def folder(self, name: str = "t") -> Path:
        """A new, empty folder under the root, named ``name-XXXX`` (tests share the server)."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))

    def publish(self, source: Path, target: str | Path | None = None) -> str:
        """Serve ``source`` (a file or a folder, symlinked, not copied) at ``target`` (under the
        root; default: its own name in a new `folder`); return its URL."""
        target = self.folder(source.stem) / source.name if target is None else self._file(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() and target.resolve() == source.resolve():
            return self.url(target)
        target.symlink_to(source.resolve())
        return self.url(target)

    def write(self, target: str | Path, data: bytes | str) -> str:
        """Write ``data`` to ``target`` under the root; return its URL."""
        target = self._file(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            target.write_text(data)
        else:
            target.write_bytes(data)
        return self.url(target)

    def _file(self, target: str | Path) -> Path:
        """``target`` as a file under the root (absolute under it, or relative to it)."""
        target = Path(target)
        target = target if target.is_relative_to(self.root) else self.root / str(target).lstrip("/")
        return target

    def requests(self, path: str | Path | None = None, *, since: int = 0) -> list[Request]:
        """The requests this host answered, for ``path`` (URL, URL path or file) or all."""
        return [r for r in self.server.requests(path, since=since) if r.host == self.name]

    def bytes_sent(self, path: str | Path | None = None, *, since: int = 0) -> int:
        return sum(r.body_bytes_sent for r in self.requests(path, since=since))


class NginxServer:
    """nginx serving ``workdir/site`` on `site` and ``workdir/embed`` on `embed`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.site = Host(self, "site", workdir / "site", 0)
        self.embed = Host(self, "embed", workdir / "embed", 0)
        self.access_log = workdir / "logs" / "access.log"
        self.error_log = workdir / "logs" / "error.log"
        self._process: subprocess.Popen[bytes] | None = None

    # --- the process ---------------------------------------------------------------------------

    def start(self, attempts: int = 3) -> None:
        """Start nginx on two free ports (new ones when another process took one meanwhile)."""
        if not NGINX.exists():
            raise RuntimeError(f"{NGINX} is missing: run `make services` (installs nginx-light)")
        for folder in ("site", "embed", "logs", "temp"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        for attempt in range(attempts):
            self.site.port, self.embed.port = free_port(), free_port()
            config = self.workdir / "nginx.conf"
            config.write_text(self._config())
            self._process = subprocess.Popen(
                [NGINX, "-p", str(self.workdir), "-c", str(config), "-e", str(self.error_log)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if self._wait_listening():
                return
            _, stderr = self._process.communicate(timeout=10)
            self._process = None
            problem = stderr.decode(errors="replace") + self._error_log_tail()
            if "Address already in use" not in problem or attempt == attempts - 1:
                raise RuntimeError(f"nginx did not start:\n{problem}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)  # fast shutdown
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @classmethod
    @contextmanager
    def running(cls, workdir: Path) -> Iterator[NginxServer]:
        server = cls(workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if all(_accepts(host.port) for host in (self.site, self.embed)):
                return True
            time.sleep(0.02)
        self._process.kill()
        return False

    def _error_log_tail(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _config(self) -> str:
        work = self.workdir
        user = ""
        if os.geteuid() == 0:  # workers would otherwise become nobody, who cannot read tmp dirs
            user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
        types = "\n".join(f"        {mime} {exts};" for mime, exts in TYPES.items())
        temp = "\n".join(
            f"    {kind}_temp_path {work}/temp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        log_format = json.dumps(
            {
                "port": "$server_port",
                "method": "$request_method",
                "uri": "$request_uri",
                "path": "$uri",
                "range": "$http_range",
                "status": "$status",
                "body_bytes_sent": "$body_bytes_sent",
                "referer": "$http_referer",
                "user_agent": "$http_user_agent",
            }
        )
        servers = "\n".join(self._server_block(host) for host in (self.site, self.embed))
        return f"""# written by tests/support/nginx.py
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
error_log {self.error_log} warn;
events {{ worker_connections 512; }}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
{temp}
    log_format repostwatch escape=json '{log_format}';
    access_log {self.access_log} repostwatch;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30s;
    server_tokens off;
    disable_symlinks off;
    autoindex off;
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Allow-Headers "Range" always;
    add_header Access-Control-Expose-Headers "Content-Length, Content-Range" always;
{servers}
}}
"""

    def _server_block(self, host: Host) -> str:
        status = ""
        if host is self.site:
            status = f"location = {_STATUS_PATH} {{ stub_status; access_log off; }}"
        return f"""    server {{
        listen 127.0.0.1:{host.port};
        server_name {host.name};
        root {host.root};
        location / {{ }}
        location /norange/ {{ alias {host.root}/; max_ranges 0; }}
        location /slow/ {{ alias {host.root}/; limit_rate {SLOW_RATE}; }}
        {status}
    }}"""

    # --- the access log -----------------------------------------------------------------------

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait until nginx has no request in progress but the status request asking it (its
        one worker logs a request before it takes the next event)."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(self.site.url(_STATUS_PATH), timeout=5) as response:
                status = response.read().decode()
            # "Reading: 0 Writing: 1 Waiting: 3"
            words = status.split()
            reading = int(words[words.index("Reading:") + 1])
            writing = int(words[words.index("Writing:") + 1])
            if reading == 0 and writing <= 1:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx still has requests in progress: {status}")
            time.sleep(0.05)

    def mark(self) -> int:
        """A position in the access log: ``requests(since=mark)`` reads only what came after."""
        self.settle()
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def requests(self, path: str | Path | None = None, *, since: int = 0) -> list[Request]:
        """Every request both hosts answered since ``since`` (a `mark`), for ``path`` if given:
        a URL, a URL path ("/a/b.mp4") or a file under a root (matched on the path alone, so
        ``/norange/`` and ``/slow/`` requests of the same file are not counted for it)."""
        self.settle()
        wanted = None if path is None else self._url_path(path)
        ports = {str(self.site.port): "site", str(self.embed.port): "embed"}
        found = []
        with self.access_log.open("rb") as log:
            log.seek(since)
            for line in log:
                entry = json.loads(line)
                if wanted is not None and entry["path"] != wanted:
                    continue
                found.append(
                    Request(
                        host=ports[entry["port"]],
                        method=entry["method"],
                        uri=entry["uri"],
                        path=entry["path"],
                        range=entry["range"] or None,
                        status=int(entry["status"]),
                        body_bytes_sent=int(entry["body_bytes_sent"]),
                        referer=entry["referer"] or None,
                        user_agent=entry["user_agent"] or None,
                    )
                )
        return found

    def bytes_sent(self, path: str | Path | None = None, *, since: int = 0) -> int:
        """The body bytes nginx sent (both hosts) for ``path``, or for everything."""
        return sum(r.body_bytes_sent for r in self.requests(path, since=since))

    def _url_path(self, path: str | Path) -> str:
        if isinstance(path, Path):
            for host in (self.site, self.embed):
                if path.is_relative_to(host.root):
                    return "/" + path.relative_to(host.root).as_posix()
            raise ValueError(f"{path} is under neither {self.site.root} nor {self.embed.root}")
        return unquote(urlsplit(path).path) if "://" in path else unquote(path.split("?")[0])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
