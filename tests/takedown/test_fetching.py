"""The re-check fetcher's deadline covers name resolution too: a resolver that hangs costs one
request's deadline (or what is left of the round), not more (crawler/takedown/fetching.py)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from crawler.takedown.fetching import DeadlineExceeded
from tests.takedown.conftest import local_fetcher


@dataclass
class HangingResolver:
    """socket.getaddrinfo that does not answer (a DNS server dropping queries) until released,
    or for 5 s at most, then fails."""

    asked: list[str] = field(default_factory=list)
    answered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, host, *args, **kwargs):
        self.asked.append(host)
        try:
            self.release.wait(5)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        finally:
            self.answered.set()


@pytest.fixture
def resolver(monkeypatch) -> HangingResolver:
    hanging = HangingResolver()
    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    yield hanging
    hanging.release.set()


@pytest.mark.parametrize("deadline", ["request", "round"])
def test_a_resolver_that_hangs_costs_the_deadline_not_more(resolver, deadline):
    if deadline == "request":
        fetcher, until = local_fetcher(request_seconds=0.5), None
    else:
        fetcher, until = local_fetcher(request_seconds=60), time.monotonic() + 0.5
    with pytest.raises(DeadlineExceeded):
        fetcher.get("http://board.example/post/1", robots=False, until=until)
    assert resolver.asked == ["board.example"]
    # The request ended at its deadline, while the name was still being resolved.
    assert not resolver.answered.is_set()
