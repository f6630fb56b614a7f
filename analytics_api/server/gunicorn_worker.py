"""gunicorn's threaded worker, with a deadline on every read and the JSON envelope for its own errors.

gunicorn's ``gthread`` worker keeps idle and kept-alive connections in a poller, but once a
connection has sent its first byte a thread reads the rest of the request with a blocking socket
and no time limit: a client sending its headers one byte every few seconds holds that thread for
as long as it likes, and ``workers × threads`` such clients stop the server. This worker gives the
reads of each request two deadlines:

1. the request head (request line and headers) must arrive within ``WEB_HEADER_TIMEOUT`` seconds
   of its first byte, else the client gets a 408 envelope and the connection is closed;
2. the body must arrive within ``WEB_BODY_TIMEOUT`` seconds of the head, else the read fails like
   a dropped connection (Django raises ``UnreadablePostError``, answered as a 408 envelope);
3. each write of the response may block at most ``WEB_BODY_TIMEOUT`` seconds (a client that stops
   reading).

A new connection waits for its first byte in the poller, not in a thread (gthread lets a thread
wait up to 5 s): one that sends nothing is closed after ``keepalive`` seconds and holds no thread.

So a slow client holds a thread for at most one of those timeouts, and it takes more slow
connections than there are threads (``workers × threads``), re-opened without pause, to delay
anyone else — by at most the timeout. A worker whose threads are all busy stops accepting, so that
a new connection goes to a worker with a free thread instead of queueing behind slow ones. In
front of the public internet, nginx (deploy/nginx.conf) buffers whole requests before they reach
gunicorn and removes even that.

gunicorn answers requests it cannot parse (bad request line, URI or headers too long) itself, with
an HTML page; ``handle_error`` answers them with the project's JSON envelope instead.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import time
from functools import partial
from typing import Any

from django import db
from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from analytics_api.server import gunicorn_conf
from analytics_api.server.thread_pool import LifoThreadPool


class RequestHeadTimeout(Exception):
    """The request head did not arrive in time. Not an ``OSError``: gunicorn then calls
    ``handle_error``, which answers 408, instead of logging a socket error."""


class RequestBodyTimeout(TimeoutError):
    """The body did not arrive in time: an ``OSError``, as for a dropped connection, which Django
    turns into ``UnreadablePostError`` (a 408 envelope, see ``analytics_api.kernel.errors``)."""


class DeadlineSocket(socket.socket):
    """A client socket whose reads share one deadline per phase of a request.

    ``settimeout``/``setblocking`` keep working as gunicorn expects (the poller needs the socket
    non-blocking, the parser blocking); each ``recv`` waits at most until the phase's deadline.
    """

    __slots__ = ("_budget_s", "_deadline", "_expired", "_send_timeout_s", "_timeout")

    @classmethod
    def adopt(cls, sock: socket.socket, *, send_timeout_s: float) -> DeadlineSocket:
        timeout = sock.gettimeout()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted._budget_s = None
        adopted._deadline = None
        adopted._expired = RequestHeadTimeout
        adopted._send_timeout_s = send_timeout_s
        adopted.settimeout(timeout)
        return adopted

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        super().settimeout(value)

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def arm(self, budget_s: float, expired: type[Exception], *, from_first_read: bool) -> None:
        """Start a phase: its reads must be done ``budget_s`` seconds after now or the first read."""
        self._budget_s = budget_s
        self._expired = expired
        self._deadline = None if from_first_read else time.monotonic() + budget_s

    def disarm(self) -> None:
        self._budget_s = self._deadline = None

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self._budget_s is None:
            return super().recv(bufsize, flags)
        if self._deadline is None:
            self._deadline = time.monotonic() + self._budget_s
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._expired(f"the request did not arrive within {self._budget_s:g} s")
        # A timeout set by gunicorn itself (e.g. while draining an unread body) still applies.
        own = self._timeout
        super().settimeout(remaining if own is None else min(remaining, own))
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            if own is not None and own < remaining:
                raise
            raise self._expired(f"the request did not arrive within {self._budget_s:g} s") from None
        finally:
            super().settimeout(own)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._timeout is not None:
            return super().sendall(data, flags)
        # A client that stops reading must not hold the thread for ever.
        super().settimeout(self._send_timeout_s)
        try:
            return super().sendall(data, flags)
        finally:
            super().settimeout(None)


# Errors gunicorn reports with a parse error's type that are the server's fault, not the client's.
_SERVER_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName,
                  http_errors.ConfigurationProblem)

# gunicorn's parse errors: (status, reason, code, message); the first matching class wins.
_PARSE_ERRORS: tuple[tuple[type[Exception], int, str, str, str], ...] = (
    (RequestHeadTimeout, 408, "Request Timeout", "request_timeout",
     "The request line and headers did not arrive within {timeout:g} seconds of the first byte; "
     "send the whole request at once."),
    (http_errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long",
     "The request line is longer than {line} bytes; shorten the URL (filters go in the JSON body)."),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large",
     "The request headers are too large or too many (at most {fields} headers of {field_size} bytes "
     "each); send fewer or shorter headers."),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "permission_denied",
     "Requests through this proxy are not allowed."),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "unsupported_transfer_coding",
     "This Transfer-Encoding is not supported; send the body with a Content-Length header."),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "expectation_failed",
     "Only 'Expect: 100-continue' is supported ({error})."),
    (http_errors.ParseException, 400, "Bad Request", "bad_request",
     "The request is not valid HTTP/1.1 ({error}); check the request line and headers."),
)


def error_response(status: int, reason: str, code: str, msg: str) -> bytes:
    """A complete HTTP/1.1 response carrying the envelope; the connection closes after it."""
    body = json.dumps({"errors": [{"msg": msg, "code": code}]}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


class Worker(ThreadWorker):
    """``gthread`` with per-phase read deadlines and envelope errors (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections handed to the thread pool and not finished yet (main thread only).
        self.busy = 0

    def get_thread_pool(self) -> LifoThreadPool:
        # The most recently idle thread takes the next request, so that at low concurrency a few
        # threads and their database connections stay in use; a thread idle for as long as a
        # connection may live ends and closes its own (analytics_api/server/thread_pool.py).
        return LifoThreadPool(
            max_workers=self.cfg.threads, idle_timeout_s=gunicorn_conf.thread_idle_timeout,
            on_thread_exit=db.connections.close_all,
        )

    def enqueue_req(self, conn: Any) -> None:
        # Every connection passes here first (from accept), before it is ever polled or read.
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket.adopt(conn.sock, send_timeout_s=gunicorn_conf.body_timeout)
            # gthread would have a thread wait up to 5 s for the first byte; wait in the poller
            # instead (as it does after those 5 s), so a connection that sends nothing holds no
            # thread. It is closed after ``keepalive`` seconds of silence.
            conn.sock.setblocking(False)
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))
            return
        self.busy += 1
        super().enqueue_req(conn)
        if self.busy >= self.cfg.threads:
            self.set_accept_enabled(False)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        # gthread accepts while it has connection slots, even with every thread busy: a new
        # connection then waits in this worker's queue while another worker may be idle. Accept
        # only with a free thread; otherwise the connection waits in the kernel's backlog for the
        # first worker that has one. (The run loop asks again on every turn.)
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)

    def handle(self, conn: Any) -> Any:
        conn.sock.arm(gunicorn_conf.header_timeout, RequestHeadTimeout, from_first_read=True)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        conn.sock.arm(gunicorn_conf.body_timeout, RequestBodyTimeout, from_first_read=False)
        try:
            return super().handle_request(req, conn)
        finally:
            # gunicorn drains an unread body with its own bounded timeout afterwards.
            conn.sock.disarm()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        found = next((entry for entry in _PARSE_ERRORS if isinstance(exc, entry[0])), None)
        if found is not None and not isinstance(exc, _SERVER_FAULTS):
            _, status, reason, code, template = found
            msg = template.format(
                timeout=gunicorn_conf.header_timeout, line=self.cfg.limit_request_line,
                fields=self.cfg.limit_request_fields, field_size=self.cfg.limit_request_field_size,
                error=str(exc)[:200] or type(exc).__name__,
            )
            self.log.warning("Invalid request from ip=%s: %s %s", (addr or ("",))[0], status, exc)
        else:
            self.log.exception("Error handling request")
            status, reason, code = 500, "Internal Server Error", "internal_error"
            msg = "An internal error occurred. It has been logged."
        try:
            util.write_nonblock(client, error_response(status, reason, code, msg))
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.debug("Failed to send the error response: %s", error)
