"""Reading sites: parse and validate one, load every site of a source, find one by name.

A source of sites is a directory of site files, or a :class:`SiteSource` such as the database
(``crawler.db.sites.DatabaseSites``, which REPOSTWATCH_SITES_SOURCE names): it gives each stored
site's TOML text, validated here exactly as a file's. Errors name the file (or
``database:NAME``), the key and what is wrong, e.g.
``settings/sites/foo.toml: follow.allow[1]: not a valid regular expression (...)``.
"""

from __future__ import annotations

import importlib
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import (
    ValidationError,
)

from crawler.problems import N_, Invalid, Problem
from crawler.sites.config import SiteConfig

SITE_FILE_SUFFIX = ".toml"


class SiteConfigError(ValueError):
    """A site file that cannot be used. ``str()`` lists every problem, one per line; each of
    ``problems`` is a :class:`~crawler.problems.Problem` (its English text, and its
    template for the web app's translation)."""

    def __init__(self, path: Path | str, problems: list[Problem]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {problem}" for problem in problems))


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


#: pydantic's own messages (by error type) as templates that give the same English text from
#: the error's context, so that they are translated too; the first that gives the text is used.
PYDANTIC_MESSAGES = {
    "greater_than_equal": (N_("Input should be greater than or equal to %(ge)s"),),
    "less_than_equal": (N_("Input should be less than or equal to %(le)s"),),
    "greater_than": (N_("Input should be greater than %(gt)s"),),
    "less_than": (N_("Input should be less than %(lt)s"),),
    "int_type": (N_("Input should be a valid integer"),),
    "int_parsing": (N_("Input should be a valid integer, unable to parse string as an integer"),),
    "int_from_float": (N_("Input should be a valid integer, got a number with a fractional part"),),
    "float_type": (N_("Input should be a valid number"),),
    "float_parsing": (N_("Input should be a valid number, unable to parse string as a number"),),
    "string_type": (N_("Input should be a valid string"),),
    "list_type": (N_("Input should be a valid list"),),
    "too_short": (
        N_("List should have at least %(min_length)s item after validation, not %(actual_length)s"),
        N_(
            "List should have at least %(min_length)s items after validation, not %(actual_length)s"
        ),
    ),
    "string_pattern_mismatch": (N_("String should match pattern '%(pattern)s'"),),
    "literal_error": (N_("Input should be %(expected)s"),),
}


def _message(error: dict, loc: str) -> Problem:
    """What an error of pydantic says, without the key."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return Problem(N_("unknown key (check the spelling; the README lists every key)"))
    if kind == "missing":
        return Problem(N_("required key is missing"))
    if kind == "model_type":
        return Problem(N_("must be a table, e.g. [%(key)s]"), {"key": loc})
    if kind == "bool_type":
        return Problem(N_("must be true or false (without quotes)"))
    if kind == "literal_error" and loc == "render":
        return Problem(
            N_('must be "html" or "browser" (pages rendered in Chromium, for JavaScript sites)')
        )
    context = error.get("ctx") or {}
    for template in PYDANTIC_MESSAGES.get(kind, ()):
        try:
            problem = Problem(template, {name: context[name] for name in context})
        except (KeyError, TypeError, ValueError):
            continue
        if problem == error["msg"]:
            return problem
    return Problem(error["msg"].removeprefix("Value error, "))  # said in English only


def _problem(error: dict) -> Problem:
    loc = _location(tuple(error["loc"]))
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, Invalid):
        if raised.key:
            key = raised.key if loc == "(file)" else f"{loc}: {raised.key}"
        elif raised.index is not None:
            key = f"{loc}[{raised.index}]"
        else:
            key = loc
        return Problem(raised.problem.template, raised.problem.params, key)
    message = _message(error, loc)
    return Problem(message.template, message.params, key=loc)


def validation_problems(error: ValidationError) -> list[Problem]:
    """What pydantic found wrong with a site's configuration (built from a file, or by
    :func:`crawler.sites.checks.check_config`), one Problem per error, each naming its key."""
    return [_problem(found) for found in error.errors()]


def parse_site(text: str, source: Path | str = "<site>", *, name: str = "") -> SiteConfig:
    """Validate the TOML text of a site file; raises SiteConfigError naming every problem.
    ``name``: the name the site is stored under, which its ``name`` key must keep."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem(N_("not valid TOML: %(error)s"), {"error": str(exc)})
        raise SiteConfigError(source, [problem]) from None
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(source, validation_problems(exc)) from None
    if name and config.name != name:
        problem = Problem(
            N_("%(name)s differs from the site's name %(site)s; a site keeps its name"),
            {"name": repr(config.name), "site": repr(name)},
            key="name",
        )
        raise SiteConfigError(source, [problem])
    stem = Path(str(source)).stem
    if str(source).endswith(SITE_FILE_SUFFIX) and stem != config.name:
        problem = Problem(
            N_("%(name)s differs from the file name; rename one to match"),
            {"name": repr(config.name)},
            key="name",
        )
        raise SiteConfigError(source, [problem])
    return config.model_copy(update={"source": str(source)})


def _in_archive(path: Path) -> zipfile.Path | None:
    """``path`` inside a zip archive, or None: the project deployed to scrapyd runs from an egg
    (a zip file), and the site files it ships are read from there (settings/sites/)."""
    for parent in path.parents:
        if parent.is_file():
            if not zipfile.is_zipfile(parent):
                return None
            inner = zipfile.Path(parent, path.relative_to(parent).as_posix())
            return inner if inner.exists() else zipfile.Path(parent, f"{inner.at}/")
    return None


def _exists(path: Path) -> bool:
    return path.exists() or ((inner := _in_archive(path)) is not None and inner.exists())


def read_site_file(path: Path | str) -> str:
    """The text of a site file (also inside the deployed egg); SiteConfigError if unreadable."""
    path = Path(path)
    try:
        archived = None if path.exists() else _in_archive(path)
        return (archived or path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteConfigError(path, [Problem(N_("file not found"))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(
            path, [Problem(N_("cannot be read: %(error)s"), {"error": str(exc)})]
        ) from None


def load_site(path: Path | str) -> SiteConfig:
    return parse_site(read_site_file(path), path)


def site_files(sites_dir: Path | str) -> list[Path]:
    """The site files of a directory, sorted by name."""
    directory = Path(sites_dir)
    if directory.is_dir():
        return sorted(directory.glob(f"*{SITE_FILE_SUFFIX}"))
    archived = _in_archive(directory)
    if archived is not None and archived.is_dir():
        names = (entry.name for entry in archived.iterdir() if entry.is_file())
        return sorted(directory / name for name in names if name.endswith(SITE_FILE_SUFFIX))
    raise SiteConfigError(
        sites_dir,
        [Problem(N_("no such directory; point REPOSTWATCH_SITES_DIR at your site files"))],
    )


class SiteSource(Protocol):
    """Where sites are stored besides a directory of files (the database: DatabaseSites)."""

    #: The site files read while the source holds no site.
    sites_dir: Path | str
    #: What messages call the source ("the database").
    description: str

    def site_texts(self) -> dict[str, str] | None:
        """Every stored site's TOML text by site name; None while the source holds no site
        (the site files of ``sites_dir`` are read instead)."""
        ...

    def origin(self, name: str) -> str:
        """How errors and listings name the stored site ``name``."""
        ...


#: A source of sites: a directory of site files, or a SiteSource.
Sites = Path | str | SiteSource


@dataclass(frozen=True)
class SiteFile:
    """One site of a source: its config, or the error that names what is wrong.

    ``origin`` is where it was read (a file's path, or ``database:NAME``); ``name`` is the
    site's name (for a file that does not validate: its file name without .toml).
    """

    origin: str
    name: str
    config: SiteConfig | None = None
    error: SiteConfigError | None = None
    #: Read from a SiteSource (the database), not from a file.
    stored: bool = False


@dataclass(frozen=True)
class LoadedSites:
    """Every site of a source, valid or not, sorted by name (files: by file name)."""

    files: tuple[SiteFile, ...]
    #: Where they came from: the directory, or the source's description (for messages).
    origin: str = ""

    @property
    def sites(self) -> dict[str, SiteConfig]:
        """The valid sites by site name."""
        return {f.config.name: f.config for f in self.files if f.config is not None}

    @property
    def invalid(self) -> list[SiteFile]:
        """The sites that cannot be used, each with its error."""
        return [f for f in self.files if f.error is not None]


def _stored_texts(sites: Sites) -> tuple[SiteSource | None, dict[str, str] | None]:
    if isinstance(sites, (Path, str)):
        return None, None
    return sites, sites.site_texts()


def files_dir(sites: Sites) -> Path | str:
    """The directory of site files of ``sites``."""
    return sites if isinstance(sites, (Path, str)) else sites.sites_dir


def load_file(path: Path) -> SiteFile:
    """One site file as a SiteFile: its config, or its error."""
    try:
        return SiteFile(str(path), path.stem, config=load_site(path))
    except SiteConfigError as exc:
        return SiteFile(str(path), path.stem, error=exc)


def load_stored(source: SiteSource, name: str, text: str) -> SiteFile:
    """One stored site's text as a SiteFile: its config, or its error."""
    origin = source.origin(name)
    try:
        return SiteFile(origin, name, config=parse_site(text, origin, name=name), stored=True)
    except SiteConfigError as exc:
        return SiteFile(origin, name, error=exc, stored=True)


def load_sites(sites: Sites) -> LoadedSites:
    """Load every site of ``sites``: the one loader of a whole source.

    ``sites`` is a directory of site files, or a :class:`SiteSource` (the database), whose
    stored sites are the one source of sites once it holds any (its site files are read until
    then). A site that does not validate is kept with its error (callers decide whether to
    report, skip or list it); a directory that is no directory raises SiteConfigError.
    """
    source, texts = _stored_texts(sites)
    if source is not None and texts is not None:
        stored = (load_stored(source, name, texts[name]) for name in sorted(texts))
        return LoadedSites(tuple(stored), origin=source.description)
    directory = files_dir(sites)
    return LoadedSites(tuple(map(load_file, site_files(directory))), origin=str(directory))


def resolve_site(name_or_path: str, sites_dir: Path | str) -> Path:
    """A site NAME (looked up in the site files of ``sites_dir``) or the PATH of a site file."""
    candidate = Path(name_or_path)
    if candidate.suffix == SITE_FILE_SUFFIX or candidate.parent != Path("."):
        return candidate
    path = Path(sites_dir) / f"{name_or_path}{SITE_FILE_SUFFIX}"
    if not _exists(path):
        names = ", ".join(p.stem for p in site_files(sites_dir)) or "none"
        problem = Problem(
            N_("no site named %(name)s in %(where)s (known sites: %(names)s)"),
            {"name": repr(name_or_path), "where": str(sites_dir), "names": names},
        )
        raise SiteConfigError(path, [problem])
    return path


def is_site_path(name_or_path: str) -> bool:
    """Whether ``name_or_path`` is the PATH of a site file rather than a site's NAME."""
    candidate = Path(name_or_path)
    return candidate.suffix == SITE_FILE_SUFFIX or candidate.parent != Path(".")


def find_site(name_or_path: str, sites: Sites) -> SiteConfig:
    """The site called NAME in ``sites`` (a directory of site files or a SiteSource such as the
    database), or the site file at PATH (a path is always read from its file)."""
    if is_site_path(name_or_path):
        return load_site(name_or_path)
    source, texts = _stored_texts(sites)
    if source is None or texts is None:
        return load_site(resolve_site(name_or_path, files_dir(sites)))
    if name_or_path not in texts:
        names = ", ".join(sorted(texts)) or "none"
        problem = Problem(
            N_(
                "no site named %(name)s in %(where)s (known sites: %(names)s); add it with "
                "`repostwatch sites import FILE` or in the web app"
            ),
            {"name": repr(name_or_path), "where": source.description, "names": names},
        )
        raise SiteConfigError(source.origin(name_or_path), [problem])
    found = load_stored(source, name_or_path, texts[name_or_path])
    if found.error is not None:
        raise found.error
    assert found.config is not None
    return found.config


def configured_sites(settings: Mapping[str, Any]) -> Sites:
    """The source of sites the settings configure: REPOSTWATCH_SITES_SOURCE, the dotted path
    of a callable given the settings that returns a SiteSource (the database by default), or
    with it empty the site files of REPOSTWATCH_SITES_DIR. Scrapy settings and plain mappings
    both work, so that spiders, the CLI and the scheduler choose the source in one place."""
    path = settings.get("REPOSTWATCH_SITES_SOURCE")
    if not path:
        return settings.get("REPOSTWATCH_SITES_DIR")
    return _named_object(str(path))(settings)


def _named_object(path: str) -> Any:
    """The object a dotted path names (a module's attribute, or an attribute of one)."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:]:
            target = getattr(target, part)
        return target
    raise ValueError(f"REPOSTWATCH_SITES_SOURCE={path!r} names no importable object")
