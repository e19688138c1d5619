"""`repostwatch evidence`: the keys that seal found media as evidence."""

from __future__ import annotations

import click


@click.group()
def evidence() -> None:
    """Evidence keys: crawls seal found media with a public key, only the web app opens it."""


@evidence.command("keygen")
def evidence_keygen() -> None:
    """Print a new key pair, as two lines for an environment file.

    Give REPOSTWATCH_EVIDENCE_PUBLIC_KEY to the crawls (scrapyd nodes, `repostwatch crawl`): it
    can seal evidence but not open it. Give REPOSTWATCH_EVIDENCE_PRIVATE_KEY to the web app only,
    and keep a copy offline: losing it makes every kept evidence unreadable.

    \b
    Example:
      repostwatch evidence keygen > evidence.env && chmod 600 evidence.env
    """
    from crawler.db.evidence import new_key_pair

    public, private = new_key_pair()
    click.echo(f"REPOSTWATCH_EVIDENCE_PUBLIC_KEY={public}")
    click.echo(f"REPOSTWATCH_EVIDENCE_PRIVATE_KEY={private}")
