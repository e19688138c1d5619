"""The site editor: every site's TOML text, edited and validated as `sites import` validates a
file (the same messages, shown beside the text), each save a new version in the audit log."""

from __future__ import annotations

import threading

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crawler.db import domain_moves
from crawler.db import sites as stored
from crawler.review import web
from crawler.review.i18n import problem as say_problem
from crawler.review.i18n import refusal, site_error
from crawler.site_store import (
    MoveNotAdoptable,
    Who,
    adopt_move,
    dismiss_move,
    import_bundled,
    save_text,
)
from crawler.sites import SiteConfigError, load_sites, parse_site
from crawler.sites.private import private_urls
from crawler.sites.trying import TryResult, try_site

#: Who may add and edit sites: the monitoring team (the ``monitor`` role, and so every role
#: above it), who watch the crawls and fix a site whose layout changed.
SITE_EDITOR_ROLE = "monitor"

bp = Blueprint("sites", __name__, url_prefix="/sites")
NAV = [("sites.site_list", _l("Sites"), SITE_EDITOR_ROLE)]

#: What a new site's text starts as.
NEW_SITE = """name = "new-site"
start_urls = ["https://site.example/"]

[follow]
max_depth = 2
"""
#: How a try's media and previews are named on the page.
TRY_KINDS = {
    "image": _l("image"),
    "video": _l("video"),
    "stream": _l("video stream"),
    "unknown": _l("media (kind unknown until read)"),
    "poster": _l("video poster (preview)"),
    "storyboard": _l("storyboard (preview)"),
}
#: Tries one web process runs at once (each is a crawl, maybe with Chromium); one more is
#: refused with a message rather than queued behind them.
MAX_TRIES = 2
_tries = threading.BoundedSemaphore(MAX_TRIES)
#: Longest TOML text accepted (a site file is a few kilobytes).
MAX_TEXT = 100_000


def _who() -> Who:
    me = web.me()
    return Who(me.username, via="web", user_id=me.id, ip=web.client_ip())


@bp.route("/")
@web.requires(SITE_EDITOR_ROLE)
def site_list():
    source = web.site_source()
    in_database = source.site_texts() is not None
    loaded = load_sites(source) if in_database or source.sites_dir else None
    with web.transaction() as db:
        versions = {site.name: site for site in stored.stored_sites(db)}
        moves = domain_moves.moves(db, state="proposed")
    return render_template(
        "sites.html",
        moves=moves,
        loaded=loaded,
        in_database=in_database,
        versions=versions,
        sites_dir=source.sites_dir,
    )


@bp.route("/import-files", methods=["POST"])
@web.requires(SITE_EDITOR_ROLE)
def import_files():
    """Import the site files the database lacks (what `db upgrade` does), so that saving a
    first site here does not leave the others behind."""
    source = web.site_source()
    with web.transaction() as db:
        report = import_bundled(db, source.sites_dir, _who())
    flash(
        _("Imported %(count)d site(s) from the site files.", count=len(report.saved)),
        "info",
    )
    for error in report.refused:
        flash(_("Not imported: %(problem)s", problem=site_error(error)), "error")
    return redirect(url_for("sites.site_list"))


@bp.route("/moves/<int:move_id>/adopt", methods=["POST"])
@web.requires(SITE_EDITOR_ROLE)
def move_adopt(move_id: int):
    """One click: the site's definition moved to the new domain, a new version of the same
    site (crawler.site_store.adopt_move)."""
    try:
        with web.transaction() as db:
            move, saved = adopt_move(db, move_id, _who())
    except (domain_moves.MoveNotOpen, MoveNotAdoptable) as exc:
        flash(_("Not adopted: %(problem)s", problem=refusal(exc)), "error")
        return redirect(url_for("sites.site_list"))
    flash(
        _(
            "%(name)s now crawls %(domain)s (version %(version)d).",
            name=move.site,
            domain=move.new_domain,
            version=saved.version,
        )
    )
    return redirect(url_for("sites.site_list"))


@bp.route("/moves/<int:move_id>/dismiss", methods=["POST"])
@web.requires(SITE_EDITOR_ROLE)
def move_dismiss(move_id: int):
    try:
        with web.transaction() as db:
            move = dismiss_move(db, move_id, _who())
    except domain_moves.MoveNotOpen as exc:
        flash(_("Not dismissed: %(problem)s", problem=refusal(exc)), "error")
        return redirect(url_for("sites.site_list"))
    flash(
        _(
            "Dismissed the move of %(name)s to %(domain)s.",
            name=move.site,
            domain=move.new_domain,
        ),
        "info",
    )
    return redirect(url_for("sites.site_list"))


@bp.route("/new", methods=["GET", "POST"])
@web.requires(SITE_EDITOR_ROLE)
def site_new():
    if request.method == "GET":
        return _editor(None, NEW_SITE, version=0)
    return _save(None)


@bp.route("/<name>/edit", methods=["GET", "POST"])
@web.requires(SITE_EDITOR_ROLE)
def site_edit(name: str):
    if request.method == "POST":
        return _save(name)
    with web.transaction() as db:
        site = stored.stored_site(db, name)
    if site is None:
        abort(404, _("No site named %(name)s in the database.", name=name))
    return _editor(name, site.toml, version=site.version)


@bp.route("/try", methods=["POST"], defaults={"name": None})
@bp.route("/<name>/try", methods=["POST"])
@web.requires(SITE_EDITOR_ROLE)
def site_try(name: str | None):
    """Try the text being edited, saved or not: validated as a save validates it, then its
    start pages crawled once by the try's worker (crawler/sites/trying.py), which stores
    nothing; the page waits for it at most REPOSTWATCH_SITE_TRY_SECONDS and a grace."""
    text = request.form.get("toml", "").replace("\r\n", "\n")
    version = request.form.get("version", 0, type=int)
    if len(text) > MAX_TEXT:
        return _editor(name, text, version, [_("The text is too long.")], trying=True)
    try:
        config = parse_site(text, name or "<new>", name=name or "")
    except SiteConfigError as exc:
        return _editor(name, text, version, exc.problems, trying=True)
    if not _tries.acquire(blocking=False):
        busy = _("Other tries are running; try again in a minute.")
        return _editor(name, text, version, [busy], trying=True)
    try:
        result = try_site(
            config,
            time_limit=current_app.config["REPOSTWATCH_SITE_TRY_SECONDS"],
            REPOSTWATCH_CHROMIUM=current_app.config["REPOSTWATCH_CHROMIUM"],
        )
    finally:
        _tries.release()
    return _editor(name, text, version, tried=result)


def _save(name: str | None):
    text = request.form.get("toml", "").replace("\r\n", "\n")
    version = request.form.get("version", 0, type=int)
    if len(text) > MAX_TEXT:
        return _editor(name, text, version, [_("The text is too long.")])
    try:
        with web.transaction() as db:
            if name is None:
                # A new site: its name must be free (editing one goes through its own page).
                config, saved = save_text(db, text, _who(), source="<new>", expected_version=0)
            else:
                config, saved = save_text(
                    db, text, _who(), name=name, source=name, expected_version=version
                )
    except SiteConfigError as exc:
        return _editor(name, text, version, exc.problems)
    except stored.SiteVersionConflict as exc:
        if name is None:
            problem = _(
                "A site named %(name)s exists already: edit it from the list.", name=exc.name
            )
        else:
            problem = _(
                "%(by)s saved version %(version)d of this site since you opened it. Copy your "
                "changes, open the site again and redo them.",
                by=exc.current.updated_by,
                version=exc.current.version,
            )
        return _editor(name, text, version, [problem])
    if saved.changed:
        flash(_("Saved %(name)s as version %(version)d.", name=saved.name, version=saved.version))
    else:
        flash(_("Nothing changed."), "info")
    for warning in private_urls(config):
        flash(say_problem(warning), "error")
    return redirect(url_for("sites.site_edit", name=saved.name))


def _editor(
    name: str | None,
    text: str,
    version: int,
    problems: list[str] | None = None,
    *,
    trying: bool = False,
    tried: TryResult | None = None,
):
    history = []
    if name is not None:
        with web.transaction() as db:
            history = stored.site_history(db, name)
    return render_template(
        "site.html",
        name=name,
        text=text,
        version=version,
        problems=[say_problem(problem) for problem in problems or []],
        history=history,
        trying=trying,
        tried=tried,
        try_kinds=TRY_KINDS,
    ), (422 if problems else 200)
