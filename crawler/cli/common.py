"""Helpers the commands share: settings, the database, tables and times, who runs a command.

Each command's own module imports what it needs inside the command, so that
``repostwatch --help`` stays instant and a command loads only what it uses (``notices list``
never imports Scrapy, Alembic or the hashing code); the types below are for annotations only.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.language import _, problem, refusal

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.crawling.process import Settings
    from crawler.db.users import UserView
    from crawler.scheduling.digests import DigestSettings
    from crawler.sites import LoadedSites, SiteConfig, Sites
    from crawler.takedown.fetching import Fetcher
    from crawler.takedown.sending import SmtpConfig


class ProjectSettings:
    """The project settings as the commands read them: the upper-case names of the settings
    module (settings/__init__.py, which reads the environment, once), the very values Scrapy's
    Settings hold, read the way Scrapy reads them. Commands that do not crawl use these, so that
    they never import Scrapy (a third of a second of every command); commands that crawl take
    Scrapy's own (:func:`crawl_settings`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> Any:
        return self._values.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def getint(self, name: str, default: int = 0) -> int:
        return int(self.get(name, default))

    def getfloat(self, name: str, default: float = 0.0) -> float:
        return float(self.get(name, default))


def load_settings() -> ProjectSettings:
    """The project settings (settings/__init__.py and the environment); a setting that cannot
    be used is one clear error. Scrapy is not imported."""
    import importlib

    # The module Scrapy's get_project_settings reads (crawler.crawling.process sets the same).
    module_name = os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "settings")
    try:
        module = importlib.import_module(module_name)
    except ValueError as exc:  # settings/__init__.py names the variable that is wrong
        raise click.ClickException(refusal(exc)) from exc
    return ProjectSettings({name: getattr(module, name) for name in dir(module) if name.isupper()})


def crawl_settings(**overrides: object) -> Settings:
    """Scrapy's project settings, ``overrides`` on top, for the commands that crawl; a setting
    that cannot be used is one clear error."""
    from crawler.crawling.process import SettingsError, project_settings

    try:
        return project_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(refusal(exc)) from exc


def database_url() -> str:
    """REPOSTWATCH_DATABASE_URL."""
    return load_settings().get("REPOSTWATCH_DATABASE_URL")


def sites_dir() -> str:
    """REPOSTWATCH_SITES_DIR."""
    return load_settings().get("REPOSTWATCH_SITES_DIR")


def ready_database(url: str | None = None) -> str:
    """Check that the database answers and is migrated to this code's head; return its URL.

    Every command that reads or writes the database calls this first, so that a wrong URL, a
    server that is down or a missing migration is one clear line, not a traceback.
    """
    from crawler import db
    from crawler.db import migrate
    from crawler.db.session import refuse_missing_sqlite_file

    url = url or database_url()
    try:
        refuse_missing_sqlite_file(url)
        current = migrate.current_revision(url)
    except (db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        raise click.ClickException(refusal(exc)) from exc
    head = migrate.head_revision()
    if current != head:
        if current is None:
            problem = _(
                "the database %(url)s has no tables yet; this code needs revision %(head)s. "
                "Run `repostwatch db upgrade`."
            )
        else:
            problem = _(
                "the database %(url)s is at revision %(current)s; this code needs revision "
                "%(head)s. Run `repostwatch db upgrade`."
            )
        raise click.ClickException(problem % {"url": redact(url), "current": current, "head": head})
    return url


def ready_engine(url: str | None = None) -> Engine:
    """An engine on the database (REPOSTWATCH_DATABASE_URL unless ``url``), checked first by
    :func:`ready_database`. The caller disposes of it."""
    from crawler import db

    return db.make_engine(ready_database(url))


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database error inside becomes one clear line naming the database, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise click.ClickException(
            _("database error at %(url)s: %(error)s") % {"url": redact(url), "error": first}
        ) from exc


@contextmanager
def open_session() -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    from crawler import db

    engine = ready_engine()
    try:
        with database_errors(str(engine.url)), db.make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def database_sessions() -> Iterator[sessionmaker[Session]]:
    """Sessions on the database (checked first), for library calls that open transactions of
    their own; the engine is disposed of after."""
    from crawler import db

    engine = ready_engine()
    try:
        yield db.make_sessionmaker(engine)
    finally:
        engine.dispose()


def configured_sites(settings: Any = None) -> Sites:
    """Where sites are read: the database once it holds any, else the site files
    (crawler.sites.configured_sites, REPOSTWATCH_SITES_SOURCE)."""
    from crawler.sites import configured_sites as configured

    return configured(settings if settings is not None else load_settings())


@contextmanager
def site_errors() -> Iterator[None]:
    """A site that cannot be found or read, or a database that cannot be asked for one, is
    one clear error."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler import db
    from crawler.sites import SiteConfigError

    try:
        yield
    except (SiteConfigError, db.DatabaseURLError, db.DatabaseUnavailable) as exc:
        raise click.ClickException(refusal(exc)) from exc
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise click.ClickException(
            _("cannot read the sites from the database: %(error)s") % {"error": first}
        ) from exc


def all_sites(settings: Any = None) -> LoadedSites:
    """Every site of the configured source (valid or not); errors are one clear line."""
    from crawler.sites import load_sites

    with site_errors():
        return load_sites(configured_sites(settings))


def find_configured_site(name_or_path: str, settings: Any = None) -> SiteConfig:
    """The site NAME of the configured source, or the site file at PATH; one clear error."""
    from crawler.sites import find_site

    with site_errors():
        return find_site(name_or_path, configured_sites(settings))


def valid_sites(settings: Any = None) -> dict[str, SiteConfig]:
    """Every valid site by name; invalid ones are named on stderr and left out."""
    loaded = all_sites(settings)
    for invalid in loaded.invalid:
        click.echo(
            _("skipped: %(problem)s (%(origin)s)")
            % {"problem": problem(invalid.error.problems[0]), "origin": invalid.origin},
            err=True,
        )
    return loaded.sites


def recheck_fetcher(settings: ProjectSettings) -> Fetcher:
    """How re-checks fetch flagged pages and media (`repostwatch recheck` and the scheduler's
    upkeep): a neutral user agent (robots.txt read for the crawl's), a deadline per request
    and the media size limit."""
    from crawler.takedown.fetching import Fetcher

    try:
        return Fetcher(
            user_agent=settings.get("REPOSTWATCH_RECHECK_USER_AGENT"),
            robots_agent=settings.get("USER_AGENT"),
            request_seconds=settings.getfloat("REPOSTWATCH_RECHECK_REQUEST_SECONDS"),
            max_bytes=settings.getint("REPOSTWATCH_MEDIA_MAXSIZE"),
        )
    except ValueError as exc:
        raise click.ClickException(refusal(exc)) from exc


def notice_mail(settings: ProjectSettings) -> tuple[SmtpConfig, str, timedelta]:
    """How notices are sent: the mail server (REPOSTWATCH_SMTP_URL), the sender
    (REPOSTWATCH_NOTICE_FROM) and the time before a reminder (REPOSTWATCH_NOTICE_RESEND_HOURS);
    a setting that cannot be used is one clear error."""
    from crawler.takedown.sending import SmtpConfigError, check_sender, parse_smtp_url

    try:
        smtp = parse_smtp_url(
            settings.get("REPOSTWATCH_SMTP_URL"), ca_file=settings.get("REPOSTWATCH_SMTP_CA_FILE")
        )
        sender = check_sender(settings.get("REPOSTWATCH_NOTICE_FROM"))
    except SmtpConfigError as exc:
        raise click.ClickException(refusal(exc)) from exc
    hours = settings.getfloat("REPOSTWATCH_NOTICE_RESEND_HOURS")
    return smtp, sender, timedelta(hours=hours)


def digest_settings(settings: ProjectSettings) -> DigestSettings:
    """How digests of new flags are sent: links on REPOSTWATCH_WEB_URL, webhooks to
    REPOSTWATCH_DIGEST_WEBHOOK_HOSTS, e-mail through REPOSTWATCH_SMTP_URL (when set) from
    REPOSTWATCH_NOTICE_FROM (unset: this host's address); an SMTP URL that cannot be used is
    one clear error."""
    from crawler.scheduling.alerts import host_sender
    from crawler.scheduling.digests import DigestSettings, parse_hosts
    from crawler.takedown.sending import SmtpConfigError, parse_smtp_url

    smtp = None
    if settings.get("REPOSTWATCH_SMTP_URL"):
        try:
            smtp = parse_smtp_url(
                settings.get("REPOSTWATCH_SMTP_URL"),
                ca_file=settings.get("REPOSTWATCH_SMTP_CA_FILE"),
            )
        except SmtpConfigError as exc:
            raise click.ClickException(refusal(exc)) from exc
    sender = settings.get("REPOSTWATCH_NOTICE_FROM")
    return DigestSettings(
        web_url=settings.get("REPOSTWATCH_WEB_URL"),
        default_locale=settings.get("REPOSTWATCH_LOCALE"),
        webhook_hosts=parse_hosts(settings.get("REPOSTWATCH_DIGEST_WEBHOOK_HOSTS")),
        smtp=smtp,
        sender=sender if sender else host_sender(),
    )


def display_width(text: str) -> int:
    """Terminal columns: wide (CJK, Hangul) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under headers, in columns that line up on a terminal (None prints as nothing)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            value + " " * (widths[i] - display_width(value)) for i, value in enumerate(row)
        ).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def when(moment: datetime | None, *, unset: str = "-", zone: bool = True) -> str:
    """A time from the database (UTC) as the commands print it, "2026-11-25 12:00 UTC"; the
    notice and flag tables leave " UTC" out (``zone=False``) to stay narrow. ``unset`` for None."""
    if moment is None:
        return unset
    return moment.strftime("%Y-%m-%d %H:%M UTC" if zone else "%Y-%m-%d %H:%M")


def plain(value: object) -> object:
    """A record of the library (a dataclass, or what one holds) as JSON carries it: times in
    ISO 8601."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def redact(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    from crawler.db.session import redact_url

    return redact_url(url)


def login_name() -> str:
    """The login name of whoever runs the command ("" when the system cannot tell): the
    default of every ``--by`` option."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def cli_username(name: str | None = None) -> str:
    """Who the audit log names for a command run here: ``(cli) <name>``, by default the login
    name."""
    return f"(cli) {login_name() if name is None else name}".strip()


def staff_account(session: Session, name: str, *, role: str, acting: str) -> UserView:
    """The enabled staff account that ``--by NAME`` names, with ``role`` or above: a decision
    or approval made here is a named, accountable person's, as in the web app. Anything else is
    one clear error saying what to do (``acting``: what the account does, for the message)."""
    from crawler.db import users as accounts

    name = name.strip()
    if not name:
        raise click.UsageError(
            _("say who %(acts)s with --by NAME (a staff account)") % {"acts": _(acting)}
        )
    account = accounts.find_user(session, name)
    said = {"quoted": repr(name), "name": name, "role": role}
    if account is None:
        raise click.ClickException(
            _(
                "--by %(quoted)s is not a staff account; name yours, or have an admin create it "
                "with `repostwatch users add %(name)s --role %(role)s`"
            )
            % said
        )
    if not account.active:
        raise click.ClickException(
            _(
                "--by %(quoted)s: the account is disabled; an admin can enable it with "
                "`repostwatch users disable %(name)s --enable`"
            )
            % said
        )
    if not account.can(role):
        raise click.ClickException(
            _("--by %(quoted)s is a %(held)s: only %(allowed)s %(acts)s; ask one to do it")
            % {**said, "held": _(account.role), "allowed": _a(role), "acts": _(acting)}
        )
    return account


def _a(role: str) -> str:
    """A role with its article and what ranks above it: "an approver (or an admin)"."""
    return {
        "admin": _("an admin"),
        "approver": _("an approver (or an admin)"),
        "reviewer": _("a reviewer (or an admin)"),
        "monitor": _("a monitor (or an admin)"),
    }.get(role, role)


def audit_cli(
    session: Session,
    action: str,
    *,
    target_type: str,
    target_id: object,
    by: UserView | None = None,
    **details: object,
) -> None:
    """Append an audit entry for a command (the review app's audit log sees CLI actions too):
    as ``by`` (the ``--by`` account) when the command names one, with the OS user who ran it."""
    from crawler.db import audit

    audit.record(
        session,
        action,
        user_id=by.id if by is not None else None,
        username=cli_username(by.username if by is not None else None),
        target_type=target_type,
        target_id=target_id,
        details={**details, "via": "cli"},
        os_user=login_name() or None,
    )
