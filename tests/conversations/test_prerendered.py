"""Pre-rendered documents are served exactly as rendering the parsed document would serve them."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from analytics_api.kernel.prerender import MARKS
from analytics_api.models import Bot
from conversations.demo import interactions_seed
from conversations.documents import (
    PRERENDER_VERSION,
    SECTIONS,
    SERVED_DOCUMENTS,
    document_prerender,
    document_render,
    served_page,
    served_record,
)
from conversations.models import Interaction
from tests.conftest import Tenant
from tests.conversations.conftest import details, ingest, sample, to_utc
from tests.conversations.factories import ConversationRecordFactory

pytestmark = pytest.mark.django_db

# Offsets that move times across midnight both ways, and the edges of the accepted range.
OFFSETS = (0, -330, 300, -720, 720, -840, 59, -1)
SECTION_CHOICES = [
    {name: [] for name in chosen}
    for size in range(len(SECTIONS) + 1)
    for chosen in itertools.combinations(SECTIONS, size)
]


def test_served_text_matches_rendering_for_every_offset_and_sections(tenant: Tenant) -> None:
    interactions_seed(account=tenant.account, days=2, per_day=25, seed=3)
    records = sample()["data"]
    for bot_id in {record["botId"] for record in records}:
        Bot.objects.create(account=tenant.account, bot_id=bot_id)
    ingest(tenant, [to_utc(record) for record in records])
    rows = list(Interaction.objects.filter(account=tenant.account).values_list("document", "served"))
    documents = [document for document, _ in rows]
    texts = [served for _, served in rows]
    assert None not in texts
    for offset, sections in itertools.product(OFFSETS, SECTION_CHOICES):
        expected = [document_render(document, offset=offset, sections=sections) for document in documents]
        served = orjson.loads(served_page(texts, offset=offset, sections=sections))  # type: ignore[arg-type]
        assert served == expected, (offset, sorted(sections))
        # Keys in the documented order. (Inside free-form objects such as metaInfo, the served text
        # keeps the order the record was sent in, which PostgreSQL's jsonb does not keep.)
        assert [list(record) for record in served] == [list(record) for record in expected]


@pytest.mark.parametrize(
    ("utc", "offset", "local"),
    [
        ("2026-06-15T12:00:00", -330, "2026-06-15T17:30:00"),
        ("2026-12-31T23:30:15", -60, "2027-01-01T00:30:15"),
        ("2027-01-01T00:10:00", 300, "2026-12-31T19:10:00"),
        ("2028-02-28T20:00:59", -840, "2028-02-29T10:00:59"),
        ("2028-03-01T03:00:00", 720, "2028-02-29T15:00:00"),
        ("2026-04-30T23:59:59", -1, "2026-05-01T00:00:59"),
    ],
)
def test_served_times_cross_midnight_into_another_month_year_or_leap_day(utc: str, offset: int, local: str) -> None:
    mark = MARKS[0]
    text = f'{{"startTime":"{mark}{utc}","endTime":"{mark}{utc}"}}'

    served = orjson.loads(served_page([text, text], offset=offset, sections={}))

    assert served == [{"startTime": local, "endTime": local}] * 2


def test_ingestion_stores_the_pre_rendered_text(tenant: Tenant) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id)])
    row = Interaction.objects.get(account=tenant.account)
    assert row.served is not None
    assert "\x01" in row.served
    served = orjson.loads(served_page([row.served], offset=0, sections={name: [] for name in SECTIONS}))
    assert served == [document_render(row.document, offset=0, sections={name: [] for name in SECTIONS})]


def test_one_served_record_is_the_text_served_at_offset_0_with_every_section(tenant: Tenant) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id, customerinfo={"tier": "gold"})])
    row = Interaction.objects.get(account=tenant.account)
    every = {name: [] for name in SECTIONS}

    served = served_record(row.served)

    assert served == served_page([row.served], offset=0, sections=every)[1:-1]
    assert orjson.loads(served) == document_render(row.document, offset=0, sections=every)


def test_strings_that_look_like_markers_are_served_from_the_document(tenant: Tenant, window: dict[str, Any]) -> None:
    # A user string holding a marker character could be mistaken for ours: no pre-rendering then.
    record = ConversationRecordFactory(
        botId=tenant.bot.bot_id,
        sessionleveltags=[{"name": "note", "value": "\x012025-09-30T10:00:00"}],
        userleveltags=[{"name": "x", "value": "\x02,\"skills\":1\x03"}],
    )
    ingest(tenant, [record])
    row = Interaction.objects.get(account=tenant.account)
    assert row.served is None
    body = {**window, "timeZoneOffset": -330, "selectedFields": {"sessionleveltags": [], "userleveltags": []}}
    response = details(tenant, body)
    assert response.status_code == 200
    served = response.json()["data"][0]
    assert served["sessionleveltags"] == [{"name": "note", "value": "\x012025-09-30T10:00:00"}]
    assert served["userleveltags"] == [{"name": "x", "value": "\x02,\"skills\":1\x03"}]
    assert served == document_render(row.document, offset=-330, sections=body["selectedFields"])


def test_a_page_mixes_pre_rendered_and_unrendered_records_in_order(tenant: Tenant, window: dict[str, Any]) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(4)])
    # As after an upgrade whose backfill has not reached these rows yet.
    first = Interaction.objects.filter(account=tenant.account).order_by("session_start", "session_id")[:2]
    Interaction.objects.filter(pk__in=[row.pk for row in first]).update(served=None)
    documents = list(
        Interaction.objects.filter(account=tenant.account)
        .order_by("session_start", "session_id")
        .values_list("document", flat=True)
    )
    response = details(tenant, {**window, "timeZoneOffset": 300})
    assert response.status_code == 200
    assert response.json()["data"] == [document_render(d, offset=300, sections={}) for d in documents]


def test_sections_filtered_by_name_are_rendered_from_documents(tenant: Tenant, window: dict[str, Any]) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id)])
    sections = {"customerinfo": ["CustomerPhone"], "skills": []}
    response = details(tenant, {**window, "selectedFields": sections})
    document = Interaction.objects.get(account=tenant.account).document
    assert response.json()["data"] == [document_render(document, offset=0, sections=sections)]


def test_ingestion_stores_the_current_format_version(tenant: Tenant) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id)])
    row = Interaction.objects.get(account=tenant.account)
    assert row.served_version == SERVED_DOCUMENTS.version == PRERENDER_VERSION
    every = {name: [] for name in SECTIONS}
    assert row.served is not None
    served = orjson.loads(served_page([row.served], offset=0, sections=every))
    assert served == [document_render(row.document, offset=0, sections=every)]


def test_a_text_of_another_format_version_is_never_served(tenant: Tenant, window: dict[str, Any]) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(3)])
    rows = list(Interaction.objects.filter(account=tenant.account).order_by("session_start", "session_id"))
    # A text an older renderer wrote (here: plainly wrong), as after an upgrade that bumped the version.
    Interaction.objects.filter(pk=rows[1].pk).update(served='{"stale":true}', served_version=0)
    response = details(tenant, {**window, "timeZoneOffset": -330})
    assert response.status_code == 200
    assert response.json()["data"] == [document_render(row.document, offset=-330, sections={}) for row in rows]


def test_after_a_version_bump_every_row_is_rendered_from_its_document(
    tenant: Tenant, window: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id) for _ in range(3)])
    Interaction.objects.filter(account=tenant.account).update(served='{"stale":true}')
    monkeypatch.setattr(SERVED_DOCUMENTS, "version", PRERENDER_VERSION + 1)
    documents = list(
        Interaction.objects.filter(account=tenant.account)
        .order_by("session_start", "session_id")
        .values_list("document", flat=True)
    )
    response = details(tenant, {**window, "selectedFields": {"skills": []}})
    assert response.status_code == 200
    assert response.json()["data"] == [document_render(d, offset=0, sections={"skills": []}) for d in documents]


@pytest.mark.parametrize(
    "strings",
    [
        # A value that is exactly a placeholder, a key holding a marker, a marker inside a section.
        {"metaInfo": {"note": "\x00section\x00"}},
        {"metaInfo": {"\x01": "2025-09-30T10:00:00"}},
        {"customerinfo": {"CustomerPhone": "\x03"}},
        {"skills": [{"id": "s-1", "name": ",\x02"}]},
    ],
)
def test_a_document_holding_reserved_characters_is_not_pre_rendered(strings: dict[str, Any]) -> None:
    document = {**ConversationRecordFactory(botId="st-1"), **strings}
    assert document_prerender(document) is None
    # The same document without them is.
    assert document_prerender(ConversationRecordFactory(botId="st-1")) is not None


def test_a_document_the_fast_encoder_cannot_write_is_still_pre_rendered(tenant: Tenant) -> None:
    # Ingestion now refuses integers beyond 64 bits (number_out_of_range), but rows stored before
    # that rule may hold one: pre-rendering such a document must not raise (it failed the batch).
    ingest(tenant, [ConversationRecordFactory(botId=tenant.bot.bot_id)])
    document = Interaction.objects.get(account=tenant.account).document
    text = document_prerender({**document, "metaInfo": {"n": 2**70}})
    assert text is not None and f'"metaInfo": {{"n": {2**70}}}' in text
