"""HTTP/1.1 spoken byte by byte over a socket: what curl and urllib will not send (slow, malformed,
chunked requests), and the answer read back exactly as the server wrote it."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body)

    def envelope(self) -> tuple[str, str]:
        """``(code, msg)`` of the single envelope item, after checking it is JSON."""
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        errors = self.json()["errors"]
        assert len(errors) == 1, errors
        return errors[0]["code"], errors[0]["msg"]


def parse(raw: bytes, elapsed_s: float) -> RawAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/"):
        raise AssertionError(f"no HTTP answer: {raw[:300]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return RawAnswer(status=int(lines[0].split()[1]), headers=headers, body=body, elapsed_s=elapsed_s)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


def exchange(port: int, *parts: bytes, pause_s: float = 0.0, timeout_s: float = 15.0) -> RawAnswer:
    """Send ``parts`` (``pause_s`` apart) with ``Connection: close`` semantics; read to EOF."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        for index, part in enumerate(parts):
            if index and pause_s:
                time.sleep(pause_s)
            try:
                sock.sendall(part)
            except OSError:
                break  # the server may answer and close before everything is sent
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return parse(received, time.monotonic() - began)


def get(port: int, path: str, *, headers: dict[str, str] | None = None, timeout_s: float = 15.0) -> RawAnswer:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), timeout_s=timeout_s)


@dataclass
class SlowClients:
    """Sockets that each send a request a few bytes at a time and never finish it (slowloris).

    ``kind`` is ``header`` (the request head trickles), ``body`` (the head is complete and announces
    a body that trickles) or ``silent`` (connects and sends nothing). Each socket records when the
    server closed it (``closed_after_s``) and what it answered.
    """

    port: int
    count: int
    kind: str = "header"
    interval_s: float = 0.5
    path: str = "/api/health"
    headers: dict[str, str] = field(default_factory=dict)
    closed_after_s: list[float] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _one(self) -> None:
        began = time.monotonic()
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
        except OSError:
            return
        extra = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        if self.kind == "body":
            head = (f"POST {self.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    f"{extra}Content-Length: 100000\r\n\r\n")
            sock.sendall(head.encode())
            trickle = b" "
        elif self.kind == "header":
            sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: localhost\r\n{extra}".encode())
            trickle = b"X"
        else:
            trickle = b""
        received = b""
        sock.settimeout(self.interval_s)
        with sock:
            while not self._stop.is_set():
                try:
                    if trickle:
                        sock.sendall(trickle)
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            else:
                return
        self.closed_after_s.append(time.monotonic() - began)
        self.answers.append(received)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            thread = threading.Thread(target=self._one, daemon=True)
            thread.start()
            self._threads.append(thread)
        time.sleep(0.3)  # every socket connected and started
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
