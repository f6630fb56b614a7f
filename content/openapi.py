"""OpenAPI documentation of the conversation reads: response shapes, parameters and examples.

The views render plain dicts; these serializers exist to describe them in the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.csv_stream import CSV_MEDIA_TYPE
from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from content import events, latency, transcripts
from content.criteria import MAX_AGENTS, MAX_IDS, MAX_QUEUES, MAX_TAG_CLAUSES
from content.models import Status
from content.queries import LIMIT_DEFAULT, LIMIT_MAX, MAX_WINDOW_DAYS, ConversationQuerySerializer
from search.openapi import SearchHitFieldsSerializer, TranscriptMatchSerializer
from search.snippets import MAX_SNIPPETS

_READ = {"tag": Tag.CONVERSATIONS, "scope": Scope.CONVERSATIONS_READ.value}
_SESSION = "68db819479cb8cebd651a1b2"
_STATUS_LIST = ", ".join(f"`{status.value}` ({status.label})" for status in Status)

SESSION_ID = OpenApiParameter(
    "sessionId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The conversation's session id."
)
NOT_FOUND = error_response(
    "No conversation with this session id in the caller's account (another account's is 404 too).",
    ("Unknown conversation", {"msg": f"No conversation {_SESSION!r} in this account.", "code": "not_found",
                              "field": "sessionId"}),
)
_BAD_FORMAT = ("Unknown format", {"msg": "format must be json or csv.", "code": "invalid_choice", "field": "format"})


def _format_parameter(csv_what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["json", "csv"], required=False,
        description=f"`json` (default) or `csv`: {csv_what}",
    )


def _csv_answer(header: tuple[str, ...], what: str) -> OpenApiResponse:
    return OpenApiResponse(
        OpenApiTypes.STR,
        description=f"With `format=csv`: {what}, streamed as a `text/csv` attachment. Columns: "
        + ", ".join(f"`{name}`" for name in header)
        + ". A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a "
        "leading apostrophe (no spreadsheet evaluates it).",
    )


class _Named(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)


class _StatusOut(serializers.Serializer):
    value = serializers.ChoiceField(choices=Status.values)
    label = serializers.CharField()


class _CustomerOut(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    userId = serializers.CharField(allow_null=True, help_text="The interaction record's userId.")


class _ScoreOut(serializers.Serializer):
    score = serializers.IntegerField(allow_null=True, help_text="null: asked, not answered")


class _LikeOut(serializers.Serializer):
    value = serializers.BooleanField(allow_null=True, help_text="null: asked, not answered")


@extend_schema_serializer(component_name="ConversationRow")
class RowOut(serializers.Serializer):
    sessionId = serializers.CharField()
    customer = _CustomerOut()
    direction = serializers.CharField(allow_null=True, help_text="inbound or outbound")
    language = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True, help_text="rtm, voice or email")
    supportAgent = _Named(allow_null=True, help_text="The agent who handled the conversation: the last to join.")
    startTime = serializers.CharField(help_text="UTC, YYYY-MM-DDTHH:MM:SS.mmmZ")
    endTime = serializers.CharField(allow_null=True)
    durationSeconds = serializers.IntegerField(allow_null=True, help_text="null while in progress")
    agents = _Named(many=True, help_text="In the order they joined.")
    queues = _Named(many=True, help_text="In the order entered.")
    skills = serializers.ListField(child=serializers.JSONField())
    status = _StatusOut()
    smartStatus = serializers.CharField(allow_null=True)
    csat = _ScoreOut(allow_null=True, help_text="null: no survey")
    nps = _ScoreOut(allow_null=True, help_text="null: no survey")
    like = _LikeOut(allow_null=True, help_text="null: not asked")
    sentiment = serializers.ChoiceField(choices=["positive", "neutral", "negative", "mixed"], allow_null=True)
    flagged = serializers.BooleanField()
    flags = serializers.ListField(child=serializers.JSONField())


class SearchRowOut(RowOut, SearchHitFieldsSerializer):
    """A row of a search (with `q`): the table's row, its tier and snippets."""


class QueryOut(serializers.Serializer):
    total = serializers.IntegerField(help_text="Every match, exactly.")
    results = SearchRowOut(many=True, help_text="With q, each row also carries tier and snippets.")
    nextCursor = serializers.CharField(allow_null=True, help_text="null on the last page.")


_ROW = {
    "sessionId": _SESSION,
    "customer": {"name": "Jane Doe", "phone": "+13213550100", "email": "jane.doe@example.com",
                 "userId": "u-4245d01e"},
    "direction": "inbound",
    "language": "en",
    "channel": "voice",
    "supportAgent": {"id": "u-e3f58196", "name": "John Doe"},
    "startTime": "2025-09-30T07:07:00.000Z",
    "endTime": "2025-09-30T07:08:06.000Z",
    "durationSeconds": 66,
    "agents": [{"id": "u-e3f58196", "name": "John Doe"}],
    "queues": [{"id": "qu-7a58cc5", "name": "Default Queue"}],
    "skills": [{"id": "6834045b2e9b", "name": "Billing"}],
    "status": {"value": "completed_user_hangup", "label": "Completed (User Hangup)"},
    "smartStatus": "CLOSED",
    "csat": {"score": 4},
    "nps": None,
    "like": {"value": None},
    "sentiment": "positive",
    "flagged": False,
    "flags": [],
}

QUERY_CONVERSATIONS: dict[str, Any] = {
    "operation_id": "queryConversations",
    "summary": "The Conversations table: a page of conversations",
    "description": (
        "The conversations of the caller's account that started in the window (UTC, both bounds "
        f"inclusive, at most {MAX_WINDOW_DAYS} days) and meet every criterion of `filters`, newest "
        f"first (`start_desc`, the default) or oldest first (`start_asc`); `limit` 1–{LIMIT_MAX} "
        f"(default {LIMIT_DEFAULT}). `total` counts every match exactly. Paging is by keyset: send "
        "the answer's `nextCursor` as `cursor` for the next page (null: last page); pages never overlap "
        "or skip a conversation, even while new ones arrive, and cost the same at any depth. A cursor "
        "changed by hand is refused.\n\n"
        "Criteria: `ids` (session ids, at most "
        f"{MAX_IDS}), `queues` (entered any of them, at most {MAX_QUEUES}), `channels`, `agents` "
        f"(joined by any of them, at most {MAX_AGENTS}), `status`, `csat` (scores), `flagged`, "
        f"`sentiment`, `customTags` (at most {MAX_TAG_CLAUSES} clauses, all of which must hold: "
        "CONTAINS holds when the conversation has a session- or user-level tag of that name whose "
        "value contains `value`, ignoring case; DOES_NOT_CONTAIN when it has none). An unknown "
        "criterion is refused.\n\n"
        f"Statuses: {_STATUS_LIST}.\n\n"
        "Search: with `q` the same window and criteria are searched (docs/search.md): transcripts of "
        "every channel, `agent_ai` messages unless `excludeAgentAi`, agent notes and disposition "
        "remarks; stop words ignored, case, accents and word endings folded. `sort` is then `relevance` "
        "by default: tier 0 (an identifier equals `q`), 1 (the whole phrase in one message), 2 (every "
        "word), 3 (some words), then relevance, then the newest. Each row adds `tier` and up to "
        f"{MAX_SNIPPETS} `snippets` with highlight ranges; `total` counts every tier. A `q` of stop words "
        "only is a 400 (`only_stop_words`). Each search is saved in the caller's search history.\n\n"
        "`filterId` applies one of the caller's saved filters (`/api/v1/filters`; the owner is the API "
        "client and `X-Acting-User`); explicit `filters` narrow it (a list criterion keeps the values both "
        "allow, custom-tag clauses add up). Another owner's filter is 404."
    ),
    "request": ConversationQuerySerializer,
    "responses": {
        200: QueryOut,
        404: error_response(
            "filterId names no saved filter of the caller.",
            ("Unknown filter", {"msg": "No saved filter '42' of yours.", "code": "not_found", "field": "filterId"}),
        ),
        400: error_response(
            "Bad body; every problem is listed, each naming its field.",
            ("Window too long", {"msg": f"The window from startDate to endDate must be at most {MAX_WINDOW_DAYS} "
                                 "days.", "code": "invalid", "field": "endDate"}),
            ("Bad criterion", {"msg": "status must be one of in_progress, error, completed_drop_off, "
                               "completed_user_hangup, completed_ai_agent_hangup, completed, not 'done'.",
                               "code": "invalid_choice", "field": "filters.status[0]"}),
            ("Changed cursor", {"msg": "cursor is not one this service returned (changed, truncated or from "
                                "another server): send the nextCursor of the previous page unchanged, or leave "
                                "cursor out for the first page.", "code": "invalid_cursor", "field": "cursor"}),
        ),
    },
    "examples": [
        OpenApiExample(
            "A week of voice calls in error or dropped",
            request_only=True,
            value={"startDate": "2025-09-24", "endDate": "2025-09-30", "limit": 25,
                   "filters": {"channels": ["voice"], "status": ["error", "completed_drop_off"]}},
        ),
        OpenApiExample(
            "Custom tags, oldest first, next page",
            request_only=True,
            value={"startDate": "2025-09-01 00:00:00", "endDate": "2025-09-30 23:59:59", "sort": "start_asc",
                   "filters": {"customTags": [{"tag": "Region", "predicate": "CONTAINS", "value": "EU"},
                                              {"tag": "Plan", "predicate": "DOES_NOT_CONTAIN", "value": "trial"}]},
                   "cursor": "<nextCursor of the previous answer>"},
        ),
        OpenApiExample(
            "A search, best first",
            request_only=True,
            value={"startDate": "2025-09-24", "endDate": "2025-09-30", "q": "refund not received",
                   "excludeAgentAi": True, "filters": {"channels": ["voice", "rtm"]}},
        ),
        OpenApiExample(
            "A page of a search",
            response_only=True,
            value={"total": 37, "results": [{**_ROW, "tier": 1, "snippets": [
                {"source": "message", "id": "m12", "field": "text", "text": "My refund was not received yet.",
                 "highlights": [{"start": 3, "end": 26}]},
                {"source": "note", "id": "n1", "field": "text", "text": "Refund re-issued by phone.",
                 "highlights": [{"start": 0, "end": 6}]},
            ]}], "nextCursor": "eJyrVkpRslIqSS0u0S1OLSrOzM9TslIyNNAzMNMzMDS..."},
        ),
        OpenApiExample(
            "A page",
            response_only=True,
            value={"total": 412, "results": [_ROW], "nextCursor": "eJyrVspXslIqSS0u0S1OLSrOzM9TslIyNNAzMNMzMDS..."},
        ),
    ],
    **_READ,
}


class _DetailOut(serializers.Serializer):
    sessionId = serializers.CharField()
    header = serializers.DictField(help_text="direction, language, sentiment {overall, emotions}, channel")
    details = serializers.DictField(
        help_text="start, end, durationSeconds, agents, consultingAgents, joinedUsers, queues, status, smartStatus, "
        "errorMessage, mode, csat {score, feedback}, nps, like, dispositions, dispositionRemarks, notes, "
        "snooze {count, durationSeconds}, campaign {name, instanceId}, sessionLevelTags, flagged, flags"
    )
    user = serializers.DictField(
        help_text="customerPhone, customerName, customerEmail, channelUserId, userId, userLevelTags"
    )
    identifiers = serializers.DictField(
        help_text="sessionId, channelUserId, userId, campaignInstanceId, callId, callConversationId, "
        "agentConversationId, externalCallId, caller, callee"
    )


_DETAIL = {
    "sessionId": _SESSION,
    "header": {"direction": "inbound", "language": "en",
               "sentiment": {"overall": "positive", "emotions": ["gratitude"]}, "channel": "voice"},
    "details": {
        "start": "2025-09-30T07:07:00.000Z", "end": "2025-09-30T07:08:06.000Z", "durationSeconds": 66,
        "agents": [{"id": "u-e3f58196", "name": "John Doe"}], "consultingAgents": ["Jane Roe"], "joinedUsers": [],
        "queues": [{"id": "qu-7a58cc5", "name": "Default Queue"}],
        "status": {"value": "completed", "label": "Completed"}, "smartStatus": "CLOSED", "errorMessage": None,
        "mode": "voice", "csat": {"score": 4, "feedback": "Quick and helpful"}, "nps": {"score": 9}, "like": None,
        "dispositions": ["Bill paid"], "dispositionRemarks": ["Paid by card."],
        "notes": [{"id": "n-1", "time": "2025-09-30T07:08:00.000Z", "author": "John Doe", "text": "Paid."}],
        "snooze": {"count": 1, "durationSeconds": 300}, "campaign": None,
        "sessionLevelTags": [{"name": "Region", "value": "EU-West"}], "flagged": False, "flags": [],
    },
    "user": {"customerPhone": "+13213550100", "customerName": "Jane Doe", "customerEmail": "jane.doe@example.com",
             "channelUserId": "+13213550100", "userId": "u-4245d01e", "userLevelTags": []},
    "identifiers": {"sessionId": _SESSION, "channelUserId": "+13213550100", "userId": "u-4245d01e",
                    "campaignInstanceId": None, "callId": "call-77f1", "callConversationId": "c-b48e690",
                    "agentConversationId": "ac-5512", "externalCallId": None, "caller": "+13213550100",
                    "callee": "+13343550111"},
}

GET_CONVERSATION: dict[str, Any] = {
    "operation_id": "getConversation",
    "summary": "One conversation: header, Details, User and Identifiers",
    "description": (
        "What the Insights to Logs panel shows besides the transcript: the header icons (direction, "
        "language, sentiment, channel), the Details tab, the User tab and the Identifiers tab. Times "
        "are UTC; a value the conversation does not have is null."
    ),
    "parameters": [SESSION_ID],
    "responses": {200: _DetailOut, 404: NOT_FOUND},
    "examples": [OpenApiExample("A voice call", value=_DETAIL, response_only=True)],
    **_READ,
}


class _MessageOut(serializers.Serializer):
    id = serializers.CharField()
    time = serializers.CharField()
    role = serializers.ChoiceField(choices=["customer", "bot", "agent", "supervisor", "system"])
    kind = serializers.ChoiceField(choices=list(transcripts.LABELS))
    label = serializers.CharField(allow_null=True, help_text="How the kind is shown; null for a plain message.")
    text = serializers.CharField(allow_null=True)
    agentId = serializers.CharField(allow_null=True)
    agentName = serializers.CharField(allow_null=True)
    email = serializers.DictField(required=False, help_text="subject, from, to, cc, bcc (e-mail messages)")


class _SearchedMessageOut(_MessageOut, TranscriptMatchSerializer):
    """A message with ``?q=``: its occurrences and highlight ranges."""


class _TranscriptOut(serializers.Serializer):
    sessionId = serializers.CharField()
    channel = serializers.CharField(allow_null=True)
    subject = serializers.CharField(allow_null=True, help_text="An e-mail conversation's subject.")
    messages = _SearchedMessageOut(many=True)
    occurrences = serializers.IntegerField(required=False, help_text="With q: the occurrences in every message.")


_LABELS = "; ".join(f"`{kind}` → \"{label}\"" for kind, label in transcripts.LABELS.items() if label)

GET_TRANSCRIPT: dict[str, Any] = {
    # A download: content negotiation is forced, never a 406.
    "negotiated": False,
    "operation_id": "getTranscript",
    "summary": "A conversation's transcript (JSON or CSV)",
    "description": (
        "Every message in time order with its role and kind; the kinds that are stages or notices "
        f"carry the label the console shows: {_LABELS}. E-mail messages carry their headers "
        "(`email`), and the conversation's subject is `subject`. What the customer said while on hold "
        "(between `hold_start` and `hold_end`) is never shown, in JSON or CSV. `excludeAgentAi=true` "
        "leaves out the agent-assist logs (`agent_ai`)."
    ),
    "parameters": [
        SESSION_ID,
        _format_parameter("the transcript as a CSV download"),
        OpenApiParameter("excludeAgentAi", OpenApiTypes.BOOL, required=False, description="Default false."),
        OpenApiParameter(
            "q", OpenApiTypes.STR, required=False,
            description="Search this conversation (JSON only): each message gets `occurrences` and `highlights` "
            "(the whole phrase as one range, other matched words each; `field` text or subject) and the answer "
            "the total `occurrences`. The words of the conversation search (docs/search.md).",
        ),
    ],
    "responses": {
        (200, "application/json"): _TranscriptOut,
        (200, CSV_MEDIA_TYPE): _csv_answer(transcripts.CSV_HEADER, "one row per message shown"),
        400: error_response("Bad parameter.", _BAD_FORMAT),
        404: NOT_FOUND,
    },
    "examples": [
        OpenApiExample(
            "A hand-over to an agent",
            response_only=True,
            value={"sessionId": _SESSION, "channel": "voice", "subject": None, "messages": [
                {"id": "m1", "time": "2025-09-30T07:07:01.000Z", "role": "customer", "kind": "message",
                 "label": None, "text": "I want to pay my bill.", "agentId": None, "agentName": None},
                {"id": "m2", "time": "2025-09-30T07:07:09.000Z", "role": "system", "kind": "transfer_to_agent",
                 "label": "User transferred to Agent", "text": None, "agentId": None, "agentName": None},
                {"id": "m3", "time": "2025-09-30T07:07:20.000Z", "role": "supervisor", "kind": "whisper",
                 "label": "Whisper", "text": "Offer the autopay plan.", "agentId": "u-e3f58196",
                 "agentName": "John Doe"},
            ]},
        ),
    ],
    **_READ,
}


class _EventOut(serializers.Serializer):
    id = serializers.CharField()
    time = serializers.CharField()
    type = serializers.ChoiceField(choices=list(events.LABELS))
    label = serializers.CharField()
    agentId = serializers.CharField(allow_null=True)
    queueId = serializers.CharField(allow_null=True)
    details = serializers.JSONField(allow_null=True)


class _EventsOut(serializers.Serializer):
    sessionId = serializers.CharField()
    complete = serializers.BooleanField(help_text="false while the conversation is in progress: more may follow.")
    events = _EventOut(many=True)


GET_EVENTS: dict[str, Any] = {
    # A download: content negotiation is forced, never a 406.
    "negotiated": False,
    "operation_id": "getConversationEvents",
    "summary": "A conversation's events (JSON or CSV)",
    "description": (
        "The routing and handling events in time order: "
        + ", ".join(f"`{kind}` ({label})" for kind, label in events.LABELS.items())
        + ". `complete` is false while the conversation is in progress (events arrive periodically: "
        "download them once it has ended for the whole history). A conversation that started more "
        f"than {events.EVENTS_KEPT.days} days ago answers 410 `events_expired`."
    ),
    "parameters": [SESSION_ID, _format_parameter("the events as a CSV download")],
    "responses": {
        (200, "application/json"): _EventsOut,
        (200, CSV_MEDIA_TYPE): _csv_answer(events.CSV_HEADER, "one row per event (`details` as JSON text)"),
        400: error_response("Bad parameter.", _BAD_FORMAT),
        404: NOT_FOUND,
        410: error_response("Too old.", ("Expired", {"msg": events.EVENTS_EXPIRED, "code": "events_expired"})),
    },
    "examples": [
        OpenApiExample(
            "Routed and accepted",
            response_only=True,
            value={"sessionId": _SESSION, "complete": True, "events": [
                {"id": "e1", "time": "2025-09-30T07:07:09.000Z", "type": "routing_initiated",
                 "label": "Routing Initiation", "agentId": None, "queueId": "qu-7a58cc5", "details": None},
                {"id": "e2", "time": "2025-09-30T07:07:20.000Z", "type": "conversation_accepted",
                 "label": "Conversation Acceptance", "agentId": "u-e3f58196", "queueId": "qu-7a58cc5",
                 "details": None},
            ]},
        ),
    ],
    **_READ,
}


class _TurnOut(serializers.Serializer):
    turn = serializers.IntegerField()
    asrMs = serializers.IntegerField(allow_null=True)
    botMs = serializers.IntegerField(allow_null=True)
    ttsMs = serializers.IntegerField(allow_null=True)
    endToEndMs = serializers.IntegerField(allow_null=True)


class _StatisticsOut(serializers.Serializer):
    min = serializers.IntegerField(allow_null=True)
    average = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)


class _SummaryOut(serializers.Serializer):
    asrMs = _StatisticsOut()
    botMs = _StatisticsOut()
    ttsMs = _StatisticsOut()
    endToEndMs = _StatisticsOut()


class _LatencyOut(serializers.Serializer):
    sessionId = serializers.CharField()
    turns = _TurnOut(many=True)
    summary = _SummaryOut()


_REFERENCE_TURN = {"turn": 1, "asrMs": 450, "botMs": 850, "ttsMs": 400, "endToEndMs": 1700}

GET_LATENCY: dict[str, Any] = {
    # A download: content negotiation is forced, never a 406.
    "negotiated": False,
    "operation_id": "getConversationLatency",
    "summary": "Voice-turn latency (JSON or the CSV latency report)",
    "description": (
        "Per voice turn, in milliseconds: ASR = asrTranscriptReturned − userStoppedSpeaking; Bot = "
        "botResponseReceived − transcriptSentToBot; TTS = firstAudioByteReceived − ttsRequested; "
        "End-to-end = firstAudioHeard − userStoppedSpeaking. A metric whose times are missing is null for "
        "that turn and left out of the summary, which gives per metric the min, the average (rounded to "
        "the millisecond), the p90 (nearest rank) and the max. A conversation without voice turns has "
        "no turns and null statistics."
    ),
    "parameters": [SESSION_ID, _format_parameter("the latency report")],
    "responses": {
        (200, "application/json"): _LatencyOut,
        (200, CSV_MEDIA_TYPE): _csv_answer(
            latency.CSV_HEADER, "one row per turn (its times and metrics), then one row per statistic (`min`, "
            "`average`, `p90`, `max` in the `turn` column, the metrics beside it)"
        ),
        400: error_response("Bad parameter.", _BAD_FORMAT),
        404: NOT_FOUND,
    },
    "examples": [
        OpenApiExample(
            "The reference example, one turn",
            response_only=True,
            value={"sessionId": _SESSION, "turns": [_REFERENCE_TURN], "summary": {
                metric: dict.fromkeys(latency.STATISTICS, value)
                for metric, value in _REFERENCE_TURN.items() if metric != "turn"
            }},
        ),
    ],
    **_READ,
}
