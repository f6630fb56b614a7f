"""OpenAPI descriptions and examples of the Quality AI endpoints (``api_operation`` keyword sets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_field, inline_serializer
from rest_framework import serializers

from analytics_api.kernel.ingestion import MAX_BATCH
from analytics_api.kernel.openapi import IngestResultSerializer, Tag, error_response
from analytics_api.kernel.text import MAX_JSON_DEPTH
from analytics_api.models import Scope
from qualityai.models import DEFAULT_MIN_DURATION_SECONDS, DurationStatus
from qualityai.rendering import RESULT_KEY_ORDER
from qualityai.serializers import (
    DEFAULT_LIMIT,
    MAX_CONTACT_CUSTOM_FIELDS,
    MAX_FILTER_KEYS,
    MAX_FILTER_VALUES,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_PAGE,
    NOT_EVALUATED,
    ContactRecordSerializer,
    RawdataQuerySerializer,
)

STREAM_ID = OpenApiParameter(
    "streamId",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The stream: a bot/app id of your account (`st-<uuid>`). Another account's or an unknown one is 404.",
)
HEADERS = [
    OpenApiParameter(
        "accountId",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="Your account id (e.g. 24 hex characters). Must be the account of the token's client, else 403.",
    ),
    OpenApiParameter(
        "orgId",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="The org of that account (`o-<uuid>`). Must be the account's org, else 403.",
    ),
]

RAWDATA_DESCRIPTION = f"""
Quality AI evaluations of the contacts of one stream, one page at a time.

**Headers.** `accountId` and `orgId` are required: a missing one is a 400 naming it; one that is not
your client's account, or that account's org, is a 403. The `streamId` must be a bot/app of that
account, else 404. The token needs the `qualityai.analytics` scope.

**Window.** `startDate` and `endDate` are required and in UTC: `YYYY-MM-DD HH:MM:SS` or
`YYYY-MM-DDTHH:MM:SS`, optionally with a fraction of a second and `Z`. Both bounds are inclusive;
a contact matches when its conversation started inside the window. A date alone means midnight for
`startDate` and the end of that day for `endDate`. `endDate` may not be before `startDate`.

**Paging.** `offset` is required: the number of records to skip (0 to {MAX_OFFSET:,}). `limit` is
1–{MAX_LIMIT} (default {DEFAULT_LIMIT}) and `page` 1 to {MAX_PAGE:,} (default 1). The records skipped are
`offset + (page − 1) × limit`, so `offset` shifts the whole sequence of pages. Contacts are ordered
by conversation start time, then conversation id: consecutive pages never overlap or skip one.
`totalResults` counts every matching contact, `totalPages` is `ceil(totalResults / limit)` and
`hasMore` says whether a contact follows this page.

**Filters.** `contact_direction` is `inbound` or `outbound`. `custom_fields` is an object whose keys
must all match: a string value must equal the contact's value, a list value matches any of its
items (`{{"Region": ["US", "UK"], "CallType": "CLINumber"}}`); at most {MAX_FILTER_KEYS} keys of at most
{MAX_FILTER_VALUES} values.
Numbers and booleans stored in custom fields match their JSON text (`"2"`, `"true"`).

**Minimum duration.** Each stream has a minimum duration (default {DEFAULT_MIN_DURATION_SECONDS} seconds; an
administrator sets it in the admin or with `manage.py set_stream_settings`). `duration_status` is computed on every
request from the stream's current minimum: `duration_unavailable` when the contact has no duration,
`below_threshold` when it is shorter, else `evaluated`. Below-threshold contacts are left out (and
not counted) unless `include_below_threshold` is true; contacts without a duration are always
included.

**Results.** Each result uses the documented keys exactly, spaces and capitals included
(`"Conversation ID"`, `"Kore Evaluation Score"`, `"Customer emotions"`, `"Configured_Intents"`, …);
every documented key is declared in the response schema, and a key sent at ingestion that is not
documented is returned as sent.
Times are UTC ISO-8601 with milliseconds and `Z`; `"Duration"` is `"<ms> milliseconds"` (null when
unknown); `"Kore Evaluation Score"` is `"{NOT_EVALUATED}"` when the contact was not evaluated;
`customConversationId` appears only when it was set, `"Audit Score"` only once the audit is complete
(`"Audit Status"` Audited or Completed). `is_direction_defaulted` is true when no direction was given
at ingestion and `contactDirection` was inferred (inbound). `agentRecordings` / `customerRecordings`
list download links of the conversation's recordings when it has any.

**Errors.** Every invalid field of the body is reported at once, in one 400, each item naming its
`field`.
""".strip()

INGEST_DESCRIPTION = f"""
Store Quality AI contacts of one stream (our ingestion endpoint; the reference documents describe
only the read side). The token needs the `ingest` scope; `streamId` must be a bot/app of the
client's account, else 404.

The body is `{{"records": [...]}}` with 1 to {MAX_BATCH:,} contacts in the rawdata result shape. Each record
is validated on its own: the valid ones are stored in one transaction, the invalid ones are
reported under their index with every reason; a 200 answer says how many were created, updated and
rejected.

A contact is identified by its `"Conversation ID"` within the stream: sending it again replaces
the stored contact (never a duplicate); within one batch the last copy wins.

Required: `"Conversation ID"` and `"Conversation Start Time"`. Times must name their zone (`Z` or
`+05:30`) and are returned in UTC. `"Duration"` is `"<ms> milliseconds"` or a whole number of
milliseconds; without it the contact is `duration_unavailable`. `contactDirection` is `inbound` or
`outbound`; without it the direction is inferred (inbound) and flagged with `is_direction_defaulted`.
`custom_fields` values are strings, numbers or booleans (filterable in rawdata), at most
{MAX_CONTACT_CUSTOM_FIELDS} fields per contact. `duration_status`, `is_direction_defaulted` and recording links
are derived on every read, so values sent for them are ignored. Any other key is stored and returned
as sent. A contact whose fields nest objects and arrays more than {MAX_JSON_DEPTH} levels deep, or that holds
an integer outside 64 bits (−2^63 to 2^64 − 1), is rejected on its own.
""".strip()

# One contact in the documented result shape, shortened (the raw data page's sample has 20 metrics).
SAMPLE_CONTACT: dict[str, Any] = {
    "src": "rtm",
    "customConversationId": "UATMa2c0A4",
    "contactDirection": "inbound",
    "Conversation ID": "c-de2dd02c-7a1e-4f1b-9d6e-130590459421",
    "Conversation Start Time": "2026-05-02T13:01:34.000Z",
    "Conversation End Time": "2026-05-02T13:03:13.000Z",
    "Language": "English",
    "Duration": "99000 milliseconds",
    "Sentiment Score": 1.78,
    "Queues": [{"Queue ID": "qu-321bc8a2c1d", "Queue Name": "Expressq11"}],
    "Agents": [
        {
            "agentId": "a-6470432c688",
            "Agent Name": "satya admin",
            "Agent Start Time": "2026-05-02T13:01:34.000Z",
            "Empathy Score": 0,
            "Agent Email": "john.doe@example.com",
        }
    ],
    "Kore Evaluation Score": 35,
    "IsChurnRiskObserved": False,
    "IsEscalationObserved": False,
    "Fatal Errors": 0,
    "Emotions": ["Happy", "Neutral"],
    "Taxonomy Resolution": "YES",
    "Audit Status": "Unassigned",
    "Audit Date": None,
    "Auditor Name": None,
    "duration_status": "evaluated",
    "Speaking Rate": [],
    "Sentiment Pattern": {"start": "neutral", "end": "neutral"},
    "Customer emotions": [
        {"emotion": "Happy", "duration": 0, "proportion": 56.25},
        {"emotion": "Confusion", "duration": 0, "proportion": 43.75},
    ],
    "Agent emotions": [{"emotion": "Patience", "duration": 0, "proportion": 100}],
    "Sentiment Ratio": {"positive": 28, "neutral": 50, "negative": 22},
    "Metrics": [
        {
            "Metric ID": "em-598f22b2cac6e",
            "Metric Name": "Agent Rude",
            "Metric Weight": 3,
            "Metric Negative Weight": 10,
            "Qualification": "YES",
            "isFatalError": False,
            "triggerJustification": [],
            "justification": [
                {
                    "message_id": ["ms-ae818432c6d4c"],
                    "timestamp": [1777726914000],
                    "justification": "The representative stays polite and helpful throughout the interaction.",
                }
            ],
            "Auditor Response": None,
        }
    ],
    "Pass Score": 40,
    "IsPassed": False,
    "Evaluation Form Name": "Dyn Batching EV",
    "Evaluation Form Scoring Type": "percentage",
    "Generated Intents": [
        {
            "emotions": ["Happy"],
            "intent": "Check the current bank interest rate on the user's account",
            "keywords": ["bank", "interest rate"],
            "Sentiment": "positive",
            "Sentiment Score": 8,
        }
    ],
    "custom_fields": {"CallType": "CLINumber", "Region": "US"},
    "Configured_Intents": {
        "topics": [
            {
                "topic_name": "Core Banking Inquiry",
                "level": "L1",
                "confidence_score": 0.95,
                "L2_topics": [
                    {
                        "topic_name": "Account Details",
                        "confidence_score": 0.9,
                        "L3_topics": [
                            {
                                "topic_name": "Get Interest Rate on Account",
                                "confidence_score": 0.95,
                                "sentiment": 8,
                                "resolution": 1,
                            }
                        ],
                    }
                ],
            }
        ],
        "total_topics_identified": 1,
    },
}
_SAMPLE_RESULT_VALUES = {
    **SAMPLE_CONTACT,
    "is_direction_defaulted": False,
    "agentRecordings": ["https://analytics.example.com/api/v1/recordings/c-de2dd02c/download?channel=agent"],
    "customerRecordings": ["https://analytics.example.com/api/v1/recordings/c-de2dd02c/download?channel=customer"],
}
SAMPLE_RESULT = {key: _SAMPLE_RESULT_VALUES[key] for key in RESULT_KEY_ORDER if key in _SAMPLE_RESULT_VALUES}

RAWDATA_REQUEST_EXAMPLES = [
    OpenApiExample(
        "First page of a day",
        value={"offset": 0, "startDate": "2026-03-23 10:17:54", "endDate": "2026-03-23 23:00:35", "limit": 5,
               "page": 1, "contact_direction": "inbound"},
        request_only=True,
    ),
    OpenApiExample(
        "Filtered by custom fields, below-threshold contacts included",
        value={"offset": 0, "startDate": "2026-05-01T00:00:00Z", "endDate": "2026-05-31T23:59:59.999Z",
               "limit": 100, "page": 3, "include_below_threshold": True,
               "custom_fields": {"Region": ["US", "UK"], "CallType": "CLINumber"}},
        request_only=True,
    ),
]
RAWDATA_RESPONSE_EXAMPLE = OpenApiExample(
    "A page",
    value={"results": [SAMPLE_RESULT], "totalResults": 191, "hasMore": True, "totalPages": 96},
    response_only=True,
    status_codes=["200"],
)

RAWDATA_ERRORS = {
    400: error_response(
        "Invalid request: every problem listed, each naming its field.",
        ("Missing header and bad paging", [
            {"msg": "The orgId header is required.", "code": "missing_header", "field": "orgId"},
            {"msg": "offset is required: the number of records to skip (0 or more).", "code": "required",
             "field": "offset"},
            {"msg": f"limit must be an integer from 1 to {MAX_LIMIT}.", "code": "out_of_range", "field": "limit"},
        ]),
    ),
    403: error_response(
        "The token lacks the `qualityai.analytics` scope, or the headers name another account or org.",
        ("Another org", {"msg": "This API client is not allowed to access org 'o-1234'.",
                         "code": "org_forbidden", "field": "orgId"}),
    ),
    404: error_response(
        "The stream is not a bot/app of the account.",
        ("Unknown stream", {"msg": "No bot or app 'st-1234' in this account.", "code": "not_found",
                            "field": "streamId"}),
    ),
}


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": [NOT_EVALUATED]}]})
class _Score(serializers.Field):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {}})
class _AnyObject(serializers.Field):
    pass


@extend_schema_field({"type": "array", "items": {}})
class _AnyList(serializers.Field):
    pass


def _result_fields() -> dict[str, serializers.Field]:
    """Every documented key of a result, by the type ingestion checks it has.

    A key ingestion checks keeps that type (or null); the items of lists and the members of objects
    are returned as they were ingested, so they are declared free-form.
    """
    ingested = ContactRecordSerializer().get_fields()
    always = {
        "Conversation ID": serializers.CharField(),
        "Conversation Start Time": serializers.DateTimeField(help_text="UTC, milliseconds and Z"),
        "Conversation End Time": serializers.DateTimeField(allow_null=True, help_text="UTC; null when unknown"),
        "Duration": serializers.CharField(allow_null=True, help_text='"<ms> milliseconds"; null when unknown'),
        "contactDirection": serializers.ChoiceField(choices=["inbound", "outbound"]),
        "is_direction_defaulted": serializers.BooleanField(
            help_text="True when no direction was ingested and inbound was inferred"
        ),
        "duration_status": serializers.ChoiceField(choices=DurationStatus.values),
        "Kore Evaluation Score": _Score(help_text=f'A number, or "{NOT_EVALUATED}" when not evaluated'),
        "Audit Date": serializers.DateTimeField(allow_null=True, help_text="UTC; null until audited"),
    }
    optional = {
        "customConversationId": serializers.CharField(required=False, help_text="Only when it was set"),
        "Audit Score": serializers.FloatField(required=False, help_text="Only once the audit is complete"),
        "agentRecordings": serializers.ListField(
            child=serializers.URLField(), required=False, help_text="Download links of the agent channel"
        ),
        "customerRecordings": serializers.ListField(
            child=serializers.URLField(), required=False, help_text="Download links of the customer channel"
        ),
    }
    # Optional, and null when ingested as null (fields are copied from their arguments: pass them).
    kinds: dict[str, type[serializers.Field]] = {
        "StrictString": serializers.CharField,
        "StrictNumber": serializers.FloatField,
        "StrictBoolean": serializers.BooleanField,
        "StrictList": _AnyList,
        "StrictObject": _AnyObject,
        "CustomFieldsValues": _AnyObject,
    }
    fields: dict[str, serializers.Field] = {}
    for key in RESULT_KEY_ORDER:
        if key in always:
            fields[key] = always[key]
        elif key in optional:
            fields[key] = optional[key]
        else:
            fields[key] = kinds[type(ingested[key]).__name__](required=False, allow_null=True)
    return fields


RAWDATA_RESPONSE = inline_serializer(
    "RawdataPage",
    {
        "results": inline_serializer(
            "RawdataResult", _result_fields(), many=True, help_text="Contacts in the documented result shape"
        ),
        "totalResults": serializers.IntegerField(help_text="Every contact matching the request"),
        "hasMore": serializers.BooleanField(help_text="Whether a contact follows this page"),
        "totalPages": serializers.IntegerField(help_text="ceil(totalResults / limit)"),
    },
)

INGEST_REQUEST_EXAMPLES = [
    OpenApiExample("Two contacts", value={"records": [
        {key: value for key, value in SAMPLE_CONTACT.items() if key != "duration_status"},
        {"Conversation ID": "c-775ad2c0-1f3e-4b55-9a0c-5e4d3f74d18c",
         "Conversation Start Time": "2026-05-02T18:31:34+05:30", "Duration": 7000,
         "Kore Evaluation Score": "NA", "custom_fields": {"Region": "UK", "Priority": 2}},
    ]}, request_only=True),
]
INGEST_RESPONSE_EXAMPLES = [
    OpenApiExample(
        "One stored, one rejected",
        value={"created": 1, "updated": 0, "rejected": [{"index": 1, "errors": [
            {"msg": "Conversation Start Time has no time zone: add Z (UTC) or an explicit offset such as +05:30.",
             "code": "invalid", "field": "Conversation Start Time"},
            {"msg": "contactDirection must be inbound or outbound.", "code": "invalid_choice",
             "field": "contactDirection"},
        ]}]},
        response_only=True,
        status_codes=["200"],
    ),
]
INGEST_ERRORS = {
    400: error_response(
        f"The body is not a batch of 1 to {MAX_BATCH:,} records (invalid records are answered in the 200's "
        "`rejected`).",
        ("Empty batch", {"msg": "Send at least one record.", "code": "empty", "field": "records"}),
    ),
    404: RAWDATA_ERRORS[404],
    503: error_response(
        "Nothing was stored. `conflict_retry`: a concurrent request was writing the same records and won; "
        "send the batch again after the Retry-After seconds (storing it twice is harmless). "
        "`dependency_unavailable`: the database is down.",
        ("Write conflict", [{
            "msg": "Another request was writing the same records at the same moment; nothing of this request "
            "was stored. Send it again (after 1 second).",
            "code": "conflict_retry",
        }]),
    ),
}

RAWDATA: dict[str, Any] = {
    "operation_id": "rawdata",
    "tag": Tag.QUALITY_AI,
    "scope": Scope.QUALITYAI.value,
    "summary": "Quality AI raw data of a stream",
    "description": RAWDATA_DESCRIPTION,
    "parameters": [STREAM_ID, *HEADERS],
    "request": RawdataQuerySerializer,
    "responses": {200: RAWDATA_RESPONSE, **RAWDATA_ERRORS},
    "examples": [*RAWDATA_REQUEST_EXAMPLES, RAWDATA_RESPONSE_EXAMPLE],
}

INGEST_CONTACTS: dict[str, Any] = {
    "operation_id": "ingestContacts",
    "tag": Tag.INGESTION,
    "scope": Scope.INGEST.value,
    "summary": "Ingest Quality AI contacts of a stream",
    "description": INGEST_DESCRIPTION,
    "parameters": [STREAM_ID],
    "request": inline_serializer("ContactBatch", {"records": ContactRecordSerializer(many=True)}),
    "responses": {200: IngestResultSerializer, **INGEST_ERRORS},
    "examples": [*INGEST_REQUEST_EXAMPLES, *INGEST_RESPONSE_EXAMPLES],
}
