"""Whether some bytes are an HLS playlist or a DASH manifest, by their content: one rule for
every caller.

The media sniffer (`crawler.hashing.sniff`: a media URL whose bytes are a playlist goes to the
stream sampler), the stream readers (`crawler.delivery.hls`, `crawler.delivery.dash`) and the
browser's record of a player's traffic (`crawler.extraction.player`, for a body whose content
type says nothing) all ask these two functions, so what the browser hands over as a stream is
what the pipeline samples as one. Here rather than in `crawler.hashing`: the spiders use the
player's rule and import no hashing.

Pure standard library.
"""

from __future__ import annotations

import re

#: A DASH manifest's root element, with or without a namespace prefix.
_MPD_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?MPD[\s>/]")
#: What may come before a playlist's first line or a manifest's first element.
_LEADING = b"\xef\xbb\xbf \t\r\n"


def is_hls_playlist(data: bytes) -> bool:
    """Whether ``data`` is an HLS playlist: its first line is ``#EXTM3U`` (RFC 8216 4.3.1.1)."""
    return bytes(data[:64]).lstrip(_LEADING).startswith(b"#EXTM3U")


def is_dash_manifest(data: bytes) -> bool:
    """Whether ``data`` is a DASH manifest: XML whose first kilobyte opens an ``MPD`` element."""
    head = bytes(data[:1024]).lstrip(_LEADING)
    return head.startswith(b"<") and _MPD_START.search(head) is not None
