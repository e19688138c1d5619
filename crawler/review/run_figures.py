"""A crawl run's figures as the crawls page shows them, read from the run row the crawl writes
(``crawl_runs``: its columns and its ``stats`` JSON, keyed by the names of :mod:`crawler.stats`),
and the small bar charts of a site's recent runs.

The charts are inline SVG drawn here on the server (a rectangle per run, its figure in a
``<title>`` for the pointer): no script, no library, no stylesheet, nothing fetched; colours are
SVG attributes, which the Content-Security-Policy (``style-src 'self'``) allows. Each chart's
figures are in the runs table beside it too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from crawler import stats as keys
from crawler.db.runs import RunView

#: How a media file's bytes were fetched, by the stats key that counts it: downloaded whole,
#: matched from the media cache (not fetched), a large file sampled by byte ranges, the start of
#: a file whose server ignores ranges, HLS and DASH streams sampled by segments, and streams the
#: page's player asked for in the browser (``render = "browser"``).
DELIVERY_KEYS = {
    "whole": keys.MEDIA_DOWNLOADED,
    "cache": keys.MEDIA_CACHE_HITS,
    "ranged": keys.VIDEO_RANGED,
    "stream-budget": keys.VIDEO_BUDGET_STOPPED,
    "hls": keys.video_stream("hls", "streams"),
    "dash": keys.video_stream("dash", "streams"),
    "browser": keys.BROWSER_PLAYER_STREAMS,
}
_MEDIA_KIND = keys.media_hashed("")
_ERRORS = keys.error("")
#: The figures charted per site, in order: (name, what the chart of each run shows).
CHARTED = ("pages", "media", "bytes", "refused", "errors", "flags")
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 240, 48, 2


@dataclass(frozen=True)
class RunFigures:
    """One run's figures: the run row's columns and what its stats JSON holds."""

    run: RunView
    media_by_kind: dict[str, int] = field(default_factory=dict)
    delivery: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    flags_new: int = 0
    flags_seen_again: int = 0
    flags_spilled: int = 0
    media_bytes: int = 0
    #: Whether the row has stats at all (a running crawl writes them when it closes).
    has_stats: bool = False

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    def figure(self, name: str) -> int:
        """A charted figure (:data:`CHARTED`) of this run."""
        if name == "refused":
            return self.refused_total
        return int(getattr(self.run, name))


def figures(run: RunView) -> RunFigures:
    """``run``'s figures; a row without stats (running, or an old run) gives its columns only."""
    try:
        found = json.loads(run.stats) if run.stats else {}
    except ValueError:
        found = {}
    if not isinstance(found, dict):
        found = {}
    counts = {k: int(v) for k, v in found.items() if isinstance(v, int | float)}

    def under(prefix: str) -> dict[str, int]:
        return {
            k.removeprefix(prefix): v
            for k, v in sorted(counts.items())
            if k.startswith(prefix) and "/" not in k.removeprefix(prefix) and v
        }

    errors = {f"media: {kind}": n for kind, n in under(keys.MEDIA_FAILED_PREFIX).items()}
    errors.update(under(_ERRORS))
    if counts.get(keys.SCRAPY_ERRORS_LOGGED):
        errors["logged"] = counts[keys.SCRAPY_ERRORS_LOGGED]
    return RunFigures(
        run=run,
        media_by_kind=under(_MEDIA_KIND),
        delivery={form: counts[k] for form, k in DELIVERY_KEYS.items() if counts.get(k)},
        refused=under(keys.REFUSED_PREFIX),
        errors=errors,
        flags_new=counts.get(keys.FLAGS_NEW, 0),
        flags_seen_again=counts.get(keys.FLAGS_SEEN_AGAIN, 0),
        flags_spilled=counts.get(keys.FLAGS_SPILLED, 0),
        media_bytes=counts.get(keys.MEDIA_BYTES, 0),
        has_stats=bool(found),
    )


def bar_chart(values: Sequence[int], labels: Sequence[str], title: str) -> Markup:
    """A small inline SVG bar chart of ``values`` (oldest first), each bar titled with its
    label and value; ``title`` names the chart for screen readers."""
    top = max(values, default=0) or 1
    count = max(len(values), 1)
    width = (CHART_WIDTH - BAR_GAP * (count - 1)) / count
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        height = max(1.0, CHART_HEIGHT * value / top) if value else 0.0
        x = index * (width + BAR_GAP)
        bars.append(
            f'<rect x="{x:.1f}" y="{CHART_HEIGHT - height:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" fill="#1f5fbf"><title>{escape(label)}: {value}</title></rect>'
        )
    return Markup(
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT + 1}" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT + 1}"><title>{escape(title)}</title>'
        f'<line x1="0" y1="{CHART_HEIGHT + 0.5}" x2="{CHART_WIDTH}" y2="{CHART_HEIGHT + 0.5}" '
        f'stroke="#8a96a3" stroke-width="1"/>{"".join(bars)}</svg>'
    )
