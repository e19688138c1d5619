"""``--help`` in the chosen language for the staff commands.

A help text is written once, in English, where click expects it (a command's docstring, an
option's ``help=``), and is the catalog's msgid. Click reads it when the command is defined,
before ``--lang`` is parsed, so the staff commands' classes (:class:`TranslatedCommand`,
:class:`TranslatedGroup`) translate it when the help is shown; :func:`extract_help` hands the
texts to ``make i18n`` (babel.cfg). The operations commands (db, scheduler, web, evidence,
demo) keep click's own classes: their help is English, and babel.cfg does not extract it.

Korean is twice as wide on a terminal as its characters are many: :class:`TranslatedFormatter`
wraps such text by columns, where click counts characters.
"""

from __future__ import annotations

import ast
import inspect
import unicodedata
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.language import LANGUAGES, N_, choose, gettext

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import IO

# Click's own words around the help texts, translated by TranslatedFormatter and _option_row.
N_("Usage:")
N_("Options")
N_("Commands")
N_("required")
N_("default: %(default)s")
N_("Show this message and exit.")
N_("Show the version and exit.")


def help_msgid(text: str) -> str:
    """The catalog's msgid of a help text: the text click shows (cleaned, cut at ``\\f``),
    with click's ``\\b`` (keep these lines as written) spelled as in the source rather than
    as a control character in the catalogs."""
    return inspect.cleandoc(text).partition("\f")[0].replace("\b", "\\b")


def translated_help(text: str) -> str:
    """Help ``text`` in the chosen language, as click's formatter takes it."""
    return gettext(help_msgid(text)).replace("\\b", "\b")


class TranslatedFormatter(click.HelpFormatter):
    """Click's formatter with its headings ("Usage:", "Options", ...) in the chosen language,
    wrapping text with wide (Korean) characters by the columns it takes."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, gettext("Usage:") + " " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(gettext(heading))

    def write_text(self, text: str) -> None:
        if not _has_wide(text):
            return super().write_text(text)
        self.write(_wrap(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        if not any(_has_wide(second) for _first, second in rows):
            return super().write_dl(rows, col_max, col_spacing)
        first_col = min(max(len(first) for first, _second in rows), col_max) + col_spacing
        hanging = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(" " * self.current_indent + first)
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + hanging)
            lines = _wrap(second, max(self.width - first_col - 2, 10)).splitlines() or [""]
            self.write("\n".join([lines[0], *(hanging + line for line in lines[1:])]) + "\n")


class TranslatedContext(click.Context):
    formatter_class = TranslatedFormatter


class _TranslatedHelp:
    """What the staff commands share: their help, short help and options' help are translated
    when shown, by when the global ``--lang`` has been read."""

    context_class = TranslatedContext
    help: str | None
    short_help: str | None

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return translated_help(self.short_help)
        return _first_sentence(translated_help(self.help), limit) if self.help else ""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(translated_help(self.help))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        assert isinstance(self, click.Command)
        rows = [_option_row(param, ctx) for param in self.get_params(ctx)]
        if shown := [row for row in rows if row is not None]:
            with formatter.section("Options"):
                formatter.write_dl(shown)


class TranslatedCommand(_TranslatedHelp, click.Command):
    """A staff command: its help is shown in the chosen language."""


class TranslatedGroup(_TranslatedHelp, click.Group):
    """A group of staff commands: its help, and that of the commands and groups made with its
    ``.command``/``.group``, are shown in the chosen language."""

    command_class = TranslatedCommand
    group_class = type

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


class MainGroup(TranslatedGroup):
    """``repostwatch`` itself: its ``--lang`` is read before its ``--help`` in whichever order
    they come (click runs them in the order typed: ``repostwatch --help --lang en``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = iter(args)
        for arg in given:
            if not arg.startswith("-"):
                break  # the command's own arguments
            value = next(given, None) if arg == "--lang" else arg.removeprefix("--lang=")
            if value in LANGUAGES:
                choose(value)
        return super().parse_args(ctx, args)


def _option_row(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """``param``'s row in the Options section, as click writes it, translated."""
    record = param.get_help_record(ctx)
    if record is None or not isinstance(param, click.Option):
        return None
    extra = param.get_help_extra(ctx)
    notes = (
        [gettext("default: %(default)s") % {"default": extra["default"]}]
        if "default" in extra
        else []
    )
    notes += [gettext("required")] if "required" in extra else []
    text = translated_help(param.help) if param.help else ""
    if notes:
        text = f"{text}  [{'; '.join(notes)}]".lstrip()
    return record[0], text


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _has_wide(text: str) -> bool:
    return _columns(text) != len(text)


def _first_sentence(text: str, limit: int) -> str:
    """The first sentence of ``text``, cut to ``limit`` columns (click's short help rule)."""
    words = text.partition("\n\n")[0].replace("\b", " ").split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):
            words = words[: i + 1]
            break
    shown = " ".join(words)
    while _columns(shown) > limit and len(words) > 1:
        words.pop()
        shown = " ".join(words) + "..."
    return shown


def _wrap(text: str, width: int, indent: str = "") -> str:
    """Click's ``wrap_text(..., preserve_paragraphs=True)`` counting columns: paragraphs are
    refilled (keeping their indentation), a paragraph opened by a ``\\b`` line kept as is."""
    paragraphs = []
    for paragraph in filter(None, text.split("\n\n")):
        lines = paragraph.splitlines()
        if lines[0].strip() == "\b":
            paragraphs.append("\n".join(indent + line for line in lines[1:]))
            continue
        own = indent + " " * (len(lines[0]) - len(lines[0].lstrip()))
        filled, line = [], ""
        for word in paragraph.split():
            if line and _columns(own + line + " " + word) > width:
                filled.append(own + line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        paragraphs.append("\n".join([*filled, own + line]))
    return "\n\n".join(paragraphs)


def extract_help(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extractor (babel.cfg): the messages of ``_`` and ``N_`` (Babel's own Python
    extractor), then the help texts click reads: the docstring of each function made a command
    by a ``.command``/``.group`` decorator, and each literal ``help=``/``short_help=``."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    for node in ast.walk(ast.parse(fileobj.read())):
        if isinstance(node, ast.FunctionDef) and any(map(_makes_a_command, node.decorator_list)):
            if docstring := ast.get_docstring(node, clean=False):
                yield node.lineno, "", help_msgid(docstring), []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("help", "short_help") and isinstance(
                    keyword.value, ast.Constant
                ):
                    yield keyword.value.lineno, "", help_msgid(keyword.value.value), []


def _makes_a_command(decorator: ast.expr) -> bool:
    called = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(called, ast.Attribute) and called.attr in ("command", "group")
