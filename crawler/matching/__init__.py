"""Match media hashes against the references of open cases.

    >>> matcher = Matcher(references)
    >>> matcher.match(hash_media(data))  # [Match(reference_id, case_id, algorithm, distance)]

Pure: standard library and numpy only, on top of `crawler.hashing` types.
"""

from __future__ import annotations

from crawler.matching.decision import DEFAULT_THRESHOLDS, Match, Matcher, default_index
from crawler.matching.index import BruteForceIndex, ExactIndex, Reference, ReferenceIndex

__all__ = [
    "DEFAULT_THRESHOLDS",
    "BruteForceIndex",
    "ExactIndex",
    "Match",
    "Matcher",
    "Reference",
    "ReferenceIndex",
    "default_index",
]
