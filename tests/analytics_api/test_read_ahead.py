"""Rows read ahead on a connection of their own are the ORM's rows, in order, and the reader stops
when its caller does."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from analytics_api.kernel import read_ahead
from analytics_api.kernel.read_ahead import read_ahead_available, rows_in_chunks, rows_read_ahead
from analytics_api.models import Account, ApiClient
from tests.factories import AccountFactory, ApiClientFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the reader's own connection needs PostgreSQL"),
]


def _readers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "rows-read-ahead"]


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _backends_settled(expected: int, *, seconds: float = 5.0) -> int:
    """The backend count once it is ``expected`` or ``seconds`` have passed: a closed connection's
    backend leaves pg_stat_activity a moment after the client has closed it."""
    deadline = time.monotonic() + seconds
    while (count := _backends()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_the_rows_are_the_orms_in_order_a_chunk_at_a_time() -> None:
    for name in ["plain", "back\\slash", "tab\there", "new\nline", "ünïcødé ☎", ""]:
        AccountFactory(name=name)
    rows = Account.objects.order_by("-pk").values_list("pk", "name", "created_at")

    chunks = list(rows_read_ahead(rows, chunk=4))

    assert [len(chunk) for chunk in chunks] == [4, 2]
    assert [row for chunk in chunks for row in chunk] == list(rows)
    assert not _readers()


def test_closing_early_stops_the_reader_and_closes_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_ahead, "_POLL_SECONDS", 0.05)
    AccountFactory.create_batch(30)
    before = _backends()
    reader = rows_read_ahead(Account.objects.order_by("pk").values_list("name"), chunk=5)

    first = next(reader)
    reader.close()

    assert len(first) == 5
    assert not _readers()
    assert _backends_settled(before) == before
    assert Account.objects.count() == 30


def test_an_error_of_the_reader_is_raised_to_the_caller() -> None:
    AccountFactory.create_batch(3)
    rows = Account.objects.extra(select={"broken": "1 / (id - id)"}).values_list("broken")

    with pytest.raises(Exception, match="division by zero"):
        list(rows_read_ahead(rows, chunk=2))
    assert not _readers()


def test_inside_a_transaction_the_orm_reads_instead() -> None:
    """A reader's own connection would not see what the transaction has not committed yet."""
    rows = Account.objects.values_list("name")
    assert read_ahead_available(rows)
    with transaction.atomic():
        assert not read_ahead_available(rows)


def test_model_instances_are_read_by_the_orm_in_chunks() -> None:
    """The reader hands over the driver's tuples: a queryset of models keeps the ORM's cursor."""
    AccountFactory.create_batch(3)
    accounts = Account.objects.order_by("pk")

    chunks = list(rows_in_chunks(accounts, chunk=2))

    assert not read_ahead_available(accounts)
    assert [len(chunk) for chunk in chunks] == [2, 1]
    assert [account.pk for chunk in chunks for account in chunk] == list(accounts.values_list("pk", flat=True))
    assert not _readers()


def test_columns_that_need_the_orms_converters_are_read_by_the_orm() -> None:
    """A JSON field comes from the driver as text: only the ORM makes it the value."""
    ApiClientFactory.create_batch(2, scopes=["smartassist.analytics"])
    scopes = ApiClient.objects.order_by("pk").values_list("pk", "scopes")

    chunks = list(rows_in_chunks(scopes, chunk=5))

    assert not read_ahead_available(scopes)
    assert [row[1] for chunk in chunks for row in chunk] == [["smartassist.analytics"]] * 2
    assert not _readers()
