"""``make run``: gunicorn and the django-q2 worker side by side; Ctrl-C (or SIGTERM) stops both."""

from __future__ import annotations

import signal
import subprocess
import sys
import time


def main() -> int:
    # Workers, threads, timeouts and BIND: analytics_api/gunicorn_conf.py (the image uses it too).
    commands = [
        [sys.executable, "-m", "gunicorn", "-c", "python:analytics_api.gunicorn_conf",
         "analytics_api.wsgi:application"],
        [sys.executable, "manage.py", "qcluster"],
    ]
    processes = [subprocess.Popen(command) for command in commands]

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # When either process exits, stop the other: a half-running service is worse than none.
    while all(process.poll() is None for process in processes):
        time.sleep(0.5)
    stop()
    deadline = time.time() + 25  # gunicorn's graceful_timeout (20 s), then exit
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
