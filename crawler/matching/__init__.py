"""Match media hashes against the references of open cases.

    >>> matcher = Matcher(references)
    >>> matcher.match(hash_media(data))  # [Match(reference_id, case_id, algorithm, ...)]

One index per algorithm: `ExactIndex` for digests, `MultiIndexHashIndex` for perceptual hashes
(`BruteForceIndex` is the oracle it is tested against), `KeypointIndex` for crhash; `Matcher`
holds them and turns their hits into matches; `VideoMatcher` (`crawler.matching.video`) matches
videos by temporal alignment of their frames, over a `MultiIndexHashIndex` of reference frames.

Pure: standard library and numpy, on top of `crawler.hashing` (whose crhash uses OpenCV).
"""

from __future__ import annotations

from crawler.matching.exact import ExactIndex
from crawler.matching.index import BruteForceIndex, Reference, ReferenceIndex
from crawler.matching.keypoint_index import KeypointIndex
from crawler.matching.matcher import Match, Matcher, default_index
from crawler.matching.multi_index import MultiIndexHashIndex

__all__ = [
    "BruteForceIndex",
    "ExactIndex",
    "KeypointIndex",
    "Match",
    "Matcher",
    "MultiIndexHashIndex",
    "Reference",
    "ReferenceIndex",
    "default_index",
]
