"""How `benchmarks.robustness` judges and prints its results: targets, verdicts, tables.

Shared by the image half (`benchmarks.robustness`) and the video half
(`benchmarks.robustness_video`), so both state a rate against the same target the same way.
"""

from __future__ import annotations

#: The most false positives per ordered pair of distinct originals that is acceptable.
FALSE_POSITIVE_TARGET = 1e-6


def verdict(share: float, target: float | None) -> str:
    """``"yes"`` or ``"**no**"``: whether a recall met its target (``"-"`` without one)."""
    if target is None:
        return "-"
    return "yes" if share >= target else "**no**"


def false_positive_line(what: str, flagged: int, pairs: int) -> str:
    """The measured rate against the target; with no false positive, the rule of three gives
    the most the rate can be at 95% confidence (3 / pairs)."""
    rate = flagged / pairs
    if flagged:
        outcome = "NOT met" if rate > FALSE_POSITIVE_TARGET else "met"
        measured = f"rate {rate:.2g}"
    else:
        bound = 3 / pairs
        outcome = "met" if bound <= FALSE_POSITIVE_TARGET else "too few pairs to show it"
        measured = f"rate 0, at most {bound:.1g} at 95% confidence"
    return (
        f"{what}: {flagged} of {pairs:,} ordered pairs of distinct originals flagged ({measured});"
        f" target <= {FALSE_POSITIVE_TARGET:g} per pair: {outcome}"
    )


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])
