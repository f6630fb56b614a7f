"""Paging of rawdata: records skipped = offset + (page − 1) × limit; totals, hasMore and order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from qualityai import selectors
from tests.conftest import Tenant
from tests.qualityai.conftest import ids_of, ingest, ok, rawdata
from tests.qualityai.factories import BASE, ContactDocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven(tenant: Tenant) -> list[str]:
    """Seven contacts of the tenant's stream, one minute apart, in start order."""
    documents = ContactDocumentFactory.build_batch(7)
    ingest(tenant, documents)
    return [document["Conversation ID"] for document in documents]


@pytest.mark.parametrize(
    ("offset", "page", "limit", "skipped"),
    [(0, 1, 3, 0), (0, 2, 3, 3), (1, 1, 3, 1), (1, 2, 3, 4), (2, 3, 2, 6), (5, 1, 10, 5)],
)
def test_offset_and_page_together_skip_offset_plus_previous_pages(
    tenant: Tenant, seven: list[str], day: dict[str, Any], offset: int, page: int, limit: int, skipped: int
) -> None:
    result = ok(rawdata(tenant, {**day, "offset": offset, "page": page, "limit": limit}))

    assert ids_of(result) == seven[skipped : skipped + limit]
    assert result["totalResults"] == 7


@pytest.mark.parametrize(
    ("limit", "page", "has_more", "total_pages", "returned"),
    [
        (7, 1, False, 1, 7),  # exactly one full page
        (6, 1, True, 2, 6),  # one left over
        (6, 2, False, 2, 1),  # the last, partial page
        (3, 3, False, 3, 1),
        (3, 4, False, 3, 0),  # past the end: empty, still counted
        (100, 1, False, 1, 7),
        (1, 7, False, 7, 1),
        (1, 6, True, 7, 1),
    ],
)
def test_total_pages_and_has_more_at_the_edges(
    tenant: Tenant, seven: list[str], day: dict[str, Any], limit: int, page: int, has_more: bool,
    total_pages: int, returned: int,
) -> None:
    result = ok(rawdata(tenant, {**day, "limit": limit, "page": page}))

    assert (len(result["results"]), result["hasMore"], result["totalPages"]) == (returned, has_more, total_pages)


def test_no_match_is_zero_pages(tenant: Tenant, day: dict[str, Any]) -> None:
    result = ok(rawdata(tenant, day))

    assert result == {"results": [], "totalResults": 0, "hasMore": False, "totalPages": 0}


def test_limit_defaults_to_ten_and_page_to_one(tenant: Tenant, day: dict[str, Any]) -> None:
    documents = ContactDocumentFactory.build_batch(12)
    ingest(tenant, documents)

    result = ok(rawdata(tenant, day))

    assert ids_of(result) == [document["Conversation ID"] for document in documents[:10]]
    assert (result["hasMore"], result["totalPages"]) == (True, 2)


def test_contacts_starting_together_are_ordered_by_conversation_id_so_pages_never_overlap(
    tenant: Tenant, day: dict[str, Any]
) -> None:
    ids = ["c-0003", "c-0001", "c-0004", "c-0002", "c-0005"]
    ingest(tenant, [ContactDocumentFactory(started=BASE, conversation_id=i) for i in ids])

    pages = [ids_of(ok(rawdata(tenant, {**day, "limit": 2, "page": page}))) for page in (1, 2, 3)]

    assert pages == [["c-0001", "c-0002"], ["c-0003", "c-0004"], ["c-0005"]]


def test_later_start_comes_after_even_with_a_smaller_id(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [
        ContactDocumentFactory(started=BASE + timedelta(hours=1), conversation_id="c-a"),
        ContactDocumentFactory(started=BASE, conversation_id="c-z"),
    ])

    assert ids_of(ok(rawdata(tenant, day))) == ["c-z", "c-a"]


def test_page_costs_a_fixed_number_of_queries_whatever_its_size(
    tenant: Tenant, day: dict[str, Any], django_assert_num_queries: Any
) -> None:
    ingest(tenant, ContactDocumentFactory.build_batch(30))
    body = {**day, "limit": 25, "custom_fields": {"Region": ["US", "UK"]}}
    rawdata(tenant, body)  # warm up anything cached per process

    # stream (404 check), stream settings, COUNT, page, recording links; the client comes from the
    # process's client cache (analytics_api.tenancy.client_cache).
    with django_assert_num_queries(5):
        result = ok(rawdata(tenant, body))

    assert len(result["results"]) == 25


def test_recording_links_are_fetched_once_per_page_for_the_page_ids(
    tenant: Tenant, day: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = ContactDocumentFactory.build_batch(5)
    ingest(tenant, documents)
    calls: list[tuple[str, list[str]]] = []

    def spy(*, account: Any, conversation_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        calls.append((account.account_id, list(conversation_ids)))
        return {}

    monkeypatch.setattr(selectors, "recording_links", spy)

    ok(rawdata(tenant, {**day, "limit": 2, "page": 2}))

    assert calls == [(tenant.account_id, [documents[2]["Conversation ID"], documents[3]["Conversation ID"]])]


@pytest.mark.parametrize("offset", [3, 4, 5, 6, 7, 8, 11, 12])
def test_a_deep_page_read_from_its_first_key_is_the_offset_page(
    tenant: Tenant, day: dict[str, Any], monkeypatch: pytest.MonkeyPatch, offset: int
) -> None:
    # Ties on the start time across the first key: three contacts per minute, ids out of order.
    ingest(tenant, [
        ContactDocumentFactory(started=BASE + timedelta(minutes=n // 3), conversation_id=f"c-{(n * 7) % 12:04d}-{n}")
        for n in range(12)
    ])
    body = {**day, "offset": offset, "limit": 4}
    shallow = ok(rawdata(tenant, body))
    monkeypatch.setattr(selectors, "DEEP_SKIP", 3)

    deep = ok(rawdata(tenant, body))

    assert deep == shallow
    assert len(deep["results"]) == min(4, 12 - offset)
    assert deep["hasMore"] == (offset + 4 < 12)


def test_a_deep_page_past_the_end_is_empty(
    tenant: Tenant, day: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tenant, ContactDocumentFactory.build_batch(5))
    monkeypatch.setattr(selectors, "DEEP_SKIP", 3)

    result = ok(rawdata(tenant, {**day, "offset": 5, "limit": 4}))

    assert result == {"results": [], "totalResults": 5, "hasMore": False, "totalPages": 2}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_stream_lookup_of_a_rawdata_request_is_a_prepared_statement(
    tenant: Tenant, seven: list[str], day: dict[str, Any]
) -> None:
    # Building and compiling the lookup's ORM query on every request cost more CPU than the read.
    for _ in range(2):
        assert ids_of(ok(rawdata(tenant, {**day, "limit": 3}))) == seven[:3]

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert len([sql for sql in prepared if 'FROM "analytics_api_bot"' in sql]) == 1
