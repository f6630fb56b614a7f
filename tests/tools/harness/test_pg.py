"""Scratch databases on PostgreSQL: unique, migrated on demand, dropped even after an error."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from tools.harness.pg import database_url, migrate, scratch_database

pytestmark = pytest.mark.skipif(
    not settings.DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="needs a PostgreSQL server (DATABASE_URL)",
)


def admin_url() -> str:
    return database_url(settings.DATABASE_URL, "postgres")


def exists(name: str) -> bool:
    with psycopg.connect(admin_url()) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_scratch_database_is_created_migrated_and_dropped() -> None:
    with scratch_database(admin_url=admin_url(), prefix="Harness Test!") as url:
        name = urlsplit(url).path.lstrip("/")
        assert name.startswith("harness_test_") and exists(name)
        migrate(url)
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 10
            # A session still open at exit must not keep the database alive (WITH (FORCE)).
            lingering = psycopg.connect(url)
    assert not exists(name)
    lingering.close()


def test_scratch_database_is_dropped_when_the_body_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with scratch_database(admin_url=admin_url(), prefix="harness_fail") as url:
            name = urlsplit(url).path.lstrip("/")
            raise RuntimeError("boom")
    assert not exists(name)
