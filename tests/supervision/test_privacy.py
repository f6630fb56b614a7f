"""Obscuring customer info: the audited setting, and no customer e-mail or phone on any read surface."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.jobs import export_run
from exports.models import ExportJob
from recordings.models import AuditEntry
from search.services import search_index_refresh
from supervision.masking import Masker
from supervision.models import PrivacySettings
from tests.conftest import Tenant
from tests.supervision.conftest import (
    AGENT_EMAIL,
    CALLS,
    DETAILS,
    EMAIL,
    PHONE,
    USER_ID,
    WINDOW,
    a_conversation,
    call_diagnostics,
    errors_of,
)

pytestmark = pytest.mark.django_db

PRIVACY = "/api/v1/settings/privacy"
QUERY = {"startDate": "2025-09-30 00:00:00", "endDate": "2025-09-30 23:59:59", "limit": 100}


def test_switching_obscuring_on_and_off_is_audited_once_per_change(tenant: Tenant, clock: Any) -> None:
    assert tenant.get(PRIVACY).json() == {"obscureCustomerInfo": False, "updatedAt": None}

    on = tenant.put(PRIVACY, {"obscureCustomerInfo": True}, **{"X-Acting-User": "admin.ann"})
    again = tenant.put(PRIVACY, {"obscureCustomerInfo": True})
    off = tenant.put(PRIVACY, {"obscureCustomerInfo": False})

    assert on.status_code == again.status_code == off.status_code == 200
    assert on.json() == {"obscureCustomerInfo": True, "updatedAt": "2026-03-02T10:15:00.000Z"}
    assert off.json()["obscureCustomerInfo"] is False
    entries = AuditEntry.objects.filter(action="privacy_changed").order_by("pk")
    assert [(entry.actor, entry.details) for entry in entries] == [
        (f"client:{tenant.api_client.client_id} user:admin.ann",
         {"before": {"obscureCustomerInfo": False}, "after": {"obscureCustomerInfo": True}}),
        (f"client:{tenant.api_client.client_id}",
         {"before": {"obscureCustomerInfo": True}, "after": {"obscureCustomerInfo": False}}),
    ]
    # The audit log endpoint shows them beside the retention entries.
    assert [row["action"] for row in tenant.get("/api/v1/settings/audit-log").json()["data"]] == [
        "privacy_changed", "privacy_changed",
    ]


def test_the_setting_needs_a_boolean_and_the_admin_scope(tenant: Tenant) -> None:
    assert errors_of(tenant.put(PRIVACY, {"obscureCustomerInfo": "yes"})) == [
        {"msg": "obscureCustomerInfo must be true or false.", "code": "invalid", "field": "obscureCustomerInfo"}
    ]
    tenant.api_client.scopes = ["conversations.supervise"]
    tenant.api_client.save()
    assert errors_of(tenant.put(PRIVACY, {"obscureCustomerInfo": True}), 403) == [
        {"msg": "This API client lacks the scope 'account.admin'.", "code": "permission_denied"}
    ]
    assert not PrivacySettings.objects.exists()


def read_surfaces(tenant: Tenant) -> dict[str, bytes]:
    """Everything the service answers about the conversations s-1 and s-2, by surface."""
    everything = {"selectedFields": {"customerinfo": [], "userleveltags": [], "sessionleveltags": []}}
    answers = {
        "interactionDetails": tenant.post(DETAILS.format(tenant.account_id), {**WINDOW, **everything}),
        "interactionDetails (no sections)": tenant.post(DETAILS.format(tenant.account_id), WINDOW),
        "interactionDetails (named keys)": tenant.post(
            DETAILS.format(tenant.account_id), {**WINDOW, "selectedFields": {"customerinfo": ["CustomerEmail"]}}
        ),
        "calldetails": tenant.post(CALLS.format(tenant.account_id), {**WINDOW, **everything}),
        "conversation export": tenant.post("/api/v1/conversations/export", {"sessionIds": ["s-1", "s-2"]}),
        "disposition log": tenant.get("/api/v1/conversations/s-1/dispositions/log"),
        "conversation query": tenant.post("/api/v1/conversations/query", QUERY),
        "conversation search": tenant.post("/api/v1/conversations/query", {**QUERY, "q": "call me back"}),
        "conversation": tenant.get("/api/v1/conversations/s-1"),
        "transcript": tenant.get("/api/v1/conversations/s-1/transcript"),
        "transcript (csv)": tenant.get("/api/v1/conversations/s-1/transcript?format=csv"),
        "latency": tenant.get("/api/v1/conversations/s-1/latency"),
        "diagnostics": tenant.get("/api/v1/conversations/s-1/diagnostics"),
        "diagnostics (text)": tenant.get("/api/v1/conversations/s-1/diagnostics?format=text"),
        "diagnostics (pcap)": tenant.get("/api/v1/conversations/s-1/diagnostics?format=pcap"),
    }
    out = {}
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.content)
        out[name] = b"".join(response.streaming_content) if response.streaming else response.content
    zipped = tenant.post("/api/v1/conversations/export-transcripts", {"sessionIds": ["s-1", "s-2"]})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content)))
    for name in archive.namelist():
        out[f"transcript zip: {name}"] = archive.read(name)
    return out


def test_with_the_setting_on_no_read_surface_carries_a_customer_email_or_phone(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant, "s-1")
    a_conversation(tenant, "s-2", customerinfo={"CustomerPhone": "+1 (555) 555-0199"})
    call_diagnostics(tenant, "s-1")
    tenant.put("/api/v1/conversations/s-1/dispositions", {"dispositions": ["Resolved"], "remarks": "ok"})
    shown = read_surfaces(tenant)
    # The data does hold the contacts: they are served while the setting is off.
    assert all(PHONE.encode() in shown[name] for name in (
        "interactionDetails", "calldetails", "conversation export", "diagnostics", "diagnostics (pcap)",
        "conversation query", "conversation", "transcript", "transcript (csv)", "conversation search",
    ))
    assert b"+1 (555) 555-0199" in shown["interactionDetails"]

    tenant.put(PRIVACY, {"obscureCustomerInfo": True})
    masked = read_surfaces(tenant)

    assert set(masked) == set(shown)
    for name, body in masked.items():
        for contact in (PHONE, EMAIL, "+1 (555) 555-0199", "555-0199", "5555550123"):
            assert contact.encode() not in body, (name, contact)
    for name in ("interactionDetails", "calldetails", "conversation export", "transcript zip: transcript-s-1.csv",
                 "diagnostics", "diagnostics (pcap)", "conversation query", "conversation", "transcript",
                 "transcript (csv)"):
        assert USER_ID.encode() in masked[name], name
    # Agents' addresses and the center's number are not the customer's.
    assert AGENT_EMAIL.encode() in masked["transcript zip: transcript-s-1.csv"]
    assert AGENT_EMAIL.encode() in masked["transcript"]
    assert b"+18005550100" in masked["interactionDetails"]


def test_interaction_details_mask_the_customers_fields_with_the_user_id(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant, "s-1")
    tenant.put(PRIVACY, {"obscureCustomerInfo": True})

    response = tenant.post(DETAILS.format(tenant.account_id), {**WINDOW, "selectedFields": {"customerinfo": []}})

    [record] = response.json()["data"]
    assert record["customerinfo"] == {
        "CustomerPhone": USER_ID, "CenterPhone": "+18005550100", "CustomerFirstName": "Jane",
        "CustomerLastName": "Doe", "CustomerEmail": USER_ID,
    }
    assert record["channelSpecificUserId"] == USER_ID
    assert record["metaInfo"]["caller"] == USER_ID and record["metaInfo"]["email"] == USER_ID
    assert record["metaInfo"]["callee"] == "+18005550100"


def test_the_masker_replaces_known_contacts_everywhere_and_shapes_only_in_the_customers_own_words() -> None:
    masker = Masker.of(
        document={"userId": "u-1", "customerinfo": {"CustomerEmail": "a@b.example", "CenterPhone": "+18005550100"},
                  "metaInfo": {"caller": "+15550001111", "callee": "+18005550100"}, "Direction": "Inbound"},
        messages=[{"role": "customer", "email": {"from": "Other <c@d.example>"}}],
    )

    assert set(masker.contacts) == {"a@b.example", "+15550001111", "15550001111", "c@d.example"}
    assert masker.value({"note": "a@b.example wrote from +15550001111", "n": 5}) == {"note": "u-1 wrote from u-1",
                                                                                      "n": 5}
    assert masker.message({"role": "customer", "text": "or x@y.example, +44 20 7946 0958"})["text"] == "or u-1, u-1"
    assert masker.message({"role": "agent", "text": "mail support@corp.example"})["text"] == (
        "mail support@corp.example"
    )
    assert Masker.of(document={"metaInfo": {"caller": "+15550001111", "callee": "+15550002222"},
                               "Direction": "outbound"}).contacts == ("+15550002222", "15550002222")


def test_a_masked_page_costs_no_more_queries_than_a_plain_one(tenant: Tenant, clock: Any) -> None:
    for n in range(3):
        a_conversation(tenant, f"s-{n}")
    body = {**WINDOW, "selectedFields": {"customerinfo": []}}
    tenant.post(DETAILS.format(tenant.account_id), body)  # warm-up
    with CaptureQueriesContext(connection) as plain:
        tenant.post(DETAILS.format(tenant.account_id), body)
    tenant.put(PRIVACY, {"obscureCustomerInfo": True})
    tenant.post(DETAILS.format(tenant.account_id), body)  # the client is reloaded once, with the new setting

    # The account's privacy settings travel with the (cached) client: masking reads nothing more.
    with CaptureQueriesContext(connection) as masked:
        data = tenant.post(DETAILS.format(tenant.account_id), body).json()["data"]
    assert len(masked.captured_queries) == len(plain.captured_queries)
    assert [record["customerinfo"]["CustomerEmail"] for record in data] == [USER_ID] * 3


def test_the_change_feed_and_export_jobs_serve_masked_records(tenant: Tenant, clock: Any) -> None:
    a_conversation(tenant, "s-1")
    tenant.put(PRIVACY, {"obscureCustomerInfo": True})

    feed = tenant.get("/api/v1/changes?dataset=interactions")
    created = tenant.post("/api/v1/exports", {
        "dataset": "interactions", "startDate": "2025-09-30", "endDate": "2025-09-30", "format": "ndjson",
        "compression": "none", "filters": {"timeZoneOffset": 0, "selectedFields": {"customerinfo": []}},
    })
    assert created.status_code == 202, created.content
    job = ExportJob.objects.get(public_id=created.json()["id"])
    export_run(job_id=job.pk)
    document = tenant.get(f"/api/v1/exports/{job.public_id}").json()
    exported = b"".join(
        b"".join(tenant.get(item["url"].removeprefix("http://testserver")).streaming_content)
        for item in document["manifest"]["files"]
    )

    assert feed.status_code == 200
    [item] = feed.json()["items"]
    assert item["record"]["customerinfo"]["CustomerPhone"] == USER_ID
    assert exported.count(b'"sessionId":"s-1"') == 1
    for body in (feed.content, exported):
        for contact in (PHONE, EMAIL):
            assert contact.encode() not in body
        assert USER_ID.encode() in body


def _indexed_conversation(tenant: Tenant) -> None:
    # a_conversation writes the transcript directly; the writers' own refresh is what indexes it.
    search_index_refresh(account_id=tenant.account.pk, conversation_ids=[a_conversation(tenant, "s-1").pk])


def test_masked_snippets_highlight_the_words_in_the_text_they_serve(tenant: Tenant, clock: Any) -> None:
    _indexed_conversation(tenant)
    tenant.put(PRIVACY, {"obscureCustomerInfo": True})

    response = tenant.post("/api/v1/conversations/query", {**QUERY, "q": "write"})

    assert response.status_code == 200, response.content
    [snippet] = response.json()["results"][0]["snippets"]
    assert snippet["text"] == f"Hi, call me back on {USER_ID} or write to {USER_ID}"
    assert [snippet["text"][r["start"]:r["end"]] for r in snippet["highlights"]] == ["write"]


def test_a_masked_contact_is_never_highlighted_in_a_snippet(tenant: Tenant, clock: Any) -> None:
    _indexed_conversation(tenant)
    tenant.put(PRIVACY, {"obscureCustomerInfo": True})

    response = tenant.post("/api/v1/conversations/query", {**QUERY, "q": "call example"})

    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    texts = [snippet["text"][r["start"]:r["end"]] for snippet in row["snippets"] for r in snippet["highlights"]]
    assert "call" in texts
    assert all("example" not in text.lower() for text in texts)
    assert all("example" not in snippet["text"] for snippet in row["snippets"])
