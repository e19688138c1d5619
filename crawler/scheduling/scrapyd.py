"""A small client of scrapyd's JSON API: daemonstatus, schedule, listjobs, cancel.

Nodes are given as URLs with basic-auth credentials in them
(``http://user:password@crawler2.example:6800/``); a node's *name* is its URL without them, which
is what is recorded on crawl runs and shown to operators. :func:`parse_nodes` (the nodes of
REPOSTWATCH_SCRAPYD_URLS) refuses a node without credentials: scrapyd runs whatever code it is
sent, and even on 127.0.0.1 every local process (or a page a browser renders) can reach it.
scrapyd answers errors with HTTP 200 and ``{"status": "error"}``: both kinds become
:class:`ScrapydError`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from crawler.problems import N_, Problem


class ScrapydError(RuntimeError):
    """A scrapyd node could not be reached or refused a request."""


@dataclass(frozen=True, slots=True)
class Node:
    """One scrapyd server: its URL without credentials, and the credentials."""

    url: str
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, url: str) -> Node:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                Problem(
                    N_("%(url)s is not a scrapyd URL: write http://USER:PASSWORD@host:6800/"),
                    {"url": repr(url)},
                )
            )
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        path = parts.path if parts.path.endswith("/") else f"{parts.path}/"
        return cls(
            url=urlunsplit((parts.scheme, netloc, path, "", "")),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    @property
    def name(self) -> str:
        return self.url


def parse_nodes(urls: str) -> list[Node]:
    """Nodes from a comma-separated list of URLs (REPOSTWATCH_SCRAPYD_URLS)."""
    nodes = [Node.parse(url) for url in urls.split(",") if url.strip()]
    if not nodes:
        raise ValueError(
            Problem(
                N_(
                    "no scrapyd node: set REPOSTWATCH_SCRAPYD_URLS, e.g. "
                    "http://USER:PASSWORD@127.0.0.1:6800/"
                )
            )
        )
    anonymous = [node.name for node in nodes if not (node.username and node.password)]
    if anonymous:
        raise ValueError(
            Problem(
                N_(
                    "REPOSTWATCH_SCRAPYD_URLS: %(nodes)s has no user name and password, and a "
                    "scrapyd without them runs code anyone who reaches it sends: start scrapyd "
                    "with REPOSTWATCH_SCRAPYD_USERNAME and REPOSTWATCH_SCRAPYD_PASSWORD (make "
                    "scrapyd) and write them into the URL: http://USER:PASSWORD@host:6800/"
                ),
                {"nodes": ", ".join(anonymous)},
            )
        )
    return nodes


@dataclass(frozen=True, slots=True)
class Jobs:
    """A node's jobs of one project (listjobs.json): each a dict as scrapyd gives it."""

    pending: list[dict[str, Any]]
    running: list[dict[str, Any]]
    finished: list[dict[str, Any]]

    @property
    def live_ids(self) -> set[str]:
        return {job["id"] for job in (*self.pending, *self.running)}


class ScrapydClient:
    """Talks to one node about one project (REPOSTWATCH_SCRAPYD_PROJECT)."""

    def __init__(self, node: Node, project: str, timeout: float = 10.0):
        self.node = node
        self.project = project
        self.timeout = timeout

    @property
    def name(self) -> str:
        return self.node.name

    def _call(self, endpoint: str, params: list[tuple[str, str]] | None = None, *, post=False):
        url = urljoin(self.node.url, endpoint)
        data = None
        if post:
            data = urlencode(params or []).encode()
        elif params:
            url = f"{url}?{urlencode(params)}"
        request = Request(url, data=data, method="POST" if post else "GET")
        if self.node.username:
            token = base64.b64encode(f"{self.node.username}:{self.node.password}".encode())
            request.add_header("Authorization", f"Basic {token.decode()}")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except HTTPError as exc:
            hint = " (wrong or missing credentials in the URL?)" if exc.code == 401 else ""
            raise ScrapydError(f"{self.name}{endpoint}: HTTP {exc.code}{hint}") from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"{self.name} is unreachable: {reason}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise ScrapydError(f"{self.name}{endpoint}: not a scrapyd answer") from None
        if answer.get("status") != "ok":
            raise ScrapydError(f"{self.name}{endpoint}: {answer.get('message', answer)}")
        return answer

    def daemon_status(self) -> dict[str, int]:
        """{"pending": n, "running": n, "finished": n} over every project of the node."""
        answer = self._call("daemonstatus.json")
        return {key: int(answer.get(key, 0)) for key in ("pending", "running", "finished")}

    def list_jobs(self) -> Jobs:
        try:
            answer = self._call("listjobs.json", [("project", self.project)])
        except ScrapydError as exc:
            if "not found" in str(exc):  # nothing deployed yet: no jobs of the project
                return Jobs([], [], [])
            raise
        return Jobs(answer["pending"], answer["running"], answer["finished"])

    def schedule(
        self, spider: str, *, job: str, args: dict[str, str], settings: dict[str, str]
    ) -> str:
        """Queue a crawl; returns its job id."""
        params = [("project", self.project), ("spider", spider), ("jobid", job)]
        params += [("setting", f"{key}={value}") for key, value in settings.items()]
        params += list(args.items())
        return self._call("schedule.json", params, post=True)["jobid"]

    def cancel(self, job: str) -> str | None:
        """Cancel a pending or running job; its previous state ("pending", "running" or None)."""
        answer = self._call("cancel.json", [("project", self.project), ("job", job)], post=True)
        return answer.get("prevstate")
