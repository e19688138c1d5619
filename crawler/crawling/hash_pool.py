"""The crawl's hashing processes: each task has a deadline, and none outlives the crawl.

Media from the internet can be built to take a worker for minutes (a GIF of thousands of
full-canvas frames, a codec's worst case). A ``ProcessPoolExecutor`` cannot stop one task, so
this pool gives every worker process its own pipe: a task that runs past its deadline has its
worker killed and replaced, and raises :class:`HashTimeout`; the other workers go on. A worker
that dies (a decoder crash) is replaced likewise, and its task raises ``BrokenProcessPool``.

Every worker also watches its parent and exits within a second of the parent's death (a crawl
killed by SIGKILL or the OOM killer never shuts its pool down).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any

#: How often a worker checks that the crawl that started it is still there, in seconds.
PARENT_CHECK_SECONDS = 1.0
#: Seconds a killed worker is given to go before it is left to the operating system.
_JOIN_SECONDS = 5.0


class HashTimeout(TimeoutError):
    """A hashing task ran past its deadline; its worker was killed and replaced."""


def new_hash_pool(workers: int, task_seconds: float = 0) -> HashPool:
    """A pool of ``workers`` fresh ("spawn") processes that exit if this process dies; each
    task may run ``task_seconds`` (0: no deadline)."""
    return HashPool(workers, task_seconds)


class HashPool(Executor):
    """An executor of ``workers`` processes, one task each at a time, with a deadline per task.

    ``submit`` returns a ``concurrent.futures.Future`` (so ``loop.run_in_executor`` takes the
    pool); a thread per worker hands the task over and waits for its answer or its deadline.
    """

    def __init__(self, workers: int, task_seconds: float = 0) -> None:
        self.task_seconds = task_seconds
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(max(1, workers)):
            self._idle.put(None)  # a place for a worker, started when first needed
        self._threads = ThreadPoolExecutor(max(1, workers), thread_name_prefix="repostwatch-hash")
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._closed:
            raise RuntimeError("the hashing pool is shut down")
        return self._threads.submit(self._run, fn, args, kwargs)

    def _run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        worker = self._idle.get() or self._start()
        try:
            try:
                worker.conn.send((fn, args, kwargs))
                answered = worker.conn.poll(self.task_seconds or None)
                if answered:
                    ok, value = worker.conn.recv()
            except (EOFError, OSError) as exc:
                self._retire(worker)
                worker = None
                raise BrokenProcessPool(f"a hashing process died: {exc!r}") from None
            if not answered:
                self._retire(worker)
                worker = None
                raise HashTimeout(
                    f"hashing took longer than {self.task_seconds:g} s; the worker was killed "
                    "(raise REPOSTWATCH_HASH_TASK_SECONDS if such media is expected)"
                )
        finally:
            self._idle.put(worker)  # None: a fresh worker is started for the next task
        if ok:
            return value
        raise value

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, os.getpid()), name="repostwatch-hash", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.kill()

    def pids(self) -> list[int]:
        """The worker processes running now."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers: after their tasks (``wait``), or at once, tasks running or not
        (``cancel_futures``, as a crawl that closes does)."""
        self._closed = True
        if cancel_futures:
            self._stop_workers(kill=True)
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)
        self._stop_workers(kill=False)

    def _stop_workers(self, *, kill: bool) -> None:
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.kill() if kill else worker.stop()


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        self.process.kill()
        self.process.join(_JOIN_SECONDS)
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to exit; kill it if it is busy."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(_JOIN_SECONDS)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def _serve(conn: Connection, parent_pid: int) -> None:
    """A worker: run the tasks that come down ``conn`` until told to stop (None)."""
    exit_with_parent(parent_pid)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, args, kwargs = task
        try:
            answer = (True, fn(*args, **kwargs))
        except Exception as exc:
            answer = (False, exc)
        del task, fn, args, kwargs  # the media bytes go before the next task arrives
        try:
            conn.send(answer)
        except (TypeError, AttributeError, ValueError) as exc:  # an answer that cannot be pickled
            conn.send((False, RuntimeError(f"hashing answer could not be sent back: {exc!r}")))


def exit_with_parent(parent_pid: int) -> None:
    """Run in each worker as it starts: end the worker once ``parent_pid`` is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # reparented: the crawl died without shutting the pool down

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
