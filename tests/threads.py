"""Concurrent work for the PostgreSQL race tests: each callable in its own thread and connection."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection

from tools.harness.threads import threads_run


def all_at_once(works: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each work in its own thread (so on its own database connection), released together by a
    barrier; returns their results in order. A work that raised fails the test."""
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait()
            results[number] = works[number]()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads_run([functools.partial(run, number) for number in range(len(works))])
    assert errors == []
    return results
