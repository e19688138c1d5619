"""The hostile corpus's vocabulary: a case, and the small sites cases are made of.

The cases themselves are in :mod:`benchmarks.reliability.corpus_media` (media bombs,
truncated and lying files) and :mod:`benchmarks.reliability.corpus_pages` (parser bombs,
drip-feeds, redirects, traps, legacy encodings, the browser guard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.reliability.hostile_server import Answer, page, redirect

#: Default bound on a case's crawl, start-up included.
SECONDS = 90


@dataclass
class Case:
    name: str
    category: str
    #: Routes of the site, given the canary's base URL ("/" is the start page).
    routes: Callable[[str], dict[str, Answer]]
    #: A stat (RepostWatch's name without ``repostwatch/``, or Scrapy's) that must be > 0, or
    #: several separated by "|" (any one).
    expect: str
    render: str = "html"
    seconds: float = SECONDS
    #: Exit statuses that are right for this case (1: the crawl found no page, as documented).
    exits: tuple[int, ...] = (0,)


def media_page(path: str, body, content_type: str, tag: str = "img") -> Callable:
    """A page showing one media file; ``body`` is its bytes or a function making them (the
    expensive bombs are made only when their case runs)."""
    markup = f'<{tag} src="{path}"></{tag}>' if tag == "video" else f'<img src="{path}">'

    def routes(canary: str) -> dict[str, Answer]:
        return {
            "/": page(f"<!doctype html><title>media</title>{markup}"),
            path: Answer(body() if callable(body) else body, content_type),
        }

    return routes


def page_only(answer: Answer | Callable[[str], Answer]) -> Callable:
    def routes(canary: str) -> dict[str, Answer]:
        return {"/": answer(canary) if callable(answer) else answer}

    return routes


def html(text: str, **options) -> Callable:
    return page_only(lambda canary: page(text.replace("CANARY", canary), **options))


def media_page_headers(path, body, content_type, headers, claimed_length=None) -> Callable:
    def routes(canary: str) -> dict[str, Answer]:
        return {
            "/": page(f'<!doctype html><img src="{path}">'),
            path: Answer(
                body() if callable(body) else body,
                content_type,
                headers=headers,
                claimed_length=claimed_length,
            ),
        }

    return routes


def calendar(canary: str) -> dict[str, Answer]:
    routes = {"/": redirect("/cal/2024/1")}
    for year in range(2024, 2060):
        for month in range(1, 13):
            nxt = (year + month // 12, month % 12 + 1)
            routes[f"/cal/{year}/{month}"] = page(
                f'<a href="/cal/{nxt[0]}/{nxt[1]}">next</a><a href="/cal/{year - 1}/{month}">p</a>'
            )
    return routes


def session_ids(canary: str) -> dict[str, Answer]:
    routes = {}
    for i in range(400):
        routes["/" if i == 0 else f"/?sid={i}"] = page(
            f'<a href="/?sid={i + 1}">more</a><a href="/list?sid={i + 1}&p=1">l</a>'
        )
    return routes


def repeated_segments(canary: str) -> dict[str, Answer]:
    routes, path = {}, "/"
    for _ in range(60):
        routes[path] = page('<a href="a/">deeper</a>')
        path += "a/"
    return routes
