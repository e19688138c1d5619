"""Reliability figures: what a crawl loses, duplicates or costs when things fail.

    python -m benchmarks.reliability [kills] [outages] [hostile] [--trials 20] [--seed 1]
    make reliability

Three parts, each against sites served on 127.0.0.1 by this package, never anything else:

- ``kills``: a crawl of a board with known matches is killed with SIGKILL at a random moment,
  alone and as one worker of a distributed run, ``--trials`` times each; then the crawl runs
  again as the next scheduled crawl would (alone) or a replacement worker joins (distributed).
  Flags lost and duplicated are counted against an undisturbed crawl of the same board.
- ``outages``: PostgreSQL unreachable for 60 s during a crawl, Redis unreachable for 60 s
  during a distributed crawl (both through a TCP relay this package cuts), and a scrapyd node
  down when the scheduler hands out crawls: matches lost, and what each costs.
- ``hostile``: a corpus of hostile inputs (media bombs, truncated and lying files, parser and
  regex bombs, drip-feeds, redirect loops, private redirects, traps, legacy encodings, the
  browser-guard cases), each served by a local site and crawled by the real
  ``repostwatch crawl``: no crash, no leak (no request reaches the canary service, no
  traceback), bounded time and memory, and the stat that names what happened.

Prints markdown tables; docs/reliability.md holds the last results and how to read them.
"""
