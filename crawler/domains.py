"""Registrable domains: what a site "is" when it moves from one domain to another.

A repost site blocked under ``site12.example`` comes back as ``site13.example`` or under a new
name; a redirect from ``www.board.co.kr`` to ``m.board.co.kr`` is the same site. The
registrable domain (the public suffix plus one label: ``board.co.kr``, ``user.github.io``)
tells the two apart. The suffixes come from tldextract (already in the tree through Scrapy),
read from the snapshot it ships: never fetched over the network. A host with no known public
suffix (an IP address, ``localhost``, ``site12.example``) is its own registrable domain.

Pure: standard library and tldextract.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

import tldextract


@cache
def _extract() -> tldextract.TLDExtract:
    # suffix_list_urls=(): the bundled snapshot only, no download; private suffixes
    # (github.io, blogspot.com) count, so two users' pages are two domains.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


def registrable_domain(host: str) -> str:
    """``host``'s registrable domain, lowercase (the host itself when no suffix is known)."""
    host = host.strip().lower().rstrip(".")
    if not host:
        return ""
    found = _extract()(host)
    if found.suffix and found.domain:
        return f"{found.domain}.{found.suffix}"
    return host


def url_domain(url: str) -> str:
    """The registrable domain of ``url``'s host ("" for a URL without one)."""
    return registrable_domain(urlsplit(url).hostname or "")


def on_domains(host: str, domains: list[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (a site's allowed domains)."""
    host = host.lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def rewrite_domain(
    text: str, old_domain: str, new_domain: str, hosts: dict[str, str] | None = None
) -> str:
    """``text`` (a site's TOML) with every host on ``old_domain`` moved to ``new_domain``,
    keeping its subdomain and port: ``https://www.old.example:8080/`` becomes
    ``https://www.new.example:8080/``, ``"old.example"`` becomes ``"new.example"`` (and a
    successor URL's ``site{n}.old.example`` becomes ``site{n}.new.example``); a host named in
    ``hosts`` (lowercase) becomes the host given there instead (the start URL's host becomes the
    host that answered: ``www.board12.example`` to ``board-mirror.example``). Only whole host
    names match (``bold.example`` and ``old.example.net`` are left alone); regular expressions
    (``old\\.example``) are not host names and are left too."""
    pattern = re.compile(
        r"(?<![A-Za-z0-9.{}-])(?P<sub>(?:[A-Za-z0-9{}-]+\.)*)"
        + re.escape(old_domain)
        + r"(?![A-Za-z0-9-])(?!\.[A-Za-z0-9])",
        re.IGNORECASE,
    )
    exact = hosts or {}

    def moved(found: re.Match[str]) -> str:
        return exact.get(found.group(0).lower(), f"{found.group('sub')}{new_domain}")

    return pattern.sub(moved, text)
