"""The queue: pending flags with filters and order; claiming a batch; releasing claims; how many
flags came in since the page was made (polled by review.js, so the page says "N new" without
reloading; without JavaScript the page is the same, with a plain link that reloads it)."""

from __future__ import annotations

from datetime import timedelta

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
from flask_babel import ngettext

from crawler.db import review
from crawler.review import web

bp = Blueprint("queue", __name__)
NAV = [("queue.index", _l("Queue"), "reviewer")]
PAGE_SIZE = 50
#: Seconds between two questions of the queue page to :func:`new_flags`.
POLL_SECONDS = 20


def filters_from(args) -> tuple[review.QueueFilters, str]:
    """Queue filters and order from query or form arguments; bad values are ignored."""
    max_distance = args.get("max_distance", "").strip()
    order = args.get("order", review.DEFAULT_ORDER)
    return (
        review.QueueFilters(
            site=args.get("site") or None,
            case=args.get("case") or None,
            algorithm=args.get("algorithm") or None,
            max_distance=int(max_distance) if max_distance.isdigit() else None,
        ),
        order if order in review.QUEUE_ORDERS else review.DEFAULT_ORDER,
    )


def _filter_args(filters: review.QueueFilters, order: str) -> dict[str, str]:
    values = {
        "site": filters.site,
        "case": filters.case,
        "algorithm": filters.algorithm,
        "max_distance": None if filters.max_distance is None else str(filters.max_distance),
        "order": order if order != review.DEFAULT_ORDER else None,
    }
    return {k: v for k, v in values.items() if v}


@bp.route("/")
@web.requires("reviewer")
def index():
    filters, order = filters_from(request.args)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with web.transaction() as db:
        flags, total = review.list_queue(
            db, filters, order=order, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        mine = review.my_claims(db, web.me().id, order=order)
        choices = review.filter_choices(db)
        counts = review.counts_by_status(db)
        newest = review.newest_flag_id(db)
    return render_template(
        "queue.html",
        flags=flags,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        mine=mine,
        choices=choices,
        counts=counts,
        filters=filters,
        order=order,
        filter_args=_filter_args(filters, order),
        batch_size=current_app.config["REPOSTWATCH_REVIEW_BATCH"],
        user_id=web.me().id,
        newest_id=newest,
        poll_seconds=POLL_SECONDS,
    )


@bp.route("/queue/new")
@web.requires("reviewer")
def new_flags():
    """JSON: how many pending flags matching the queue's filters (query arguments, as the
    queue page takes them) have an id above ``after`` (the newest flag id when the page was
    made), and the sentence saying so in the user's language. Not audited: it shows no flag."""
    after = request.args.get("after", type=int)
    if after is None or after < 0:
        abort(400, _("Say after which flag id to count (?after=ID)."))
    filters = filters_from(request.args)[0]
    with web.transaction() as db:
        count = review.count_newer(db, after, filters)
    return jsonify(
        count=count,
        after=after,
        message=ngettext(
            "%(num)s new flag: reload the queue",
            "%(num)s new flags: reload the queue",
            count,
        ),
    )


@bp.route("/claim", methods=["POST"])
@web.requires("reviewer")
def claim():
    filters, order = filters_from(request.form)
    size = current_app.config["REPOSTWATCH_REVIEW_BATCH"]
    lease = timedelta(minutes=current_app.config["REPOSTWATCH_CLAIM_MINUTES"])
    with web.transaction() as db:
        claimed = review.claim_batch(
            db, web.me().id, size=size, filters=filters, order=order, lease=lease
        )
        web.log(
            db,
            "claim",
            target_type="flag",
            details={"flags": claimed, "filters": _filter_args(filters, order)},
        )
    if not claimed:
        flash(_("Nothing left to claim with these filters."), "info")
        return redirect(url_for("queue.index", **_filter_args(filters, order)))
    flash(
        ngettext(
            "You hold %(num)d flag for %(minutes)d minutes.",
            "You hold %(num)d flags for %(minutes)d minutes.",
            len(claimed),
            minutes=lease.seconds // 60,
        ),
        "info",
    )
    return redirect(url_for("flags.show", flag_id=claimed[0], order=order))


@bp.route("/release", methods=["POST"])
@web.requires("reviewer")
def release():
    with web.transaction() as db:
        released = review.release(db, web.me().id)
        web.log(db, "release", target_type="flag", details={"released": released})
    flash(
        ngettext(
            "Released %(num)d flag back to the queue.",
            "Released %(num)d flags back to the queue.",
            released,
        ),
        "info",
    )
    return redirect(url_for("queue.index"))
