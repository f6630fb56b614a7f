"""A local recording server for the drills: deterministic audio per path, optionally slow.

Every path serves a real FLAC file (a tone under noise seeded by the path, encoded by libsndfile):
the workers decode every fetched source and refuse what is not audio (``recordings.audio``), and a
FLAC source is stored byte for byte, so the stored object's sha256 is the served bytes'.

``trickle_s`` spreads each body over that many seconds in small chunks, so a fetch stays in
flight long enough to kill the worker doing it, without tripping the worker's read timeout.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import Counter
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np
import soundfile

# 12 s of 8 kHz mono speech-band audio: about 180 KB of FLAC (noise compresses little).
AUDIO_SECONDS = 12.0
AUDIO_RATE = 8000
CHUNKS = 32


@cache
def audio_for(path: str) -> bytes:
    """The bytes served at ``path``: a 440 Hz tone under noise seeded by the path, as 16-bit FLAC."""
    rng = np.random.default_rng(list(hashlib.sha256(path.encode()).digest()))
    frames = int(AUDIO_SECONDS * AUDIO_RATE)
    signal = 0.2 * np.sin(2 * np.pi * 440 * np.arange(frames) / AUDIO_RATE) + 0.2 * rng.standard_normal(frames)
    out = io.BytesIO()
    soundfile.write(out, signal.clip(-1, 1), AUDIO_RATE, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def sha256_for(path: str) -> str:
    return hashlib.sha256(audio_for(path)).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a worker killed mid-fetch resets its connection: that is the drill, not a fault


class RecordingServer:
    """``with RecordingServer(trickle_s=8) as server: server.url("/c1.flac")``; ``hits`` per path."""

    def __init__(self, *, trickle_s: float = 0.0) -> None:
        self.trickle_s = trickle_s
        self.hits: Counter[str] = Counter()
        self.completed: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the recording server is not running")
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] += 1
                body = audio_for(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "audio/flac")
                self.end_headers()
                step = len(body) // CHUNKS
                try:
                    for offset in range(0, len(body), step):
                        self.wfile.write(body[offset : offset + step])
                        self.wfile.flush()
                        time.sleep(server.trickle_s / CHUNKS)
                except (BrokenPipeError, ConnectionResetError):
                    return
                with server._lock:
                    server.completed[self.path] += 1
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> RecordingServer:
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
