"""`repostwatch sites`: list and validate site files."""

from __future__ import annotations

import click

from crawler.cli.common import sites_dir, table


# --- sites ----------------------------------------------------------------------------------
@click.group()
def sites() -> None:
    """List and validate site files (settings/sites/NAME.toml)."""


@sites.command("list")
def sites_list() -> None:
    """List the site files with their start URLs; invalid files are marked.

    \b
    Example:
      REPOSTWATCH_SITES_DIR=/etc/repostwatch/sites repostwatch sites list
    """
    from crawler.sites import SiteConfigError, load_sites

    directory = sites_dir()
    try:
        loaded = load_sites(directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [
        (f.path.stem, "INVALID", str(f.path), f.error.problems[0])
        if f.config is None
        else (f.config.name, f.config.render, str(f.path), " ".join(f.config.start_urls))
        for f in loaded.files
    ]
    if not rows:
        click.echo(f"No site files in {directory}.")
        return
    click.echo(table(("NAME", "RENDER", "FILE", "START URLS / PROBLEM"), rows))


@sites.command("check")
@click.argument("site", required=False)
def sites_check(site: str | None) -> None:
    """Validate one site (NAME or PATH) or, without an argument, every site file.

    Exits with status 1 when a file has problems; each problem names the file and the key. A
    start URL on a private network (loopback, LAN) is a problem unless the site file sets
    allow_private_network = true.

    \b
    Example:
      repostwatch sites check settings/sites/new-board.toml
    """
    from crawler.sites import (
        LoadedSites,
        SiteConfigError,
        SiteFile,
        load_site,
        load_sites,
        resolve_site,
    )
    from crawler.sites.private import private_urls

    directory = sites_dir()
    try:
        if site:
            path = resolve_site(site, directory)
            try:
                loaded = LoadedSites((SiteFile(path, config=load_site(path)),))
            except SiteConfigError as exc:
                loaded = LoadedSites((SiteFile(path, error=exc),))
        else:
            loaded = load_sites(directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    for f in loaded.files:
        problems = [str(f.error)] if f.config is None else private_urls(f.config)
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            failed += 1
        else:
            click.echo(f"{f.path}: ok ({f.config.name}, {len(f.config.start_urls)} start URL(s))")
    if failed:
        raise click.ClickException(f"{failed} of {len(loaded.files)} site file(s) have problems")
    if not loaded.files:
        click.echo(f"No site files in {directory}.")
