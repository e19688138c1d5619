"""The review web app for staff: the queue, flags, decisions, the audit log and user admin.

``create_app(config)`` builds a Flask app from a mapping holding every ``REPOSTWATCH_*`` setting
of ``CONFIG_KEYS`` (the CLI passes the project settings, which read the environment).
Server-rendered; a little JavaScript for keyboard shortcuts and unblurring. It imports
``crawler.db``, never Scrapy.
"""

from crawler.review.app import CONFIG_KEYS, ConfigError, create_app

__all__ = ["CONFIG_KEYS", "ConfigError", "create_app"]
