"""Planning what to fetch of a video served over HTTP, and reading what was fetched: pure.

`sparse`: a large progressive file (MP4/MOV/M4V/WebM/MKV) read through the byte ranges fetched so
far, sampled by keyframes spread over its whole duration, each pass saying which ranges it needs
next. No Scrapy, database or web app here: the crawl (`crawler.crawling.video_fetch`) fetches.
"""
