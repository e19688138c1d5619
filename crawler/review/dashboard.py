"""The dashboard: flags per day by state, removal rate and median time-to-removal per site, crawl
runs per site with their pages, media and flags. Days are the user's, in their time zone (their
account's, else REPOSTWATCH_TIMEZONE): a flag first seen at 23:30 UTC counts on the next day in
Seoul.

Charts are pygal SVG rendered on the server and embedded as ``data:image/svg+xml`` images: no
JavaScript, no stylesheet and nothing else is fetched (pygal's tooltip script, which it loads
from a CDN by default, is switched off with ``js=[]``), so the page works on a machine with no
network, and the CSP (``img-src 'self' data:``) needs no exception. Each chart's figures are in
a table beside it too, for screen readers and for copying.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pygal
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pygal.style import Style

from crawler.db import dashboard as db_dashboard
from crawler.db.models import FLAG_STATUSES, utcnow
from crawler.review import i18n, web

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
NAV = [("dashboard.index", _l("Dashboard"), "approver")]
DEFAULT_DAYS = 30
MAX_DAYS = 366
STATUS_COLOURS = {
    "pending": "#8a96a3",
    "confirmed": "#1f5fbf",
    "rejected": "#b3261e",
    "removed": "#1e7b34",
}
RUN_FIGURES = {
    "runs": _l("runs"),
    "pages": _l("pages"),
    "media": _l("media"),
    "flags": _l("flags"),
}
#: Stripped from pygal's SVG: comments (links to pygal's website) and the inline script that
#: holds its tooltip config (useless without the tooltip script; an <img> runs no script).
_STRIPPED = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.DOTALL)
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d232a",
    foreground_strong="#1d232a",
    foreground_subtle="#5b6670",
    font_family="system-ui, sans-serif",
    colors=("#1f5fbf", "#1e7b34", "#b3261e", "#8a96a3", "#c77c02"),
)


def _chart(kind: type, **options) -> pygal.graph.graph.Graph:
    return kind(
        js=[],  # no tooltip script from pygal's CDN: nothing is fetched
        style=options.pop("style", STYLE),
        width=options.pop("width", 760),
        height=options.pop("height", 320),
        disable_xml_declaration=True,
        show_legend=True,
        legend_at_bottom=True,
        print_values=False,
        **options,
    )


def svg_data_uri(chart) -> str:
    """The chart as a data: URI, without pygal's comments and inline script."""
    svg = _STRIPPED.sub("", chart.render(is_unicode=True))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def flags_chart(days: list[db_dashboard.FlagDay]):
    chart = _chart(
        pygal.StackedBar,
        title=_("Flags per day (first seen), by state"),
        x_label_rotation=40,
        style=Style(**{**STYLE.to_dict(), "colors": tuple(STATUS_COLOURS.values())}),
    )
    chart.x_labels = [i18n.short_day(d.day) for d in days]
    for status in FLAG_STATUSES:
        chart.add(i18n.word(status), [d.flags[status] for d in days])
    return chart


def removals_chart(sites: list[db_dashboard.SiteRemovals]):
    chart = _chart(pygal.Bar, title=_("Removal rate (%) and median time-to-removal (h) per site"))
    chart.x_labels = [s.site for s in sites]
    chart.add(
        _("removal rate %"), [None if s.rate is None else round(100 * s.rate, 1) for s in sites]
    )
    chart.add(
        _("median hours"),
        [
            None
            if s.median_time_to_removal is None
            else round(s.median_time_to_removal.total_seconds() / 3600, 1)
            for s in sites
        ],
    )
    return chart


def runs_chart(sites: list[db_dashboard.SiteRuns]):
    chart = _chart(
        pygal.Bar, title=_("Crawl runs per site: pages, media, flags"), logarithmic=False
    )
    chart.x_labels = [s.site for s in sites]
    for what, label in RUN_FIGURES.items():
        chart.add(str(label), [getattr(s, what) for s in sites])
    return chart


def period_start(now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The start of the first of the last ``days`` days in ``zone`` (today counted), in UTC."""
    first = (now.astimezone(zone) - timedelta(days=days - 1)).date()
    return datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)


@bp.route("/")
@web.requires("approver")
def index():
    days = min(max(request.args.get("days", DEFAULT_DAYS, type=int) or DEFAULT_DAYS, 1), MAX_DAYS)
    zone = ZoneInfo(i18n.timezone_name())  # days are the user's: a Seoul day starts 15:00 UTC
    since = period_start(utcnow(), days, zone)
    with web.transaction() as db:
        per_day = db_dashboard.flags_per_day(db, since=since, tz=zone)
        removals = db_dashboard.removals_per_site(db)
        runs = db_dashboard.runs_per_site(db, since=since)
    charts = {
        "flags": svg_data_uri(flags_chart(per_day)) if per_day else None,
        "removals": svg_data_uri(removals_chart(removals)) if removals else None,
        "runs": svg_data_uri(runs_chart(runs)) if runs else None,
    }
    return render_template(
        "dashboard.html",
        days=days,
        since=since,
        per_day=per_day,
        removals=removals,
        runs=runs,
        charts=charts,
        statuses=FLAG_STATUSES,
    )
