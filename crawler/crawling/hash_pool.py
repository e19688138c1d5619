"""The crawl's hashing processes, which never outlive the crawl.

A ``ProcessPoolExecutor`` worker waits on a queue whose pipe it holds both ends of, so when the
crawl is killed (SIGKILL, the OOM killer) its workers wait for ever, each holding its memory.
Every worker here watches its parent and exits within a second of the parent's death.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: How often a worker checks that the crawl that started it is still there, in seconds.
PARENT_CHECK_SECONDS = 1.0


def new_hash_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh ("spawn") processes that exit if this process dies."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def exit_with_parent(parent_pid: int) -> None:
    """Run in each worker as it starts: end the worker once ``parent_pid`` is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # reparented: the crawl died without shutting the pool down

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
