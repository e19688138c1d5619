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
    from crawler.sites import SiteConfigError, load_site, site_files

    directory = sites_dir()
    rows = []
    try:
        files = site_files(directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in files:
        try:
            config = load_site(path)
        except SiteConfigError as exc:
            rows.append((path.stem, "INVALID", str(path), exc.problems[0]))
        else:
            rows.append((config.name, config.render, str(path), " ".join(config.start_urls)))
    if not rows:
        click.echo(f"No site files in {directory}.")
        return
    click.echo(table(("NAME", "RENDER", "FILE", "START URLS / PROBLEM"), rows))


@sites.command("check")
@click.argument("site", required=False)
def sites_check(site: str | None) -> None:
    """Validate one site (NAME or PATH) or, without an argument, every site file.

    Exits with status 1 when a file has problems; each problem names the file and the key.

    \b
    Example:
      repostwatch sites check settings/sites/new-board.toml
    """
    from crawler.sites import SiteConfigError, load_site, resolve_site, site_files

    directory = sites_dir()
    try:
        paths = [resolve_site(site, directory)] if site else site_files(directory)
    except SiteConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    for path in paths:
        try:
            config = load_site(path)
        except SiteConfigError as exc:
            failed += 1
            click.echo(str(exc), err=True)
        else:
            click.echo(f"{path}: ok ({config.name}, {len(config.start_urls)} start URL(s))")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} site file(s) have problems")
    if not paths:
        click.echo(f"No site files in {directory}.")
