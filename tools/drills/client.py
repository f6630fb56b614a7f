"""HTTP for the drills: one call with a hard timeout that never raises, and a sequential probe."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tools.harness.wrk import WrkRequest


@dataclass
class Answer:
    """A response, or ``status`` 0 and ``error`` when no response came (refused, reset, timed out)."""

    status: int
    latency_s: float
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def is_error_envelope(self) -> bool:
        """The error envelope ``{"errors": [{"msg", "code", ...}, ...]}`` as JSON (docs/contract.md#error-envelope)."""
        if not self.headers.get("content-type", "").startswith("application/json"):
            return False
        try:
            errors = self.json()["errors"]
        except (ValueError, KeyError, TypeError):
            return False
        return bool(errors) and all(
            isinstance(item, dict) and isinstance(item.get("msg"), str) and isinstance(item.get("code"), str)
            for item in errors
        )


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float = 30.0,
) -> Answer:
    parts = urlsplit(base_url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return Answer(
            status=response.status,
            latency_s=time.monotonic() - started,
            body=payload,
            headers={name.lower(): value for name, value in response.getheaders()},
        )
    except (OSError, http.client.HTTPException) as error:
        return Answer(status=0, latency_s=time.monotonic() - started, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()


@dataclass
class Hit:
    at: float
    name: str
    status: int
    latency_s: float
    retry_after: str
    envelope: bool


class Probe:
    """One request after another through every read endpoint (and health), each answer kept."""

    def __init__(self, base_url: str, requests: list[tuple[str, WrkRequest]]) -> None:
        self.base_url = base_url
        self.requests = requests
        self.hits: list[Hit] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            name, request = self.requests[index % len(self.requests)]
            at = time.time()
            answer = call(self.base_url, request.method, request.path, headers=request.headers, body=request.body,
                          timeout_s=60)
            self.hits.append(Hit(at=at, name=name, status=answer.status, latency_s=answer.latency_s,
                                 retry_after=answer.headers.get("retry-after", ""),
                                 envelope=answer.status != 200 and answer.is_error_envelope()))
            index += 1
            time.sleep(0.05)

    def between(self, start: float, end: float) -> list[Hit]:
        return [hit for hit in self.hits if start <= hit.at < end]

    def latency_ms(self) -> dict[str, dict[str, float]]:
        """Per endpoint: answers, p50 and max latency of the 200s."""
        summary = {}
        for name, _ in self.requests:
            times = sorted(hit.latency_s * 1000 for hit in self.hits if hit.name == name and hit.status == 200)
            if times:
                summary[name] = {"answers": len(times), "p50": round(times[len(times) // 2], 1),
                                 "max": round(times[-1], 1)}
        return summary

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=90)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
