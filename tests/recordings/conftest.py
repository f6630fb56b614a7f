"""A real, misbehaving recording server on 127.0.0.1, a real S3-compatible server (moto), a clock."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings

from analytics_api.models import Account
from recordings.jobs import Claim, recording_files_claim, recordings_process_due
from recordings.models import Recording
from recordings.services import recording_sources_register
from tests.audio import audio

CALL_END = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FIRST = CALL_END + timedelta(minutes=10)  # the first attempt falls due 10 minutes after the call


AUDIO = audio()
OTHER_AUDIO = audio(seed=13)


@dataclass
class Reply:
    """How the server answers one request."""

    status: int = 200
    body: bytes = AUDIO
    announced: int | None = None  # Content-Length to send; defaults to len(body); -1 sends none
    headers_delay: float = 0.0  # seconds before the status line
    body_delay: float = 0.0  # seconds after half the body
    location: str | None = None
    trickle: float = 0.0  # when set: the body one byte at a time, this many seconds apart
    headers_trickle: float = 0.0  # when set: the status line and headers one byte at a time


@dataclass
class RecordingServer:
    host: str
    port: int
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def serve(self, path: str, *replies: Reply) -> str:
        """Answer ``path`` with these replies in turn, the last one from then on."""
        self.routes[path] = list(replies)
        return self.url(path)

    def reply_for(self, path: str) -> Reply:
        self.hits[path] += 1
        replies = self.routes.get(path) or [Reply(status=404, body=b"")]
        return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = server.reply_for(self.path)
            time.sleep(reply.headers_delay)
            if reply.trickle or reply.headers_trickle:
                self._trickle(reply)
                return
            try:
                self.send_response(reply.status)
                if reply.location:
                    self.send_header("Location", reply.location)
                announced = len(reply.body) if reply.announced is None else reply.announced
                if announced >= 0:
                    self.send_header("Content-Length", str(announced))
                self.send_header("Content-Type", "audio/flac")
                self.end_headers()
                half = len(reply.body) // 2
                self.wfile.write(reply.body[:half])
                self.wfile.flush()
                time.sleep(reply.body_delay)
                self.wfile.write(reply.body[half:])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def _trickle(self, reply: Reply) -> None:
            """Valid headers, then the body a byte at a time: no single receive ever times out."""
            head = (
                f"HTTP/1.1 {reply.status} OK\r\nContent-Length: {len(reply.body)}\r\n"
                "Content-Type: audio/flac\r\nConnection: close\r\n\r\n"
            ).encode()
            self.close_connection = True
            try:
                for data, pause in ((head, reply.headers_trickle), (reply.body, reply.trickle)):
                    if not pause:
                        self.wfile.write(data)
                        self.wfile.flush()
                        continue
                    for index in range(len(data)):
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
                        time.sleep(pause)
            except OSError:
                pass  # the client gave up: what the tests want

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def recording_server(settings: Any) -> Iterator[RecordingServer]:
    """An HTTP recording server on 127.0.0.1 (a source host shared by every account) with short timeouts."""
    state = RecordingServer(host="127.0.0.1", port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    settings.RECORDING_SOURCE_SHARED_HOSTS = ["127.0.0.1"]
    settings.RECORDING_CONNECT_TIMEOUT_SECONDS = 2
    settings.RECORDING_READ_TIMEOUT_SECONDS = 1
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Frozen at the call's end; move with ``clock.move_to(...)`` or ``clock.shift(...)``."""
    with time_machine.travel(CALL_END, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ticking_clock() -> Iterator[time_machine.Coordinates]:
    """Starts at the call's end and runs (deadlines are measured on the monotonic clock, which a
    frozen clock would stop too); move with ``clock.move_to(...)``."""
    with time_machine.travel(CALL_END, tick=True) as traveller:
        yield traveller


def register(
    account: Account, conversation_id: str, *sources: tuple[str, str], ended: datetime | None = CALL_END
) -> Recording:
    recording_sources_register(
        account=account,
        conversation_id=conversation_id,
        call_ended_at=ended,
        sources=[{"url": url, "channel": channel} for url, channel in sources],
    )
    return Recording.objects.get(account=account, conversation_id=conversation_id)


def register_served(
    server: RecordingServer, account: Account, *replies: Reply, conversation_id: str = "c1", path: str = ""
) -> str:
    """One mixed-channel file for ``conversation_id``, served at ``path`` (``/<conversation_id>.flac``
    by default) with ``replies`` (one plain 200 by default); returns its URL."""
    url = server.serve(path or f"/{conversation_id}.flac", *(replies or (Reply(),)))
    register(account, conversation_id, (url, "mixed"))
    return url


def stored_files() -> list[Path]:
    """Every object the filesystem storage holds."""
    root = Path(django_settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def state_of(conversation_id: str = "c1") -> tuple[str, str]:
    """The recording's state and the message shown for it."""
    recording = Recording.objects.get(conversation_id=conversation_id)
    return recording.state, recording.message


@pytest.fixture
def due_claim(tenant: Any, recording_server: RecordingServer, clock: time_machine.Coordinates) -> Claim:
    """One file served (a plain 200) and registered, the clock at its first attempt, the file claimed
    by a worker that has not started yet."""
    register_served(recording_server, tenant.account)
    clock.move_to(FIRST)
    [claim] = recording_files_claim(limit=10)
    return claim


def first_attempt(clock: time_machine.Coordinates) -> dict[str, int]:
    """Move the clock to the first attempt of files registered at ``CALL_END`` and run the due jobs;
    returns how many files ended in each state."""
    clock.move_to(FIRST)
    return recordings_process_due()


def automatic_retry(clock: time_machine.Coordinates) -> dict[str, int]:
    """Move the clock to the automatic retry after a failed first attempt (24 hours after it) and run
    the due jobs; returns how many files ended in each state."""
    clock.move_to(FIRST + timedelta(hours=24))
    return recordings_process_due()


def assert_given_up(server: RecordingServer, clock: time_machine.Coordinates, *, hits: int) -> None:
    """The recording ended ``24hr_retry_failed`` with its documented message and nothing fetches it
    again, even 30 days later: its source was asked ``hits`` times in all."""
    assert state_of() == (
        "24hr_retry_failed",
        "We couldn\u2019t generate the call recording due to a technical issue. "
        "Please contact your administrator for assistance.",
    )
    clock.shift(timedelta(days=30))
    assert recordings_process_due() == {}
    assert server.hits["/c1.flac"] == hits
