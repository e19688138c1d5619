"""Run `crawler.crawling.stream_fetch.sample_stream` inside a real Scrapy crawl, as the video
dispatcher does: the project's settings and downloader middlewares (the private-network guard,
robots.txt, retries), every request through the engine, hashing in a hashing process.

    python -m tests.support.stream_crawl OUT.json REFERENCE.mp4 URL [URL ...]

A URL written ``captured:URL`` is sampled as one the page's player asked for in the browser
(``sample_stream(..., captured=True)``).

For each URL: a probe request (its first `PROBE_BYTES`, as the dispatcher's probe), then
``sample_stream``, with ``candidate_times`` naming the sampled times whose frame is within
`NEAR` bits of a frame of REFERENCE. OUT.json gets, per URL, the frames, the delivery or the
error, and the crawl's stats.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.crawling.hash_pool import new_hash_pool
from crawler.crawling.media_download import MediaOutcome
from crawler.crawling.stream_fetch import StreamOptions, sample_stream
from crawler.hashing.video import hash_video

PROBE_BYTES = 200
CAPTURED = "captured:"
#: PDQ bits between a sampled frame and a reference frame that make its time a candidate.
NEAR = 31


class StreamSpider(Spider):
    name = "stream-sampling"
    allow_private_network = True  # the test streams are on 127.0.0.1

    def __init__(self, urls: list[str], reference: Path, out: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.reference = hash_video(reference.read_bytes(), seconds_per_sample=0.25).frames
        self.out = out
        self.found: dict[str, dict] = {}

    async def start(self):
        self.hasher = new_hash_pool(1)
        self.captured = {u.removeprefix(CAPTURED) for u in self.urls if u.startswith(CAPTURED)}
        for url in self.urls:
            url = url.removeprefix(CAPTURED)
            yield Request(
                url,
                headers={"Range": f"bytes=0-{PROBE_BYTES - 1}"},
                meta={"repostwatch_media": True, "handle_httpstatus_all": True},
                callback=self.sample,
                dont_filter=True,
            )

    async def candidate_times(self, frames) -> list[float]:
        def near(frame) -> bool:
            bits = int(frame.value.hex, 16)
            return any((bits ^ int(r.value.hex, 16)).bit_count() <= NEAR for r in self.reference)

        return [frame.seconds for frame in frames if near(frame)]

    async def sample(self, response):
        result = await sample_stream(
            self.crawler.engine.download_async,
            response.url,
            response,
            candidate_times=self.candidate_times,
            options=StreamOptions.from_settings(self.settings),
            hasher=self.hasher,
            stats=self.crawler.stats,
            captured=response.url in self.captured,
        )
        if isinstance(result, MediaOutcome):
            self.found[response.url] = {"error": result.error}
        else:
            self.found[response.url] = {
                "frames": [[f.seconds, f.value.hex] for f in result.frames],
                "form": result.delivery.form,
                "bytes_fetched": result.delivery.bytes_fetched,
                "bytes_total": result.delivery.bytes_total,
                "detail": result.delivery.detail,
                "size": [result.width, result.height],
                "segments": result.segments,
            }

    def closed(self, reason: str) -> None:
        self.hasher.shutdown(wait=True, cancel_futures=True)
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if isinstance(v, int)}
        self.out.write_text(json.dumps({"streams": self.found, "stats": stats}))


def main(argv: list[str]) -> None:
    out, reference, *urls = argv
    settings = get_project_settings()
    settings.set("ITEM_PIPELINES", {})
    settings.set("LOG_LEVEL", "INFO")
    process = CrawlerProcess(settings)
    process.crawl(StreamSpider, urls=urls, reference=Path(reference), out=Path(out))
    process.start()


if __name__ == "__main__":
    main(sys.argv[1:])
