"""Ports on 127.0.0.1 for the servers a test starts, and ports where nothing may answer."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def free_port() -> int:
    """A port free a moment ago, for a server the test is about to start on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port that refuses connections for as long as the block runs.

    The port stays bound (but not listening) to a socket held here, so no other process, such
    as a test site in another pytest worker, can be given it meanwhile: a client told to try it
    is refused ("Connection refused") instead of reaching somebody else's server.
    """
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]
