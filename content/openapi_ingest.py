"""OpenAPI documentation of ``POST /api/v1/ingest/conversations``: the record's shape, rules and examples.

The view validates with :mod:`content.checks`; these serializers only describe the record in the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.kernel.openapi import IngestResultSerializer, Tag, error_response
from analytics_api.models import Scope
from content import checks
from content.models import Sentiment, Status

_TIME = "UTC ISO-8601 with a zone (Z or ±HH:MM); stored and served in UTC with milliseconds and Z"


def _text(max_length: int, help_text: str = "", **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, help_text=help_text, **kwargs)


def _time(help_text: str = _TIME, **kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(required=False, help_text=help_text, **kwargs)


def _list(child: Any, cap: int, help_text: str = "") -> serializers.ListField:
    return serializers.ListField(child=child, max_length=cap, required=False, help_text=help_text)


@extend_schema_serializer(component_name="ContentEmail")
class EmailSerializer(serializers.Serializer):
    subject = _text(checks.MAX_SUBJECT)
    # "from" is a Python keyword: declared below.
    to = _list(serializers.CharField(max_length=checks.MAX_ADDRESS), checks.MAX_RECIPIENTS)
    cc = _list(serializers.CharField(max_length=checks.MAX_ADDRESS), checks.MAX_RECIPIENTS)
    bcc = _list(serializers.CharField(max_length=checks.MAX_ADDRESS), checks.MAX_RECIPIENTS)


EmailSerializer._declared_fields["from"] = _text(checks.MAX_ADDRESS, "The sender's address")


@extend_schema_serializer(component_name="ContentMessage")
class MessageSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=checks.MAX_ID, help_text="Unique in the conversation: append merges by it")
    time = serializers.DateTimeField(help_text=_TIME)
    role = serializers.ChoiceField(choices=checks.ROLES)
    kind = serializers.ChoiceField(choices=checks.KINDS, required=False, help_text="Default: message")
    text = _text(checks.MAX_MESSAGE_TEXT, "The message; for llm_error the real-time API's error text")
    agentId = _text(checks.MAX_ID)
    agentName = _text(checks.MAX_NAME)
    email = EmailSerializer(required=False, help_text="E-mail messages: subject and headers")


@extend_schema_serializer(component_name="ContentEvent")
class EventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=checks.MAX_ID, help_text="Events are appended by id")
    type = serializers.ChoiceField(choices=checks.EVENT_TYPES)
    time = serializers.DateTimeField(help_text=_TIME)
    agentId = _text(checks.MAX_ID)
    queueId = _text(checks.MAX_ID)
    details = serializers.JSONField(required=False, help_text=f"An object, or text of at most {checks.MAX_LONG_TEXT:,}")


@extend_schema_serializer(component_name="ContentVoiceTurn")
class VoiceTurnSerializer(serializers.Serializer):
    turn = serializers.IntegerField(min_value=1, help_text="The turn's number (1 first), unique in the conversation")
    userStoppedSpeaking = _time()
    asrTranscriptReturned = _time()
    transcriptSentToBot = _time()
    botResponseReceived = _time()
    ttsRequested = _time()
    firstAudioByteReceived = _time()
    firstAudioHeard = _time()


class _Csat(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False,
                                     help_text="null: the survey was triggered, not answered")
    feedback = _text(checks.MAX_LONG_TEXT)


class _Nps(serializers.Serializer):
    score = serializers.IntegerField(min_value=0, max_value=10, allow_null=True, required=False,
                                     help_text="null: asked, not answered")


class _Sentiment(serializers.Serializer):
    overall = serializers.ChoiceField(choices=Sentiment.values)
    emotions = _list(serializers.CharField(max_length=64), checks.MAX_EMOTIONS)


class _Flag(serializers.Serializer):
    id = serializers.CharField(max_length=checks.MAX_ID)
    reason = _text(checks.MAX_LONG_TEXT)
    source = serializers.ChoiceField(choices=checks.FLAG_SOURCES)
    time = _time()


class _Note(serializers.Serializer):
    id = serializers.CharField(max_length=checks.MAX_ID)
    time = _time()
    author = _text(checks.MAX_NAME)
    text = serializers.CharField(max_length=checks.MAX_NOTE_TEXT)


class _Snooze(serializers.Serializer):
    count = serializers.IntegerField(min_value=0, required=False)
    durationSeconds = serializers.IntegerField(min_value=0, required=False)


class _Campaign(serializers.Serializer):
    name = _text(checks.MAX_NAME)
    instanceId = _text(checks.MAX_NAME)


class _Identifiers(serializers.Serializer):
    callId = _text(checks.MAX_NAME)
    callConversationId = _text(checks.MAX_NAME)
    agentConversationId = _text(checks.MAX_NAME)
    externalCallId = _text(checks.MAX_NAME)
    caller = _text(checks.MAX_NAME)
    callee = _text(checks.MAX_NAME)


@extend_schema_serializer(component_name="ConversationContentRecord")
class ContentRecordSerializer(serializers.Serializer):
    sessionId = serializers.CharField(max_length=checks.MAX_ID, help_text="The conversation, with the account")
    transcriptMode = serializers.ChoiceField(
        choices=checks.TRANSCRIPT_MODES, required=False,
        help_text="replace (default: the batch's) or append: messages (and voice turns) merged by id",
    )
    status = serializers.ChoiceField(choices=Status.values, required=False)
    smartStatus = _text(checks.MAX_NAME, "Free text, the fine-grained status (with status)")
    errorMessage = _text(checks.MAX_LONG_TEXT, 'With status "error"')
    language = _text(checks.MAX_LANGUAGE)
    csat = _Csat(required=False)
    nps = _Nps(required=False)
    like = serializers.BooleanField(allow_null=True, required=False, help_text="null: asked, not answered")
    sentiment = _Sentiment(required=False)
    flags = _Flag(many=True, required=False, max_length=checks.MAX_FLAGS)
    notes = _Note(many=True, required=False, max_length=checks.MAX_NOTES)
    snooze = _Snooze(required=False)
    campaign = _Campaign(required=False)
    mode = _text(checks.MAX_NAME)
    joinedUsers = _list(serializers.JSONField(), checks.MAX_JOINED_USERS, "Strings, or objects {id, name}")
    identifiers = _Identifiers(required=False)
    transcript = MessageSerializer(many=True, required=False, max_length=checks.MAX_MESSAGES)
    events = EventSerializer(many=True, required=False, max_length=checks.MAX_EVENTS)
    voiceTurns = VoiceTurnSerializer(many=True, required=False, max_length=checks.MAX_TURNS)


@extend_schema_serializer(component_name="ConversationContentBatch")
class ContentBatchDocSerializer(serializers.Serializer):
    records = ContentRecordSerializer(many=True, min_length=1, max_length=MAX_BATCH)
    transcriptMode = serializers.ChoiceField(
        choices=checks.TRANSCRIPT_MODES, required=False, help_text="Default of the records without their own"
    )


INGEST_DESCRIPTION = f"""
Store the content of conversations: status, scores, sentiment, flags, notes, identifiers, the
transcript, the events and the voice turns (docs/contract.md#content-ingestion). The token needs
the `ingest` scope; the conversations are those of the client's account.

The body is `{{"records": [...]}}` with 1 to {MAX_BATCH:,} records, and optionally the batch's
`transcriptMode`. A conversation is keyed by `sessionId` within the account: sending a record again
updates it, never duplicates it. Each record is validated on its own; the valid ones are stored in
one transaction, the invalid ones are reported by index with every reason, each naming its field
(`records[…]` is not repeated: `transcript[3].time`).

A section present replaces the stored one; a section absent is left as it is. `transcriptMode:
"append"` (on the record, or the batch's default) merges the messages by `id` instead of replacing
the transcript (the same message twice is stored once; the transcript is kept in time order, then
id), and the voice turns by `turn`. Events are always merged by `id`. `null` means absent, except
for `like` and the `score` of `csat` and `nps`, where it means "asked, not answered".

A conversation known only from its content is listed at once, `in_progress` unless its status says
otherwise, starting at its first message or event; its interaction record (`POST
/api/v1/ingest/interactions`) may come before or after and then gives the start, channel, end and
agents. Caps per record: {checks.MAX_MESSAGES:,} messages of at most {checks.MAX_MESSAGE_TEXT:,} characters,
{checks.MAX_EVENTS:,} events, {checks.MAX_TURNS:,} voice turns, {checks.MAX_FLAGS} flags, {checks.MAX_NOTES} notes;
a conversation holds at most {checks.MAX_STORED_MESSAGES:,} messages and {checks.MAX_STORED_EVENTS:,} events once
appended (a record that would pass them is rejected alone). Unknown fields are refused by name.
""".strip()

_T0 = "2026-05-02T13:01:34"
EXAMPLE_RECORD: dict[str, Any] = {
    "sessionId": "68a1f0c2e4b0a1b2c3d4e5f6",
    "status": "completed",
    "smartStatus": "Resolved by agent",
    "language": "en",
    "csat": {"score": 4, "feedback": "Quick and friendly"},
    "nps": {"score": None},
    "like": True,
    "sentiment": {"overall": "positive", "emotions": ["gratitude"]},
    "flags": [{"id": "f-1", "reason": "Agent promised a refund", "source": "ai_review",
               "time": "2026-05-02T13:09:00.000Z"}],
    "notes": [{"id": "n-1", "time": "2026-05-02T13:08:10.000Z", "author": "Jane Doe",
               "text": "Refund approved, ticket 4512."}],
    "snooze": {"count": 1, "durationSeconds": 300},
    "campaign": {"name": "Spring renewals", "instanceId": "ci-77"},
    "mode": "chat",
    "joinedUsers": [{"id": "u-9", "name": "Supervisor Sam"}],
    "identifiers": {"callId": "call-5521", "externalCallId": "ext-7781", "caller": "+14155550123",
                    "callee": "+18005550100"},
    "transcript": [
        {"id": "m1", "time": f"{_T0}.000Z", "role": "customer", "text": "Hi, my refund was not received"},
        {"id": "m2", "time": f"{_T0}.900Z", "role": "bot", "text": "Sorry to hear that. Let me check."},
        {"id": "m3", "time": "2026-05-02T13:02:10.000Z", "role": "system", "kind": "transfer_to_agent",
         "text": "User transferred to Agent"},
        {"id": "m4", "time": "2026-05-02T13:02:30.000Z", "role": "agent", "agentId": "a-6470432c688",
         "agentName": "Jane Doe", "text": "Hi, I am Jane. Let me look at your order."},
        {"id": "m5", "time": "2026-05-02T13:03:00.000Z", "role": "supervisor", "kind": "whisper",
         "text": "Offer the goodwill credit."},
        {"id": "m6", "time": "2026-05-02T13:03:30.000Z", "role": "agent", "kind": "hold_start",
         "agentId": "a-6470432c688"},
        {"id": "m7", "time": "2026-05-02T13:04:00.000Z", "role": "customer", "text": "(said during hold)"},
        {"id": "m8", "time": "2026-05-02T13:05:00.000Z", "role": "agent", "kind": "hold_end",
         "agentId": "a-6470432c688"},
        {"id": "m9", "time": "2026-05-02T13:06:00.000Z", "role": "agent", "agentId": "a-6470432c688",
         "text": "Your refund is on its way.",
         "email": {"subject": "Your refund", "from": "support@example.com", "to": ["jane.customer@example.com"],
                   "cc": ["billing@example.com"]}},
    ],
    "events": [
        {"id": "e1", "type": "routing_initiated", "time": "2026-05-02T13:02:10.000Z", "queueId": "qu-321bc8a2c1d"},
        {"id": "e2", "type": "conversation_accepted", "time": "2026-05-02T13:02:25.000Z",
         "agentId": "a-6470432c688", "queueId": "qu-321bc8a2c1d"},
        {"id": "e3", "type": "conversation_closed", "time": "2026-05-02T13:07:00.000Z",
         "agentId": "a-6470432c688", "details": {"disposition": "Resolved"}},
    ],
    "voiceTurns": [
        {"turn": 1, "userStoppedSpeaking": "2026-05-02T10:00:05.000Z", "asrTranscriptReturned":
         "2026-05-02T10:00:05.450Z", "transcriptSentToBot": "2026-05-02T10:00:05.450Z",
         "botResponseReceived": "2026-05-02T10:00:06.300Z", "ttsRequested": "2026-05-02T10:00:06.300Z",
         "firstAudioByteReceived": "2026-05-02T10:00:06.700Z", "firstAudioHeard": "2026-05-02T10:00:06.700Z"},
    ],
}

INGEST_EXAMPLES = [
    OpenApiExample("A whole conversation", value={"records": [EXAMPLE_RECORD]}, request_only=True),
    OpenApiExample(
        "A live conversation grows (append)",
        value={"transcriptMode": "append", "records": [{
            "sessionId": "68a1f0c2e4b0a1b2c3d4e5f7",
            "transcript": [{"id": "m12", "time": "2026-05-02T13:10:02.120Z", "role": "customer",
                            "text": "Is anyone there?"}],
        }]},
        request_only=True,
    ),
    OpenApiExample(
        "One stored, one rejected",
        value={"created": 1, "updated": 0, "rejected": [{"index": 1, "errors": [
            {"msg": "time has no time zone: add Z (UTC) or an explicit offset such as +05:30.", "code": "invalid",
             "field": "transcript[3].time"},
            {"msg": "role must be one of customer, bot, agent, supervisor or system, not 'user'.",
             "code": "invalid_choice", "field": "transcript[4].role"},
        ]}]},
        response_only=True,
        status_codes=["200"],
    ),
]

INGEST_CONVERSATIONS: dict[str, Any] = {
    "operation_id": "ingestConversations",
    "tag": Tag.INGESTION,
    "scope": Scope.INGEST.value,
    "summary": "Ingest conversation content: status, transcript, events, voice turns (upsert)",
    "description": INGEST_DESCRIPTION,
    "request": ContentBatchDocSerializer,
    "responses": {
        200: IngestResultSerializer,
        400: error_response(
            f"The body is not a batch of 1 to {MAX_BATCH:,} records (invalid records are answered in the 200's "
            "`rejected`).",
            ("Empty batch", {"msg": "Send at least one record.", "code": "empty", "field": "records"}),
        ),
        503: error_response(
            "Nothing was stored. `conflict_retry`: a concurrent request was writing the same conversations and "
            "won; send the batch again after the Retry-After seconds (storing it twice is harmless). "
            "`dependency_unavailable`: the database is down.",
            ("Write conflict", {
                "msg": "Another request was writing the same records at the same moment; nothing of this request "
                "was stored. Send it again (after 1 second).",
                "code": "conflict_retry",
            }),
        ),
    },
    "examples": INGEST_EXAMPLES,
}
