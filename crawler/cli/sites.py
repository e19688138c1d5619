"""`repostwatch sites`: list, validate, import and export sites (the database, or site files)."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import (
    all_sites,
    cli_username,
    configured_sites,
    crawl_settings,
    find_configured_site,
    login_name,
    open_session,
    site_errors,
    sites_dir,
    table,
)
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import _, problem, refusal


# --- sites ----------------------------------------------------------------------------------
@click.group(cls=TranslatedGroup)
def sites() -> None:
    """List, validate, try, import and export sites.

    Sites live in the database once it holds any (`sites import`, the web app's site editor;
    `db upgrade` imports the bundled settings/sites/ files it lacks); until then, and with no
    database configured, the site files of REPOSTWATCH_SITES_DIR are read.
    """


@sites.command("list")
def sites_list() -> None:
    """List the sites with their start URLs and where each is read from; invalid ones are marked.

    \b
    Example:
      repostwatch sites list
    """
    loaded = all_sites()
    rows = [
        (f.name, "INVALID", f.origin, problem(f.error.problems[0]))
        if f.config is None
        else (f.name, f.config.render, f.origin, " ".join(f.config.start_urls))
        for f in loaded.files
    ]
    if not rows:
        click.echo(_("No sites in %(origin)s.") % {"origin": loaded.origin})
        return
    click.echo(_("Sites from %(origin)s:") % {"origin": loaded.origin})
    click.echo(table(("NAME", "RENDER", "FROM", "START URLS / PROBLEM"), rows))


@sites.command("check")
@click.argument("site", required=False)
def sites_check(site: str | None) -> None:
    """Validate one site (NAME, or the PATH of a site file) or, without an argument, every site.

    Exits with status 1 when a site has problems; each problem names the file (or
    database:NAME) and the key. A start URL on a private network (loopback, LAN) is a problem
    unless the site sets allow_private_network = true.

    \b
    Example:
      repostwatch sites check settings/sites/new-board.toml
      repostwatch sites check new-board
    """
    from crawler.sites import (
        LoadedSites,
        SiteConfigError,
        find_site,
        is_site_path,
        load_file,
        load_sites,
    )
    from crawler.sites.private import private_urls

    if site and is_site_path(site):
        with site_errors():
            if not Path(site).is_file():
                raise SiteConfigError(site, ["file not found"])
        loaded = LoadedSites((load_file(Path(site)),), origin=site)
    elif site:
        source = configured_sites()
        with site_errors():
            every = load_sites(source)
            matches = tuple(f for f in every.files if f.name == site)
            if not matches:
                find_site(site, source)  # raises, naming the known sites
        loaded = LoadedSites(matches, origin=every.origin)
    else:
        loaded = all_sites()
    failed = 0
    for f in loaded.files:
        problems = [f.error] if f.config is None else private_urls(f.config)
        for found in problems:
            click.echo(refusal(found) if f.config is None else problem(found), err=True)
        if problems:
            failed += 1
        else:
            click.echo(
                _("%(origin)s: ok (%(site)s, %(num)d start URL(s))")
                % {"origin": f.origin, "site": f.config.name, "num": len(f.config.start_urls)}
            )
    if failed:
        raise click.ClickException(
            _("%(failed)d of %(num)d site(s) have problems")
            % {"failed": failed, "num": len(loaded.files)}
        )
    if not loaded.files:
        click.echo(_("No sites in %(origin)s.") % {"origin": loaded.origin})


@sites.command("try")
@click.argument("site", metavar="NAME|PATH")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds the try may crawl (default: REPOSTWATCH_SITE_TRY_SECONDS).",
)
@click.option("--loglevel", "-L", default=None, help="Show the crawl's log at this level.")
def sites_try(site: str, time_limit: float | None, loglevel: str | None) -> None:
    """Try a site before crawling it: fetch its start pages once, as its crawl would (the
    private-network guard, robots.txt, its user agent, HTML or the browser), and print the
    media found on each (with their kind) and the links its follow rules would follow.

    Nothing is stored, hashed or matched: no crawl run, no flag, no media. The try runs in a
    worker process stopped after the time limit. Exits with status 1 when a start page could
    not be read or the try did not finish.

    \b
    Example:
      repostwatch sites try settings/sites/new-board.toml
      repostwatch sites try new-board --time-limit 60
    """
    from crawler.sites.trying import try_site

    settings = crawl_settings()
    config = find_configured_site(site, settings)
    limit = time_limit or settings.getfloat("REPOSTWATCH_SITE_TRY_SECONDS")
    click.echo(
        (
            _(
                "Trying %(site)s: %(render)s, robots.txt obeyed, user agent %(agent)s, "
                "at most %(limit)s s"
            )
            if config.obey_robots
            else _(
                "Trying %(site)s: %(render)s, robots.txt not obeyed, user agent %(agent)s, "
                "at most %(limit)s s"
            )
        )
        % {
            "site": config.name,
            "render": config.render,
            "agent": repr(config.user_agent or settings.get("USER_AGENT")),
            "limit": f"{limit:g}",
        }
    )
    result = try_site(
        config,
        time_limit=limit,
        log_level=(loglevel or "WARNING").upper(),
        show_log=loglevel is not None,
    )
    _print_try(result)
    if not result.ok:
        raise click.ClickException(
            _("the try of %(site)s %(problem)s")
            % {
                "site": config.name,
                "problem": problem(result.problem)
                or _("could not read every start page; see above"),
            }
        )


def _print_try(result) -> None:
    for warning in result.warnings:
        click.echo(_("warning: %(problem)s") % {"problem": problem(warning)}, err=True)
    for page in result.pages:
        said = _("Page %(url)s (embedded in %(page)s)") if page.embedded_in else _("Page %(url)s")
        click.echo("\n" + said % {"url": page.url, "page": page.embedded_in})
        click.echo("  " + _("media found: %(num)d") % {"num": len(page.media)})
        for media in page.media:
            click.echo(f"    {media.kind:<8} {media.url}")
        for preview in page.previews:
            click.echo(f"    {preview.kind:<8} {preview.url} " + _("(preview)"))
        click.echo("  " + _("links it would follow: %(num)d") % {"num": len(page.follow)})
        for url in page.follow:
            click.echo(f"    {url}")
    for url, why in result.failed:
        click.echo(
            "\n" + _("Not read: %(url)s: %(why)s") % {"url": url, "why": problem(why)}, err=True
        )
    if result.private_refusals:
        click.echo(
            _(
                "%(num)d request(s) refused: on a private network. A site on a private network "
                "must set allow_private_network = true (README: Site files)."
            )
            % {"num": result.private_refusals},
            err=True,
        )
    if result.refused:
        refused = ", ".join(f"{reason} {count}" for reason, count in sorted(result.refused.items()))
        click.echo(_("Refused: %(refused)s") % {"refused": refused})
    click.echo(
        "\n"
        + _(
            "%(pages)d page(s) read, %(media)d media found, %(links)d link(s) to follow. "
            "Nothing was stored, hashed or matched."
        )
        % {
            "pages": len(result.pages),
            "media": result.media,
            "links": sum(len(p.follow) for p in result.pages),
        }
    )


@sites.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def sites_import(paths: tuple[Path, ...]) -> None:
    """Validate site files and save each into the database as its site's next version.

    A file is checked exactly as `sites check` checks it; one with problems is not saved (each
    problem names the file and the key) and the others still are. A file the same as the stored
    site saves nothing. Every save is in the audit log. The database is then the one source of
    sites: scrapyd jobs and the scheduler read the new version at their next crawl.

    \b
    Example:
      repostwatch sites import settings/sites/*.toml
      repostwatch sites import ~/new-board.toml
    """
    from crawler.db.sites import stored_sites
    from crawler.site_store import Who, import_files

    who = Who(cli_username(), via="cli", os_user=login_name() or None)
    with open_session() as session:
        report = import_files(session, paths, who)
        stored = {site.name for site in stored_sites(session)}
    left = _files_left_behind(stored)
    if left:
        click.echo(
            _(
                "note: sites are now read from the database only; these site files of "
                "%(dir)s are not in it and no longer crawled: %(files)s (import them too)"
            )
            % {"dir": sites_dir(), "files": ", ".join(left)},
            err=True,
        )
    for saved in report.saved:
        click.echo(
            _("%(site)s: saved as version %(version)d")
            % {"site": saved.name, "version": saved.version}
        )
    for name in report.unchanged:
        click.echo(_("%(site)s: unchanged (the database has the same text)") % {"site": name})
    for warning in report.warnings:
        click.echo(_("warning: %(problem)s") % {"problem": problem(warning)}, err=True)
    for error in report.refused:
        click.echo(refusal(error), err=True)
    if report.refused:
        raise click.ClickException(
            _("%(refused)d of %(num)d file(s) not imported; fix them and import them again")
            % {"refused": len(report.refused), "num": len(paths)}
        )


def _files_left_behind(stored: set[str]) -> list[str]:
    """The site files of REPOSTWATCH_SITES_DIR whose site the database lacks (unread now)."""
    from crawler.sites import SiteConfigError, site_files

    if not stored:
        return []
    try:
        names = [path.stem for path in site_files(sites_dir())]
    except SiteConfigError:  # no such directory: nothing left behind
        return []
    return [name for name in names if name not in stored]


@sites.command("export")
@click.argument("names", nargs=-1)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write NAME.toml files here (made if needed; a file of the same name is replaced) "
    "instead of printing one site.",
)
def sites_export(names: tuple[str, ...], directory: Path | None) -> None:
    """Write sites from the database as TOML, exactly as saved (an import gives them back).

    Without NAME every site is exported (with --dir); without --dir one site is printed.

    \b
    Example:
      repostwatch sites export board > board.toml
      repostwatch sites export --dir ./sites-backup
    """
    from crawler.db.sites import stored_sites

    with open_session() as session:
        found = {site.name: site for site in stored_sites(session)}
    unknown = [name for name in names if name not in found]
    if unknown:
        known = ", ".join(sorted(found)) or _("none; import some with `repostwatch sites import`")
        raise click.ClickException(
            _("no site named %(names)s in the database (known sites: %(known)s)")
            % {"names": ", ".join(map(repr, unknown)), "known": known}
        )
    chosen = [found[name] for name in names] if names else list(found.values())
    if directory is None:
        if len(chosen) != 1:
            raise click.UsageError(
                _("name one site to print it, or give --dir DIR to write %(num)d site(s) as files")
                % {"num": len(chosen)}
            )
        click.echo(chosen[0].toml, nl=False)
        return
    directory.mkdir(parents=True, exist_ok=True)
    for site in chosen:
        path = directory / f"{site.name}.toml"
        path.write_text(site.toml, encoding="utf-8")
        click.echo(
            _("%(path)s: version %(version)d of %(site)s")
            % {"path": path, "version": site.version, "site": site.name}
        )
    if not chosen:
        click.echo(_("No sites in the database."))


# --- domain moves ---------------------------------------------------------------------------
@sites.command("moves")
@click.option(
    "--all", "show_all", is_flag=True, help="Adopted and dismissed moves too (default: proposed)."
)
def sites_moves(show_all: bool) -> None:
    """List domain moves: sites whose pages redirected to another domain, or whose start URLs
    died while a successor URL answered. Adopt one with `sites adopt-move ID`, or dismiss it.

    \b
    Example:
      repostwatch sites moves
      repostwatch sites moves --all
    """
    from crawler.db.domain_moves import moves

    with open_session() as session:
        found = moves(session, state=None if show_all else "proposed")
    if not found:
        click.echo(_("No domain moves.") if show_all else _("No proposed domain moves."))
        return
    rows = [
        (
            move.id,
            move.site,
            move.old_domain,
            move.new_domain,
            move.kind,
            move.state,
            f"{move.seen_at:%Y-%m-%d %H:%M} UTC ({move.times_seen}x)",
            move.evidence,
        )
        for move in found
    ]
    headers = ("ID", "SITE", "FROM", "TO", "SEEN BY", "STATE", "LAST SEEN", "EVIDENCE")
    click.echo(table(headers, rows))


@sites.command("adopt-move")
@click.argument("move_id", type=int)
def sites_adopt_move(move_id: int) -> None:
    """Adopt domain move ID: every host on the old domain in the site's definition (start URLs,
    allowed domains, search URLs) moves to the new domain, saved as a new version of the same
    site (its runs, flags and notices stay its own), audited.

    \b
    Example:
      repostwatch sites moves
      repostwatch sites adopt-move 3
    """
    from crawler.db.domain_moves import MoveNotOpen
    from crawler.site_store import MoveNotAdoptable, Who, adopt_move

    who = Who(cli_username(), via="cli", os_user=login_name() or None)
    try:
        with open_session() as session:
            move, saved = adopt_move(session, move_id, who)
    except (MoveNotOpen, MoveNotAdoptable) as exc:
        raise click.ClickException(refusal(exc)) from None
    click.echo(
        _("%(site)s: moved from %(old)s to %(new)s, saved as version %(version)d")
        % {
            "site": move.site,
            "old": move.old_domain,
            "new": move.new_domain,
            "version": saved.version,
        }
    )


@sites.command("dismiss-move")
@click.argument("move_id", type=int)
def sites_dismiss_move(move_id: int) -> None:
    """Dismiss domain move ID (the site is left as it is); seen again, it stays dismissed.

    \b
    Example:
      repostwatch sites dismiss-move 3
    """
    from crawler.db.domain_moves import MoveNotOpen
    from crawler.site_store import Who, dismiss_move

    who = Who(cli_username(), via="cli", os_user=login_name() or None)
    try:
        with open_session() as session:
            move = dismiss_move(session, move_id, who)
    except MoveNotOpen as exc:
        raise click.ClickException(refusal(exc)) from None
    click.echo(
        _("%(site)s: move from %(old)s to %(new)s dismissed")
        % {"site": move.site, "old": move.old_domain, "new": move.new_domain}
    )
