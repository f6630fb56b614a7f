from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


_UNSET = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "BIND", "DJANGO_DEBUG", "ALLOWED_HOSTS")


def _run(code: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _UNSET}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env={**clean, "VAR_DIR": str(var_dir), **env}, capture_output=True, text=True, timeout=60,
    )


def _load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _run("import analytics_api.settings as s; print(s.SECRET_KEY); print(s.DEBUG)", tmp_path, **env)


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = _load_settings(tmp_path)
    second = _load_settings(tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.splitlines()[0]
    assert len(key) >= 50
    assert second.stdout.splitlines()[0] == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_debug_is_off_by_default(tmp_path: Path) -> None:
    assert _load_settings(tmp_path).stdout.splitlines()[1] == "False"


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"RATE_LIMIT_PER_MINUTE": "lots"}, "RATE_LIMIT_PER_MINUTE must be an integer"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with sqlite:// or postgres://"),
        (
            {"Q_TIMEOUT_SECONDS": "700", "Q_RETRY_SECONDS": "600"},
            "Q_TIMEOUT_SECONDS must be lower than Q_RETRY_SECONDS",
        ),
        ({"DJANGO_DEBUG": "1", "ALLOWED_HOSTS": "api.example.com"}, "DJANGO_DEBUG may only be on"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be at least 0"),
        ({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}, "SECURE_PROXY_SSL_HEADER must be a header name"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be plain or json"),
        ({"ACCESS_LOG_LEVEL": "loud"}, "ACCESS_LOG_LEVEL must be INFO or WARNING"),
        ({"METRICS_ALLOWED_NETS": "10.0.0.0/8,everyone"}, "METRICS_ALLOWED_NETS must list networks"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be at least 16 characters long"),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "bind", ["0.0.0.0:8000", "[::]:8000", "10.1.2.3:8000", "api.example.com:8000", ":8000", "unix:/run/api.sock"]
)
def test_debug_is_refused_unless_the_server_listens_on_loopback(tmp_path: Path, bind: str) -> None:
    # The Docker image binds 0.0.0.0:8000; ALLOWED_HOSTS alone (loopback by default) let DEBUG through.
    result = _load_settings(tmp_path, DJANGO_DEBUG="true", BIND=bind)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert (
        f"DJANGO_DEBUG may only be on when the server listens on loopback only, but BIND is {bind!r}: "
        "set BIND=127.0.0.1:8000 (or [::1]:8000), or turn DJANGO_DEBUG off"
    ) in result.stderr


@pytest.mark.parametrize("bind", [None, "127.0.0.1:8000", "127.0.0.2:9000", "localhost:8000", "[::1]:8000", "::1"])
def test_debug_is_allowed_when_the_server_listens_on_loopback(tmp_path: Path, bind: str | None) -> None:
    result = _load_settings(tmp_path, DJANGO_DEBUG="true", **({"BIND": bind} if bind else {}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "True"


_WRITE_SQLITE = """
import json, os, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE probe (x INTEGER)")
    cursor.execute("INSERT INTO probe VALUES (1)")
    # Listed while the connection is open: SQLite removes its -wal and -shm files on close.
    root = settings.VAR_DIR.parent
    modes = {os.path.relpath(os.path.join(d, n), root.parent): os.stat(os.path.join(d, n)).st_mode & 0o777
             for d, dirs, files in os.walk(root) for n in dirs + files}
    print(json.dumps({root.name: root.stat().st_mode & 0o777, **modes}))
"""


def test_a_fresh_var_dir_and_its_files_are_private_to_the_service(tmp_path: Path) -> None:
    result = _run(_WRITE_SQLITE, tmp_path / "deep" / "var", DJANGO_SETTINGS_MODULE="analytics_api.settings")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "deep": 0o700, "deep/var": 0o700, "deep/var/static": 0o700,
        "deep/var/secret_key": 0o600,
        "deep/var/db.sqlite3": 0o600, "deep/var/db.sqlite3-wal": 0o600, "deep/var/db.sqlite3-shm": 0o600,
    }


_BROKER_WRITE = """
import time, django
django.setup()
import redis
from django_q.brokers import get_broker
began = time.monotonic()
try:
    get_broker().set_stat("probe", "v", 3)
    print("answered")
except redis.TimeoutError:
    print(f"timed out after {time.monotonic() - began:.1f}")
"""


def test_the_task_broker_gives_up_on_a_redis_that_never_answers(tmp_path: Path) -> None:
    # Found by the outage drill: without socket timeouts the qcluster's sentinel blocked for good on
    # a Redis that accepted connections and never answered, and stayed stuck after Redis came back.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshakes; nothing ever reads or answers
        clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL")}
        env = {
            **clean, "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "analytics_api.settings",
            "REDIS_URL": f"redis://127.0.0.1:{silent.getsockname()[1]}/0", "Q_REDIS_READ_TIMEOUT_SECONDS": "2",
        }
        try:
            result = subprocess.run([sys.executable, "-c", _BROKER_WRITE], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the broker waited for a silent Redis for 30 s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("timed out after "), result.stdout
    assert float(result.stdout.split()[-1]) < 5
