"""Decide what media some bytes hold from their magic bytes alone.

Never from the URL's extension or the server's Content-Type: repost sites lie about both.
"""

from __future__ import annotations

from typing import NamedTuple

from crawler.hashing.errors import UnsupportedMedia
from crawler.manifests import is_dash_manifest, is_hls_playlist


class Sniffed(NamedTuple):
    kind: str  # "image", "video" or "stream" (a playlist or manifest of segments)
    format: str  # "jpeg", "png", "mp4", ..., "hls", "dash"


#: ISO BMFF (`ftyp`) brands of still images, checked first because HEIF/AVIF files often also
#: list generic ISO brands such as "iso8".
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
#: Brands of video files, with the format each major brand names.
_VIDEO_BRANDS: dict[bytes, str] = {
    b"qt  ": "mov",
    b"M4V ": "m4v",
    b"M4VH": "m4v",
    b"M4VP": "m4v",
    **{
        brand: "mp4"
        for brand in (
            b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9",
            b"mp41", b"mp42", b"avc1", b"dash", b"mmp4", b"MSNV", b"NDAS", b"f4v ",
            b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3g2b", b"3g2c",
        )
    },
}  # fmt: skip
#: Major brands of audio-only files, which also list video brands such as "mp42".
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
#: Old QuickTime files start with one of these atoms instead of `ftyp`.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"pnot"})
#: Sizes of the BMP info header (BITMAPCOREHEADER ... BITMAPV5HEADER).
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_TS_PACKET = 188


def sniff(data: bytes) -> Sniffed:
    """The kind and format of ``data`` by its magic bytes; raises `UnsupportedMedia` otherwise."""
    head = bytes(data[:64])
    found = _image(head) or _video(head, data) or _stream(data)
    if found is None:
        raise UnsupportedMedia(_describe(head))
    return found


def _image(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp")
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return Sniffed("image", "bmp")
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return Sniffed("image", "tiff")
    if head[:4] == b"\x00\x00\x01\x00" and int.from_bytes(head[4:6], "little") > 0:
        return Sniffed("image", "ico")
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(head)
        if _AVIF_BRANDS.intersection(brands):
            return Sniffed("image", "avif")
        if _HEIC_BRANDS.intersection(brands):
            return Sniffed("image", "heic")
    return None


def _video(head: bytes, data: bytes) -> Sniffed | None:
    if head[4:8] == b"ftyp":
        brands = _ftyp_brands(head)
        if brands[0] in _AUDIO_BRANDS:
            return None
        if brands[0] in _VIDEO_BRANDS:
            return Sniffed("video", _VIDEO_BRANDS[brands[0]])
        if any(brand in _VIDEO_BRANDS for brand in brands[1:]):
            return Sniffed("video", "mp4")
        return None
    if head[4:8] in _QUICKTIME_ATOMS:
        return Sniffed("video", "mov")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video", "webm" if b"webm" in head else "matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi")
    if head.startswith(b"FLV\x01"):
        return Sniffed("video", "flv")
    if head.startswith(b"\x00\x00\x01\xba"):
        return Sniffed("video", "mpeg")
    if _is_mpegts(data):
        return Sniffed("video", "mpegts")
    return None


def _stream(data: bytes) -> Sniffed | None:
    """HLS playlists and DASH manifests, whatever their URL ends with (`crawler.manifests`, the
    rule the browser's player capture uses too): their segments are sampled
    (`crawler.delivery`), the playlist itself is not media."""
    if is_hls_playlist(data):
        return Sniffed("stream", "hls")
    if is_dash_manifest(data):
        return Sniffed("stream", "dash")
    return None


def _is_mpegts(data: bytes) -> bool:
    """MPEG-TS has no magic of its own: a sync byte 0x47 starting each of the first packets."""
    packets = min(3, len(data) // _TS_PACKET)
    return packets >= 2 and all(data[i * _TS_PACKET] == 0x47 for i in range(packets))


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major brand, then the compatible brands that fit in ``head``."""
    box_size = int.from_bytes(head[:4], "big")
    end = min(box_size, len(head)) if box_size >= 16 else len(head)
    brands = [head[8:12]]
    brands.extend(head[offset : offset + 4] for offset in range(16, end - 3, 4))
    return brands


def _describe(head: bytes) -> str:
    if not head:
        return "not an image or video: no bytes at all (empty response?)"
    message = f"not an image or video (starts with {head[:16]!r})"
    if head.lstrip()[:1] in (b"<", b"{", b"["):
        message += "; it looks like a web page or JSON, so the URL probably is not the media itself"
    return message
