"""Run a command; then print the largest resident memory of it and its descendants.

    python -m benchmarks.reliability.peak COMMAND [ARG ...]

Prints ``peak-rss-kb N`` on standard error after the command ends (the maximum over the
command and every descendant it waited for, from ``getrusage(RUSAGE_CHILDREN)``) and exits with
the command's status.
"""

from __future__ import annotations

import resource
import subprocess
import sys

if __name__ == "__main__":
    status = subprocess.call(sys.argv[1:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak-rss-kb {peak}", file=sys.stderr)
    sys.exit(status if status >= 0 else 128 - status)
