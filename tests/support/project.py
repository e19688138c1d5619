"""Where the project's checkout is, for tests that run its commands or read its files."""

from pathlib import Path

#: The top of the checkout (scrapy.cfg, settings/, docs/ ...).
ROOT = Path(__file__).resolve().parents[2]
