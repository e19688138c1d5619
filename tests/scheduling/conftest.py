"""Fixtures of the scheduling tests: a scrapyd node that is down, a real SMTP server."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from crawler.scheduling import ScrapydClient
from crawler.scheduling.scrapyd import Node
from tests.scheduling.helpers import SCRAPYD_PROJECT
from tests.support.ports import free_port


@pytest.fixture
def down_node(refused_port) -> ScrapydClient:
    """A node at a real URL nobody listens on."""
    node = Node.parse(f"http://127.0.0.1:{refused_port()}/")
    return ScrapydClient(node, SCRAPYD_PROJECT, timeout=2)


class Mailbox:
    def __init__(self):
        self.messages: list = []
        self.url = ""

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox():
    """An SMTP server on a free local port that keeps every message it is given."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://{controller.hostname}:{controller.port}"
    yield box
    controller.stop()
