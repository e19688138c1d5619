"""Operations: scrapyd nodes, scheduled crawls and crawl health.

``scrapyd`` talks to scrapyd's JSON API; ``outlook`` is the one schedule rule (is a site
scheduled, paused or disabled, and when is it due, by APScheduler's triggers); ``scheduler``
hands due crawls to the least-loaded node and closes runs whose jobs vanished, ``health`` judges
each run that ended and ``alerts`` reports changes by webhook or e-mail; ``upkeep`` re-checks
confirmed flags, sends notice reminders and reviewer groups' ``digests`` of new flags in the
background of each pass; ``status`` collects
what `repostwatch status` prints. Imports the database layer, never Scrapy.
"""

from crawler.scheduling.alerts import Alerter, HealthAlert
from crawler.scheduling.scheduler import (
    Handover,
    NodeState,
    NoNodeAvailable,
    PassReport,
    Scheduler,
    SiteBusy,
    serve,
)
from crawler.scheduling.scrapyd import Jobs, Node, ScrapydClient, ScrapydError, parse_nodes
from crawler.scheduling.upkeep import Reminders, Upkeep, UpkeepReport

__all__ = [
    "Alerter",
    "Handover",
    "HealthAlert",
    "Jobs",
    "NoNodeAvailable",
    "Node",
    "NodeState",
    "PassReport",
    "Reminders",
    "Scheduler",
    "ScrapydClient",
    "ScrapydError",
    "SiteBusy",
    "Upkeep",
    "UpkeepReport",
    "parse_nodes",
    "serve",
]
