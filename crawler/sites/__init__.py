"""Site files: one TOML file per monitored site, loaded and validated into a SiteConfig.

``tables`` (follow, browser, embeds, search), ``takedown`` and ``schedule`` hold the tables of a
file, ``config`` the whole SiteConfig, ``loading`` the one way to read files (:func:`load_sites`).
"""

from crawler.sites.config import SiteConfig
from crawler.sites.loading import (
    SITE_FILE_SUFFIX,
    LoadedSites,
    SiteConfigError,
    SiteFile,
    find_site,
    load_site,
    load_sites,
    parse_site,
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
    "TakedownConfig",
    "find_site",
    "load_site",
    "load_sites",
    "parse_site",
    "resolve_site",
    "site_files",
]
