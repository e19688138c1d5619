"""The reliability benchmark's own parts (benchmarks/reliability/): its corpus and its relay.

The benchmark itself runs for half an hour (`make reliability`); these check that what it is
made of does what its figures claim.
"""

from __future__ import annotations

import socket

import pytest

from benchmarks.reliability import hostile
from benchmarks.reliability.relay import Relay


def test_the_hostile_corpus_has_at_least_50_distinct_cases_of_every_kind():
    cases = hostile.cases()
    assert len(cases) >= 50
    assert len({case.name for case in cases}) == len(cases)
    kinds = {case.category for case in cases}
    assert {"media bomb", "truncated", "lying file", "parser bomb", "drip-feed", "redirect",
            "private redirect", "trap", "encoding", "browser guard"} <= kinds  # fmt: skip
    for case in cases:
        if case.category not in ("media bomb", "truncated"):  # media is made when a case runs
            assert "/" in case.routes("http://127.0.0.2:9"), case.name


def test_the_relay_forwards_then_cuts_then_forwards_again():
    with socket.create_server(("127.0.0.1", 0)) as target:
        relay = Relay(target.getsockname()[1])
        try:
            client = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
            served, _ = target.accept()
            client.sendall(b"ping")
            assert served.recv(4) == b"ping"
            relay.down()
            with pytest.raises(OSError):  # reset, then refused: the service is away
                for _ in range(50):
                    client.sendall(b"x" * 65536)
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", relay.port), timeout=5)
            relay.up()
            again = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
            served_again, _ = target.accept()
            again.sendall(b"pong")
            assert served_again.recv(4) == b"pong"
            for end in (client, served, again, served_again):
                end.close()
        finally:
            relay.down()
