"""The [takedown] table of a site file: where and in which language notices go."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    field_validator,
)

from crawler.problems import N_, Invalid
from crawler.sites.tables import Strict

#: Languages a takedown notice can be written in (crawler/takedown/templates/<language>.j2).
NOTICE_LANGUAGES = ("ko", "en", "ja", "zh", "ru", "vi")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}$")


class TakedownConfig(Strict):
    """Where and how takedown notices for this site go (the ``[takedown]`` table)."""

    #: The language of the notice text (a template per language).
    language: Literal["ko", "en", "ja", "zh", "ru", "vi"] = "en"
    #: The site's abuse contact (an e-mail address); without it notices can only be exported.
    abuse_contact: str | None = None
    #: One notice per site, or one per host of the flagged pages (sites spread over domains).
    group_by: Literal["site", "host"] = "site"

    @field_validator("abuse_contact")
    @classmethod
    def _abuse_contact(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise Invalid(
                N_("%(value)s is not an e-mail address (write abuse@site.example)"),
                value=repr(value),
            )
        return value
