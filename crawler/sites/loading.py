"""Reading site files: parse and validate one, list a directory's, find one by name.

Errors name the file, the key and what is wrong, e.g.
``settings/sites/foo.toml: follow.allow[1]: not a valid regular expression (...)``.
"""

from __future__ import annotations

import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import (
    ValidationError,
)

from crawler.sites.config import SiteConfig

SITE_FILE_SUFFIX = ".toml"


class SiteConfigError(ValueError):
    """A site file that cannot be used. ``str()`` lists every problem, one per line."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {problem}" for problem in problems))


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _problem(error: dict) -> str:
    loc = _location(tuple(error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; the README lists every key)"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "model_type":
        message = f"must be a table, e.g. [{loc}]"
    elif kind == "bool_type":
        message = "must be true or false (without quotes)"
    elif kind == "literal_error" and loc == "render":
        message = 'must be "html" or "browser" (pages rendered in Chromium, for JavaScript sites)'
    if loc == "(file)" and message.startswith(
        (
            "start_urls[",
            "browser: ",
            "robots_reason:",
            "search.",
            "retry_backoff_max:",
            "schedule.search_",
        )
    ):
        return message
    if message.startswith("["):  # a list validator naming the item: start_urls[1] ...
        index, _, rest = message.partition("] ")
        return f"{loc}{index}]: {rest}"
    return f"{loc}: {message}"


def parse_site(text: str, source: Path | str = "<site>") -> SiteConfig:
    """Validate the TOML text of a site file; raises SiteConfigError naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SiteConfigError(source, [f"not valid TOML: {exc}"]) from None
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(source, [_problem(error) for error in exc.errors()]) from None
    stem = Path(str(source)).stem
    if str(source).endswith(SITE_FILE_SUFFIX) and stem != config.name:
        raise SiteConfigError(
            source, [f"name: {config.name!r} differs from the file name; rename one to match"]
        )
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


def load_site(path: Path | str) -> SiteConfig:
    path = Path(path)
    try:
        archived = None if path.exists() else _in_archive(path)
        text = (archived or path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteConfigError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteConfigError(path, [f"cannot be read: {exc}"]) from None
    return parse_site(text, path)


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
        sites_dir, ["no such directory; point REPOSTWATCH_SITES_DIR at your site files"]
    )


@dataclass(frozen=True)
class SiteFile:
    """One file of a sites directory: its config, or the error that names what is wrong."""

    path: Path
    config: SiteConfig | None = None
    error: SiteConfigError | None = None


@dataclass(frozen=True)
class LoadedSites:
    """Every site file of a directory, valid or not, sorted by file name."""

    files: tuple[SiteFile, ...]

    @property
    def sites(self) -> dict[str, SiteConfig]:
        """The valid site files by site name."""
        return {f.config.name: f.config for f in self.files if f.config is not None}

    @property
    def invalid(self) -> list[SiteFile]:
        """The files that cannot be used, each with its error."""
        return [f for f in self.files if f.error is not None]


def load_sites(sites_dir: Path | str) -> LoadedSites:
    """Load every site file of ``sites_dir``: the one loader of a whole directory.

    A file that does not validate is kept with its error (callers decide whether to report,
    skip or list it); a ``sites_dir`` that is no directory raises SiteConfigError.
    """
    files = []
    for path in site_files(sites_dir):
        try:
            files.append(SiteFile(path, config=load_site(path)))
        except SiteConfigError as exc:
            files.append(SiteFile(path, error=exc))
    return LoadedSites(tuple(files))


def resolve_site(name_or_path: str, sites_dir: Path | str) -> Path:
    """A site NAME (looked up in ``sites_dir``) or the PATH of a site file."""
    candidate = Path(name_or_path)
    if candidate.suffix == SITE_FILE_SUFFIX or candidate.parent != Path("."):
        return candidate
    path = Path(sites_dir) / f"{name_or_path}{SITE_FILE_SUFFIX}"
    if not _exists(path):
        names = ", ".join(p.stem for p in site_files(sites_dir)) or "none"
        raise SiteConfigError(
            path, [f"no site named {name_or_path!r} in {sites_dir} (known sites: {names})"]
        )
    return path


def find_site(name_or_path: str, sites_dir: Path | str) -> SiteConfig:
    return load_site(resolve_site(name_or_path, sites_dir))
