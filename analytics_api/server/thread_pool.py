"""The request threads of a gunicorn worker, the most recently idle one taking the next request.

gunicorn's ``gthread`` worker hands each request to a ``concurrent.futures.ThreadPoolExecutor``,
whose idle threads all wait on one queue and take turns: at low concurrency, one request after
another goes to every thread of the pool in rotation. Each thread keeps its own database
connection (Django's connections are per thread), so the same rotation spreads the requests over
as many PostgreSQL connections, each used once in ``threads`` requests. A connection used that
rarely is a cold one: on a loopback connection (PostgreSQL on the same machine over TCP), a page
of interactionDetails (about 180 KB from the server) then waited 10-95 ms for delayed
acknowledgements in about one read in thirty, while the same read on a connection in steady use
never did (BENCHMARKS.md, "Found and fixed", in the core run of d96baeb). A last-in, first-out
pool keeps the work on as few threads as the concurrency needs: at concurrency 1 a single thread
(and connection) serves every request, and the others stay idle until a burst needs them. An idle
thread ends after ``idle_timeout_s`` (the worker passes ``DB_CONN_MAX_AGE``), running
``on_thread_exit`` (the worker's closes the thread's database connections): Django closes an old
connection only when its own thread serves a request, so without this the connections a burst
opened would stay open for good.

Algorithm (:meth:`LifoThreadPool.submit`, ``_next`` and ``_sleep``):

1. ``submit`` hands the work to the thread on top of the idle stack (the last one to finish) and
   releases that thread's own wake-up lock, so exactly that thread runs it.
2. With no idle thread, it starts a new one while there are fewer than ``max_workers``; past
   that, the work waits in a first-in, first-out backlog.
3. A thread that finishes takes the oldest backlog item if any; otherwise it pushes itself on
   the idle stack, and only then publishes the result (so whoever waited for it and submits again
   finds this thread on top) and sleeps on its wake-up lock.
4. A thread idle for ``idle_timeout_s`` takes itself off the stack and ends — unless ``submit``
   popped it in the same instant, in which case it runs the work handed to it.
5. ``shutdown`` wakes every idle thread with nothing to do, so it exits; busy threads exit once the
   backlog is empty, as ``ThreadPoolExecutor.shutdown(wait=False)`` lets them.

Only what ``ThreadWorker`` uses is offered: ``submit`` (a ``concurrent.futures.Future``) and
``shutdown``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

Work = tuple[Future, Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_IDLE = object()
_ENDED = object()


class _Slot:
    """One thread's mailbox: the work handed to it and the lock it sleeps on (held while idle)."""

    __slots__ = ("wake", "work")

    def __init__(self) -> None:
        self.wake = threading.Lock()
        self.wake.acquire()
        self.work: Work | None = None


class LifoThreadPool:
    """Up to ``max_workers`` threads, started on demand; the most recently idle one runs the next
    work (see the module docstring)."""

    def __init__(
        self,
        *,
        max_workers: int,
        name: str = "request",
        idle_timeout_s: float | None = None,
        on_thread_exit: Callable[[], None] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if idle_timeout_s is not None and idle_timeout_s <= 0:
            raise ValueError("idle_timeout_s must be positive (None: idle threads never end)")
        self.max_workers = max_workers
        self.name = name
        self.idle_timeout_s = idle_timeout_s
        self.on_thread_exit = on_thread_exit
        self._lock = threading.Lock()
        self._idle: list[_Slot] = []
        self._backlog: deque[Work] = deque()
        self._threads: set[threading.Thread] = set()
        self._started = 0
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        work: Work = (future, fn, args, kwargs)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit work after shutdown")
            if self._idle:
                slot = self._idle.pop()
                slot.work = work
                slot.wake.release()
            elif len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._run, args=(work,), name=f"{self.name}-{self._started}")
                self._started += 1
                self._threads.add(thread)
                thread.start()
            else:
                self._backlog.append(work)
        return future

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._shutdown = True
            idle, self._idle = self._idle, []
            threads = list(self._threads)
        for slot in idle:
            slot.work = None
            slot.wake.release()
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    @property
    def thread_count(self) -> int:
        """Threads alive (busy or idle)."""
        with self._lock:
            return len(self._threads)

    @property
    def idle_count(self) -> int:
        """Threads waiting for work."""
        with self._lock:
            return len(self._idle)

    def _run(self, work: Work) -> None:
        try:
            self._serve(work)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())
            if self.on_thread_exit is not None:
                self.on_thread_exit()

    def _serve(self, work: Work) -> None:
        slot = _Slot()
        while True:
            future, fn, args, kwargs = work
            running = future.set_running_or_notify_cancel()
            result: Any = None
            failure: BaseException | None = None
            if running:
                try:
                    result = fn(*args, **kwargs)
                except BaseException as error:  # handed to the future, as the executor does
                    failure = error
            # Idle before the result is published: whoever waits for it (gunicorn's main thread,
            # then the next request on the connection) finds this thread on top of the stack.
            following = self._next(slot)
            if running:
                if failure is not None:
                    future.set_exception(failure)
                else:
                    future.set_result(result)
            # A finished request's objects must not live as long as an idle thread.
            del future, fn, args, kwargs, result, failure
            if following is _ENDED:
                return
            if following is _IDLE:
                following = self._sleep(slot)
                if following is None:
                    return
            work = following

    def _next(self, slot: _Slot) -> Work | object:
        """The oldest backlog item; else :data:`_ENDED` after shutdown; else the slot is pushed on the
        idle stack and :data:`_IDLE` says to sleep on it."""
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            if self._shutdown:
                return _ENDED
            self._idle.append(slot)
            return _IDLE

    def _sleep(self, slot: _Slot) -> Work | None:
        """Wait on the idle stack for work; None to end the thread (shutdown, or idle too long)."""
        timeout = -1 if self.idle_timeout_s is None else self.idle_timeout_s
        if not slot.wake.acquire(timeout=timeout):
            with self._lock:
                handed = slot not in self._idle
                if not handed:
                    # Off the stack and out of the count together: a submit from now on starts a
                    # new thread rather than leaving its work to a thread that is ending.
                    self._idle.remove(slot)
                    self._threads.discard(threading.current_thread())
            if not handed:
                return None
            # submit popped this slot as the wait ran out: its release is on the way.
            slot.wake.acquire()
        work, slot.work = slot.work, None
        return work
