"""HLS playlists read with the `m3u8` package, down to the segments of one variant.

    >>> parsed = parse(body, url)
    >>> if isinstance(parsed, MasterPlaylist): variant = choose_rendition(parsed.variants, 360)
    >>> timeline = parse(variant_body, variant.url)   # a Timeline

Covered: master playlists (the variants' resolution, bandwidth and codecs; audio-only variants
left out), media playlists of MPEG-TS or fMP4 segments (``EXT-X-MAP`` initialization sections,
with their byte ranges), ``EXT-X-BYTERANGE`` segments (an offset left out continues where the
previous range of the same URL ended), ``EXT-X-KEY`` (``METHOD=AES-128`` with the key's URL and
the IV: the playlist's, else the segment's media sequence number, as RFC 8216 5.2 says) and live
playlists (no ``EXT-X-ENDLIST``: the window listed now is the timeline).

Pure: standard library, `m3u8` and `crawler.hashing`.
"""

from __future__ import annotations

from dataclasses import dataclass

import m3u8

from crawler.delivery.stream import (
    MAX_MANIFEST_BYTES,
    MAX_SEGMENTS,
    ByteRange,
    Key,
    Rendition,
    Resource,
    Segment,
    StreamError,
    Timeline,
)
from crawler.manifests import is_hls_playlist

#: Codecs of audio: a variant whose CODECS lists only these has no video.
_AUDIO_CODECS = ("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3", "alac", "dts")


@dataclass(frozen=True, slots=True)
class MasterPlaylist:
    """A multivariant playlist: the video variants to choose from."""

    variants: tuple[Rendition, ...]


def parse(data: bytes, url: str) -> MasterPlaylist | Timeline:
    """The master playlist's variants, or the media playlist's segments, of playlist ``data``
    found at ``url`` (relative URIs are resolved against it)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise StreamError(f"playlist of {len(data):,} bytes, over {MAX_MANIFEST_BYTES:,}")
    if not is_hls_playlist(data):
        raise StreamError("not an HLS playlist: it does not start with #EXTM3U")
    try:
        playlist = m3u8.loads(data.decode("utf-8", "replace"), uri=url)
    except Exception as error:  # the parser's errors on hostile text are of many types
        raise StreamError(f"unreadable HLS playlist ({type(error).__name__}: {error})") from None
    if playlist.is_variant:
        return _master(playlist)
    return _media(playlist)


def _master(playlist: m3u8.M3U8) -> MasterPlaylist:
    variants = []
    for entry in playlist.playlists:
        info = entry.stream_info
        codecs = info.codecs or ""
        if codecs and all(c.strip().lower().startswith(_AUDIO_CODECS) for c in codecs.split(",")):
            continue
        width, height = info.resolution or (None, None)
        variants.append(
            Rendition(
                url=entry.absolute_uri,
                width=width,
                height=height,
                bandwidth=info.bandwidth,
                codecs=codecs,
            )
        )
    if not variants:
        raise StreamError("the master playlist lists no video variant (audio only?)")
    return MasterPlaylist(tuple(variants))


def _media(playlist: m3u8.M3U8) -> Timeline:
    segments: list[Segment] = []
    ends: dict[str, int] = {}  # where the last byte range of each URL ended
    start = 0.0
    truncated = False
    for position, entry in enumerate(playlist.segments):
        if position == MAX_SEGMENTS:
            truncated = True
            break
        if not entry.uri:
            continue
        url = entry.absolute_uri
        byterange = _byterange(entry.byterange, ends.get(url))
        if byterange is not None:
            ends[url] = byterange.start + byterange.length
        duration = max(0.0, float(entry.duration or 0.0))
        segments.append(
            Segment(
                index=len(segments),
                start=start,
                duration=duration,
                media=Resource(url, byterange),
                init=_init(entry.init_section),
                key=_key(entry.key, entry.media_sequence),
            )
        )
        start += duration
    if not segments:
        raise StreamError("the media playlist lists no segment")
    live = not playlist.is_endlist
    return Timeline(tuple(segments), live=live, truncated=truncated)


def _byterange(spec: str | None, previous_end: int | None) -> ByteRange | None:
    """``EXT-X-BYTERANGE:<length>[@<offset>]``; without an offset the range follows the
    previous range of the same URL."""
    if not spec:
        return None
    length, _, offset = spec.partition("@")
    try:
        size = int(length)
        first = int(offset) if offset else previous_end
    except ValueError:
        raise StreamError(f"EXT-X-BYTERANGE:{spec} is not <length>[@<offset>]") from None
    if first is None:
        raise StreamError(f"EXT-X-BYTERANGE:{spec} has no offset and follows no range")
    if size <= 0 or first < 0:
        raise StreamError(f"EXT-X-BYTERANGE:{spec} is empty or negative")
    return ByteRange(first, size)


def _init(section: m3u8.model.InitializationSection | None) -> Resource | None:
    if section is None or not section.uri:
        return None
    return Resource(section.absolute_uri, _byterange(section.byterange, 0))


def _key(key: m3u8.model.Key | None, sequence: int | None) -> Key | None:
    if key is None or not key.method or key.method.upper() == "NONE":
        return None
    method = key.method.upper()
    if not key.uri:
        raise StreamError(f"EXT-X-KEY METHOD={method} has no URI")
    return Key(method, key.absolute_uri, _iv(key.iv, sequence or 0))


def _iv(text: str | None, sequence: int) -> bytes:
    """The IV: the playlist's hexadecimal one, else the media sequence number as 128 bits."""
    if not text:
        return sequence.to_bytes(16, "big")
    digits = text.strip()
    if digits[:2].lower() == "0x":
        digits = digits[2:]
    try:
        value = int(digits, 16)
        return value.to_bytes(16, "big")
    except (ValueError, OverflowError):
        raise StreamError(f"EXT-X-KEY IV={text} is not a 128-bit hexadecimal number") from None
