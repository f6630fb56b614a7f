"""The gunicorn worker's request threads (analytics_api/server/thread_pool.py): the most recently idle
thread takes the next request, new threads only when none is idle, a FIFO backlog past the cap, and
a thread idle past its timeout ends through the exit hook (unless work is handed to it in that instant)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pytest

from analytics_api.server import thread_pool
from analytics_api.server.thread_pool import LifoThreadPool
from tools.drills.stack import wait_until

WAIT_S = 5.0


def until(condition: Callable[[], bool]) -> None:
    assert wait_until(condition, timeout_s=WAIT_S, every_s=0.001) >= 0, "the pool did not get there in time"


@pytest.fixture
def pool() -> Iterator[LifoThreadPool]:
    running = LifoThreadPool(max_workers=4, name="test")
    yield running
    running.shutdown(wait=True)


def blocked(pool: LifoThreadPool, count: int) -> tuple[list[threading.Event], list[str]]:
    """``count`` works that each hold a thread until their event is set; the names of the threads
    that ran them, in the order they were released."""
    gates = [threading.Event() for _ in range(count)]
    names: list[str] = []

    def hold(gate: threading.Event) -> None:
        assert gate.wait(WAIT_S)
        names.append(threading.current_thread().name)

    for gate in gates:
        pool.submit(hold, gate)
    return gates, names


def test_work_after_a_burst_runs_on_the_thread_that_went_idle_last(pool: LifoThreadPool) -> None:
    gates, released = blocked(pool, 4)
    until(lambda: pool.thread_count == 4)
    for number, gate in enumerate(gates, start=1):
        gate.set()
        until(lambda number=number: pool.idle_count == number)

    served = {pool.submit(lambda: threading.current_thread().name).result(WAIT_S) for _ in range(20)}

    assert served == {released[-1]}
    assert pool.thread_count == 4


def test_a_new_thread_starts_only_when_none_is_idle(pool: LifoThreadPool) -> None:
    names = {pool.submit(lambda: threading.current_thread().name).result(WAIT_S) for _ in range(10)}

    assert names == {"test-0"}
    assert pool.thread_count == 1


def test_work_past_the_cap_waits_and_runs_in_the_order_it_came(pool: LifoThreadPool) -> None:
    gates, _ = blocked(pool, 4)
    order: list[str] = []
    waiting = [pool.submit(order.append, name) for name in ("first", "second", "third")]
    time.sleep(0.05)

    assert pool.thread_count == 4
    assert order == []
    gates[0].set()
    for future in waiting:
        future.result(WAIT_S)
    assert order == ["first", "second", "third"]
    for gate in gates[1:]:
        gate.set()


def test_a_cancelled_work_in_the_backlog_is_not_run(pool: LifoThreadPool) -> None:
    gates, _ = blocked(pool, 4)
    ran: list[str] = []
    cancelled = pool.submit(ran.append, "cancelled")
    kept = pool.submit(ran.append, "kept")

    assert cancelled.cancel()
    for gate in gates:
        gate.set()
    kept.result(WAIT_S)
    assert ran == ["kept"]


def test_an_error_reaches_the_future_and_the_thread_serves_on(pool: LifoThreadPool) -> None:
    def fail() -> None:
        raise ValueError("broken request")

    failed = pool.submit(fail)

    with pytest.raises(ValueError, match="broken request"):
        failed.result(WAIT_S)
    assert pool.submit(lambda: "next").result(WAIT_S) == "next"
    assert pool.thread_count == 1


def test_shutdown_ends_every_thread_and_refuses_new_work() -> None:
    pool = LifoThreadPool(max_workers=3, name="ending")
    gates, _ = blocked(pool, 3)
    for gate in gates:
        gate.set()
    until(lambda: pool.idle_count == 3)

    pool.shutdown(wait=True)

    assert [thread for thread in threading.enumerate() if thread.name.startswith("ending-")] == []
    with pytest.raises(RuntimeError, match="cannot submit work after shutdown"):
        pool.submit(print)


def test_a_pool_needs_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        LifoThreadPool(max_workers=0)


def test_a_thread_idle_past_the_timeout_ends_and_runs_the_exit_hook() -> None:
    ended: list[str] = []
    pool = LifoThreadPool(
        max_workers=2, name="short", idle_timeout_s=0.05,
        on_thread_exit=lambda: ended.append(threading.current_thread().name),
    )
    try:
        assert pool.submit(lambda: threading.current_thread().name).result(WAIT_S) == "short-0"
        until(lambda: pool.thread_count == 0)

        assert ended == ["short-0"]
        assert pool.idle_count == 0
        assert pool.submit(lambda: threading.current_thread().name).result(WAIT_S) == "short-1"
        assert pool.thread_count == 1
    finally:
        pool.shutdown(wait=True)
    assert ended == ["short-0", "short-1"]


def test_a_thread_kept_busy_within_the_timeout_lives_on() -> None:
    pool = LifoThreadPool(max_workers=2, name="steady", idle_timeout_s=2.0)
    try:
        names = set()
        for _ in range(20):
            names.add(pool.submit(lambda: threading.current_thread().name).result(WAIT_S))
            time.sleep(0.01)

        assert names == {"steady-0"}
        assert pool.thread_count == 1
    finally:
        pool.shutdown(wait=True)


def test_shutdown_runs_the_exit_hook_of_every_thread() -> None:
    ended: list[str] = []
    pool = LifoThreadPool(max_workers=3, name="hooked", on_thread_exit=lambda: ended.append("x"))
    gates, _ = blocked(pool, 3)
    for gate in gates:
        gate.set()
    until(lambda: pool.idle_count == 3)

    pool.shutdown(wait=True)

    assert ended == ["x", "x", "x"]
    assert pool.thread_count == 0


def test_an_idle_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"idle_timeout_s must be positive \(None: idle threads never end\)"):
        LifoThreadPool(max_workers=1, idle_timeout_s=0)


def test_work_handed_over_as_the_idle_timeout_runs_out_runs_on_that_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``_sleep``'s race: ``submit`` pops an idle thread in the instant its wait times out. The thread
    must run the work it was handed (not end and lose it), and no second thread is started."""
    pool = LifoThreadPool(max_workers=4, name="race", idle_timeout_s=60)
    handed: list[Future] = []

    class RacingLock:
        """A thread's wake-up lock whose first timed wait is overtaken by a submit, then times out."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.raced = False

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if timeout > 0 and not self.raced:
                self.raced = True
                handed.append(pool.submit(lambda: threading.current_thread().name))
                return False  # the wait ran out as the work was handed over
            return self.lock.acquire(blocking, timeout)

        def release(self) -> None:
            self.lock.release()

    class RacingSlot(thread_pool._Slot):
        __slots__ = ()

        def __init__(self) -> None:
            self.wake = RacingLock()  # type: ignore[assignment]
            self.wake.acquire()
            self.work = None

    monkeypatch.setattr(thread_pool, "_Slot", RacingSlot)
    try:
        first = pool.submit(lambda: threading.current_thread().name).result(WAIT_S)
        until(lambda: len(handed) == 1)

        assert handed[0].result(WAIT_S) == first
        assert pool.thread_count == 1
    finally:
        pool.shutdown(wait=True)

