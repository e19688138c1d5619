"""The small HTTP client of removal re-checks: guarded like a crawl, bounded in time and size.

Not a Scrapy crawl: a re-check is a few requests per flag, and it must run from the CLI, a
scheduler or the web app without a reactor. It keeps the crawler's network rules
(crawler/network.py): http and https only, every connection's address resolved and refused when
private, loopback or link-local (unless the site file opts in for that host and port: its
:attr:`~crawler.sites.SiteConfig.private_opt_in`, as for its crawls), no proxies from
the environment, the connection made to the address that was checked (so a DNS answer cannot
change in between), and robots.txt obeyed (read for the site's User-Agent) unless the site file
says ``obey_robots = false``.

Every request has one deadline for all of it (resolving names, connecting, headers, body,
redirects): REPOSTWATCH_RECHECK_REQUEST_SECONDS, or the end of the round when that comes first.
A socket timeout alone would let a server that drips a byte a second hold a request for ever,
and a resolver that does not answer is not bounded by one at all; at the deadline the request's
sockets are shut down, a pending name resolution is given up, and :class:`DeadlineExceeded` is
raised. Requests
are sent with a neutral, browser-like User-Agent (REPOSTWATCH_RECHECK_USER_AGENT), so that a
site answering 404 to crawlers only cannot make media look removed.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from crawler.network import (
    NO_OPT_IN,
    PRIVATE_NETWORK,
    AddressRefused,
    IPAddress,
    PrivateOptIn,
    checked_addresses_blocking,
)


class PrivateAddressRefused(OSError):
    """The host is refused by the crawler's network rule (crawler/network.py): a loopback or
    local name, a name that does not resolve, or a private, loopback or link-local address
    the site file does not allow; ``kind`` says which (``AddressRefused.kind``)."""

    def __init__(self, why: str, kind: str):
        super().__init__(why)
        self.kind = kind


class RobotsRefused(OSError):
    """robots.txt disallows the URL for our User-Agent."""


class DeadlineExceeded(OSError):
    """The request did not end within its deadline (REPOSTWATCH_RECHECK_REQUEST_SECONDS or the
    end of the round)."""


#: What a re-check request can fail with (its error becomes an "unknown" observation).
FETCH_ERRORS = (OSError, http.client.HTTPException, urllib.error.URLError, ValueError)


@dataclass
class _Deadline:
    """One request's deadline: its sockets, shut down when it passes."""

    end: float  # time.monotonic()
    sockets: list[socket.socket] = field(default_factory=list)
    passed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.passed:
                sock.close()

    def cut(self) -> None:
        with self.lock:
            self.passed = True
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # wakes a blocked read in another thread
                    sock.shutdown(socket.SHUT_RDWR)


def _guarded_connection(
    address: tuple[str, int],
    timeout: float | object = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *,
    opt_in: PrivateOptIn,
    deadline: _Deadline,
) -> socket.socket:
    host, port = address
    try:  # the crawler's rule: no loopback or local names, no unresolvable or private hosts
        addresses = _checked_in_time(host, port, opt_in, deadline)
    except AddressRefused as exc:
        raise PrivateAddressRefused(f"{exc}; refused{_outside(opt_in, exc)}", exc.kind) from None
    last: OSError | None = None
    for ip in addresses:  # connect to the address just checked, not to a new DNS answer
        remaining = deadline.remaining()
        if remaining <= 0:
            raise DeadlineExceeded(f"no connection to {host}:{port} in time")
        try:
            sock = socket.create_connection((str(ip), port), remaining, source_address)  # type: ignore[arg-type]
        except OSError as exc:
            last = exc
            continue
        deadline.add(sock)
        return sock
    raise last or OSError(f"cannot connect to {host}:{port}")


def _checked_in_time(
    host: str, port: int, opt_in: PrivateOptIn, deadline: _Deadline
) -> list[IPAddress]:
    """checked_addresses_blocking within the request's deadline. getaddrinfo has no timeout
    and cannot be interrupted, so it runs in a daemon thread of its own; at the deadline the
    request gives up and the thread is left to end when the resolver answers."""
    outcome: list[list[IPAddress] | BaseException] = []
    done = threading.Event()

    def resolve() -> None:
        try:
            outcome.append(checked_addresses_blocking(host, port, opt_in))
        except BaseException as exc:  # handed to the request's thread
            outcome.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=resolve, name=f"recheck-resolve {host}", daemon=True)
    thread.start()
    if not done.wait(max(deadline.remaining(), 0)):
        raise DeadlineExceeded(f"{host} did not resolve in time")
    (found,) = outcome
    if isinstance(found, BaseException):
        raise found
    return found


def _outside(opt_in: PrivateOptIn, refused: AddressRefused) -> str:
    """What a private address refused despite the site's opt-in was outside of."""
    if refused.kind != PRIVATE_NETWORK or not opt_in.origins:
        return ""
    own = ", ".join(f"{host}:{port}" for host, port in sorted(opt_in.origins))
    return (
        f" (the site file allows private addresses only for {own}; list another in "
        "private_hosts if the site really uses it)"
    )


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, guard: Callable[..., socket.socket], **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = guard


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, guard: Callable[..., socket.socket], **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = guard


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, guard: Callable[..., socket.socket]):
        super().__init__()
        self.guard = guard

    def http_open(self, req):
        return self.do_open(partial(_HTTPConnection, guard=self.guard), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, guard: Callable[..., socket.socket]):
        super().__init__()
        self.guard = guard

    def https_open(self, req):
        return self.do_open(partial(_HTTPSConnection, guard=self.guard), req)


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    content_type: str = ""


class Fetcher:
    """GET over http(s) only, guarded like a crawl, with a size limit (``max_bytes``:
    REPOSTWATCH_MEDIA_MAXSIZE) and a deadline per request in seconds (``request_seconds``:
    REPOSTWATCH_RECHECK_REQUEST_SECONDS). Requests say ``user_agent``
    (REPOSTWATCH_RECHECK_USER_AGENT); robots.txt is read for ``robots_agent`` (the project's
    USER_AGENT, or the site file's ``user_agent``), once per host and agent."""

    def __init__(
        self, *, user_agent: str, robots_agent: str, max_bytes: int, request_seconds: float
    ):
        if request_seconds <= 0:
            raise ValueError("REPOSTWATCH_RECHECK_REQUEST_SECONDS must be more than 0")
        self.user_agent = user_agent
        self.robots_agent = robots_agent
        self.request_seconds = request_seconds
        self.max_bytes = max_bytes
        self._robots: dict[tuple[str, str, PrivateOptIn], RobotFileParser] = {}

    def allowed(
        self,
        url: str,
        *,
        opt_in: PrivateOptIn = NO_OPT_IN,
        robots_agent: str | None = None,
        until: float | None = None,
    ) -> bool:
        """What the host's robots.txt says about ``url``. As for crawls (Scrapy's robots.txt
        middleware), a robots.txt that is missing or cannot be read allows everything; one
        answered with 401 or 403 allows nothing. One that does not arrive in time raises
        :class:`DeadlineExceeded` (the check is left for later, nothing is assumed)."""
        agent = robots_agent or self.robots_agent
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        key = (origin, agent, opt_in)
        if key not in self._robots:
            rules = RobotFileParser(origin + "/robots.txt")
            try:
                answer = self.get(origin + "/robots.txt", opt_in=opt_in, robots=False, until=until)
            except DeadlineExceeded:
                raise
            except FETCH_ERRORS:
                answer = Fetched(404, b"")
            if answer.status in (401, 403):
                rules.disallow_all = True
            elif answer.status == 200:
                rules.parse(answer.body.decode("utf-8", errors="replace").splitlines())
            else:
                rules.allow_all = True
            self._robots[key] = rules
        return self._robots[key].can_fetch(agent, url)

    def opener(self, opt_in: PrivateOptIn, deadline: _Deadline) -> urllib.request.OpenerDirector:
        guard = partial(_guarded_connection, opt_in=opt_in, deadline=deadline)
        opener = urllib.request.OpenerDirector()  # no proxy, file: or ftp: handlers
        for handler in (
            _HTTPHandler(guard),
            _HTTPSHandler(guard),
            urllib.request.HTTPRedirectHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
        ):
            opener.add_handler(handler)
        return opener

    def get(
        self,
        url: str,
        *,
        opt_in: PrivateOptIn = NO_OPT_IN,
        referer: str | None = None,
        robots: bool = True,
        robots_agent: str | None = None,
        until: float | None = None,
    ) -> Fetched:
        """The answer to GET ``url``, within REPOSTWATCH_RECHECK_REQUEST_SECONDS and before
        ``until`` (a time.monotonic() value: the end of the round) when given. ``opt_in``: the
        private hosts and ports this request and its redirects may reach (the site's
        ``private_opt_in``; none by default)."""
        if robots and not self.allowed(url, opt_in=opt_in, robots_agent=robots_agent, until=until):
            raise RobotsRefused(f"robots.txt disallows {url}")
        end = time.monotonic() + self.request_seconds
        deadline = _Deadline(end if until is None else min(end, until))
        if deadline.remaining() <= 0:
            raise DeadlineExceeded(f"{url}: no time left in this round")
        headers = {"User-Agent": self.user_agent}
        if referer:
            headers["Referer"] = referer
        request = urllib.request.Request(url, headers=headers)
        timer = threading.Timer(deadline.remaining(), deadline.cut)
        timer.daemon = True
        timer.start()
        try:
            try:
                opened = self.opener(opt_in, deadline).open(request, timeout=deadline.remaining())
                with opened as response:
                    body = response.read(self.max_bytes + 1)
                    status = response.status
                    content_type = response.headers.get("Content-Type", "")
            except urllib.error.HTTPError as exc:
                exc.close()
                status, body, content_type = exc.code, b"", exc.headers.get("Content-Type", "")
        except FETCH_ERRORS as exc:
            if deadline.passed or deadline.remaining() <= 0:
                raise DeadlineExceeded(self._late(url, deadline)) from exc
            raise
        finally:
            timer.cancel()
        if deadline.passed:  # the body was cut short
            raise DeadlineExceeded(self._late(url, deadline))
        if len(body) > self.max_bytes:
            raise OSError(f"{url}: larger than {self.max_bytes} bytes")
        return Fetched(status, body, content_type)

    def _late(self, url: str, deadline: _Deadline) -> str:
        return (
            f"{url}: no complete answer within {self.request_seconds:g} s (or by the round's end)"
        )
