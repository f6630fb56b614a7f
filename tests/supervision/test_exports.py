"""Small exports: the transcript zip (name, entries, blank files, the 25 limit) and the conversation CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest

from content.models import Transcript
from supervision.exports import CONVERSATION_HEADER, TRANSCRIPT_HEADER
from tests.conftest import Tenant
from tests.supervision.conftest import EMAIL, PHONE, a_conversation, errors_of

pytestmark = pytest.mark.django_db

TRANSCRIPTS = "/api/v1/conversations/export-transcripts"
CONVERSATIONS = "/api/v1/conversations/export"


def unzipped(response: Any) -> dict[str, list[list[str]]]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    return {name: list(csv.reader(io.StringIO(archive.read(name).decode()))) for name in archive.namelist()}


def test_the_zip_is_named_after_the_utc_time_and_holds_one_csv_per_conversation(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    a_conversation(tenant, "s-1")
    a_conversation(tenant, "no-transcript")
    a_conversation(outsider, "theirs")
    Transcript.objects.filter(conversation__session_id="no-transcript").delete()

    response = tenant.post(
        TRANSCRIPTS, {"sessionIds": ["s-1", "no-transcript", "theirs", "unknown/../x", "unknown_.._x"]}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="transcripts-2026-03-02-10-15-00.zip"'
    files = unzipped(response)
    assert list(files) == [
        "transcript-s-1.csv", "transcript-no-transcript.csv", "transcript-theirs.csv", "transcript-unknown_.._x.csv",
        "transcript-unknown_.._x-2.csv",
    ]
    assert files["transcript-s-1.csv"][0] == TRANSCRIPT_HEADER
    rows = files["transcript-s-1.csv"][1:]
    # Customer speech on hold (m4) is never exported.
    text = TRANSCRIPT_HEADER.index("text")
    assert [row[text] for row in rows] == [
        f"Hi, call me back on {PHONE} or write to {EMAIL}", "Sure, I will.", "On hold", "Off hold",
        "Here is your refund.", "Thanks!",
    ]
    assert rows[4][text + 1:] == ["Your refund", "agent.john@example.com", f'["{EMAIL}"]', "[]", "[]"]
    for blank in ("transcript-no-transcript.csv", "transcript-theirs.csv", "transcript-unknown_.._x.csv",
                  "transcript-unknown_.._x-2.csv"):
        assert files[blank] == [TRANSCRIPT_HEADER]


def test_more_than_25_conversations_is_400_and_none_is_too(tenant: Tenant) -> None:
    ids = [f"s-{n}" for n in range(26)]

    assert errors_of(tenant.post(TRANSCRIPTS, {"sessionIds": ids})) == [
        {"msg": "sessionIds holds at most 25 conversations per export.", "code": "too_many", "field": "sessionIds"}
    ]
    assert errors_of(tenant.post(TRANSCRIPTS, {"sessionIds": []})) == [
        {"msg": "sessionIds must name at least one conversation.", "code": "invalid", "field": "sessionIds"}
    ]
    assert tenant.post(TRANSCRIPTS, {"sessionIds": ids[:25]}).status_code == 200


def test_the_conversation_csv_lists_the_callers_selected_conversations_in_start_order(
    tenant: Tenant, outsider: Tenant, clock: Any
) -> None:
    a_conversation(tenant, "s-22")
    a_conversation(tenant, "s-1", sentiment="negative")
    a_conversation(outsider, "theirs")

    response = tenant.post(CONVERSATIONS, {"sessionIds": ["s-22", "theirs", "s-1", "nope"]})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="conversations-2026-03-02-10-15-00.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == CONVERSATION_HEADER
    assert [row[0] for row in rows[1:]] == ["s-1", "s-22"]
    first = dict(zip(CONVERSATION_HEADER, rows[1], strict=True))
    assert first == {
        **first,
        "startTime": "2025-09-30T06:03:00.000Z", "endTime": "2025-09-30T06:08:00.000Z", "durationSeconds": "300",
        "channel": "voice", "status": "Completed", "customerName": "Jane Doe",
        # A cell a spreadsheet would read as a formula is written with a leading apostrophe.
        "customerPhone": "'" + PHONE,
        "customerEmail": EMAIL, "userId": "u-jane", "agents": "u-agent, u-agent-live", "flagged": "true",
        "dispositions": "Follow-up Needed",
    }


def test_the_conversation_csv_streams_every_row_in_chunks(tenant: Tenant, clock: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("supervision.exports.EXPORT_CHUNK", 2)
    for n in range(5):
        a_conversation(tenant, f"s-{n}", interaction=n % 2 == 0)

    response = tenant.post(CONVERSATIONS, {"sessionIds": [f"s-{n}" for n in range(5)]})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == ["s-0", "s-1", "s-2", "s-3", "s-4"]


def test_a_session_id_no_database_can_hold_is_refused_before_any_query(tenant: Tenant) -> None:
    for path in (CONVERSATIONS, "/api/v1/conversations/export-transcripts"):
        response = tenant.post(path, {"sessionIds": ["s-1\x00"]})

        assert response.status_code == 400
        assert response.json()["errors"] == [{
            "msg": "sessionIds[] contains a character that cannot be stored: NUL (\\u0000) or an unpaired "
            "surrogate (\\ud800-\\udfff).",
            "code": "invalid", "field": "sessionIds[0]",
        }]
