"""Manual URL checks in the web app (the ``monitor`` role and above): staff paste page URLs found
by hand; they are checked once as `repostwatch check URL...` does (crawler/sites/checks.py: the
site whose domains hold them, with its settings and no link followed, else the default profile
under the site name ``manual``), in the background (crawler/review/check_runner.py).

Submitting opens the check's crawl run and writes ``manual_check`` to the audit log with the
submitter, the site and the URLs; the page lists the recent checks (the web app's and the
CLI's, from the audit log) with their run's state and figures.

How it runs: with scrapyd configured (REPOSTWATCH_SCRAPYD_URLS with credentials), the check is
handed to the least-loaded node like any crawl (spider argument ``check``, the URLs one a line;
the scheduler closes its run if the job vanishes); otherwise `repostwatch check --run-id` runs it
as a child process of the web app (crawler/review/check_runner.py).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from crawler.db import audit
from crawler.db import runs as db_runs
from crawler.problems import Problem
from crawler.review import check_runner, web
from crawler.review.crawls import scrapyd_scheduler
from crawler.review.i18n import refusal, site_error
from crawler.sites import SiteConfig, SiteConfigError, load_sites
from crawler.sites.checks import MANUAL_SITE, check_config, site_for_urls
from crawler.sites.loading import validation_problems

bp = Blueprint("checks", __name__, url_prefix="/checks")
NAV = [("checks.index", _l("URL check"), "monitor")]
#: The most URLs one check takes (one crawl: paste more as several checks).
MAX_URLS = 50
MAX_URL_LENGTH = 2048
RECENT_CHECKS = 20
_START_URL = re.compile(r"start_urls\[([0-9]+)\]")


def parse_urls(
    text: str, configs: list[SiteConfig]
) -> tuple[list[str], SiteConfig | None, list[str]]:
    """The URLs of ``text`` (one a line, blank lines ignored, repeats dropped), the site whose
    settings check them (None: the default profile) and what is wrong with them, in the user's
    language (empty: they can be checked)."""
    urls: list[str] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.strip()
        if not url:
            continue
        if not _web_address(url):
            errors.append(
                _(
                    "Line %(line)d: %(url)s is not a page address; write one address a line, "
                    "starting with https:// or http://.",
                    line=number,
                    url=url[:200],
                )
            )
        elif url not in urls:
            urls.append(url)
    if not urls and not errors:
        errors.append(_("Paste at least one page address."))
    if len(urls) > MAX_URLS:
        errors.append(
            _(
                "%(count)d addresses: one check takes at most %(max)d; split them into several.",
                count=len(urls),
                max=MAX_URLS,
            )
        )
    if errors:
        return urls, None, errors
    owners: dict[str, list[str]] = {}
    for url in urls:
        owner = site_for_urls([url], configs)
        owners.setdefault(owner.name if owner else "", []).append(url)
    if len(owners) > 1:
        groups = "; ".join(
            f"{name or _('no site')}: {', '.join(found)}" for name, found in sorted(owners.items())
        )
        errors.append(
            _(
                "The addresses belong to different sites; check them separately (%(groups)s).",
                groups=groups,
            )
        )
        return urls, None, errors
    return urls, site_for_urls(urls, configs), []


def _config_problems(error: ValueError, urls: list[str]) -> list[str]:
    """Why the check's configuration does not validate, one problem a line in the user's
    language; a problem about one of the addresses (``start_urls[1]``) names the address."""
    if not isinstance(error, ValidationError):
        return [refusal(error)]
    said = []
    for found in validation_problems(error):
        key = found.key
        index = _START_URL.fullmatch(key)
        if index is not None and int(index.group(1)) < len(urls):
            url = urls[int(index.group(1))]
            key = "" if repr(url) in found.params.values() else url
        said.append(Problem(found.template, found.params, key).translated(gettext))
    return said


def _web_address(url: str) -> bool:
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _site_configs() -> list[SiteConfig]:
    """The valid sites, from where crawls read them: the database once it holds any, else the
    site files."""
    loaded = load_sites(web.site_source())
    return [f.config for f in loaded.files if f.config is not None]


def _recent():
    """The recent checks (web app and CLI), newest first, each with its run (None: gone)."""
    with web.transaction() as db:
        entries, _total = audit.list_entries(db, action="manual_check", per_page=RECENT_CHECKS)
        found = []
        for entry in entries:
            run = None
            if entry.target_type == "crawl_run" and (entry.target_id or "").isdigit():
                try:
                    run = db_runs.get_run(db, int(entry.target_id))
                except db_runs.RunNotFound:
                    run = None
            found.append((entry, run))
    return found


@bp.route("/")
@web.requires("monitor")
def index():
    return render_template("checks.html", text="", errors=[], checks=_recent(), max_urls=MAX_URLS)


@bp.route("/", methods=["POST"])
@web.requires("monitor")
def submit():
    text = request.form.get("urls", "")
    try:
        configs = _site_configs()
    except SiteConfigError as exc:
        return _refused(text, [_("The sites cannot be read: %(reason)s", reason=site_error(exc))])
    urls, base, errors = parse_urls(text, configs)
    if errors:
        return _refused(text, errors)
    try:
        config = check_config(urls, base)
    except ValueError as exc:
        return _refused(
            text,
            [
                _("The addresses cannot be checked: %(reason)s", reason=reason)
                for reason in _config_problems(exc, urls)
            ],
        )
    site = config.name
    service, _unusable = scrapyd_scheduler()
    if service is not None:
        run_id = _on_scrapyd(service, site, urls)
    else:
        run_id = _in_a_process(site, None if base is None else site, urls)
    if run_id is None:
        return redirect(url_for("checks.index"))
    origin = _("the default profile") if site == MANUAL_SITE else site
    flash(
        ngettext(
            "Checking %(num)d address with the settings of %(site)s: crawl run %(run)d.",
            "Checking %(num)d addresses with the settings of %(site)s: crawl run %(run)d.",
            len(urls),
            site=origin,
            run=run_id,
        ),
        "info",
    )
    return redirect(url_for("checks.index"))


def _on_scrapyd(service, site: str, urls: list[str]) -> int | None:
    """Hand the check to the least-loaded scrapyd node, as a crawl is (spider argument
    ``check``); its run id, or None (flashed why) when no node takes it or the site is being
    crawled. Audited either way."""
    from crawler.scheduling.scheduler import NoNodeAvailable, SiteBusy

    try:
        handover = service.start_crawl(site, triggered_by=db_runs.CHECK_TRIGGER, check_urls=urls)
    except (SiteBusy, NoNodeAvailable) as exc:
        with web.transaction() as db:
            web.log(
                db,
                "manual_check",
                target_type="site",
                target_id=site,
                details={"site": site, "urls": urls, "refused": str(exc)},
            )
        flash(_("The check could not be started: %(reason)s", reason=refusal(exc)), "error")
        return None
    with web.transaction() as db:
        web.log(
            db,
            "manual_check",
            target_type="crawl_run",
            target_id=handover.run_id,
            details={"site": site, "urls": urls, "node": handover.node, "job": handover.job},
        )
    return handover.run_id


def _in_a_process(site: str, site_argument: str | None, urls: list[str]) -> int | None:
    """Run the check as `repostwatch check --run-id` beside the web app (scrapyd is not
    configured); its run id, or None (flashed why) when the command cannot start."""
    with web.transaction() as db:
        run_id = db_runs.start_run(db, site, triggered_by=db_runs.CHECK_TRIGGER)
        web.log(
            db,
            "manual_check",
            target_type="crawl_run",
            target_id=run_id,
            details={"site": site, "urls": urls},
        )
    try:
        command = check_runner.check_command(run_id, site_argument, urls)
        environment = check_runner.child_environment(
            {
                "REPOSTWATCH_DATABASE_URL": current_app.config["REPOSTWATCH_DATABASE_URL"],
                "REPOSTWATCH_SITES_DIR": current_app.config["REPOSTWATCH_SITES_DIR"],
                # The command finds the site where this form found it: the database once it
                # holds any sites, else the site files.
                "REPOSTWATCH_SITES_SOURCE": check_runner.DATABASE_SITES,
            }
        )
        check_runner.start_check(command, environment)
    except check_runner.CheckNotStarted as exc:
        with web.transaction() as db:
            db_runs.close_run(db, run_id, status="failed", finish_reason=str(exc))
        flash(_("The check could not be started: %(reason)s", reason=refusal(exc)), "error")
        return None
    return run_id


def _refused(text: str, errors: list[str]):
    return (
        render_template(
            "checks.html", text=text, errors=errors, checks=_recent(), max_urls=MAX_URLS
        ),
        400,
    )
