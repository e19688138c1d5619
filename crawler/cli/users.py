"""`repostwatch users`: staff accounts of the review web app."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from crawler.cli.common import cli_username, login_name, open_session, table
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import _, refusal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crawler.db.models import User
    from crawler.db.users import UserView

ROLES = ("monitor", "reviewer", "approver", "admin")


@click.group(cls=TranslatedGroup)
def users() -> None:
    """Staff accounts of the review web app (`repostwatch web`)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError(_("--password-stdin: nothing was read from standard input"))
        return password
    return click.prompt(
        _("Password"), hide_input=True, confirmation_prompt=_("Repeat the password")
    )


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="monitor: crawls and manual URL checks; reviewer: + queue and decisions; "
    "approver: + cases and notices; admin: + audit log and users.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def users_add(username: str, role: str, password_stdin: bool) -> None:
    """Create a staff account; the password is asked twice (or read with --password-stdin).

    Passwords are stored as argon2id hashes only.

    \b
    Example:
      repostwatch users add kim --role reviewer
      printf '%s\\n' "$PASSWORD" | repostwatch users add lee --role admin --password-stdin
    """
    from crawler.db import users as accounts

    password = _read_password(password_stdin)
    try:
        with open_session() as session:
            created = accounts.create_user(session, username, password, role)
            _audit(session, "user_create", created, role=created.role)
    except accounts.UserError as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Created %(name)s (%(role)s).") % {"name": created.username, "role": _(created.role)}
    )


@users.command("list")
def users_list() -> None:
    """List the staff accounts with their role and state.

    \b
    Example:
      repostwatch users list
    """
    from crawler.db import users as accounts

    with open_session() as session:
        found = accounts.list_users(session)
    if not found:
        click.echo(_("No users. Create one with `repostwatch users add NAME --role admin`."))
        return
    rows = [
        (
            u.username,
            u.role,
            "active" if u.active else "disabled",
            u.created_at.strftime("%Y-%m-%d"),
            u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never",
        )
        for u in found
    ]
    click.echo(table(("USER", "ROLE", "STATE", "CREATED", "LAST LOGIN"), rows))


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable an account: it cannot log in and its open sessions end at the next request.

    Accounts are never deleted (the audit log refers to them).

    \b
    Example:
      repostwatch users disable kim
      repostwatch users disable kim --enable
    """
    from crawler.db import users as accounts

    try:
        with open_session() as session:
            changed = accounts.set_disabled(session, username, not enable)
            _audit(session, "user_enable" if enable else "user_disable", changed)
    except accounts.UserNotFound as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        (_("%(name)s is active.") if changed.active else _("%(name)s is disabled."))
        % {"name": changed.username}
    )


@users.command("passwd")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of standard input instead of prompting.",
)
def users_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password for an account; every open session of the account ends.

    Staff change their own password on the web app's Account page.

    \b
    Example:
      repostwatch users passwd kim
      printf '%s\\n' "$PASSWORD" | repostwatch users passwd kim --password-stdin
    """
    from crawler.db import users as accounts

    password = _read_password(password_stdin)
    try:
        with open_session() as session:
            changed = accounts.set_password(session, username, password)
            _audit(session, "password_set", changed)
    except (accounts.UserError, accounts.UserNotFound) as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("New password set for %(name)s; its open sessions have ended.")
        % {"name": changed.username}
    )


@users.command("totp-reset")
@click.argument("username")
def users_totp_reset(username: str) -> None:
    """Forget an account's second factor (TOTP): it enrols again at its next login.

    For a lost phone, or after REPOSTWATCH_SECRET_KEY changed (the stored secrets are encrypted
    with a key derived from it). The account's open sessions end.

    \b
    Example:
      repostwatch users totp-reset kim
    """
    from crawler.db import totp
    from crawler.db import users as accounts

    try:
        with open_session() as session:
            user = totp.reset(session, username)
            _audit(session, "totp_reset", user)
            name = user.username
    except accounts.UserNotFound as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("%(name)s has no second factor now: it enrols again at its next login.") % {"name": name}
    )


def _audit(session: Session, action: str, account: UserView | User, **details: object) -> None:
    """The audit entry of an account command: run by "(cli)" as the OS user, about ``account``."""
    from crawler.db import audit

    audit.record(
        session,
        action,
        username=cli_username(""),
        os_user=login_name() or None,
        target_type="user",
        target_id=account.id,
        details={"username": account.username, **details, "via": "cli"},
    )
