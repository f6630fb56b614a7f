"""LZ4 compression of the large documents on PostgreSQL (analytics_api.kernel.toast)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from analytics_api.kernel.partitions import month_start, partition_name, partitions_maintain
from analytics_api.kernel.toast import toast_compression_set
from qualityai.services import contacts_ingest
from tests.conftest import Tenant
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db

# Every column the migrations compress with LZ4.
COLUMNS = [
    ("content_transcript", "messages"),
    ("content_eventlog", "events"),
    ("content_voiceturns", "turns"),
    ("qualityai_qacontact", "document"),
    ("qualityai_qacontact", "served"),
    ("conversations_interaction", "document"),
    ("conversations_interaction", "served"),
]

only_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage setting")


def _methods(table: str, column: str) -> dict[str, str]:
    """The compression method of ``column`` in ``table`` and each of its partitions, by relation."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attcompression FROM pg_partition_tree(%s::regclass) t "
            "JOIN pg_class c ON c.oid = t.relid JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = %s",
            [table, column],
        )
        return dict(cursor.fetchall())


@only_postgresql
@pytest.mark.parametrize(("table", "column"), COLUMNS)
def test_every_partition_of_a_large_document_column_compresses_with_lz4(table: str, column: str) -> None:
    methods = _methods(table, column)

    assert table in methods
    assert len(methods) > 1, "the table is partitioned by month"
    assert set(methods.values()) == {"l"}


@only_postgresql
def test_a_month_created_later_compresses_with_lz4() -> None:
    far = month_start(timezone.now(), 14)

    report = partitions_maintain(now=far - timedelta(days=3))

    created = partition_name("qualityai_qacontact", far)
    assert created in report.created
    assert _methods("qualityai_qacontact", "document")[created] == "l"


@only_postgresql
def test_an_ingested_contacts_document_is_stored_with_lz4(tenant: Tenant) -> None:
    # Metrics enough for a document above the size PostgreSQL starts compressing at (about 2 KB).
    metrics = [{"Metric Name": f"Greeting {n}", "Metric Type": "By Question", "Metric Score": n} for n in range(60)]
    document = ContactDocumentFactory(metrics=metrics)
    contacts_ingest(stream=tenant.bot, records=[document])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(document), pg_column_compression(served) FROM qualityai_qacontact "
            "WHERE conversation_id = %s",
            [document["Conversation ID"]],
        )
        assert cursor.fetchone() == ("lz4", "lz4")


@only_postgresql
def test_reversing_restores_pglz_on_the_table_and_its_partitions() -> None:
    altered = toast_compression_set(connection=connection, columns=[("qualityai_qacontact", "served")], method="pglz")

    methods = _methods("qualityai_qacontact", "served")
    assert sorted(altered) == sorted(methods)
    assert set(methods.values()) == {"p"}
    assert set(_methods("qualityai_qacontact", "document").values()) == {"l"}


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other databases")
def test_nothing_is_altered_on_other_databases(django_db_blocker: Any) -> None:
    assert toast_compression_set(connection=connection, columns=COLUMNS, method="lz4") == []
