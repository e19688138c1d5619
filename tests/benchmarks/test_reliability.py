"""The reliability benchmark's own parts (benchmarks/reliability/): its corpus and its relay.

The benchmark itself runs for half an hour (`make reliability`); these check that what it is
made of does what its figures claim.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest

from benchmarks.reliability import board, hostile
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


# Writes 256 KiB to its log (more than a pipe holds), then says it is done. With "wait", it
# waits (up to 10 s) for the other to be done first, as a distributed worker waits for the
# others before it closes the run.
_CHATTY = """
import pathlib, sys, time
me, other = map(pathlib.Path, sys.argv[1:3])
sys.stderr.write("x" * 262144)
sys.stderr.flush()
me.touch()
if sys.argv[3:] == ["wait"]:
    for _ in range(200):
        if other.exists():
            sys.exit(0)
        time.sleep(0.05)
    sys.exit(1)
"""


def test_a_crawl_the_benchmark_is_not_waiting_for_never_stops_on_its_log(tmp_path):
    """The benchmark waits for its crawls one after the other: the crawl it waits for first
    must not be held up by the log of another (their logs go to files). Through a pipe, the
    second worker of the Redis outage stopped once its pipe was full, and the first waited for
    it until it counted it lost (314 s for a 29 s crawl)."""
    first_done, second_done = tmp_path / "first", tmp_path / "second"
    env = dict(os.environ)
    first = board.start(
        [sys.executable, "-c", _CHATTY, str(first_done), str(second_done), "wait"],
        env,
        tmp_path / "1.log",
    )
    second = board.start(
        [sys.executable, "-c", _CHATTY, str(second_done), str(first_done)], env, tmp_path / "2.log"
    )
    assert first.wait(timeout=60) == 0  # the second was done while nobody read its log
    assert second.wait(timeout=60) == 0
    assert (tmp_path / "2.log").stat().st_size == 262144
