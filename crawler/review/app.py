"""The app factory: configuration, security (sessions, CSRF, rate limits, headers), blueprints.

Every route refuses anonymous users except the login page and static files: the check is one
``before_request`` hook, so blueprints added later (takedown notices, cases) are covered without
remembering a decorator. Roles are checked per view with :func:`crawler.review.web.requires`.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from crawler.db import evidence as evidence_store
from crawler.db import make_engine, make_sessionmaker, totp, users
from crawler.db.session import redact_url
from crawler.review import i18n, uploads, web
from crawler.review.backoff import LoginBackoff

logger = logging.getLogger(__name__)

#: The app's areas, by dotted path to a Blueprint, in menu order. A new area (notices, cases,
#: dashboard) is a module with a ``bp`` Blueprint, and optionally ``NAV``: menu entries as
#: (endpoint, label, lowest role); add it here. Every route is behind the login automatically.
BLUEPRINTS = (
    "crawler.review.auth:bp",
    "crawler.review.queue:bp",
    "crawler.review.flags:bp",
    "crawler.review.notices:bp",
    "crawler.review.cases:bp",
    "crawler.review.casework:bp",
    "crawler.review.dashboard:bp",
    "crawler.review.crawls:bp",
    "crawler.review.checks:bp",
    "crawler.review.sites:bp",
    "crawler.review.admin:bp",
    "crawler.review.account:bp",
)
#: Endpoints an anonymous visitor may reach; every other one redirects to the login page.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.second_factor", "static"})
#: Every setting the app reads, each required (settings/__init__.py holds their defaults and the
#: README documents them): ``create_app`` names any that its config lacks.
CONFIG_KEYS = (
    "REPOSTWATCH_DATABASE_URL",
    "REPOSTWATCH_SECRET_KEY",
    "REPOSTWATCH_WEB_ENV",
    "REPOSTWATCH_EVIDENCE_PRIVATE_KEY",
    "REPOSTWATCH_EVIDENCE_KEY",
    "REPOSTWATCH_REDIS_URL",
    "REPOSTWATCH_LOGIN_RATE_LIMIT",
    "REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT",
    "REPOSTWATCH_TRUSTED_PROXIES",
    "REPOSTWATCH_REVIEW_BATCH",
    "REPOSTWATCH_CLAIM_MINUTES",
    "REPOSTWATCH_SMTP_URL",
    "REPOSTWATCH_SMTP_CA_FILE",
    "REPOSTWATCH_NOTICE_FROM",
    "REPOSTWATCH_NOTICE_RESEND_HOURS",
    "REPOSTWATCH_CHROMIUM",
    "REPOSTWATCH_SITES_DIR",
    "REPOSTWATCH_SITE_TRY_SECONDS",
    "REPOSTWATCH_LOCALE",
    "REPOSTWATCH_TIMEZONE",
    "REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES",
    "REPOSTWATCH_KEYWORD_VARIANTS_FILE",
    "REPOSTWATCH_SCRAPYD_URLS",
    "REPOSTWATCH_SCRAPYD_PROJECT",
)
MIN_SECRET_KEY_LENGTH = 32

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


class ConfigError(ValueError):
    """The app cannot start with this configuration; the message says what to set."""


def create_app(config: Mapping[str, Any]) -> Flask:
    """The review app for ``config``: every setting of :data:`CONFIG_KEYS`, as the README lists
    them (``repostwatch web`` passes the project settings, whose defaults are in
    settings/__init__.py). A key that is absent raises :class:`ConfigError` naming it: the app
    invents no value.

    ``REPOSTWATCH_DATABASE_URL`` must not be empty, nor ``REPOSTWATCH_SECRET_KEY`` unless
    ``REPOSTWATCH_WEB_ENV`` is ``development`` (then a random key for this process only).
    Outside development the database must be migrated and hold no enabled demo account.
    """
    missing = [key for key in CONFIG_KEYS if key not in config]
    if missing:
        raise ConfigError(
            f"the web app's configuration lacks {', '.join(missing)}; pass every setting of "
            "crawler.review.CONFIG_KEYS (`repostwatch web` reads them from settings/__init__.py)"
        )
    web_env = config["REPOSTWATCH_WEB_ENV"]
    development = web_env == "development"
    database_url = config["REPOSTWATCH_DATABASE_URL"]
    if not database_url:
        raise ConfigError("REPOSTWATCH_DATABASE_URL is not set; point it at the database")
    secret_key = _secret_key(str(config["REPOSTWATCH_SECRET_KEY"]), development)
    locale, timezone = str(config["REPOSTWATCH_LOCALE"]), str(config["REPOSTWATCH_TIMEZONE"])
    problem = i18n.check_settings(locale, timezone)
    if problem:
        raise ConfigError(problem)
    evidence_keys = _evidence_keys(
        str(config["REPOSTWATCH_EVIDENCE_PRIVATE_KEY"]), str(config["REPOSTWATCH_EVIDENCE_KEY"])
    )

    upload_max = _upload_max_bytes(config["REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES"])

    app = Flask(__name__)
    # Uploaded files stay in memory, never in a temporary file (crawler/review/uploads.py).
    app.request_class = uploads.InMemoryRequest
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="repostwatch_session",
        SESSION_COOKIE_SECURE=not development,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=not development,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        WTF_CSRF_SSL_STRICT=not development,
        MAX_CONTENT_LENGTH=1024 * 1024,
        REPOSTWATCH_WEB_ENV=web_env,
        REPOSTWATCH_LOGIN_RATE_LIMIT=str(config["REPOSTWATCH_LOGIN_RATE_LIMIT"]),
        REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT=str(config["REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT"]),
        REPOSTWATCH_REVIEW_BATCH=int(config["REPOSTWATCH_REVIEW_BATCH"]),
        REPOSTWATCH_CLAIM_MINUTES=int(config["REPOSTWATCH_CLAIM_MINUTES"]),
        # Takedown notices (crawler/review/notices.py): the same settings as `repostwatch notices`.
        REPOSTWATCH_SMTP_URL=str(config["REPOSTWATCH_SMTP_URL"]),
        REPOSTWATCH_SMTP_CA_FILE=str(config["REPOSTWATCH_SMTP_CA_FILE"]),
        REPOSTWATCH_NOTICE_FROM=str(config["REPOSTWATCH_NOTICE_FROM"]),
        REPOSTWATCH_NOTICE_RESEND_HOURS=float(config["REPOSTWATCH_NOTICE_RESEND_HOURS"]),
        REPOSTWATCH_CHROMIUM=str(config["REPOSTWATCH_CHROMIUM"]),
        REPOSTWATCH_SITES_DIR=str(config["REPOSTWATCH_SITES_DIR"]),
        # The site editor's Try button waits at most this long (plus a grace) for its worker.
        REPOSTWATCH_SITE_TRY_SECONDS=float(config["REPOSTWATCH_SITE_TRY_SECONDS"]),
        # Manual URL checks run `repostwatch check` on the app's own database.
        REPOSTWATCH_DATABASE_URL=str(database_url),
        # The crawls page's "run now" hands crawls to these nodes, as `crawls run-now` does.
        REPOSTWATCH_SCRAPYD_URLS=str(config["REPOSTWATCH_SCRAPYD_URLS"]),
        REPOSTWATCH_SCRAPYD_PROJECT=str(config["REPOSTWATCH_SCRAPYD_PROJECT"]),
        # Reference changes (closing a case) are announced to running crawls through it.
        REPOSTWATCH_REDIS_URL=str(config["REPOSTWATCH_REDIS_URL"]),
        # Reference uploads (crawler/review/casework.py): held in memory up to this size.
        REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES=upload_max,
        REPOSTWATCH_KEYWORD_VARIANTS_FILE=str(config["REPOSTWATCH_KEYWORD_VARIANTS_FILE"]),
    )
    i18n.init_app(app, locale, timezone)
    engine = make_engine(str(database_url))
    if not development:
        _refuse_demo_account(engine, str(database_url))
    users.prepare_logins()
    sessions = make_sessionmaker(engine)
    app.extensions["repostwatch_uploads"] = uploads.UploadJobs(
        sessions, app.config["REPOSTWATCH_REDIS_URL"]
    )
    app.extensions["repostwatch"] = web.AppState(
        sessions=sessions,
        engine=engine,
        evidence_keys=evidence_keys,
        totp=totp.cipher(secret_key),
    )
    proxies = _trusted_proxies(config["REPOSTWATCH_TRUSTED_PROXIES"])
    if proxies:
        # request.remote_addr becomes the client's address as the trusted proxies saw it.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    CSRFProtect(app)
    redis_url = app.config["REPOSTWATCH_REDIS_URL"]
    limiter = Limiter(
        web.client_ip,
        app=app,
        storage_uri=redis_url or "memory://",
        key_prefix="repostwatch-web",
        default_limits=[],
    )
    try:
        app.extensions["repostwatch_backoff"] = LoginBackoff.from_settings(
            limiter,
            str(config["REPOSTWATCH_LOGIN_RATE_LIMIT"]),
            str(config["REPOSTWATCH_LOGIN_ADDRESS_RATE_LIMIT"]),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    login_manager = LoginManager(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(web.load_user)

    nav: list[tuple[str, str, str]] = []
    for path in BLUEPRINTS:
        module = importlib.import_module(path.partition(":")[0])
        app.register_blueprint(getattr(module, path.partition(":")[2]))
        nav.extend(getattr(module, "NAV", ()))
    app.extensions["repostwatch_nav"] = tuple(nav)

    app.before_request(_refuse_anonymous)
    app.after_request(_security_headers)
    app.context_processor(web.template_globals)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _upload_max_bytes(value: object) -> int:
    try:
        limit = int(str(value).strip())
    except ValueError:
        limit = 0
    if limit < 1:
        raise ConfigError(
            f"REPOSTWATCH_REFERENCE_UPLOAD_MAX_BYTES={value!r}: write the largest reference file "
            "staff may upload, in bytes (it is held in memory while it is hashed)"
        )
    return limit


def _trusted_proxies(value: object) -> int:
    try:
        hops = int(str(value).strip() or "0")
    except ValueError:
        hops = -1
    if hops < 0:
        raise ConfigError(
            f"REPOSTWATCH_TRUSTED_PROXIES={value!r}: write the number of reverse proxies in front "
            "of the web app (0 when clients connect to it directly)"
        )
    return hops


def _refuse_demo_account(engine, database_url: str) -> None:
    """Outside development, an enabled demo account (public password) means no start."""
    try:
        with make_sessionmaker(engine)() as session:
            active = users.demo_account_active(session)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot read the staff accounts of {redact_url(database_url)} "
            f"({str(exc).splitlines()[0]}); check REPOSTWATCH_DATABASE_URL and run "
            "`repostwatch db upgrade`"
        ) from None
    if active:
        engine.dispose()
        raise ConfigError(
            f"the database {redact_url(database_url)} has an enabled account named "
            f"{users.DEMO_USERNAME!r}, whose password `repostwatch demo` prints for anyone: "
            "it is a demo database, or an old demo left the account behind. Serve a demo "
            f"database with REPOSTWATCH_WEB_ENV=development, or run `repostwatch users disable "
            f"{users.DEMO_USERNAME}` first."
        )


def _evidence_keys(private_key: str, legacy_key: str) -> evidence_store.Opener | None:
    if not private_key.strip():
        if legacy_key.strip():
            raise ConfigError(
                "REPOSTWATCH_EVIDENCE_KEY (the old symmetric key) is set without "
                "REPOSTWATCH_EVIDENCE_PRIVATE_KEY: make a pair with `repostwatch evidence keygen`, "
                "give the web app the private key (and keep the old key to read old evidence) "
                "and the crawls only the public key"
            )
        return None
    try:
        return evidence_store.opener(private_key, legacy_key)
    except evidence_store.EvidenceKeyError as exc:
        raise ConfigError(str(exc)) from None


def _secret_key(key: str, development: bool) -> str:
    key = key.strip()
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"REPOSTWATCH_SECRET_KEY is too short ({len(key)} characters); use at least "
                f"{MIN_SECRET_KEY_LENGTH}, e.g. the output of `repostwatch web keygen`"
            )
        return key
    if not development:
        raise ConfigError(
            "REPOSTWATCH_SECRET_KEY is not set: the web app signs its session cookies with it "
            "and has no fallback. Set it to the output of `repostwatch web keygen` (keep it "
            "secret, the same for every worker), or set REPOSTWATCH_WEB_ENV=development on "
            "your own machine."
        )
    logger.warning(
        "REPOSTWATCH_SECRET_KEY is not set: development mode uses a random key for this "
        "process only (sessions end when it stops); never run like this for staff"
    )
    return secrets.token_urlsafe(48)


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch" or request.is_json


def _refuse_anonymous():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.method == "GET" and not _wants_json():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return _error(401, _("Log in first."))


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # same-origin: our own pages get a Referer (Flask-WTF's strict check wants one on every
    # https POST: WTF_CSRF_SSL_STRICT), no other site ever gets one.
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store, private"
        headers["Pragma"] = "no-cache"
    return response


def _error(status: int, message: str):
    if _wants_json():
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def _csrf_error(exc: CSRFError):
    return _error(
        400,
        _(
            "The form was refused: %(reason)s Reload the page and try again.",
            reason=exc.description,
        ),
    )


def _rate_limited(exc: RateLimitExceeded):
    return _error(429, _("Too many attempts; wait a minute and try again."))


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if exc.description and exc.description != type(exc).description:
        return _error(code, exc.description)  # ours, written for staff (and translated)
    generic = {
        400: _("The request was not understood."),
        403: _("You may not do this."),
        404: _("There is no such page."),
        405: _("This page does not take that kind of request."),
        413: _("What was sent is too large."),
    }
    return _error(code, generic.get(code, _("Something went wrong; try again.")))
