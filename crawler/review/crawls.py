"""The crawls page of the monitoring team (the ``monitor`` role and above): every site (read as
crawls read them: the database once it holds any, else the site files) with its schedule,
state, next crawl, health and reason, as `repostwatch crawls list` shows them
(crawler/scheduling/outlook.py, the one schedule rule); run now, pause and resume, as `crawls
run-now` / `pause` / `resume` do (each audited: ``crawl_run_now``, ``crawl_pause``,
``crawl_resume``); a site's recent runs with a small chart per figure; a run's figures.

Figures are read from the run rows the crawl writes (``crawl_runs``): when it opens, every few
seconds while it runs (REPOSTWATCH_RUN_PROGRESS_SECONDS; a distributed run only as its workers
leave) and when it closes.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crawler.db import runs as db_runs
from crawler.db import schedules
from crawler.db.models import utcnow
from crawler.review import i18n, run_figures, web
from crawler.review.sites import SITE_EDITOR_ROLE
from crawler.scheduling.outlook import read_outlooks, site_configs
from crawler.sites import SiteConfigError

bp = Blueprint("crawls", __name__, url_prefix="/crawls")
NAV = [("crawls.index", _l("Crawls"), "monitor")]
#: Runs shown (and charted) on a site's page.
RECENT_RUNS = 20
#: What each charted figure is called.
FIGURE_NAMES = {
    "pages": _l("Pages"),
    "media": _l("Media"),
    "bytes": _l("Bytes"),
    "refused": _l("Refusals"),
    "errors": _l("Errors"),
    "flags": _l("Flags"),
}
#: Media kinds and delivery forms (crawler/review/run_figures.py) as staff read them; refusal
#: reasons, error kinds and finish reasons are in crawler/review/crawl_words.py.
KIND_WORDS = {"image": _l("images"), "video": _l("videos")}
DELIVERY_WORDS = {
    "whole": _l("downloaded whole"),
    "cache": _l("unchanged, matched from the media cache"),
    "ranged": _l("large files sampled by byte ranges"),
    "stream-budget": _l("only the start (the server ignores byte ranges)"),
    "hls": _l("HLS streams sampled by segments"),
    "dash": _l("DASH streams sampled by segments"),
    "browser": _l("streams the page's player asked for"),
}
#: Seconds between two questions of the crawls page to :func:`live_runs` while a run it shows is
#: running (a crawl writes its figures every REPOSTWATCH_RUN_PROGRESS_SECONDS, 5 by default).
LIVE_SECONDS = 5
#: Most runs one :func:`live_runs` question may name.
LIVE_MAX_RUNS = 100
#: Seconds a scrapyd node may take to answer "run now" before it counts as down.
SCRAPYD_TIMEOUT = 5


def _configs():
    """Every site by name, from where crawls read them (the database once it holds any, else the
    site files; None: the site does not validate); a 503 when they cannot be read."""
    try:
        return site_configs(web.site_source())
    except SiteConfigError as exc:
        abort(503, _("The sites cannot be read: %(reason)s", reason=i18n.site_error(exc)))


def _known_site(site: str) -> str:
    if site not in _configs():
        abort(404, _("There is no site named %(site)s.", site=site))
    return site


@bp.route("/")
@web.requires("monitor")
def index():
    configs = _configs()
    with web.transaction() as db:
        outlooks = read_outlooks(db, configs, utcnow())
        health = schedules.health_states(db)
        running = {run.site: run for run in schedules.active_runs(db)}
        last = {name: db_runs.list_runs(db, site=name, limit=1) for name in configs}
    rows = []
    for outlook in outlooks:
        newest = (last.get(outlook.site) or [None])[0]
        rows.append(
            {
                "outlook": outlook,
                "health": health.get(outlook.site),
                "running": running.get(outlook.site),
                "last": newest,
                "figures": figures_line(newest) if newest else "",
            }
        )
    # The site editor edits sites saved in the database; a row links to its site there.
    editor = web.me().can(SITE_EDITOR_ROLE)
    stored = set(web.site_source().site_texts() or ()) if editor else set()
    return render_template(
        "crawls.html", rows=rows, editor=editor, stored=stored, live_seconds=LIVE_SECONDS
    )


def figures_line(run: db_runs.RunView) -> str:
    """A run's main figures in one line of the user's language, as the crawls page shows them
    (and :func:`live_runs` updates them)."""
    return _(
        "Pages %(pages)s · media %(media)s · flags %(flags)s",
        pages=i18n.number(run.pages),
        media=i18n.number(run.media),
        flags=i18n.number(run.flags),
    )


@bp.route("/runs/live")
@web.requires("monitor")
def live_runs():
    """JSON: the state and figures line of the runs named (``?run=ID``, repeated: the running
    runs a crawls page shows), which review.js asks for every :data:`LIVE_SECONDS` seconds so
    that the page follows them without a reload. A run that does not exist is left out."""
    ids = request.args.getlist("run", type=int)[:LIVE_MAX_RUNS]
    found = []
    with web.transaction() as db:
        for run_id in dict.fromkeys(ids):
            try:
                run = db_runs.get_run(db, run_id)
            except db_runs.RunNotFound:
                continue
            found.append(
                {
                    "id": run.id,
                    "running": run.status == "running",
                    "status": i18n.word(run.status),
                    "figures": figures_line(run),
                }
            )
    return jsonify(runs=found)


@bp.route("/sites/<site>")
@web.requires("monitor")
def site_page(site: str):
    configs = _configs()
    _known_site(site)
    with web.transaction() as db:
        (outlook,) = read_outlooks(db, {site: configs[site]}, utcnow())
        health = schedules.health_states(db).get(site)
        recent = db_runs.list_runs(db, site=site, limit=RECENT_RUNS)
    found = [run_figures.figures(run) for run in recent]
    oldest_first = list(reversed(found))
    labels = [f"#{f.run.id} {i18n.when(f.run.started_at)}" for f in oldest_first]
    charts = {
        name: run_figures.bar_chart(
            [f.figure(name) for f in oldest_first],
            labels,
            _("%(figure)s of the last %(n)d runs", figure=str(label), n=len(found)),
        )
        for name, label in FIGURE_NAMES.items()
    }
    return render_template(
        "crawl_site.html",
        outlook=outlook,
        health=health,
        runs=found,
        charts=charts if found else None,
        figure_names=FIGURE_NAMES,
    )


@bp.route("/runs/<int:run_id>")
@web.requires("monitor")
def run_page(run_id: int):
    with web.transaction() as db:
        try:
            run = db_runs.get_run(db, run_id)
        except db_runs.RunNotFound:
            abort(404, _("There is no crawl run %(id)d.", id=run_id))
    return render_template(
        "crawl_run.html",
        figures=run_figures.figures(run),
        kinds={k: str(v) for k, v in KIND_WORDS.items()},
        forms={k: str(v) for k, v in DELIVERY_WORDS.items()},
    )


def scrapyd_scheduler():
    """The scheduler on the app's scrapyd nodes (REPOSTWATCH_SCRAPYD_URLS), as `repostwatch
    crawls run-now` builds it, or None and why the setting cannot be used (no node, or a node
    without credentials: scrapyd is not configured), in the user's language."""
    from crawler.scheduling.scheduler import Scheduler
    from crawler.scheduling.scrapyd import ScrapydClient, parse_nodes

    try:
        nodes = parse_nodes(current_app.config["REPOSTWATCH_SCRAPYD_URLS"])
    except ValueError as exc:
        return None, i18n.refusal(exc)
    project = current_app.config["REPOSTWATCH_SCRAPYD_PROJECT"]
    clients = [ScrapydClient(node, project, timeout=SCRAPYD_TIMEOUT) for node in nodes]
    return Scheduler(web.state().sessions, web.site_source(), clients), None


@bp.route("/sites/<site>/run-now", methods=["POST"])
@web.requires("monitor")
def run_now(site: str):
    """Hand a crawl of the site to scrapyd now, as `repostwatch crawls run-now` does."""
    from crawler.scheduling.scheduler import NoNodeAvailable, SiteBusy

    if _configs().get(_known_site(site)) is None:
        flash(_("The site %(site)s does not validate: fix it first.", site=site), "error")
        return redirect(url_for("crawls.index"))
    service, unusable = scrapyd_scheduler()
    if service is None:
        flash(_("No scrapyd node can be used: %(reason)s", reason=unusable), "error")
        return redirect(url_for("crawls.index"))
    try:
        handover = service.start_crawl(site, triggered_by="manual")
    except (SiteBusy, NoNodeAvailable) as exc:
        with web.transaction() as db:
            web.log(
                db,
                "crawl_run_now",
                target_type="site",
                target_id=site,
                details={"refused": str(exc)},
            )
        flash(
            _(
                "The crawl of %(site)s was not started: %(reason)s",
                site=site,
                reason=i18n.refusal(exc),
            ),
            "error",
        )
        return redirect(url_for("crawls.index"))
    with web.transaction() as db:
        web.log(
            db,
            "crawl_run_now",
            target_type="site",
            target_id=site,
            details={"run_id": handover.run_id, "node": handover.node, "job": handover.job},
        )
    flash(
        _(
            "Crawl run %(run)d of %(site)s handed to scrapyd (%(node)s).",
            run=handover.run_id,
            site=site,
            node=handover.node,
        ),
        "info",
    )
    return redirect(url_for("crawls.index"))


@bp.route("/sites/<site>/pause", methods=["POST"])
@web.requires("monitor")
def pause(site: str):
    return _set_paused(_known_site(site), True)


@bp.route("/sites/<site>/resume", methods=["POST"])
@web.requires("monitor")
def resume(site: str):
    return _set_paused(_known_site(site), False)


def _set_paused(site: str, paused: bool):
    """Pause or resume the site's scheduled crawls, as `repostwatch crawls pause` / `resume`."""
    with web.transaction() as db:
        changed = schedules.set_paused(db, site, paused, at=utcnow())
        if changed:
            web.log(
                db, "crawl_pause" if paused else "crawl_resume", target_type="site", target_id=site
            )
    if paused:
        message = _("%(site)s is paused.") if changed else _("%(site)s was paused already.")
    else:
        message = _("%(site)s is resumed.") if changed else _("%(site)s was not paused.")
    flash(message % {"site": site}, "info")
    return redirect(url_for("crawls.index"))
