"""Running several callables at the same time, each in its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def threads_run(targets: Sequence[Callable[[], object]]) -> None:
    """Start a thread for each target, then wait for all of them to end."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
