"""A budget of decoded pixels (frames x area) for hashing one piece of media.

An animation or a video is decoded frame by frame, and a small file can declare thousands of
huge frames: a 70 KB GIF of 3,000 frames on a 6000x6000 canvas takes an hour of a core. Each
frame spends its area; once the budget is spent decoding stops, what was hashed so far is
kept, and the result says so (`MediaHashes.over_budget`).
"""

from __future__ import annotations


class PixelBudget:
    """``pixels`` to decode at most; 0 means no budget."""

    def __init__(self, pixels: int = 0) -> None:
        if pixels < 0:
            raise ValueError(f"a pixel budget is 0 (none) or more, not {pixels}")
        self.pixels = pixels
        self.spent = 0
        self.exhausted = False

    def spend(self, width: int, height: int) -> bool:
        """Whether one more frame of ``width`` x ``height`` fits; when it does not, nothing is
        spent and the budget is marked exhausted."""
        cost = width * height
        if self.pixels and self.spent + cost > self.pixels:
            self.exhausted = True
            return False
        self.spent += cost
        return True
