"""Private PostgreSQL and Redis servers that a drill may stop and start at will.

The machine's own PostgreSQL and Redis serve other people's test runs: a drill never stops,
restarts or reconfigures them. These run from temporary directories on free loopback ports and
are removed on exit, whatever happened.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
import redis
from psycopg import sql

from tools.harness.server import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    """A throw-away PostgreSQL cluster: ``initdb`` into a temp dir, ``pg_ctl start/stop``.

    PostgreSQL refuses to run as root, so when the drill runs as root the cluster belongs to the
    ``postgres`` system user and every command goes through ``runuser``. The Unix socket lives in
    the cluster's own directory, so nothing touches the system server's socket directory.
    """

    def __init__(self, *, os_user: str = "postgres", settings: dict[str, str] | None = None) -> None:
        self.os_user = os_user
        self.port = 0
        self.root: Path | None = None
        self.running = False
        # Server settings given on the command line (e.g. {"log_statement": "all"}).
        self.settings = dict(settings or {})

    @property
    def data(self) -> Path:
        if self.root is None:
            raise RuntimeError("the cluster is not initialised")
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout_s: float = 120.0) -> str:
        prefix = ["runuser", "-u", self.os_user, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *command], cwd=self.root, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def __enter__(self) -> PrivatePostgres:
        self.root = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.os_user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.port = free_port()
        try:
            self._create()
            self.start()
        except BaseException:
            self._remove()
            raise
        return self

    def _create(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, *, mode: str = "immediate") -> None:
        """Stop the server; ``immediate`` drops every connection at once, as a crash would."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def _remove(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self.running:
                self.stop(mode="fast")
        finally:
            self._remove()


class PrivateStandby(PrivatePostgres):
    """A streaming replica of a :class:`PrivatePostgres`: ``pg_basebackup -R`` of the running primary.

    initdb's trust rules already let 127.0.0.1 replicate, and PostgreSQL 15's defaults
    (``wal_level=replica``, ``hot_standby=on``) need no change on the primary.
    """

    def __init__(self, primary: PrivatePostgres, **kwargs: Any) -> None:
        super().__init__(os_user=primary.os_user, **kwargs)
        self.primary = primary

    def _create(self) -> None:
        self._run(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                  "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")

    def replay_pause(self) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_pause()")

    def replay_resume(self) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, *, timeout_s: float = 30.0) -> None:
        """Until the standby streams from the primary and has replayed everything it has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.url(), autocommit=True) as standby:
            while time.monotonic() < deadline:
                row = standby.execute(
                    "SELECT pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_replay_lsn() >= %s::pg_lsn",
                    [str(target)],
                ).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.05)
        raise RuntimeError(f"the standby did not replay up to {target} within {timeout_s} s")


class PrivateRedis:
    """``redis-server`` on a free port with no persistence: a restart loses everything queued."""

    def __init__(self) -> None:
        self.port = 0
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def __enter__(self) -> PrivateRedis:
        self.root = Path(tempfile.mkdtemp(prefix="drill-redis-"))
        self.port = free_port()
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def start(self) -> None:
        if self.root is None:
            raise RuntimeError("PrivateRedis is used outside its with block")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._ping():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}")

    def _ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None


class SilentPort:
    """A listener that accepts connections and never answers: a hung server, or a half-open path.

    Put on a stopped server's port, it turns refused connections (which fail at once) into the
    worse case, where only the client's own connect or read timeout ends the wait.
    """

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    def open(self, port: int) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(512)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed by close()
            self._held.append(connection)

    def close(self, *, keep_held: bool = False) -> None:
        """Stop listening (freeing the port); drop the held connections unless ``keep_held``.

        Kept, they stay half-open — what a network partition leaves behind: their clients learn
        nothing until their own timeouts fire. ``release()`` drops them later.
        """
        if self._listener is not None:
            # shutdown() wakes the accept() blocked in the thread; close() alone may not.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if not keep_held:
            self.release()

    def release(self) -> None:
        for connection in self._held:
            connection.close()
        self._held.clear()
