"""`repostwatch digests`: digests of new flags for reviewer groups
(crawler/scheduling/digests.py)."""

from __future__ import annotations

import click

from crawler.cli.common import (
    cli_username,
    database_sessions,
    digest_settings,
    load_settings,
    login_name,
    open_session,
    table,
)
from crawler.cli.helptext import TranslatedGroup
from crawler.cli.language import _, refusal

CHANNELS = ("email", "webhook")
LOCALES = ("ko", "en")


@click.group(cls=TranslatedGroup)
def digests() -> None:
    """Digests of new flags for reviewer groups, by e-mail or webhook.

    A digest holds counts and links to the queue and flag pages on REPOSTWATCH_WEB_URL, never
    media, cases, sites or page URLs. The scheduler sends the due ones on each pass.
    """


@digests.command("add")
@click.argument("name")
@click.option("--email", "emails", multiple=True, help="An address of the group (repeatable).")
@click.option(
    "--webhook",
    default=None,
    help="A URL that gets a JSON POST; its host must be in REPOSTWATCH_DIGEST_WEBHOOK_HOSTS.",
)
@click.option(
    "--every",
    "minutes",
    type=click.IntRange(min=5),
    default=60,
    show_default=True,
    help="Minutes between two digests at most (a digest goes only when there are new flags).",
)
@click.option(
    "--language",
    type=click.Choice(LOCALES),
    default=None,
    help="The digest's language (default: REPOSTWATCH_LOCALE).",
)
def digests_add(
    name: str, emails: tuple[str, ...], webhook: str | None, minutes: int, language: str | None
) -> None:
    """Set up a reviewer group's digest: e-mail addresses or one webhook.

    It counts the flags first seen from now on.

    \b
    Example:
      repostwatch digests add night-shift --email kim@centre.example --email lee@centre.example
      repostwatch digests add chat --webhook https://chat.centre.example/hooks/42 --every 30
    """
    from crawler.db import audit
    from crawler.db import digests as db_digests
    from crawler.scheduling.digests import check_webhook

    if bool(emails) == bool(webhook):
        raise click.UsageError(_("give --email (one or more) or --webhook, not both"))
    if webhook:
        hosts = digest_settings(load_settings()).webhook_hosts
        try:
            check_webhook(webhook, hosts)
        except ValueError as exc:
            raise click.ClickException(refusal(exc)) from exc
    try:
        with open_session() as session:
            created = db_digests.add_subscription(
                session,
                name,
                "webhook" if webhook else "email",
                webhook or ", ".join(emails),
                interval_minutes=minutes,
                locale=language,
                created_by=cli_username(),
            )
            audit.record(
                session,
                "digest_add",
                username=cli_username(""),
                os_user=login_name() or None,
                target_type="digest",
                target_id=created.id,
                details={"group": created.name, "channel": created.channel, "via": "cli"},
            )
    except db_digests.DigestError as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        _("Digest group %(group)s: %(channel)s every %(minutes)d min.")
        % {
            "group": created.name,
            "channel": _(created.channel),
            "minutes": created.interval_minutes,
        }
    )


@digests.command("list")
def digests_list() -> None:
    """List the groups: channel, target, interval, last digest and last error.

    \b
    Example:
      repostwatch digests list
    """
    from crawler.db import digests as db_digests

    with open_session() as session:
        found = db_digests.list_subscriptions(session)
    if not found:
        click.echo(
            _("No digest groups. Set one up with `repostwatch digests add NAME --email ...`.")
        )
        return
    rows = [
        (
            s.name,
            s.channel,
            s.target,
            s.locale or "(default)",
            f"{s.interval_minutes} min",
            "active" if s.active else "disabled",
            s.last_sent_at.strftime("%Y-%m-%d %H:%M") if s.last_sent_at else "never",
            s.last_error or "",
        )
        for s in found
    ]
    headers = ("GROUP", "CHANNEL", "TO", "LANGUAGE", "EVERY", "STATE", "LAST SENT", "LAST ERROR")
    click.echo(table(headers, rows))


@digests.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Resume the group's digests instead.")
def digests_disable(name: str, enable: bool) -> None:
    """Stop a group's digests (kept, never deleted); --enable resumes them with what was missed.

    \b
    Example:
      repostwatch digests disable night-shift
      repostwatch digests disable night-shift --enable
    """
    from crawler.db import audit
    from crawler.db import digests as db_digests

    try:
        with open_session() as session:
            changed = db_digests.set_disabled(session, name, not enable)
            audit.record(
                session,
                "digest_enable" if enable else "digest_disable",
                username=cli_username(""),
                os_user=login_name() or None,
                target_type="digest",
                target_id=changed.id,
                details={"group": changed.name, "via": "cli"},
            )
    except db_digests.DigestNotFound as exc:
        raise click.ClickException(refusal(exc)) from exc
    click.echo(
        (
            _("Digest group %(name)s is active.")
            if changed.active
            else _("Digest group %(name)s is disabled.")
        )
        % {"name": changed.name}
    )


@digests.command("send")
@click.option("--group", default=None, help="Only this group's digest.")
def digests_send(group: str | None) -> None:
    """Send the due digests now (what the scheduler does on each pass); one that fails is
    tried again later.

    \b
    Example:
      repostwatch digests send
      repostwatch digests send --group night-shift
    """
    from crawler.scheduling.digests import send_due

    settings = digest_settings(load_settings())
    with database_sessions() as sessions:
        results = send_due(sessions, settings, by=cli_username(), only=group)
    failed = 0
    for sent in results:
        if sent.error:
            failed += 1
            click.echo(
                _("%(group)s: not sent (%(error)s); tried again later")
                % {"group": sent.group, "error": sent.error}
            )
        elif sent.busy:
            click.echo(_("%(group)s: being sent by another process") % {"group": sent.group})
        elif sent.flags:
            click.echo(
                _("%(group)s: sent, %(num)d new flag(s)") % {"group": sent.group, "num": sent.flags}
            )
        else:
            click.echo(_("%(group)s: no new flags") % {"group": sent.group})
    if not results:
        click.echo(_("no digest due"))
    if failed:
        raise click.ClickException(_("%(num)d digest(s) not sent") % {"num": failed})
