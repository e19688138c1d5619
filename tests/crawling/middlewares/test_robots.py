"""robots.txt refusals are RobotsTxtRefused, so that media refused by robots.txt is counted so."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler

from crawler.crawling.middlewares.robots import RobotsTxtRefusalMiddleware, RobotsTxtRefused
from crawler.crawling.process import project_settings


def test_a_request_robots_txt_forbids_is_refused_as_such():
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    middleware = RobotsTxtRefusalMiddleware.from_crawler(crawler)
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /members/\n")

    async def parsed(request: Request) -> ProtegoRobotParser:
        return parser  # robots.txt as fetched

    middleware.robot_parser = parsed
    with pytest.raises(RobotsTxtRefused, match=r"Forbidden by robots\.txt") as refused:
        asyncio.run(middleware.process_request(Request("http://board.example/members/1.jpg")))
    assert isinstance(refused.value, IgnoreRequest)  # Scrapy's handling of a refusal is kept
    assert crawler.stats.get_value("robotstxt/forbidden") == 1
    assert asyncio.run(middleware.process_request(Request("http://board.example/1.jpg"))) is None


def test_the_project_uses_it_in_place_of_scrapys():
    middlewares = project_settings().getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert middlewares["crawler.crawling.middlewares.robots.RobotsTxtRefusalMiddleware"] == 100
