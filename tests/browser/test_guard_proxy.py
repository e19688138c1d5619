"""The guard proxy in front of Chromium: real sockets on 127.0.0.1, no browser."""

from __future__ import annotations

import http.client
import socket

import pytest

from crawler.browser.guard_proxy import GuardProxy, chromium_args, guard_proxy
from crawler.demo.localsite import LocalSite, html
from crawler.network import PrivateOptIn


def _via_proxy(proxy: GuardProxy, method: str, url: str, body: bytes | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        connection.request(method, url, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _connect(proxy: GuardProxy, target: str) -> tuple[bytes, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head, sock


@pytest.fixture
def site():
    with LocalSite({"/": html("<p>own page</p>")}) as own:
        yield own


@pytest.fixture
def other():
    """Another local service (scrapyd, a router ...): it must never be reached."""
    with LocalSite({"/": html("secret")}) as service:
        yield service


def test_the_sites_own_private_origin_goes_through_when_it_opts_in(site):
    with guard_proxy(PrivateOptIn.of_urls([site.url + "/"])) as proxy:
        assert _via_proxy(proxy, "GET", site.url + "/") == (200, b"<p>own page</p>")
        head, sock = _connect(proxy, f"127.0.0.1:{site.port}")
        with sock:
            assert head.startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(b"<p>own page</p>")
        assert proxy.refusals() == {}
    assert site.requests == ["/", "/"]


def test_another_port_of_the_same_private_host_is_refused(site, other):
    with guard_proxy(PrivateOptIn.of_urls([site.url + "/"])) as proxy:
        status, body = _via_proxy(proxy, "POST", other.url + "/schedule.json", b"egg")
        assert status == 403 and b"resolves to 127.0.0.1" in body
        head, sock = _connect(proxy, f"127.0.0.1:{other.port}")
        sock.close()
        assert head.startswith(b"HTTP/1.1 403")
        assert proxy.refusals() == {"private_network": 2}
    assert other.requests == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("localhost", "host_name"),
        ("x.localhost", "host_name"),
        ("printer.local", "host_name"),
        ("intranet", "host_name"),
        ("no-such-host.invalid", "unresolvable"),
    ],
)
def test_names_the_browser_would_resolve_by_itself_are_refused(site, host, reason):
    # Opted in for 127.0.0.1 on this port, and still: the name is refused before any lookup.
    opt_in = PrivateOptIn.of_urls([site.url + "/"])
    with guard_proxy(opt_in) as proxy:
        status, _ = _via_proxy(proxy, "GET", f"http://{host}:{site.port}/")
        head, sock = _connect(proxy, f"{host}:{site.port}")
        sock.close()
        assert status == 403 and head.startswith(b"HTTP/1.1 403")
        assert proxy.refusals() == {reason: 2}
    assert site.requests == []


def _fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Answer getaddrinfo for the names in ``answers`` (one answer per lookup, the last one
    repeats), the way a rebinding DNS server does; returns the names looked up."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            looked_up.append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch, other):
    _fake_dns(monkeypatch, {"rebind.example.com": ["127.0.0.1"]})
    with guard_proxy() as proxy:
        status, body = _via_proxy(proxy, "GET", f"http://rebind.example.com:{other.port}/")
        assert status == 403 and b"rebind.example.com resolves to 127.0.0.1" in body
    assert other.requests == []


def test_the_proxy_connects_to_the_address_it_checked(monkeypatch, other):
    # First answer public, every later one private: a second lookup would reach the service.
    looked_up = _fake_dns(monkeypatch, {"rebind.example.com": ["192.0.2.1", "127.0.0.1"]})
    monkeypatch.setattr("crawler.network.is_public_address", lambda a: str(a) == "192.0.2.1")
    with guard_proxy() as proxy:
        proxy.connect_timeout = 1
        status, _ = _via_proxy(proxy, "GET", f"http://rebind.example.com:{other.port}/")
    assert status == 502  # 192.0.2.1 (TEST-NET) answers nothing; nothing else was tried
    assert looked_up == ["rebind.example.com"]
    assert other.requests == []


def test_other_schemes_and_garbage_are_refused(site):
    with guard_proxy(PrivateOptIn.of_urls([site.url + "/"])) as proxy:
        assert _via_proxy(proxy, "GET", f"ftp://127.0.0.1:{site.port}/")[0] == 403
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        with sock:
            sock.sendall(b"hello there\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 403")
        assert proxy.refusals() == {"scheme": 1, "bad_request": 1}
    assert site.requests == []


def test_chromium_sends_everything_through_the_proxy():
    args = chromium_args("http://127.0.0.1:8123")
    assert "--proxy-server=http://127.0.0.1:8123" in args
    assert "--proxy-bypass-list=<-loopback>" in args
    assert "--disable-quic" in args
    assert "--force-webrtc-ip-handling-policy=disable_non_proxied_udp" in args
    assert "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" in args


def test_stopping_closes_the_port():
    proxy = GuardProxy().start()
    port = proxy.port
    assert proxy.running
    proxy.stop()
    assert not proxy.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
