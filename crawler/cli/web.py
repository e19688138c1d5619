"""`repostwatch web`: serve the review web app; make keys for it."""

from __future__ import annotations

import click

from crawler.cli.common import load_settings, ready_database

#: The settings the web app reads (settings/__init__.py reads them from the environment).
WEB_SETTINGS = (
    "REPOSTWATCH_DATABASE_URL",
    "REPOSTWATCH_SECRET_KEY",
    "REPOSTWATCH_WEB_ENV",
    "REPOSTWATCH_EVIDENCE_KEY",
    "REPOSTWATCH_REDIS_URL",
    "REPOSTWATCH_LOGIN_RATE_LIMIT",
    "REPOSTWATCH_REVIEW_BATCH",
    "REPOSTWATCH_CLAIM_MINUTES",
    "REPOSTWATCH_SMTP_URL",
    "REPOSTWATCH_NOTICE_FROM",
    "REPOSTWATCH_NOTICE_RESEND_HOURS",
    "REPOSTWATCH_CHROMIUM",
    "REPOSTWATCH_SITES_DIR",
)


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port, printed at start).",
)
@click.pass_context
def web(ctx: click.Context, host: str, port: int) -> None:
    """Serve the review web app (werkzeug's threaded server; put TLS in front of it).

    Needs REPOSTWATCH_SECRET_KEY (from `repostwatch web keygen`) unless
    REPOSTWATCH_WEB_ENV=development. Create accounts with `repostwatch users add`.

    \b
    Example:
      export REPOSTWATCH_SECRET_KEY="$(repostwatch web keygen --secret)"
      repostwatch web --host 127.0.0.1 --port 8000
    """
    if ctx.invoked_subcommand is not None:
        return
    from werkzeug.serving import make_server

    from crawler.review import ConfigError, create_app

    settings = load_settings()
    config = {name: settings.get(name) for name in WEB_SETTINGS}
    config["REPOSTWATCH_DATABASE_URL"] = ready_database(config["REPOSTWATCH_DATABASE_URL"])
    try:
        app = create_app(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    server = make_server(host, port, app, threaded=True)
    click.echo(f"Serving the review app on http://{host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@web.command("keygen")
@click.option(
    "--secret", "kind", flag_value="secret", help="A REPOSTWATCH_SECRET_KEY (session signing)."
)
@click.option(
    "--evidence",
    "kind",
    flag_value="evidence",
    default=True,
    help="A REPOSTWATCH_EVIDENCE_KEY (Fernet; the default).",
)
def web_keygen(kind: str) -> None:
    """Print a new random key: an evidence key (Fernet) or, with --secret, a session secret.

    Keep keys out of version control; losing the evidence key makes kept evidence unreadable.

    \b
    Example:
      repostwatch web keygen              # REPOSTWATCH_EVIDENCE_KEY
      repostwatch web keygen --secret     # REPOSTWATCH_SECRET_KEY
    """
    if kind == "secret":
        import secrets

        click.echo(secrets.token_urlsafe(48))
        return
    from crawler.db.evidence import new_key

    click.echo(new_key())
