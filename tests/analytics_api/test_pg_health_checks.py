"""The PostgreSQL backend checks a persistent connection before a request only after idleness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the health checks are PostgreSQL's"),
]


@pytest.fixture
def persistent() -> Iterator[BaseDatabaseWrapper]:
    """A second connection to the test database, outside the test's transaction, kept across requests."""
    wrapper = connections.create_connection("default")
    wrapper.settings_dict = {**wrapper.settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}
    yield wrapper
    wrapper.close()


def _request(wrapper: BaseDatabaseWrapper) -> int:
    """What a request does to the connection: the boundary's bookkeeping, then a statement (its server pid)."""
    wrapper.close_if_unusable_or_obsolete()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        wrapper.close_if_unusable_or_obsolete()


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _count_checks(wrapper: BaseDatabaseWrapper, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    check = wrapper.is_usable

    def counted() -> bool:
        calls.append(1)
        return check()

    monkeypatch.setattr(wrapper, "is_usable", counted)
    return calls


@pytest.mark.parametrize(
    ("idle_limit", "expected_checks"),
    [
        # Used a moment ago by the previous request: no round trip.
        (3600, 0),
        # Django's behaviour: the first request connects (a new connection needs no check), each later one checks.
        (0, 4),
    ],
)
def test_a_connection_is_checked_before_a_request_only_past_the_idle_limit(
    persistent: BaseDatabaseWrapper, monkeypatch: pytest.MonkeyPatch, idle_limit: int, expected_checks: int
) -> None:
    persistent.settings_dict["HEALTH_CHECK_IDLE_SECONDS"] = idle_limit
    checks = _count_checks(persistent, monkeypatch)
    pids = {_request(persistent) for _ in range(5)}

    assert len(pids) == 1
    assert len(checks) == expected_checks


def _dropped_after_a_request(wrapper: BaseDatabaseWrapper, *, idle_limit: int) -> int:
    """One request on ``wrapper``, then the server ends that connection; its server pid."""
    wrapper.settings_dict["HEALTH_CHECK_IDLE_SECONDS"] = idle_limit
    pid = _request(wrapper)
    _terminate(pid)
    return pid


def test_an_idle_connection_the_server_dropped_is_replaced_before_the_request_uses_it(
    persistent: BaseDatabaseWrapper,
) -> None:
    first = _dropped_after_a_request(persistent, idle_limit=0)

    second = _request(persistent)

    assert second != first


def test_a_recently_used_connection_the_server_dropped_fails_one_request_then_is_replaced(
    persistent: BaseDatabaseWrapper,
) -> None:
    first = _dropped_after_a_request(persistent, idle_limit=3600)

    with pytest.raises(OperationalError):
        _request(persistent)
    # The failed request's end dropped the connection: the next one opens a new one.
    assert persistent.connection is None
    second = _request(persistent)

    assert second != first
