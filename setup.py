"""Present only because ``scrapyd-deploy`` builds the egg with ``python setup.py bdist_egg``
(and writes a setup.py of its own into the checkout when there is none): everything, including
the ``scrapy: settings`` entry point scrapyd needs, is in pyproject.toml."""

from setuptools import setup

setup()
