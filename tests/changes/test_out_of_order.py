"""Out-of-order commits on PostgreSQL: a change that commits after a later one is never skipped.

A naive cursor on the change's id would skip it: the slow transaction takes id N, a quick one takes
N + 1 and commits, a reader passes N + 1, then N commits behind it. The feed holds its end back
while the slow transaction is in flight, and delivers both changes after the reader's cursor.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics_api.kernel.dates import render_utc_ms
from changes.models import Change
from tests.changes.conftest import drain, feed, ingest, sessions
from tests.conftest import Tenant

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent write transactions need PostgreSQL"),
]


def test_a_transaction_held_open_across_a_read_is_delivered_after_the_readers_cursor(tenant: Tenant) -> None:
    early, late = sessions(tenant, 2)
    ingest(tenant, sessions(tenant, 1))
    _before, cursor = drain(tenant)
    wrote, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                ingest(tenant, [early])  # its change takes its id now…
                wrote.set()
                assert release.wait(timeout=30)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert wrote.wait(timeout=30)
        quick_started = render_utc_ms(timezone.now())
        ingest(tenant, [late])  # …and this one takes a later id and commits first
        keys = [early["sessionId"], late["sessionId"]]
        assert list(Change.objects.filter(dataset="interactions", key__in=keys).values_list(
            "key", flat=True)) == [late["sessionId"]]

        page = feed(tenant, cursor=cursor).json()
    finally:
        release.set()
        writer.join()
    assert errors == []

    # While the slow transaction is in flight nothing after it is served, and the stream is not
    # complete past the quick transaction's start.
    assert page["items"] == [] and page["endOfStream"] is True
    assert page["completeUpTo"] <= quick_started
    held_cursor = page["nextCursor"]
    assert held_cursor >= cursor
    # The naive cursor would have skipped it: the early change has the lower id.
    ids = dict(Change.objects.filter(dataset="interactions", key__in=keys).values_list("key", "id"))
    assert ids[early["sessionId"]] < ids[late["sessionId"]]

    after, _cursor = drain(tenant, cursor=held_cursor)

    assert sorted(item["key"] for item in after) == sorted([early["sessionId"], late["sessionId"]])
    assert all(item["cursor"] > held_cursor for item in after)


def test_an_open_transaction_of_another_database_does_not_hold_the_feed_back(tenant: Tenant) -> None:
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname="postgres", autocommit=False,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")  # holds an id, in another database
        record = sessions(tenant, 1)
        ingest(tenant, record)

        items, _cursor = drain(tenant)
    finally:
        other.rollback()
        other.close()

    assert [item["key"] for item in items] == [record[0]["sessionId"]]
