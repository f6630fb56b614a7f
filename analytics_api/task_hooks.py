"""What the django-q2 workers report about each task: its metrics and a log line, with the task's
log context (docs/contract.md#logs) on every line it writes.

Connected in ``AnalyticsApiConfig.ready``; the receivers run in the worker process, around the task.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.dispatch import receiver
from django_q.signals import post_execute_in_worker, pre_execute

from analytics_api.logs import LogContext, current_context
from analytics_api.metrics import TASK_SECONDS, TASKS, task_name

logger = logging.getLogger("analytics_api.tasks")

# Task id → when it started here (a worker runs one task at a time; the map stays tiny).
_started: dict[str, float] = {}


@receiver(pre_execute, dispatch_uid="analytics_api.task_started")
def task_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    task_id = str(task.get("id", "-"))
    _started[task_id] = time.perf_counter()
    # The task's id stands for the request id: every line of one run carries it.
    current_context.set(LogContext(request_id=task_id, operation=task_name(task.get("func", func))))


@receiver(post_execute_in_worker, dispatch_uid="analytics_api.task_finished")
def task_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    task_id = str(task.get("id", "-"))
    started = _started.pop(task_id, None)
    name = task_name(task.get("func", func))
    outcome = "success" if task.get("success") else "failure"
    TASKS.labels(task=name, outcome=outcome).inc()
    elapsed = time.perf_counter() - started if started is not None else None
    if elapsed is not None:
        TASK_SECONDS.labels(task=name).observe(elapsed)
    logger.info(
        "Task %s: %s", name, outcome,
        extra={"status": outcome, "duration_ms": round(elapsed * 1000, 1) if elapsed is not None else None},
    )
    current_context.set(LogContext())
