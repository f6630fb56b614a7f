"""GET /api/v1/conversations/{sessionId}/transcript: stages and labels, hold suppression, agent AI, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from content.transcripts import CSV_HEADER, hold_suppressed
from tests.conftest import Tenant
from tests.content.factories import BASE, ConversationFactory, TranscriptFactory, utc_ms

pytestmark = pytest.mark.django_db


def _message(number: int, role: str, kind: str = "message", text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{number}", "time": utc_ms(BASE + timedelta(seconds=number)), "role": role, "kind": kind,
            "text": text, **extra}


MESSAGES = [
    _message(1, "customer", text="I need to pay my bill"),
    _message(2, "bot", text="Let me get an agent"),
    _message(3, "system", "transfer_to_agent"),
    _message(4, "agent", text="Hello, John here", agentId="u-1", agentName="John Doe"),
    _message(5, "agent", "hold_start"),
    _message(6, "customer", text="my card number is 4111 1111"),
    _message(7, "supervisor", "whisper", text="Offer autopay", agentId="u-1"),
    _message(8, "customer", text="=HYPERLINK(\"http://evil\")"),
    _message(9, "agent", "hold_end"),
    _message(10, "agent", "agent_ai", text="Suggested: autopay article"),
    _message(11, "customer", text="-thanks"),
    _message(12, "system", "transfer_to_automation"),
    _message(13, "system", "llm_error", text="realtime API: rate_limit_exceeded"),
    _message(14, "system", "max_no_input"),
]


@pytest.fixture
def call(tenant: Tenant) -> str:
    conversation = ConversationFactory(account=tenant.account, session_id="s-call", channel="voice")
    TranscriptFactory(conversation=conversation, messages=MESSAGES)
    return "/api/v1/conversations/s-call/transcript"


def test_stages_are_labelled_and_held_customer_speech_is_never_shown(tenant: Tenant, call: str) -> None:
    response = tenant.get(call)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["sessionId"], answer["channel"], answer["subject"]) == ("s-call", "voice", None)
    shown = [(row["id"], row["kind"], row["label"]) for row in answer["messages"]]
    assert shown == [
        ("m1", "message", None),
        ("m2", "message", None),
        ("m3", "transfer_to_agent", "User transferred to Agent"),
        ("m4", "message", None),
        ("m5", "hold_start", "Customer placed on hold"),
        ("m7", "whisper", "Whisper"),
        ("m9", "hold_end", "Customer taken off hold"),
        ("m10", "agent_ai", "Agent AI"),
        ("m11", "message", None),
        ("m12", "transfer_to_automation", "User transferred to Automation"),
        ("m13", "llm_error", "LLM Error Detected"),
        ("m14", "max_no_input", "Max no-input attempts reached"),
    ]
    assert answer["messages"][3] == {
        "id": "m4", "time": "2025-09-30T06:00:04.000Z", "role": "agent", "kind": "message", "label": None,
        "text": "Hello, John here", "agentId": "u-1", "agentName": "John Doe",
    }
    assert answer["messages"][10]["text"] == "realtime API: rate_limit_exceeded"
    assert "4111" not in response.content.decode()


def test_agent_ai_logs_can_be_left_out(tenant: Tenant, call: str) -> None:
    kinds = [row["kind"] for row in tenant.get(call + "?excludeAgentAi=true").json()["messages"]]
    assert "agent_ai" not in kinds and len(kinds) == 11
    assert len(tenant.get(call + "?excludeAgentAi=false").json()["messages"]) == 12


def test_csv_has_the_documented_columns_no_held_speech_and_no_formulas(tenant: Tenant, call: str) -> None:
    response = tenant.get(call + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="transcript-s-call.csv"'
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert [row[0] for row in rows[1:]] == ["m1", "m2", "m3", "m4", "m5", "m7", "m9", "m10", "m11", "m12", "m13", "m14"]
    assert "4111" not in text and "HYPERLINK" not in text
    assert rows[9][CSV_HEADER.index("text")] == "'-thanks"
    assert rows[3][:8] == ["m3", "2025-09-30T06:00:03.000Z", "system", "transfer_to_agent",
                           "User transferred to Agent", "", "", ""]


def test_an_email_thread_has_its_subject_and_headers(tenant: Tenant) -> None:
    conversation = ConversationFactory(account=tenant.account, session_id="s-mail", channel="email")
    email = {"subject": "Refund for order 1234", "from": "jane@example.com", "to": ["support@example.com"],
             "cc": ["boss@example.com"], "bcc": []}
    TranscriptFactory(conversation=conversation, messages=[
        _message(1, "customer", text="Where is my refund?", email=email),
        _message(2, "agent", text="On its way.", email={**email, "subject": "RE: Refund for order 1234"}),
    ])
    answer = tenant.get("/api/v1/conversations/s-mail/transcript").json()
    assert answer["subject"] == "Refund for order 1234"
    assert answer["messages"][0]["email"] == email
    rows = list(csv.reader(io.StringIO(b"".join(
        tenant.get("/api/v1/conversations/s-mail/transcript?format=csv").streaming_content).decode())))
    assert rows[1][8:] == ["Refund for order 1234", "jane@example.com", '["support@example.com"]',
                           '["boss@example.com"]', "[]"]


def test_a_conversation_without_transcript_has_no_messages(tenant: Tenant) -> None:
    ConversationFactory(account=tenant.account, session_id="s-empty")
    assert tenant.get("/api/v1/conversations/s-empty/transcript").json()["messages"] == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?format=xml", {"msg": "format must be json or csv.", "code": "invalid_choice", "field": "format"}),
        ("?excludeAgentAi=maybe",
         {"msg": "excludeAgentAi must be true or false.", "code": "invalid", "field": "excludeAgentAi"}),
    ],
)
def test_bad_parameters_are_named(tenant: Tenant, call: str, query: str, error: dict[str, str]) -> None:
    response = tenant.get(call + query)
    assert response.status_code == 400
    assert response.json() == {"errors": [error]}


def test_a_hold_without_end_hides_the_rest_of_the_customer_speech() -> None:
    messages = [_message(1, "agent", "hold_start"), _message(2, "customer", text="a"), _message(3, "bot", text="b"),
                _message(4, "customer", text="c")]
    assert [message["id"] for message in hold_suppressed(messages)] == ["m1", "m3"]


def test_a_csv_client_is_never_refused_for_its_accept_header(tenant: Tenant, call: str) -> None:
    response = tenant.get(call + "?format=csv", Accept="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    missing = tenant.get("/api/v1/conversations/s-nobody/transcript?format=csv", Accept="text/csv")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
