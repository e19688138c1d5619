"""The review web app for staff: the queue, flags, decisions, the audit log and user admin.

``create_app(config)`` builds a Flask app from a mapping of ``REPOSTWATCH_*`` settings (the CLI
reads them from the environment through ``settings``). Server-rendered; a little JavaScript for
keyboard shortcuts and unblurring. It imports ``crawler.db``, never Scrapy.
"""

from crawler.review.app import ConfigError, create_app

__all__ = ["ConfigError", "create_app"]
