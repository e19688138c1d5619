"""Sites: one TOML document per monitored site (a file, or stored in the database), loaded and
validated into a SiteConfig.

``tables`` (follow, browser, embeds, search), ``takedown`` and ``schedule`` hold the tables of a
site, ``config`` the whole SiteConfig, ``loading`` the one way to read sites, from files or the
database (:func:`load_sites`, :func:`find_site`).
"""

from crawler.sites.config import SiteConfig
from crawler.sites.loading import (
    SITE_FILE_SUFFIX,
    LoadedSites,
    SiteConfigError,
    SiteFile,
    Sites,
    SiteSource,
    configured_sites,
    files_dir,
    find_site,
    is_site_path,
    load_file,
    load_site,
    load_sites,
    parse_site,
    read_site_file,
    resolve_site,
    site_files,
)
from crawler.sites.schedule import ScheduleConfig
from crawler.sites.tables import (
    BLOCKABLE_RESOURCES,
    DEFAULT_BLOCK_HOSTS,
    DEFAULT_PLAY_BUTTONS,
    QUERY_PLACEHOLDER,
    BrowserConfig,
    EmbedsConfig,
    FollowConfig,
    SearchConfig,
)
from crawler.sites.takedown import NOTICE_LANGUAGES, TakedownConfig

__all__ = [
    "BLOCKABLE_RESOURCES",
    "DEFAULT_BLOCK_HOSTS",
    "DEFAULT_PLAY_BUTTONS",
    "NOTICE_LANGUAGES",
    "QUERY_PLACEHOLDER",
    "SITE_FILE_SUFFIX",
    "BrowserConfig",
    "EmbedsConfig",
    "FollowConfig",
    "LoadedSites",
    "ScheduleConfig",
    "SearchConfig",
    "SiteConfig",
    "SiteConfigError",
    "SiteFile",
    "SiteSource",
    "Sites",
    "TakedownConfig",
    "configured_sites",
    "files_dir",
    "find_site",
    "is_site_path",
    "load_file",
    "load_site",
    "load_sites",
    "parse_site",
    "read_site_file",
    "resolve_site",
    "site_files",
]
