"""Validate, then store: the one way a site's TOML text reaches the database.

``crawler.sites`` validates (the same validator and messages as a site file's) and
``crawler.db.sites`` stores text; this module puts the two together for `sites import`,
`db upgrade` (the bundled site files, when absent), the web app's site editor and adopting a
domain move. Every save is a new version of the site and an audit log entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from crawler.db import domain_moves as moves
from crawler.db import sites as stored
from crawler.domains import on_domains, rewrite_domain
from crawler.problems import N_, Problem
from crawler.sites import SiteConfig, SiteConfigError, parse_site, read_site_file, site_files
from crawler.sites.private import private_urls


@dataclass(frozen=True)
class Who:
    """Who saves, for the audit log: the name it shows, and where the save came from."""

    name: str
    via: str  # "cli", "web", "db upgrade"
    user_id: int | None = None
    os_user: str | None = None
    ip: str | None = None


@dataclass
class ImportReport:
    """What an import did with each file: saved (a new version), unchanged, skipped (the
    database already had the site, on `db upgrade`) or refused (with the error naming the
    file, the key and the problem)."""

    saved: list[stored.SavedSite] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[SiteConfigError] = field(default_factory=list)
    #: Saved, but crawls will refuse part of it: start or search URLs on a private network
    #: without allow_private_network (what `sites check` reports).
    warnings: list[str] = field(default_factory=list)


def save_text(
    session: Session,
    text: str,
    who: Who,
    *,
    name: str = "",
    source: Path | str = "<site>",
    expected_version: int | None = None,
    only_if_absent: bool = False,
) -> tuple[SiteConfig, stored.SavedSite]:
    """Validate ``text`` (raising SiteConfigError that names ``source``, the key and the problem)
    and save it as the next version of its site. ``name``: the site being edited, which the
    text must keep; ``expected_version``: see :func:`crawler.db.sites.save_site`."""
    config = parse_site(text, source, name=name)
    saved = stored.save_site(
        session,
        config.name,
        text,
        by=who.name,
        expected_version=expected_version,
        user_id=who.user_id,
        os_user=who.os_user,
        ip=who.ip,
        via=who.via,
        only_if_absent=only_if_absent,
    )
    return config, saved


def import_files(
    session: Session, paths: Iterable[Path | str], who: Who, *, only_if_absent: bool = False
) -> ImportReport:
    """Validate and save each site file of ``paths``; a file that does not validate is refused
    and the others are still saved. The file is read once: the text validated is the text
    stored, byte for byte (an export gives it back)."""
    report = ImportReport()
    for path in map(Path, paths):
        try:
            text = read_site_file(path)
            # The file's own checks too: its name matches the file name.
            config, saved = save_text(
                session, text, who, source=path, only_if_absent=only_if_absent
            )
        except SiteConfigError as exc:
            report.refused.append(exc)
            continue
        report.warnings.extend(private_urls(config))
        if saved.changed:
            report.saved.append(saved)
        elif only_if_absent:
            report.skipped.append(saved.name)
        else:
            report.unchanged.append(saved.name)
    return report


def import_bundled(session: Session, sites_dir: Path | str, who: Who) -> ImportReport:
    """Import the site files of ``sites_dir`` (by default the bundled settings/sites/) the
    database has no definition of yet; a site already there is never overwritten."""
    try:
        paths = site_files(sites_dir)
    except SiteConfigError as exc:
        return ImportReport(refused=[exc])
    return import_files(session, paths, who, only_if_absent=True)


class MoveNotAdoptable(ValueError):
    """The site's definition cannot be moved to the new domain (the error says why)."""


def adopt_move(session: Session, move_id: int, who: Who) -> tuple[moves.MoveView, stored.SavedSite]:
    """Adopt the proposed domain move ``move_id``: the site's definition with every host on the
    old domain moved to the new one (start URLs, allowed domains, search URLs; the first start
    URL's host becomes the host seen on the new domain, others keep their subdomain), validated and
    saved as the next version of the same site (its runs, flags and notices stay its own), and
    the move marked adopted; both audited, in the caller's transaction."""
    move = moves.open_move(session, move_id)
    site = stored.stored_site(session, move.site)
    if site is None:
        raise MoveNotAdoptable(
            Problem(
                N_(
                    "site %(site)s has no definition in the database; import it first "
                    "(`repostwatch sites import FILE`)"
                ),
                {"site": repr(move.site)},
            )
        )
    text = rewrite_domain(site.toml, move.old_domain, move.new_domain, _moved_host(site, move))
    if text == site.toml:
        raise MoveNotAdoptable(
            Problem(
                N_(
                    "site %(site)s names no host on %(domain)s any more (edited since the move "
                    "was seen?); edit the site by hand or dismiss the move"
                ),
                {"site": repr(move.site), "domain": move.old_domain},
            )
        )
    try:
        _, saved = save_text(
            session, text, who, name=move.site, source=move.site, expected_version=site.version
        )
    except SiteConfigError as exc:
        first, *others = exc.problems
        problem = first if not others else str(exc).removeprefix(f"{exc.path}: ")
        raise MoveNotAdoptable(
            Problem(
                N_("the moved definition does not validate: %(site)s: %(problem)s"),
                {"site": exc.path, "problem": problem},
            )
        ) from None
    decided = moves.decide(
        session,
        move_id,
        "adopted",
        by=who.name,
        user_id=who.user_id,
        os_user=who.os_user,
        ip=who.ip,
        via=who.via,
        details={"version": saved.version},
    )
    return decided, saved


def _moved_host(site: stored.StoredSite, move: moves.MoveView) -> dict[str, str]:
    """The first start URL's host on the old domain, mapped to the host seen on the new one
    (other hosts on the old domain keep their subdomain)."""
    new_host = (urlsplit(move.new_url).hostname or "").lower()
    try:
        starts = parse_site(site.toml, site.name).start_urls
    except SiteConfigError:
        return {}
    for url in starts:
        host = (urlsplit(url).hostname or "").lower()
        if new_host and on_domains(host, [move.old_domain]):
            return {host: new_host}
    return {}


def dismiss_move(session: Session, move_id: int, who: Who) -> moves.MoveView:
    """Dismiss the proposed domain move ``move_id`` (audited); seen again, it stays dismissed."""
    return moves.decide(
        session,
        move_id,
        "dismissed",
        by=who.name,
        user_id=who.user_id,
        os_user=who.os_user,
        ip=who.ip,
        via=who.via,
    )
