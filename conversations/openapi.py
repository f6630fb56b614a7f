"""OpenAPI documentation of the conversations endpoints: response shapes, parameters and examples.

The views render plain dicts; these serializers exist to describe them in the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.dates import OFFSET_MAX as ZONE_OFFSET_MAX
from analytics_api.kernel.dates import OFFSET_MIN as ZONE_OFFSET_MIN
from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.kernel.openapi import IngestResultSerializer, Tag, error_response
from analytics_api.kernel.text import MAX_JSON_DEPTH
from analytics_api.models import Scope
from conversations.records import MAX_RECORDING_SOURCES
from conversations.reference_sample import SAMPLE_RESPONSE
from conversations.serializers import (
    FILTER_ID_LENGTH,
    LIMIT_MAX,
    MAX_CALENDAR_DAYS,
    MAX_FILTER_BOTS,
    MAX_FILTER_CHANNELS,
    MAX_FILTER_QUEUES,
    MAX_SELECTED_NAME_LENGTH,
    MAX_SELECTED_NAMES,
    MAX_WINDOW,
    OFFSET_MAX,
)

_SAMPLE = SAMPLE_RESPONSE


def _names(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_SELECTED_NAME_LENGTH),
        required=False,
        max_length=MAX_SELECTED_NAMES,
        help_text=f"{help_text}; [] keeps all; at most {MAX_SELECTED_NAMES} names",
    )


class SelectedFieldsSerializer(serializers.Serializer):
    skills = _names("Skill names or ids to keep")
    userleveltags = _names("User-level tag names to keep")
    sessionleveltags = _names("Session-level tag names to keep")
    customerinfo = _names("customerinfo keys to keep")


@extend_schema_serializer(component_name="InteractionDetails")
class InteractionRequestSerializer(serializers.Serializer):
    startDate = serializers.CharField(help_text="Local time: YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS")
    endDate = serializers.CharField(help_text="Local time, same forms; a date alone means the end of that day")
    timeZoneOffset = serializers.IntegerField(
        required=False,
        min_value=ZONE_OFFSET_MIN,
        max_value=ZONE_OFFSET_MAX,
        help_text="Minutes of UTC − local (India −330, New York 300); else the x-timezone-offset header",
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=["rtm", "voice", "email"]),
        required=False,
        max_length=MAX_FILTER_CHANNELS,
        help_text=f"Channel codes; at most {MAX_FILTER_CHANNELS}",
    )
    queues = serializers.ListField(
        child=serializers.CharField(max_length=FILTER_ID_LENGTH),
        required=False,
        max_length=MAX_FILTER_QUEUES,
        help_text=f"Queue ids; at most {MAX_FILTER_QUEUES} (split a longer list into several requests)",
    )
    bots = serializers.ListField(
        child=serializers.CharField(max_length=FILTER_ID_LENGTH),
        required=False,
        max_length=MAX_FILTER_BOTS,
        help_text=f"Bot ids; at most {MAX_FILTER_BOTS} (split a longer list into several requests)",
    )
    selectedFields = SelectedFieldsSerializer(required=False)


@extend_schema_serializer(component_name="InteractionRecord")
class InteractionRecordDocSerializer(serializers.Serializer):
    """The main fields of a record; see the example for the full nesting."""

    conversationId = serializers.CharField(required=False, help_text="Agent-handled conversations only")
    sessionId = serializers.CharField()
    channel = serializers.ChoiceField(choices=["Web/Mobile Client", "Voice", "System Mail"])
    sessionStartTime = serializers.CharField(help_text="Local time, YYYY-MM-DDTHH:MM:SS")
    sessionEndTime = serializers.CharField(required=False, help_text="Local time, YYYY-MM-DDTHH:MM:SS")
    botId = serializers.CharField()
    userId = serializers.CharField(required=False)
    channelSpecificUserId = serializers.CharField(required=False)
    orgId = serializers.CharField(required=False)
    isVoicemail = serializers.CharField(required=False)
    Direction = serializers.CharField(required=False)
    smartStatus = serializers.CharField(required=False)
    finalStatus = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    disconnectingEvent = serializers.CharField(required=False)
    errorDetails = serializers.CharField(required=False)
    dispositions = serializers.ListField(child=serializers.CharField(), required=False)
    dispositionRemarks = serializers.ListField(child=serializers.CharField(), required=False)
    metaInfo = serializers.DictField(required=False)
    customerinfo = serializers.DictField(required=False, help_text="Only when selected")
    skills = serializers.ListField(child=serializers.DictField(), required=False, help_text="Only when selected")
    userleveltags = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Only when selected"
    )
    sessionleveltags = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Only when selected"
    )
    destinations = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="QueueEntry and AgentSegment objects"
    )
    automationBotIDs = serializers.ListField(child=serializers.CharField(), required=False)


class InteractionPageSerializer(serializers.Serializer):
    numResults = serializers.IntegerField(help_text="Number of records in data")
    hasMore = serializers.BooleanField(help_text="Whether the next page (offset + 1) has records")
    data = InteractionRecordDocSerializer(many=True)


@extend_schema_serializer(component_name="InteractionBatch")
class InteractionBatchDocSerializer(serializers.Serializer):
    records = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text=f"1 to {MAX_BATCH:,} interaction records",
    )


READ_RULES = f"""
Records whose session started inside the window, ordered by session start then session id, so that
walking the pages (`offset` 0, 1, 2, …) never returns a record twice nor skips one.

**Paging (query string).** `limit` is the page size, 1–{LIMIT_MAX} (default {LIMIT_MAX}). `offset` is a number of
*pages* to skip, 0–{OFFSET_MAX} (default 0): the page starts after `offset × limit` records. A value out of
range or not an integer is a 400; nothing is silently clamped. `hasMore` says whether another page
follows; the total is never counted.

**Window (body).** `startDate` and `endDate` are required, in the caller's local time, as
`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`. A date alone means the start of that
day for `startDate` and the end of that day (inclusive) for `endDate`. `timeZoneOffset` is required:
integer minutes of UTC − local, JavaScript's `getTimezoneOffset()` convention (India −330, New York
in winter 300, Nepal −345), from {ZONE_OFFSET_MIN} to {ZONE_OFFSET_MAX}; when the body lacks it the
`x-timezone-offset` header is used. `endDate` may not be before `startDate`, and the window may cover at
most {MAX_CALENDAR_DAYS} days: with dates alone at most {MAX_CALENDAR_DAYS} calendar days (2025-09-24 …
2025-09-30 passes, 2025-09-23 … 2025-09-30 does not); with times, `endDate − startDate` at most
{MAX_WINDOW.days} × 24 hours.

**Filters (body, all optional; an empty list filters nothing).** `channels`: `rtm` (Web/Mobile
Client), `voice` (Voice), `email` (System Mail); any other code is a 400. `queues`: a record matches
when one of its destinations entered one of these queues. `bots`: a record matches when its `botId`
is one of these. Lists are capped: at most {MAX_FILTER_QUEUES} queue ids, {MAX_FILTER_BOTS} bot ids and
{MAX_FILTER_CHANNELS} channel codes (ids of at most {FILTER_ID_LENGTH} characters); a longer list is a
400 naming the field and its limit, so split it into several requests.

**Sections.** `selectedFields` may name `skills`, `userleveltags`, `sessionleveltags` and
`customerinfo`, each with a list of names. A section appears in the records only when it is selected
(and the record has it); a non-empty list keeps only those names (tag names, customerinfo keys, skill
names or ids), an empty list keeps everything; each list holds at most {MAX_SELECTED_NAMES} names of
at most {MAX_SELECTED_NAME_LENGTH} characters. Any other key inside `selectedFields` is a 400, so a
typo never silently drops data. Unknown top-level body fields are ignored.

**Headers.** `IId`, when sent, must be a bot or app of the account (else 404) and restricts the
result to its records. An `accountId` header is accepted too, as the reference documents send it: when
sent, it must equal the path's `accountId` (else 403). It is left out of the parameters below because it
can only repeat the path's value (a generated client then takes one `account_id`).

**Records.** Field names and nesting are exactly those of the reference document. A bot-only session
has the short form (no `conversationId`, `destinations`, …); fields a record lacks are left out, never
null. `sessionStartTime`, `sessionEndTime`, `EnterTime`, `firstResponseTime`, `interactionEndTime`,
`afterCallWorkEndTime`, `acceptedTime`, `assignedAt` and `consultingEndTime` are in the caller's local
time as `YYYY-MM-DDTHH:MM:SS`; `CallbackOptedTime` and `userCallbackAcceptTime` stay in UTC with
milliseconds and `Z`.

**Errors.** Every invalid input is listed at once in one 400 envelope, each item naming its `field`.
"""

PAGING_PARAMETERS = [
    OpenApiParameter(
        "accountId", OpenApiTypes.STR, OpenApiParameter.PATH,
        description="The account; must be the API client's own account (else 403)",
    ),
    OpenApiParameter(
        "limit", OpenApiTypes.INT, OpenApiParameter.QUERY, description=f"Page size, 1–{LIMIT_MAX} (default {LIMIT_MAX})"
    ),
    OpenApiParameter(
        "offset", OpenApiTypes.INT, OpenApiParameter.QUERY,
        description=f"Pages to skip, 0–{OFFSET_MAX} (default 0); records skipped = offset × limit",
    ),
    OpenApiParameter(
        "IId", OpenApiTypes.STR, OpenApiParameter.HEADER,
        description="Bot/app id of the account (else 404); restricts the records to it",
    ),
    OpenApiParameter(
        "x-timezone-offset", OpenApiTypes.INT, OpenApiParameter.HEADER,
        description="Used when the body has no timeZoneOffset (minutes of UTC − local)",
    ),
]

REQUEST_EXAMPLES = [
    OpenApiExample(
        "Two days in India, every section",
        value={
            "startDate": "2025-09-30",
            "endDate": "2025-10-01",
            "timeZoneOffset": -330,
            "selectedFields": {"skills": [], "userleveltags": [], "sessionleveltags": [], "customerinfo": []},
        },
        request_only=True,
    ),
    OpenApiExample(
        "Voice calls of one queue, with times",
        value={
            "startDate": "2025-09-30 09:00:00",
            "endDate": "2025-09-30T18:00:00",
            "timeZoneOffset": 300,
            "channels": ["voice"],
            "queues": ["qu-7a58cc5-0599-4609-817c-873d8384xxxx"],
            "selectedFields": {"customerinfo": ["CustomerPhone"]},
        },
        request_only=True,
    ),
]


def _response_example(records: list[dict[str, Any]], name: str) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={"numResults": len(records), "hasMore": False, "data": records},
        response_only=True,
        status_codes=["200"],
    )


INTERACTION_RESPONSE_EXAMPLES = [
    _response_example(
        sorted(_SAMPLE["data"], key=lambda record: (record["sessionStartTime"], record["sessionId"])),
        "The reference sample (offset −330)",
    ),
    OpenApiExample(
        "Every problem at once",
        value={
            "errors": [
                {"msg": f"limit must be an integer from 1 to {LIMIT_MAX}.", "code": "out_of_range", "field": "limit"},
                {
                    "msg": f"The window covers {MAX_CALENDAR_DAYS + 1} calendar days; at most {MAX_CALENDAR_DAYS} are "
                    "allowed.",
                    "code": "window_too_long",
                    "field": "endDate",
                },
                {
                    "msg": "Unknown section 'skill': allowed are skills, userleveltags, sessionleveltags, "
                    "customerinfo.",
                    "code": "invalid_selected_fields",
                    "field": "selectedFields.skill",
                },
            ]
        },
        response_only=True,
        status_codes=["400"],
    ),
]

CALL_RESPONSE_EXAMPLES = [
    _response_example([record for record in _SAMPLE["data"] if record["channel"] == "Voice"], "Voice calls"),
    INTERACTION_RESPONSE_EXAMPLES[1],
]


def _utc_record() -> dict[str, Any]:
    return {
        "conversationId": "c-b48e690-7d7c-4e72-9855-a669d688xxxx",
        "sessionId": "68db819479cb8cebd651xxxx",
        "channel": "voice",
        "isVoicemail": "NO",
        "Direction": "Inbound",
        "finalStatus": "CLOSED",
        "smartStatus": "CLOSED",
        "botId": "st-1d7611fa-908a-5f0c-8871-f7ea97a0xxxx",
        "dispositions": ["Requires Supervisor Attention"],
        "sessionStartTime": "2025-09-30T07:07:00Z",
        "sessionEndTime": "2025-09-30T07:08:06Z",
        "userId": "u-4245d01e-6124-587a-85b2-939fe3cfxxxx",
        "customerinfo": {"CustomerPhone": "1234567890"},
        "destinations": [
            {
                "destinationType": "QueueEntry",
                "queueId": "qu-7a58cc5-0599-4609-817c-873d8384xxxx",
                "queueName": "Default Queue",
                "CallbackOpted": False,
                "EnterTime": "2025-09-30T07:07:11Z",
                "respondingAgent": {
                    "agentId": "u-e3f58196-0f28-5419-9601-dc136e8dxxxx",
                    "destinationType": "AgentSegment",
                    "status": "Answered",
                    "name": "John Doe",
                    "assignedAt": "2025-09-30T07:07:16Z",
                    "acceptedTime": "2025-09-30T12:37:20+05:30",
                },
            }
        ],
        "automationBotIDs": ["st-e5c6ae6b-c388-5acd-93b7-bada87a7xxxx"],
        "recordingSources": [{"url": "https://recordings.example.com/calls/68db8194.wav", "channel": "mixed"}],
    }


INGEST_DESCRIPTION = f"""
Stores interaction records for the caller's account; they are then served by interactionDetails and
calldetails. A record is the shape those endpoints return, with every time in UTC: ISO-8601 with `Z`
or an explicit offset (`2025-09-30T06:10:31Z`, `2025-09-30T11:40:31+05:30`). A time without a zone is
rejected, since guessing one would shift the record silently. `channel` is `rtm`, `voice` or `email`
(or its label). `sessionId`, `channel`, `botId` and `sessionStartTime` are required; `botId` must be
a bot of the account. Fields this service does not know are kept and returned unchanged; `null` means
absent.

A voice record may carry `recordingSources: [{{"url", "channel": "mixed|agent|customer"}}]`, at most
{MAX_RECORDING_SOURCES} of them: they are handed to the recordings worker and never returned by interactionDetails.
A `url` may not contain control characters (percent-encode them). Such a record's `conversationId` (its
`sessionId` without one) may not contain `/` or be `.` or `..`: the recording is read at
`/api/v1/recordings/{{conversationId}}`. `s3://` sources and hosts with internal addresses are fetched
only where the operator granted them to the account; any other is refused (`media_unavailable`).

The body is `{{"records": [...]}}` with 1 to {MAX_BATCH:,} records. Records are upserted on (account,
`sessionId`): sending one again updates it, never duplicates it. Each record is validated on its
own; the valid ones are stored together in one transaction and the invalid ones are reported by
their index with every reason. A record whose fields nest objects and arrays more than {MAX_JSON_DEPTH} levels
deep, or that holds an integer outside 64 bits (−2^63 to 2^64 − 1), is rejected on its own.
"""

INGEST_EXAMPLES = [
    OpenApiExample("One voice call", value={"records": [_utc_record()]}, request_only=True),
    OpenApiExample(
        "A mixed batch",
        value={
            "created": 1,
            "updated": 1,
            "rejected": [
                {
                    "index": 2,
                    "errors": [
                        {
                            "msg": "The time '2025-09-30T06:10:31' has no time zone: add Z (UTC) or an explicit "
                            "offset such as +05:30.",
                            "code": "invalid_time",
                            "field": "sessionStartTime",
                        }
                    ],
                }
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
]

_BAD_BATCH = error_response(
    f"The body is not a batch of 1 to {MAX_BATCH:,} records (invalid records are answered in the 200's "
    "`rejected`).",
    ("Empty batch", {"msg": "Send at least one record.", "code": "empty", "field": "records"}),
)
_WRITE_CONFLICT = error_response(
    "Nothing was stored. `conflict_retry`: a concurrent request was writing the same records and won; "
    "send the batch again after the Retry-After seconds (storing it twice is harmless). "
    "`dependency_unavailable`: the database is down.",
    ("Write conflict", {
        "msg": "Another request was writing the same records at the same moment; nothing of this request "
        "was stored. Send it again (after 1 second).",
        "code": "conflict_retry",
    }),
)
INGEST_RESPONSES = {200: IngestResultSerializer, 400: _BAD_BATCH, 503: _WRITE_CONFLICT}
_ACCOUNT_FORBIDDEN = error_response(
    f"The token lacks the `{Scope.ANALYTICS.value}` scope, or the path names another account.",
    ("Another account", {
        "msg": "This API client is not allowed to access account '5eed0000000000000000b0b0'.",
        "code": "account_forbidden",
    }),
)
_UNKNOWN_IID = error_response(
    "The `IId` header names no bot or app of the account.",
    ("Unknown IId", {"msg": "No bot or app 'st-1234' in this account.", "code": "not_found", "field": "IId"}),
)
READ_RESPONSES = {
    200: InteractionPageSerializer,
    400: error_response("Invalid query or body: every problem listed at once, each naming its field."),
    403: _ACCOUNT_FORBIDDEN,
    404: _UNKNOWN_IID,
}

INTERACTION_DETAILS: dict[str, Any] = {
    "operation_id": "interactionDetails",
    "tag": Tag.CONVERSATIONS,
    "scope": Scope.ANALYTICS.value,
    "summary": "All conversations of a window, in detail",
    "description": READ_RULES,
    "parameters": PAGING_PARAMETERS,
    "request": InteractionRequestSerializer,
    "responses": READ_RESPONSES,
    "examples": [*REQUEST_EXAMPLES, *INTERACTION_RESPONSE_EXAMPLES],
}

CALL_DETAILS: dict[str, Any] = {
    **INTERACTION_DETAILS,
    "operation_id": "callDetails",
    "summary": "Voice calls of a window, in detail",
    "description": (
        "The interactionDetails contract restricted to voice interactions. A `channels` filter is "
        "narrowed to `voice`: a list without `voice` matches nothing.\n" + READ_RULES
    ),
    "examples": [*REQUEST_EXAMPLES, *CALL_RESPONSE_EXAMPLES],
}

INGEST_INTERACTIONS: dict[str, Any] = {
    "operation_id": "ingestInteractions",
    "tag": Tag.INGESTION,
    "scope": Scope.INGEST.value,
    "summary": "Ingest interaction records (upsert)",
    "description": INGEST_DESCRIPTION,
    "request": InteractionBatchDocSerializer,
    "responses": INGEST_RESPONSES,
    "examples": INGEST_EXAMPLES,
}
