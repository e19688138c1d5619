"""The web app in Korean and English: gettext catalogs through Flask-Babel, each user's language
and time zone, and the filters that show dates, times and numbers as the user's locale writes
them.

Sources are written in English; ``translations/<locale>/LC_MESSAGES/messages.po`` holds each
language's catalog, compiled beside it into ``messages.mo`` (committed, so that a checkout runs
as it is: ``make i18n`` extracts, updates and compiles them, docs/development.md says when).
A user's language and time zone are kept on their account (``users.locale``, ``users.timezone``,
chosen on the account page); a user who chose none, and the login page, get the installation's
(REPOSTWATCH_LOCALE, REPOSTWATCH_TIMEZONE). Times are stored in UTC and converted only when
shown. Logs and the audit log stay English.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import available_timezones

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app
from flask_babel import Babel, get_locale, get_timezone, gettext, to_user_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crawler.db.models import STAFF_LOCALES
from crawler.problems import Problem, said, say
from crawler.review.crawl_words import error_word, finish_word, is_code, refusal_word
from crawler.scheduling.health import reason_problem

TRANSLATIONS = Path(__file__).with_name("translations")
#: Each language by its own name, for the account page's selector.
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
#: Time zones offered first on the account page (any IANA name the system knows is accepted).
COMMON_TIMEZONES = ("Asia/Seoul", "UTC", "Asia/Tokyo", "Europe/London", "America/New_York")

#: Names of states and roles as staff read them; the database keeps the English words.
STATE_WORDS = {
    "pending": _l("pending"),
    "confirmed": _l("confirmed"),
    "rejected": _l("rejected"),
    "removed": _l("removed"),
    "draft": _l("draft"),
    "approved": _l("approved"),
    "sent": _l("sent"),
    "resolved": _l("resolved"),
    "withdrawn": _l("withdrawn"),
    "running": _l("running"),
    "finished": _l("finished"),
    "failed": _l("failed"),
    "healthy": _l("healthy"),
    "unhealthy": _l("unhealthy"),
    "scheduled": _l("scheduled"),
    "paused": _l("paused"),
    "disabled": _l("disabled"),
    "by hand": _l("by hand"),
    "invalid site file": _l("invalid site file"),
    "monitor": _l("monitor"),
    "reviewer": _l("reviewer"),
    "approver": _l("approver"),
    "admin": _l("admin"),
}


def check_settings(locale: str, timezone: str) -> str | None:
    """What is wrong with REPOSTWATCH_LOCALE / REPOSTWATCH_TIMEZONE, or None."""
    if locale not in STAFF_LOCALES:
        return f"REPOSTWATCH_LOCALE={locale!r}: write one of {', '.join(STAFF_LOCALES)}"
    if timezone not in available_timezones():
        return f"REPOSTWATCH_TIMEZONE={timezone!r}: write an IANA time zone such as Asia/Seoul"
    return None


def init_app(app: Flask, locale: str, timezone: str) -> None:
    """Flask-Babel on ``app`` with the installation's language and time zone, the selectors
    that prefer the logged-in user's own, and the template filters."""
    app.config["BABEL_DEFAULT_LOCALE"] = locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = timezone
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=_user_locale, timezone_selector=_user_timezone)
    app.add_template_filter(when)
    app.add_template_filter(when_seconds)
    app.add_template_filter(day)
    app.add_template_filter(clock)
    app.add_template_filter(short_day)
    app.add_template_filter(number)
    app.add_template_filter(percent)
    app.add_template_filter(word)
    app.add_template_filter(problem)
    app.add_template_filter(health_reason)
    app.add_template_filter(refusal_word, "refusal")
    app.add_template_filter(error_word, "error_kind")
    app.add_template_filter(finish_word, "finish_reason")
    app.add_template_test(is_code, "code")


def problem(text: str) -> str:
    """A site's problem (crawler.problems.Problem) in the user's language; other text as
    it is."""
    return str(say(text, gettext))


def refusal(error: BaseException) -> str:
    """An error raised with a Problem (a domain move that cannot be adopted, ...) in the user's
    language; any other error as ``str()`` says it."""
    return said(error, gettext)


def health_reason(reason: str | None) -> str:
    """A site's stored health reason (English, crawler/scheduling/health.py) in the user's
    language; a text no reason template gives, as it is."""
    if not reason:
        return ""
    found = reason_problem(reason)
    if found is None:
        return reason
    if "reason" in found.params:  # a failed run's finish reason: a code or a known sentence
        found = Problem(
            found.template, {**found.params, "reason": finish_word(found.params["reason"])}
        )
    return found.translated(gettext)


def site_error(error: Exception) -> str:
    """A SiteConfigError in the user's language: its source and each problem, one a line."""
    problems = getattr(error, "problems", None)
    if problems is None:
        return str(error)
    return "\n".join(f"{error.path}: {problem(p)}" for p in problems)


def _user_view():
    if current_user and current_user.is_authenticated:
        return current_user.view
    return None


def _user_locale() -> str:
    view = _user_view()
    if view is not None and view.locale in STAFF_LOCALES:
        return view.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _user_timezone() -> str:
    view = _user_view()
    return (view.timezone if view is not None else None) or current_app.config[
        "BABEL_DEFAULT_TIMEZONE"
    ]


def language() -> str:
    """The current request's language code (``ko``, ``en``)."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]).split("_")[0]


def default_language() -> str:
    """The installation's language (REPOSTWATCH_LOCALE)."""
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def timezone_name() -> str:
    return str(get_timezone())


def _local(value: datetime) -> datetime:
    return to_user_timezone(value)


# --- filters: dates and times in the user's time zone, as their language writes them ---------
def when(value: datetime | None) -> str:
    """Date and time to the minute: ``2026. 5. 1. 오후 9:00`` / ``May 1, 2026, 9:00 PM`` (the
    locale's medium date, short time, joined as its medium date-time pattern joins them)."""
    if value is None:
        return ""
    local, locale = _local(value), get_locale()
    pattern = babel_dates.get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", babel_dates.format_date(local, "medium", locale=locale)).replace(
        "{0}", babel_dates.format_time(local, "short", locale=locale)
    )


def when_seconds(value: datetime | None) -> str:
    """Date and time to the second (Babel's medium format)."""
    if value is None:
        return ""
    return babel_dates.format_datetime(_local(value), "medium", locale=get_locale())


def day(value: datetime | date | None) -> str:
    """The date alone (in the user's time zone for a datetime): ``2026. 5. 1.`` /
    ``May 1, 2026``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return babel_dates.format_date(value, "medium", locale=get_locale())


def short_day(value: datetime | date) -> str:
    """Month and day, for chart labels: ``5. 1.`` / ``5/1``."""
    if isinstance(value, datetime):
        value = _local(value).date()
    return babel_dates.format_skeleton("Md", value, locale=get_locale())


def clock(value: datetime | None) -> str:
    """The time of day alone: ``오후 9:00`` / ``9:00 PM``."""
    if value is None:
        return ""
    return babel_dates.format_time(_local(value), "short", locale=get_locale())


def number(value: int | float | None) -> str:
    """A count or figure with the locale's grouping (``12,345``)."""
    if value is None:
        return ""
    return babel_numbers.format_decimal(value, locale=get_locale())


def percent(value: float | None) -> str:
    """A share (0..1) as a percentage, or ``-``."""
    if value is None:
        return "-"
    return babel_numbers.format_percent(value, locale=get_locale())


def word(value: str | None) -> str:
    """A state or role as staff read it (the stored English word when it has no translation)."""
    if value is None:
        return ""
    return str(STATE_WORDS.get(value, value))
