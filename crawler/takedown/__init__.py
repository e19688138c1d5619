"""Takedown notices: drafting from confirmed flags, rendering per language, sending, exports,
removal re-checks.

The workflow (README "Takedown notices"): ``draft_notices`` groups confirmed flags per site (or
host) into draft notices with a blurred screenshot of every page; a person approves a notice
(``crawler.db.approve_notice``); ``send_notice`` mails it over SMTP, or ``export_notice`` writes
it as .eml, HTML, PDF, CSV or JSON; ``send_due`` re-sends unresolved notices on an interval;
``recheck`` records what the media URL of each confirmed flag serves and marks a flag removed
when its media was seen gone twice, far enough apart. Imports the database layer, never
Scrapy.
"""
