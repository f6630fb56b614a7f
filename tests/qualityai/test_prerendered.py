"""Pre-rendered results are served exactly as rendering the stored contact would serve them."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from conversations.demo import interactions_seed
from qualityai.demo import contacts_seed
from qualityai.models import QaContact
from qualityai.rendering import PRERENDER_VERSION, SERVED_RESULTS, contact_prerender, contact_result, served_result
from tests.conftest import Tenant
from tests.qualityai.conftest import ingest, ok, rawdata
from tests.qualityai.factories import ContactDocumentFactory

pytestmark = pytest.mark.django_db

LINKS = (
    None,
    {"agent": ["/api/v1/recordings/c-1/download?channel=agent"], "customer": []},
    {"agent": ["/a1", "/a2"], "customer": ["/c1"]},
)


def test_served_text_matches_rendering_for_every_threshold_and_links(tenant: Tenant) -> None:
    conversations = interactions_seed(account=tenant.account, days=2, per_day=30, seed=5)
    contacts_seed(account=tenant.account, conversations=conversations, seed=5)
    contacts = list(QaContact.objects.filter(account=tenant.account))
    assert contacts
    for contact, min_duration_ms, links in itertools.product(contacts, (0, 10_000, 10**9), LINKS):
        assert contact.served is not None
        assert contact_prerender(contact) is not None
        expected = contact_result(contact, min_duration_ms=min_duration_ms, recordings=links)
        served = orjson.loads(served_result(
            contact.served, duration_ms=contact.duration_ms, min_duration_ms=min_duration_ms, recordings=links
        ))
        # Same values, keys in the documented order (nested objects keep the order sent, which
        # PostgreSQL's jsonb does not keep, so only the result's own keys are compared in order).
        assert served == expected
        assert list(served) == list(expected)


def test_strings_that_look_like_markers_are_served_from_the_document(tenant: Tenant, day: dict[str, Any]) -> None:
    marked = {"Note": "\x01\x02\x03", "custom_fields": {"Region": "\x02"}}
    ingest(tenant, [ContactDocumentFactory(**marked)])
    contact = QaContact.objects.get(account=tenant.account)
    assert contact.served is None
    result = ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"][0]
    assert result["Note"] == "\x01\x02\x03"
    assert result == contact_result(contact, min_duration_ms=10_000)


def test_a_page_mixes_pre_rendered_and_unrendered_results_in_order(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [ContactDocumentFactory() for _ in range(4)])
    ordered = list(QaContact.objects.filter(account=tenant.account).order_by("started_at", "conversation_id"))
    # As after an upgrade whose backfill has not reached these rows yet.
    QaContact.objects.filter(pk__in=[ordered[0].pk, ordered[2].pk]).update(served=None)
    results = ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"]
    assert results == [contact_result(contact, min_duration_ms=10_000) for contact in ordered]


def test_ingestion_stores_the_current_format_version(tenant: Tenant) -> None:
    ingest(tenant, [ContactDocumentFactory()])
    contact = QaContact.objects.get(account=tenant.account)
    assert contact.served_version == SERVED_RESULTS.version == PRERENDER_VERSION
    assert contact.served is not None
    served = served_result(contact.served, duration_ms=contact.duration_ms, min_duration_ms=0, recordings=None)
    assert orjson.loads(served) == contact_result(contact, min_duration_ms=0)


def test_a_text_of_another_format_version_is_never_served(tenant: Tenant, day: dict[str, Any]) -> None:
    ingest(tenant, [ContactDocumentFactory() for _ in range(3)])
    ordered = list(QaContact.objects.filter(account=tenant.account).order_by("started_at", "conversation_id"))
    # A text an older renderer wrote (here: plainly wrong), as after an upgrade that bumped the version.
    QaContact.objects.filter(pk=ordered[1].pk).update(served='{"stale":true}', served_version=0)
    results = ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"]
    assert results == [contact_result(contact, min_duration_ms=10_000) for contact in ordered]


def test_after_a_version_bump_every_result_is_rendered_from_its_row(
    tenant: Tenant, day: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tenant, [ContactDocumentFactory() for _ in range(3)])
    QaContact.objects.filter(account=tenant.account).update(served='{"stale":true}')
    # The page's statement is compiled before the bump: the version it compares is a bound value.
    assert ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"] == [{"stale": True}] * 3
    monkeypatch.setattr(SERVED_RESULTS, "version", PRERENDER_VERSION + 1)
    ordered = list(QaContact.objects.filter(account=tenant.account).order_by("started_at", "conversation_id"))
    results = ok(rawdata(tenant, {**day, "include_below_threshold": True}))["results"]
    assert results == [contact_result(contact, min_duration_ms=10_000) for contact in ordered]


def test_marker_characters_in_keys_never_served_do_not_prevent_pre_rendering(tenant: Tenant) -> None:
    # Derived keys are recomputed on every read: what the document says of them is never shown.
    ingest(tenant, [ContactDocumentFactory(duration_status="\x01", agentRecordings=["\x02"])])
    contact = QaContact.objects.get(account=tenant.account)
    assert contact.served is not None
    served = served_result(contact.served, duration_ms=contact.duration_ms, min_duration_ms=0, recordings=LINKS[2])
    assert orjson.loads(served) == contact_result(contact, min_duration_ms=0, recordings=LINKS[2])


def test_a_result_the_fast_encoder_cannot_write_is_not_pre_rendered_with_placeholders(tenant: Tenant) -> None:
    # Ingestion now refuses integers beyond 64 bits (number_out_of_range), but rows stored before
    # that rule may hold one. Such JSON text fell back to the standard module, whose separators
    # differ: the placeholders were left in the text and served as recording links.
    ingest(tenant, [ContactDocumentFactory()])
    contact = QaContact.objects.get(account=tenant.account)
    assert contact_prerender(contact) is not None
    contact.document = {**contact.document, "Note": 2**70}
    assert contact_prerender(contact) is None
