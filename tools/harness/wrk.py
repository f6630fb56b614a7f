"""Drive an HTTP server with wrk and read back one structured summary.

wrk prints a human summary only, and its Lua hooks run in one Lua state per thread. So ``run_wrk``
generates a script that

1. loads every request body from a file in ``init`` (bodies of 10–200 KB would make an inline
   literal script huge and slow to parse in every thread) and pre-formats the raw requests;
2. cycles through them round-robin, each thread starting at a different request so short runs
   still hit every endpoint;
3. counts response statuses per thread in ``response()``;
4. in ``done()`` (main state) collects each thread's counts through the ``setup(thread)`` /
   ``thread:get`` pattern and writes one JSON summary file (latency in ms, requests, duration,
   socket errors, bytes, statuses) that ``run_wrk`` parses into a :class:`WrkResult`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

WRK_INSTALL_HINT = "install it with `apt-get install -y wrk` (Debian/Ubuntu) or from https://github.com/wg/wrk"


@dataclass
class WrkRequest:
    """One request of the round-robin; ``path`` includes the query string."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class WrkResult:
    """What one wrk run measured; latencies in milliseconds, over completed requests only."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_counts: dict[int, int]
    socket_errors: int
    bytes_read: int
    # connect/read/write/timeout separately, and wrk's own text output, for reports and debugging.
    socket_error_kinds: dict[str, int] = field(default_factory=dict)
    output: str = field(default="", repr=False)

    def count(self, *statuses: int) -> int:
        """Responses with any of these statuses."""
        return sum(self.status_counts.get(status, 0) for status in statuses)


def ensure_wrk() -> str:
    """The path of the wrk binary, installing the Debian package first when missing and root.

    Raises ``RuntimeError`` with an installation hint when wrk is missing and cannot be installed.
    """
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"wrk is not installed and this process cannot install it: {WRK_INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{WRK_INSTALL_HINT}"
            )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(f"apt-get installed wrk but it is not on PATH: {WRK_INSTALL_HINT}")
    return found


def lua_string(value: str | bytes) -> str:
    """A Lua string literal for any bytes: printable ASCII as is, everything else as ``\\ddd``."""
    raw = value.encode() if isinstance(value, str) else value
    return '"' + "".join(
        chr(byte) if 32 <= byte < 127 and byte not in (34, 92) else f"\\{byte:03d}" for byte in raw
    ) + '"'


_SCRIPT = """
local specs = {specs}
local summary_path = {summary_path}

local threads = {{}}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  table.insert(threads, thread)
end

local requests = {{}}
local next_index = 1

function init(args)
  for i, spec in ipairs(specs) do
    local body = nil
    if spec.body_file then
      local handle = assert(io.open(spec.body_file, "rb"))
      body = handle:read("*a")
      handle:close()
    end
    requests[i] = wrk.format(spec.method, spec.path, spec.headers, body)
  end
  next_index = ((thread_index or 1) - 1) % #requests + 1
  statuses = {{}}
end

function request()
  local raw = requests[next_index]
  next_index = next_index % #requests + 1
  return raw
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests_done)
  local totals = {{}}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {{}}
    for status, n in pairs(counts) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  local out = assert(io.open(summary_path, "w"))
  out:write(string.format(
    '{{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, ' ..
    '"latency_us": {{"p50": %f, "p90": %f, "p99": %f, "max": %f}}, "statuses": {{%s}}}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
  out:close()
end
"""


def _lua_specs(requests: list[WrkRequest], base_path: str, body_dir: Path) -> str:
    entries = []
    for index, item in enumerate(requests):
        headers = ", ".join(f"[{lua_string(name)}] = {lua_string(value)}" for name, value in item.headers.items())
        body_file = "nil"
        if item.body is not None:
            path = body_dir / f"body-{index}.bin"
            path.write_bytes(item.body)
            body_file = lua_string(str(path))
        entries.append(
            f"{{method = {lua_string(item.method.upper())}, path = {lua_string(base_path + item.path)}, "
            f"headers = {{{headers}}}, body_file = {body_file}}}"
        )
    return "{\n  " + ",\n  ".join(entries) + "\n}"


def run_wrk(
    *,
    base_url: str,
    requests: list[WrkRequest],
    connections: int,
    threads: int,
    duration_s: float,
    timeout_s: float = 10.0,
) -> WrkResult:
    """Run wrk against ``base_url`` cycling through ``requests``; raises if wrk fails.

    ``base_url`` is ``http://host:port`` optionally with a path prefix, which is put in front of
    every request's path. wrk takes whole seconds: duration and timeout are rounded up to 1 s at
    least, and connections are raised to the thread count (wrk's own requirement).
    """
    if not requests:
        raise ValueError("run_wrk needs at least one request")
    wrk = ensure_wrk()
    parts = urlsplit(base_url)
    base_path = parts.path.rstrip("/")
    target = f"{parts.scheme}://{parts.netloc}/"
    threads = max(1, threads)
    connections = max(connections, threads)
    seconds = max(1, round(duration_s))
    timeout = max(1, round(timeout_s))
    with tempfile.TemporaryDirectory(prefix="wrk-") as scratch:
        directory = Path(scratch)
        summary_path = directory / "summary.json"
        script = directory / "script.lua"
        script.write_text(
            _SCRIPT.format(
                specs=_lua_specs(requests, base_path, directory), summary_path=lua_string(str(summary_path))
            )
        )
        command = [
            wrk, "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", f"{timeout}s", "-s", str(script), target,
        ]
        # wrk ends by itself after the duration; the margin only guards against a wedged wrk.
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout + 60, check=False)
        if done.returncode != 0 or not summary_path.exists():
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        summary = json.loads(summary_path.read_text())
    errors = summary["errors"]
    kinds = {kind: int(errors[kind]) for kind in ("connect", "read", "write", "timeout")}
    duration = summary["duration_us"] / 1e6
    latency = summary["latency_us"]
    return WrkResult(
        requests=int(summary["requests"]),
        duration_s=duration,
        rps=summary["requests"] / duration if duration else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        status_counts={int(status): int(n) for status, n in summary["statuses"].items()},
        socket_errors=sum(kinds.values()),
        bytes_read=int(summary["bytes"]),
        socket_error_kinds=kinds,
        output=done.stdout,
    )
