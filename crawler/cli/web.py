"""`repostwatch web`: serve the review web app; make keys for it."""

from __future__ import annotations

import click

from crawler.cli.common import load_settings, ready_database


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

    from crawler.review import CONFIG_KEYS, ConfigError, create_app

    settings = load_settings()
    ready_database(settings.get("REPOSTWATCH_DATABASE_URL"))
    # The app's whole config comes from the project settings; a key they lack stays out, so
    # that create_app names it instead of running on a value nobody chose.
    config = {name: settings[name] for name in CONFIG_KEYS if name in settings}
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
    help="An old symmetric REPOSTWATCH_EVIDENCE_KEY (Fernet; the default). New evidence "
    "is sealed with `repostwatch evidence keygen`'s key pair instead.",
)
def web_keygen(kind: str) -> None:
    """Print a new random key: a session secret (--secret), or an old-style evidence key.

    Evidence is sealed with the key pair of `repostwatch evidence keygen`; the symmetric
    REPOSTWATCH_EVIDENCE_KEY only reads evidence kept before. Keep keys out of version control.

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
