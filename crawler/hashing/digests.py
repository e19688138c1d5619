"""Exact digests of the raw bytes: the same file, byte for byte."""

from __future__ import annotations

import hashlib


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_hex(data: bytes) -> str:
    # MD5 only because shared hash lists still carry it; never rely on it alone for security.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
