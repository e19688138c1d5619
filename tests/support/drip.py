"""A hostile local web server that answers one byte at a time, for deadline tests.

Every connection gets its answer dripped at ``interval`` seconds a byte: from the status line on
(``part="headers"``) or after complete headers announcing a large body (``part="body"``). A
client with only a socket timeout never gives up on it; ``give_up`` seconds after it started,
the server closes the connection (so that a test of a client without a deadline ends too).
"""

from __future__ import annotations

import socket
import threading
import time

from tests.support.ports import free_port


class DripServer:
    def __init__(self, part: str = "headers", interval: float = 0.2, give_up: float = 8.0):
        if part not in ("headers", "body"):
            raise ValueError(part)
        self.part = part
        self.interval = interval
        self.give_up = give_up
        self.port = free_port()
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        if self.part == "body":
            connection.sendall(head + b"Content-Length: 100000\r\n\r\n")
            head = b"<html>" + b" " * 100000
        started = time.monotonic()
        try:
            with connection:
                connection.recv(65536)  # the request
                for byte in head:
                    if self._stop.is_set() or time.monotonic() - started > self.give_up:
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(self.interval)
        except OSError:
            return
