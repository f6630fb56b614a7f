"""A headless Chromium driven over the DevTools protocol on a pipe: no driver package, no network.

Chromium started with ``--remote-debugging-pipe`` reads protocol commands from descriptor 3 and
writes answers and events to descriptor 4, each a JSON text ended by a NUL byte.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# Every Content-Security-Policy violation of the page, gathered before any of its scripts runs.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                              (e.sample ? " (" + e.sample + ")" : ""));
});
"""


_EXEC_WITH_PIPES = """
import fcntl, os, sys
given = int(sys.argv[1]), int(sys.argv[2])
# Copies above 9 first: one of the given descriptors may itself be 3 or 4.
reading, writing = (fcntl.fcntl(descriptor, fcntl.F_DUPFD, 10) for descriptor in given)
for descriptor in given:
    os.close(descriptor)
os.dup2(reading, 3)
os.dup2(writing, 4)
os.close(reading)
os.close(writing)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserError(Exception):
    pass


class Browser:
    """One headless Chromium with one tab; use as a context manager."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # A small Python puts the pipes on descriptors 3 and 4 and becomes Chromium (a preexec_fn
        # would do it in the forked child, which is unsafe while the live server's threads run).
        self._process = subprocess.Popen(
            [sys.executable, "-c", _EXEC_WITH_PIPES, str(to_browser_read), str(from_browser_write),
             CHROMIUM, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-extensions", "--disable-background-networking",
             f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_read, from_browser_write), start_new_session=True,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Page.addScriptToEvaluateOnNewDocument", source=_RECORD_VIOLATIONS)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        # The browser's own group: its renderer and helper processes go with it.
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium exited")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message["result"]
            self._events.append(message)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._call(method, self._session, **params)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> Any:
        """The first truthy value of ``expression``, polled until the timeout."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"still false after {self.timeout} s: {expression}")

    def open(self, url: str) -> None:
        """Navigate and wait until the document has loaded."""
        self.call("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def csp_violations(self) -> list[str]:
        return self.evaluate("window.__cspViolations || []")
