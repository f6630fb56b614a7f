"""Tenant isolation of every supervisor endpoint: another account's ids are 404 (or blank), its rows untouched."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.forms.models import model_to_dict

from content.models import Conversation, EventLog, Transcript
from conversations.models import Interaction
from recordings.models import AuditEntry, Recording, RecordingFile
from supervision.models import DispositionChange, PrivacySettings, SavedFilter
from tests.conftest import Tenant
from tests.supervision.conftest import EMAIL, PHONE, a_conversation, a_recording

pytestmark = pytest.mark.django_db


def snapshot(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    account = tenant.account
    querysets = {
        "interactions": Interaction.objects.filter(account=account),
        "conversations": Conversation.objects.filter(account=account),
        "transcripts": Transcript.objects.filter(account=account),
        "events": EventLog.objects.filter(account=account),
        "recordings": Recording.objects.filter(account=account),
        "files": RecordingFile.objects.filter(recording__account=account),
        "filters": SavedFilter.objects.filter(account=account),
        "changes": DispositionChange.objects.filter(account=account),
        "privacy": PrivacySettings.objects.filter(account=account),
        "audit": AuditEntry.objects.filter(account=account),
    }
    return {
        name: [{**model_to_dict(row), "pk": row.pk} for row in queryset.order_by("pk")]
        for name, queryset in querysets.items()
    }


def body_of(response: Any) -> bytes:
    if response.streaming:
        data = b"".join(response.streaming_content)
        if response["Content-Type"] == "application/zip":
            archive = zipfile.ZipFile(io.BytesIO(data))
            return b"".join(archive.read(name) for name in archive.namelist())
        return data
    return response.content


def test_every_supervisor_request_naming_another_accounts_ids_finds_nothing_and_changes_nothing(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    a_conversation(outsider, "theirs")
    a_recording(outsider, "conv-theirs", "agent", "customer")
    theirs = outsider.post("/api/v1/filters", {"name": "Theirs", "criteria": {"flagged": True}}).json()
    before = snapshot(outsider)
    base = "/api/v1/conversations/theirs"

    answers = {
        "dispositions": tenant.put(base + "/dispositions", {"dispositions": ["Hijacked"]}),
        "log": tenant.get(base + "/dispositions/log"),
        "flag": tenant.post(base + "/flags", {"reason": "x"}),
        "unflag": tenant.delete(base + "/flags/ai-1"),
        "delete": tenant.delete(base),
        "filter": tenant.get(f"/api/v1/filters/{theirs['id']}"),
        "filter edit": tenant.put(f"/api/v1/filters/{theirs['id']}", {"name": "Mine", "criteria": {}}),
        "filter delete": tenant.delete(f"/api/v1/filters/{theirs['id']}"),
        "filter copy": tenant.post(f"/api/v1/filters/{theirs['id']}/duplicate", {"name": "Mine"}),
        "filter default": tenant.post(f"/api/v1/filters/{theirs['id']}/default"),
        "recording zip": tenant.get("/api/v1/recordings/conv-theirs/download?channels=agent,customer"),
        "recording": tenant.get("/api/v1/recordings/conv-theirs/download"),
    }
    shown = {
        "erasure": tenant.post("/api/v1/privacy/erasures", {"customer": {"email": EMAIL}}),
        "transcripts": tenant.post("/api/v1/conversations/export-transcripts", {"sessionIds": ["theirs"]}),
        "export": tenant.post("/api/v1/conversations/export", {"sessionIds": ["theirs"]}),
        "privacy": tenant.put("/api/v1/settings/privacy", {"obscureCustomerInfo": True}),
        "filters": tenant.get("/api/v1/filters"),
    }

    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 404)
    assert {name: response.status_code for name, response in shown.items()} == dict.fromkeys(shown, 200)
    assert shown["erasure"].json()["sessionIds"] == []
    for name, response in {**answers, **shown}.items():
        body = body_of(response)
        for leaked in (b"theirs\"", b"Theirs", PHONE.encode(), EMAIL.encode(), b"Hi, call me back"):
            assert leaked not in body, (name, leaked)
    assert snapshot(outsider) == before
    # The outsider's own reads stay unmasked: the setting is the caller's account's.
    assert PHONE.encode() in outsider.post("/api/v1/conversations/export", {"sessionIds": ["theirs"]}).getvalue()
