"""The guard proxy: every connection Chromium makes goes through it, and it applies the crawl's
network rule (:func:`crawler.network.checked_addresses`) to each one.

A request guard inside the page (Playwright's routes) does not see everything a page can make
the browser do (WebSocket, beacons, a form posted to another port, a name Chromium resolves by
itself such as ``*.localhost``), and a check by name is open to DNS rebinding. So Chromium is
started with a proxy for everything, this one, on 127.0.0.1 in this process:

* ``CONNECT host:port`` (https, wss) and plain ``GET http://host/...`` (any method) are
  accepted; any other scheme, or a request that cannot be read, is refused.
* The proxy resolves the host itself, refuses loopback, mDNS and single-label names, names that
  do not resolve and private addresses (except the site's own host and port when its site file
  opts in), and connects to the very address it checked: a DNS answer cannot change between
  the check and the connection.
* A refused request gets ``403 Forbidden`` and is counted by reason (:meth:`GuardProxy.refusals`;
  a crawl stores them as ``browser/proxy_refused/<reason>``).

:func:`chromium_args` are the flags that make Chromium use it for everything: the proxy for all
schemes, also for loopback (``<-loopback>``: Chromium bypasses proxies for localhost by
default), no resolution of its own (``--host-resolver-rules``), no QUIC (UDP would not go
through the proxy) and WebRTC without UDP that bypasses the proxy.

The API, for any code that launches Chromium (the crawl's scrapy-playwright browser in
``spiders/site.py``; screenshots should do the same)::

    from crawler.browser.guard_proxy import guard_proxy

    with guard_proxy(site_config.private_opt_in) as proxy:
        browser = await playwright.chromium.launch(args=[*own_args, *proxy.chromium_args()])
        ...
    proxy.refusals()  # {"private_network": 2, ...}

These flags reach Chromium only. A request Playwright's driver makes itself (``route.fetch``,
``context.request``) takes a proxy only from the ``proxy`` launch option: code that fetches in
a route launches with ``proxy={"server": proxy.url, "bypass": "<-loopback>"}`` as well, as
:func:`crawler.takedown.screenshot_browser._launch` does (the crawl's route only continues or
aborts, so Chromium makes every request).

``guard_proxy(opt_in)`` starts a :class:`GuardProxy` on a free port of 127.0.0.1, in a thread
with its own event loop (so it works beside any other loop, Twisted's included), and stops it
on exit. ``GuardProxy(opt_in).start()`` / ``.stop()`` do the same by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

from crawler.network import (
    NO_OPT_IN,
    AddressRefused,
    IPAddress,
    PrivateOptIn,
    checked_addresses,
)

logger = logging.getLogger(__name__)

#: Refusal reasons besides crawler.network's kinds.
SCHEME = "scheme"
BAD_REQUEST = "bad_request"
#: Longest request or response head read (bytes).
MAX_HEAD = 64 * 1024
#: Headers that belong to one hop, never forwarded.
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"proxy-authorization",
    b"proxy-authenticate",
    b"te",
    b"trailer",
    b"upgrade",
}


def chromium_args(proxy_url: str) -> list[str]:
    """Chromium's flags to send everything through the proxy at ``proxy_url``."""
    host = urlsplit(proxy_url).hostname
    return [
        f"--proxy-server={proxy_url}",
        # Chromium sends localhost and 127.0.0.1 directly unless told otherwise.
        "--proxy-bypass-list=<-loopback>",
        # Names are the proxy's to resolve; Chromium resolves none itself (no *.localhost).
        f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {host}",
        "--disable-quic",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]


class _Refused(Exception):
    def __init__(self, kind: str, why: str):
        super().__init__(why)
        self.kind = kind


class GuardProxy:
    """An HTTP proxy on 127.0.0.1 that lets through only what the network rule allows."""

    def __init__(self, opt_in: PrivateOptIn = NO_OPT_IN, *, connect_timeout: float = 15.0) -> None:
        self.opt_in = opt_in
        self.connect_timeout = connect_timeout
        self.port: int | None = None
        self._refused: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # --- running it ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the guard proxy is not started: call start() first")
        return f"http://127.0.0.1:{self.port}"

    def chromium_args(self) -> list[str]:
        """The flags that put a Chromium behind this proxy."""
        return chromium_args(self.url)

    def refusals(self) -> dict[str, int]:
        """Requests refused so far, by reason."""
        with self._lock:
            return dict(self._refused)

    def start(self) -> GuardProxy:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # handed to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="repostwatch-guard-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise RuntimeError(f"the browser's guard proxy could not start: {failure[0]}")
        logger.debug("Guard proxy listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return

        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout=10)
        self._thread = None

    # --- one client connection ----------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Connections still open when the proxy stops are cancelled. asyncio's server callback
        # would log each cancellation as an error with a traceback (it asks the task for its
        # exception): end quietly instead, closing the client's connection.
        try:
            await self._serve_one(reader, writer)
        except asyncio.CancelledError:
            writer.transport.abort()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                raise _Refused(BAD_REQUEST, "the request head is too long") from None
            method, host, port, forward = _parse_request(head)
            addresses = await checked_addresses(host, port, self.opt_in)
            upstream_reader, upstream = await self._connect(addresses, port)
            if method == b"CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await self._relay(reader, writer, upstream_reader, upstream, rewrite=False)
            else:
                upstream.write(forward)
                await self._relay(reader, writer, upstream_reader, upstream, rewrite=True)
        except AddressRefused as exc:
            await self._refuse(writer, exc.kind, str(exc))
        except _Refused as exc:
            await self._refuse(writer, exc.kind, str(exc))
        except OSError as exc:
            await _answer(writer, b"502 Bad Gateway", f"could not connect: {exc}")
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()

    async def _connect(
        self, addresses: list[IPAddress], port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the first of the checked addresses that answers (never the name)."""
        error: OSError = OSError("no address")
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(str(address), port, limit=MAX_HEAD),
                    self.connect_timeout,
                )
            except (TimeoutError, OSError) as exc:
                error = exc if isinstance(exc, OSError) else OSError(f"{address}: timed out")
        raise error

    async def _refuse(self, writer: asyncio.StreamWriter, kind: str, why: str) -> None:
        with self._lock:
            self._refused[kind] += 1
        logger.info("Guard proxy refused a browser request: %s", why)
        await _answer(writer, b"403 Forbidden", f"Refused by RepostWatch's guard proxy: {why}")

    async def _relay(
        self,
        client_reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        *,
        rewrite: bool,
    ) -> None:
        """Copy both ways until the upstream side is done (the client may half-close first)."""
        outgoing = asyncio.ensure_future(_copy(client_reader, upstream, half_close=True))
        try:
            if rewrite:  # one request per connection: say so, so that Chromium opens a new one
                try:
                    head = await upstream_reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                client.write(_closing_head(head))
            await _copy(upstream_reader, client, half_close=False)
        finally:
            outgoing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await outgoing


def _parse_request(head: bytes) -> tuple[bytes, str, int, bytes]:
    """(method, host, port, the head to send upstream) of a proxy request."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise _Refused(BAD_REQUEST, "not an HTTP/1 proxy request")
    method, target, version = parts
    text = target.decode("latin-1")
    if method == b"CONNECT":
        url = urlsplit(f"//{text}")
        try:
            port = url.port
        except ValueError:
            port = None
        if not url.hostname or port is None:
            raise _Refused(BAD_REQUEST, f"CONNECT {text}: needs a host and a port")
        return method, url.hostname, port, b""
    url = urlsplit(text)
    if url.scheme.lower() != "http" or not url.hostname:
        raise _Refused(SCHEME, f"{text[:200]}: only http:// (and CONNECT) go through this proxy")
    try:
        port = url.port or 80
    except ValueError:
        raise _Refused(BAD_REQUEST, f"{text[:200]}: the port is not a number") from None
    path = url.path or "/"
    if url.query:
        path += f"?{url.query}"
    headers = [
        line
        for line in lines[1:]
        if line and line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP
    ]
    forward = b"\r\n".join(
        [b" ".join([method, path.encode("latin-1"), version]), *headers, b"Connection: close"]
    )
    return method, url.hostname, port, forward + b"\r\n\r\n"


def _closing_head(head: bytes) -> bytes:
    lines = [
        line
        for line in head[:-4].split(b"\r\n")
        if line.split(b":", 1)[0].strip().lower()
        not in (b"connection", b"keep-alive", b"proxy-connection")
    ]
    return b"\r\n".join([*lines, b"Connection: close", b"Proxy-Connection: close"]) + b"\r\n\r\n"


async def _copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, half_close: bool
) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _answer(writer: asyncio.StreamWriter, status: bytes, text: str) -> None:
    body = text.encode("utf-8")
    writer.write(
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\nProxy-Connection: close\r\n\r\n"
        + body
    )
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()


@contextlib.contextmanager
def guard_proxy(opt_in: PrivateOptIn = NO_OPT_IN) -> Iterator[GuardProxy]:
    """A running :class:`GuardProxy` for the ``with`` block (see the module's docstring)."""
    proxy = GuardProxy(opt_in).start()
    try:
        yield proxy
    finally:
        proxy.stop()
