"""The commands speak the installation's language: the sentences staff read (results, errors,
questions) go through the web app's gettext catalogs (crawler/review/translations), read with
the standard library, no Flask.

The language is ``--lang ko|en``, else REPOSTWATCH_CLI_LANG (a staff member's own choice, in
their shell profile), else the installation's REPOSTWATCH_LOCALE (``ko``). What scripts read
stays English whatever the language: JSON, CSV and TOML output, table column headings, the
audit log, logs. Help texts are translated when they are shown (helptext.py). Messages the
library raises with a :class:`crawler.problems.Problem` (a closed case, a site file's problem,
a refused decision) are printed in the chosen language with :func:`refusal` and
:func:`problem`; any other error as ``str()`` says it (English).
"""

from __future__ import annotations

import gettext as stdlib_gettext
from pathlib import Path

import click

#: The languages with a catalog; the sources are written in English.
LANGUAGES = ("ko", "en")
#: The web app's catalogs, shared: one translation per sentence for staff.
TRANSLATIONS = Path(__file__).parents[1] / "review" / "translations"

_current: stdlib_gettext.NullTranslations | None = None


def chosen_language() -> str:
    """REPOSTWATCH_CLI_LANG (a staff member's own, set in their shell profile), else the
    installation's REPOSTWATCH_LOCALE; a value the commands cannot speak is one clear error."""
    from crawler.cli.common import load_settings

    settings = load_settings()
    own, installation = settings.get("REPOSTWATCH_CLI_LANG"), settings.get("REPOSTWATCH_LOCALE")
    if own:
        return _checked("REPOSTWATCH_CLI_LANG", own)
    return _checked("REPOSTWATCH_LOCALE", installation)


def _checked(name: str, language: str) -> str:
    if language not in LANGUAGES:
        raise click.ClickException(f"{name}={language!r}: write one of {', '.join(LANGUAGES)}")
    return language


def choose(language: str | None) -> str:
    """Speak ``language`` from now on (None: :func:`chosen_language`); return the one chosen."""
    global _current
    chosen = language or chosen_language()
    _current = stdlib_gettext.translation(
        "messages", str(TRANSLATIONS), languages=[chosen], fallback=True
    )
    return chosen


def _translations() -> stdlib_gettext.NullTranslations:
    """The chosen catalog; before ``--lang`` is read (``repostwatch --help``, or a helper
    called outside a command), :func:`chosen_language`, or English when the settings cannot be
    read."""
    if _current is None:
        try:
            choose(None)
        except click.ClickException:
            choose("en")
    assert _current is not None
    return _current


def gettext(message: str) -> str:
    """``message`` in the chosen language (itself when the catalog has no translation)."""
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, number: int) -> str:
    """The form of ``singular``/``plural`` for ``number``, in the chosen language."""
    return _translations().ngettext(singular, plural, number)


_ = gettext


def problem(value: object) -> object:
    """A :class:`crawler.problems.Problem` (a site's problem, a refusal's reason) in the chosen
    language; any other value as it is."""
    from crawler.problems import say

    return say(value, gettext)


def refusal(error: BaseException) -> str:
    """An error the library raised with a Problem (CaseNotFound, NoticeStateError, ...) in the
    chosen language; a site file's error (SiteConfigError) as its source and each problem, one
    a line; any other error as ``str()`` says it."""
    from crawler.problems import said

    problems, path = getattr(error, "problems", None), getattr(error, "path", None)
    if isinstance(problems, list) and isinstance(path, str):
        return "\n".join(f"{path}: {problem(each)}" for each in problems)
    return said(error, gettext)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs and return it as it is: translated where it is shown."""
    return message


def lang_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """The callback of the global ``--lang``: choose before any command speaks."""
    return choose(value)
