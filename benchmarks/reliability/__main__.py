"""``python -m benchmarks.reliability``: see the package docstring."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks import reliability
from benchmarks.reliability import hostile, kills, outages

PARTS = {"kills": kills.measure, "outages": outages.measure, "hostile": hostile.measure}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=reliability.__doc__.splitlines()[0],
        epilog="Results and how to read them: docs/reliability.md",
    )
    parser.add_argument(
        "parts", nargs="*", metavar="PART", help="kills, outages, hostile (default: all)"
    )
    parser.add_argument("--trials", type=int, default=20, help="kills per mode (default 20)")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["alone", "distributed"],
        choices=["alone", "distributed"],
        help="kills: which crawls to kill (default both)",
    )
    parser.add_argument("--pages", type=int, default=60, help="listing pages of the board")
    parser.add_argument("--delay", type=float, default=0.1, help="the board's download_delay")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds a service is down")
    parser.add_argument(
        "--outage-delay", type=float, default=0.5, help="the board's download_delay (outages)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="hostile cases, or outages (database, redis, scrapyd), by name",
    )
    parser.add_argument(
        "--logs",
        type=Path,
        help="keep each hostile case's crawl log here, and the Redis outage's worker logs (INFO)",
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/13", help="Redis for distributed runs"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "REPOSTWATCH_TEST_POSTGRES_URL",
            "postgresql+psycopg://repostwatch_test:repostwatch_test@127.0.0.1:5432/repostwatch_test",
        ),
        help="a PostgreSQL role that may CREATE DATABASE (outages)",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    results = []
    for part in args.parts or PARTS:
        started = time.monotonic()
        lines = PARTS[part](args)
        results.append(f"## {part} ({time.monotonic() - started:.0f} s)\n")
        results.extend(lines)
        results.append("")
    print("\n" + "\n".join(results))


if __name__ == "__main__":
    main()
