"""Throw-away PostgreSQL databases on a shared server, and migrating them.

The system PostgreSQL is shared with other people's test runs: a scratch database has a unique
name (prefix, time, pid, random suffix) and is dropped ``WITH (FORCE)`` on exit, even after an
error, so that a crashed drill leaves nothing behind and never touches another database.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tools.harness.server import manage

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name`` instead (credentials, host, options kept)."""
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _scratch_name(prefix: str) -> str:
    clean = re.sub(r"[^a-z0-9_]", "_", prefix.lower()).strip("_") or "scratch"
    suffix = f"_{int(time.time())}_{os.getpid()}_{secrets.token_hex(3)}"
    # PostgreSQL truncates identifiers at 63 bytes; the unique suffix must survive.
    return clean[: 63 - len(suffix)] + suffix


@contextmanager
def scratch_database(*, admin_url: str = ADMIN_URL, prefix: str) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it on exit (forcing sessions out)."""
    name = _scratch_name(prefix)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(admin_url, name)
    finally:
        # FORCE: servers or workers the caller left running must not keep the database alive.
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate(url: str, *, env: dict[str, str] | None = None, timeout_s: float = 600.0) -> str:
    """Run ``manage.py migrate`` against ``url``; returns its output, raises with it on failure.

    ``env`` adds variables (``VAR_DIR``, ``SECRET_KEY``, ...) to the same clean environment the
    servers of :mod:`harness.server` get.
    """
    return manage({**(env or {}), "DATABASE_URL": url}, "migrate", "--noinput", timeout_s=timeout_s)


def sqlite_app_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an app process on a migrated SQLite database of its own in ``var_dir``.

    For tests and tools that run the service as separate processes (gunicorn, ``make run``): the
    SQLite file, a fixed secret key and ``extra`` variables, migrated once before it is returned.
    """
    env = {
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "SECRET_KEY": "app-process-" + "k" * 40,
        **extra,
    }
    migrate(env["DATABASE_URL"], env=env)
    return env
