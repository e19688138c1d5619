"""``repostwatch``: the command line, a thin layer over the library.

One module per top-level command, named after it (``db`` is database.py, ``refs``
references.py); helpers they share are in common.py. Each command parses its arguments, calls
one library function and prints the result; library errors become one clear error line and exit
status 1. Imports happen inside commands (types under ``TYPE_CHECKING``) so that
``repostwatch --help`` is instant.
"""

from __future__ import annotations

import os

import click

from crawler.cli import (
    cases,
    check,
    crawl,
    crawls,
    database,
    demo,
    digests,
    evidence,
    flags,
    helptext,
    language,
    notices,
    recheck,
    references,
    scheduler,
    sites,
    status,
    users,
    web,
)


@click.group(
    cls=helptext.MainGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="repostwatch")
@click.option(
    "--lang",
    type=click.Choice(language.LANGUAGES),
    callback=language.lang_option,
    is_eager=True,
    expose_value=False,
    help="The language of messages: ko or en (default: REPOSTWATCH_CLI_LANG, else "
    "REPOSTWATCH_LOCALE). JSON, CSV, TOML and table headings stay English.",
)
def main() -> None:
    """RepostWatch: find reposts of victims' media on monitored sites and queue them for review.

    Settings come from the environment (REPOSTWATCH_DATABASE_URL, REPOSTWATCH_SITES_DIR, ...);
    the README lists them all.

    \b
    Example:
      repostwatch db upgrade
      repostwatch refs add --case case-0042 ./reference-photos/
      repostwatch crawl demo
      repostwatch flags list --status pending
      repostwatch --lang en status
    """
    # What the commands write (SQLite databases, exports, logs, spilled matches) is victim-linked:
    # readable by this user only.
    os.umask(0o077)


main.add_command(database.db)
main.add_command(references.refs)
main.add_command(sites.sites)
main.add_command(crawl.crawl)
main.add_command(check.check)  # pages found by hand, crawled once now
main.add_command(flags.flags)
main.add_command(demo.demo)
main.add_command(cases.cases)  # case keywords for search crawls
main.add_command(users.users)  # staff accounts of the review web app
main.add_command(web.web)
main.add_command(evidence.evidence)  # evidence keys: crawls seal, the web app opens
main.add_command(notices.notices)  # takedown notices
notices.notices.add_command(recheck.notices_removals)
main.add_command(recheck.recheck)
main.add_command(scheduler.scheduler)  # operations on scrapyd
main.add_command(crawls.crawls)
main.add_command(status.status)
main.add_command(digests.digests)  # digests of new flags for reviewer groups
