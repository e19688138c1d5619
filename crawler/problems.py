"""Messages the library writes in English and the web app shows in the user's language: what
is wrong with a site (crawler/sites/), why a site's crawls look unhealthy
(crawler/scheduling/health.py).

A :class:`Problem` *is* its English text (a ``str``), so code that prints, joins, stores or
compares it is unchanged (the CLI, the logs, the database); it also keeps the ``template`` (a
msgid of the web app's catalogs, marked with :func:`N_` so that ``make i18n`` extracts it), the
``params`` that fill it in (values from a site file, key names, URLs, numbers: never translated)
and the ``key`` it is about (``follow.allow[1]``, or a file and a key). The web app translates
with ``problem.translated(gettext)``; a text stored as English is read back into its Problem by
:meth:`Problem.parse`. This module is pure: it never imports Flask.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping


def N_(template: str) -> str:
    """Mark ``template`` as a message the web app translates (extracted by ``make i18n``);
    returns it unchanged."""
    return template


class Problem(str):
    """One problem: its English text, and how to say it in another language."""

    template: str
    params: dict[str, object]
    key: str

    def __new__(cls, template: str, params: Mapping[str, object] | None = None, key: str = ""):
        params = dict(params or {})
        self = super().__new__(cls, _join(key, _fill(template, params)))
        self.template, self.params, self.key = template, params, key
        return self

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The problem in the language of ``gettext``: the key and the values as they are, but a
        value that is itself a Problem translated too."""
        params = {name: say(value, gettext) for name, value in self.params.items()}
        return _join(self.key, _fill(gettext(self.template), params))

    @classmethod
    def parse(cls, text: str, templates: Iterable[str]) -> Problem | None:
        """The Problem of one of ``templates`` whose English is ``text`` (a message stored as
        text, e.g. a site's health reason), or None; its values are read back as text (so such
        templates use ``%(name)s`` placeholders only)."""
        for template in templates:
            found = _pattern(template).fullmatch(text)
            if found is not None:
                return cls(template, found.groupdict())
        return None

    def __reduce__(self):
        return (Problem, (self.template, self.params, self.key))


_PARAM = re.compile(r"%\((\w+)\)s")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _PARAM.split(template)  # text, name, text, name, ..., text
    return re.compile(
        "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
            for index, part in enumerate(parts)
        ),
        re.S,
    )


def _fill(template: str, params: Mapping[str, object]) -> str:
    return template % params if params else template


def _join(key: str, text: str) -> str:
    return f"{key}: {text}" if key else text


def say(problem: object, gettext: Callable[[str], str]) -> object:
    """``problem`` in the language of ``gettext`` when it is a :class:`Problem`; any other value
    as it is."""
    return problem.translated(gettext) if isinstance(problem, Problem) else problem


def said(error: BaseException, gettext: Callable[[str], str]) -> str:
    """An exception raised with a :class:`Problem` (``raise SomeError(Problem(...))``) in the
    language of ``gettext``; any other exception as ``str()`` says it."""
    if len(error.args) == 1 and isinstance(error.args[0], Problem):
        return error.args[0].translated(gettext)
    return str(error)


class Invalid(ValueError):
    """What a validator raises: a :class:`Problem` that pydantic's error keeps (``ctx['error']``)
    for :func:`crawler.sites.loading.parse_site`. ``index``: the item of a list the problem is
    about; ``key``: the key a whole-file check names (``start_urls[0]``)."""

    def __init__(
        self, template: str, *, index: int | None = None, key: str = "", **params: object
    ) -> None:
        self.problem = Problem(template, params)
        self.index = index
        self.key = key
        prefix = f"[{index}] " if index is not None else (f"{key}: " if key else "")
        super().__init__(f"{prefix}{self.problem}")
