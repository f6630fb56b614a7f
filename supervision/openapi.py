"""OpenAPI descriptions and examples of the supervisor endpoints (``api_operation`` keyword sets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from supervision.actors import ACTING_USER_HEADER, ACTING_USER_MESSAGE
from supervision.dispositions import IN_PROGRESS_MESSAGE
from supervision.erasure import MAX_ERASED_CONVERSATIONS
from supervision.exports import CONVERSATION_HEADER, TRANSCRIPT_HEADER
from supervision.filters import MAX_FILTERS_PER_OWNER
from supervision.selectors import MAX_LOG_CHANGES
from supervision.serializers import (
    MAX_EXPORT_SESSION_IDS,
    MAX_SELECTED_CONVERSATIONS,
    DispositionsIn,
    ErasureIn,
    FilterIn,
    FilterNameIn,
    FlagIn,
    PrivacyIn,
    SessionIdsIn,
    TranscriptExportIn,
)

_SUPERVISE = {"tag": Tag.SUPERVISION, "scope": Scope.CONVERSATIONS_SUPERVISE.value}
_READ = {"tag": Tag.SUPERVISION, "scope": Scope.CONVERSATIONS_READ.value}
_ADMIN = {"tag": Tag.SETTINGS, "scope": Scope.ADMIN.value}

SESSION_ID = OpenApiParameter("sessionId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The conversation.")
FILTER_ID = OpenApiParameter("filterId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The saved filter's id.")
FLAG_ID = OpenApiParameter("flagId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The flag's id.")
ACTING_USER = OpenApiParameter(
    ACTING_USER_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The person acting through this API client (at most 128 characters); recorded with the action "
    "and, for saved filters, part of the owner.",
)
_ACTING_USER_ERROR = (
    "Acting user too long", {"msg": ACTING_USER_MESSAGE, "code": "invalid", "field": ACTING_USER_HEADER}
)

_ACTING_400 = error_response("Invalid header.", _ACTING_USER_ERROR)
CONVERSATION_NOT_FOUND = error_response(
    "No such conversation in the caller's account (another account's is 404 too).",
    ("Unknown conversation", {"msg": "No conversation 'c-91b7e2f0' in this account.", "code": "not_found",
                              "field": "sessionId"}),
)
FILTER_NOT_FOUND = error_response(
    "No such filter of the caller (another owner's, even in the same account, is 404 too).",
    ("Unknown filter", {"msg": "No saved filter '42' of yours.", "code": "not_found", "field": "id"}),
)

_VALUES = inline_serializer("DispositionValues", {
    "dispositions": serializers.ListField(child=serializers.CharField()), "remarks": serializers.CharField(),
})
_CHANGE_FIELDS = {
    "time": serializers.CharField(help_text="UTC, milliseconds and Z."),
    "client": serializers.CharField(help_text="The API client's id."),
    "actingUser": serializers.CharField(allow_null=True, help_text="X-Acting-User, when sent."),
    "before": _VALUES,
    "after": _VALUES,
}
_CHANGE = {
    "time": "2026-03-02T10:15:00.000Z", "client": "cs-5a1e0b7c-0f47-4c0e-9b8a-0d7a8e4f1c2d",
    "actingUser": "supervisor.jane@example.com",
    "before": {"dispositions": ["Follow-up Needed"], "remarks": ""},
    "after": {"dispositions": ["Resolved"], "remarks": "Refund confirmed by phone."},
}

DISPOSITIONS_PUT: dict[str, Any] = {
    "operation_id": "updateDispositions",
    "summary": "Edit a conversation's dispositions",
    "description": (
        "Replaces the dispositions and remarks of a conversation that has ended (409 while it is in "
        "progress). In one transaction: interactionDetails and calldetails serve the new "
        "`dispositions` and `dispositionRemarks` (`[remarks]`, or `[]`), the conversation reads show "
        "them, a `disposition_updated` event is added to the conversation's events, the change is "
        "logged (GET `.../dispositions/log`) and the conversation's agents are notified through the "
        "account's webhook. Answers the logged change."
    ),
    "parameters": [SESSION_ID, ACTING_USER],
    "request": DispositionsIn,
    "examples": [
        OpenApiExample(
            "New dispositions", value={"dispositions": ["Resolved"], "remarks": "Refund confirmed by phone."},
            request_only=True,
        ),
        OpenApiExample("Logged change", value={"sessionId": "c-91b7e2f0", **_CHANGE}, response_only=True),
    ],
    "responses": {
        200: inline_serializer("DispositionChange", {"sessionId": serializers.CharField(), **_CHANGE_FIELDS}),
        400: error_response(
            "Invalid body or header (every invalid field is listed).",
            ("Not a list", {"msg": "dispositions must be a list of strings.", "code": "invalid",
                            "field": "dispositions"}),
            _ACTING_USER_ERROR,
        ),
        404: CONVERSATION_NOT_FOUND,
        409: error_response(
            "The conversation is still in progress.",
            ("In progress", {"msg": IN_PROGRESS_MESSAGE, "code": "conversation_in_progress"}),
        ),
    },
    **_SUPERVISE,
}

DISPOSITION_LOG: dict[str, Any] = {
    "operation_id": "listDispositionChanges",
    "summary": "The log of a conversation's disposition changes",
    "description": (
        f"Every change, oldest first (at most {MAX_LOG_CHANGES:,}): when, the API client and acting user, and the "
        "values before and after."
    ),
    "parameters": [SESSION_ID],
    "examples": [OpenApiExample("One change", value={"sessionId": "c-91b7e2f0", "changes": [_CHANGE]},
                                response_only=True)],
    "responses": {
        200: inline_serializer("DispositionLog", {
            "sessionId": serializers.CharField(),
            "changes": inline_serializer("DispositionLogChange", _CHANGE_FIELDS, many=True),
        }),
        404: CONVERSATION_NOT_FOUND,
    },
    **_SUPERVISE,
}

_FLAG = {
    "id": "sf-3f9c2a7d1b0e4c55", "reason": "Agent promised a refund outside policy", "source": "supervisor",
    "time": "2026-03-02T10:15:00.000Z",
    "createdBy": {"client": "cs-5a1e0b7c-0f47-4c0e-9b8a-0d7a8e4f1c2d", "actingUser": "supervisor.jane@example.com"},
}

FLAG_ADD: dict[str, Any] = {
    "operation_id": "addFlag",
    "summary": "Flag a conversation for review",
    "description": (
        "Adds a supervisor's flag (`source` `supervisor`, who and when) beside the flags ingested from "
        "an AI review; the conversation is `flagged` from then on (the `flagged` criterion finds it)."
    ),
    "parameters": [SESSION_ID, ACTING_USER],
    "request": FlagIn,
    "examples": [
        OpenApiExample("Reason", value={"reason": "Agent promised a refund outside policy"}, request_only=True),
        OpenApiExample("New flag", value=_FLAG, response_only=True),
    ],
    "responses": {
        201: inline_serializer("SupervisorFlag", {
            "id": serializers.CharField(), "reason": serializers.CharField(), "source": serializers.CharField(),
            "time": serializers.CharField(),
            "createdBy": inline_serializer("FlagCreatedBy", {
                "client": serializers.CharField(), "actingUser": serializers.CharField(allow_null=True),
            }),
        }),
        400: error_response(
            "Invalid body or header.",
            ("No reason", {"msg": "reason is required.", "code": "required", "field": "reason"}),
            _ACTING_USER_ERROR,
        ),
        404: CONVERSATION_NOT_FOUND,
    },
    **_SUPERVISE,
}

FLAG_REMOVE: dict[str, Any] = {
    "operation_id": "removeFlag",
    "summary": "Remove a flag",
    "description": (
        "Removes one flag (a supervisor's or an AI review's) and writes the removal to the account's "
        "audit log (who, when, the flag); `flagged` turns false with the last flag."
    ),
    "parameters": [SESSION_ID, FLAG_ID, ACTING_USER],
    "responses": {
        204: OpenApiResponse(description="Removed."),
        400: error_response("Invalid header.", _ACTING_USER_ERROR),
        404: error_response(
            "Unknown conversation, or no such flag on it.",
            ("Unknown flag", {"msg": "The conversation has no flag 'sf-0'.", "code": "not_found", "field": "flagId"}),
        ),
    },
    **_SUPERVISE,
}

_ERASED = {
    "interactions": 1, "conversations": 1, "transcripts": 1, "events": 1, "voiceTurns": 0,
    "diagnostics": 1, "dispositionChanges": 0,
    "qaContacts": 1, "searchEntries": 14, "recordings": 1, "recordingFiles": 2, "storedObjects": 2,
}

CONVERSATION_DELETE: dict[str, Any] = {
    "operation_id": "deleteConversation",
    "summary": "Delete a conversation",
    "description": (
        "Erases the conversation in one audited operation: its interaction record, its content "
        "(transcript, events, voice turns), its disposition log, its Quality AI contacts, its "
        "recordings with their stored objects (filesystem or S3) and its search entries. An entry in "
        "the account's audit log (`conversation_deleted`, with what was erased) and a tombstone in the "
        "change feed remain. Afterwards every endpoint answers 404 for it. When storage cannot remove "
        "an object, nothing is erased and the answer is 503: send it again."
    ),
    "parameters": [SESSION_ID, ACTING_USER],
    "responses": {
        204: OpenApiResponse(description="Erased."),
        400: error_response("Invalid header.", _ACTING_USER_ERROR),
        404: CONVERSATION_NOT_FOUND,
    },
    **_SUPERVISE,
}

ERASURE_CREATE: dict[str, Any] = {
    "operation_id": "eraseCustomer",
    "summary": "Erase every conversation of a customer (GDPR)",
    "description": (
        "Finds the customer's conversations by exactly one of `phone`, `email` (as stored in the "
        "conversation's customer info, metaInfo, caller/callee or channel user id) or `userId` (the "
        "internal user id) and erases each as `DELETE /api/v1/conversations/{sessionId}` does, in one "
        "audited operation (`customer_erased`; the entry names how the customer was given, not the "
        f"value). Answers what was erased. At most {MAX_ERASED_CONVERSATIONS:,} conversations per request: `more` "
        "true says some remain — send the same request again. Safe to retry: a customer with nothing "
        "left answers empty counts."
    ),
    "parameters": [ACTING_USER],
    "request": ErasureIn,
    "examples": [
        OpenApiExample("By e-mail", value={"customer": {"email": "jane.doe@example.com"}}, request_only=True),
        OpenApiExample("By phone", value={"customer": {"phone": "+15555550123"}}, request_only=True),
        OpenApiExample("Erased", value={
            "customerBy": "email", "sessionIds": ["c-91b7e2f0"], "erased": _ERASED, "auditId": 118, "more": False,
        }, response_only=True),
    ],
    "responses": {
        200: inline_serializer("Erasure", {
            "customerBy": serializers.ChoiceField(choices=["phone", "email", "userId"]),
            "sessionIds": serializers.ListField(child=serializers.CharField()),
            "erased": serializers.DictField(child=serializers.IntegerField()),
            "auditId": serializers.IntegerField(),
            "more": serializers.BooleanField(),
        }),
        400: error_response(
            "Invalid body.",
            ("Two keys", {"msg": "customer must name exactly one of phone, email or userId.", "code": "invalid",
                          "field": "customer"}),
        ),
    },
    **_SUPERVISE,
}

_PRIVACY_OUT = inline_serializer("PrivacySettings", {
    "obscureCustomerInfo": serializers.BooleanField(),
    "updatedAt": serializers.CharField(allow_null=True),
})
_PRIVACY_EXAMPLE = OpenApiExample(
    "Obscured", value={"obscureCustomerInfo": True, "updatedAt": "2026-03-02T10:15:00.000Z"}, response_only=True
)
_MASKING = (
    "While `obscureCustomerInfo` is true, customer e-mail addresses and phone numbers are replaced "
    "by the conversation's internal user id (`userId`) wherever they would leave the service: "
    "interactionDetails and calldetails (`customerinfo`, `metaInfo`, `channelSpecificUserId`), the "
    "conversation query and detail endpoints, transcripts and their e-mail headers, every export and "
    "the change feed. Agents' addresses are not masked."
)

PRIVACY_GET: dict[str, Any] = {
    "operation_id": "getPrivacySettings",
    "summary": "The account's privacy settings",
    "description": _MASKING,
    "examples": [_PRIVACY_EXAMPLE],
    "responses": {200: _PRIVACY_OUT},
    **_ADMIN,
}

PRIVACY_PUT: dict[str, Any] = {
    "operation_id": "updatePrivacySettings",
    "summary": "Obscure customer info, or stop",
    "description": _MASKING + " A change is written to the audit log (`privacy_changed`, before and after).",
    "parameters": [ACTING_USER],
    "request": PrivacyIn,
    "examples": [OpenApiExample("Switch on", value={"obscureCustomerInfo": True}, request_only=True),
                 _PRIVACY_EXAMPLE],
    "responses": {
        200: _PRIVACY_OUT,
        400: error_response(
            "Invalid body.",
            ("Not a boolean", {"msg": "obscureCustomerInfo must be true or false.", "code": "invalid",
                               "field": "obscureCustomerInfo"}),
        ),
    },
    **_ADMIN,
}

_FILTER_OUT = inline_serializer("SavedFilter", {
    "id": serializers.IntegerField(), "name": serializers.CharField(),
    "criteria": serializers.DictField(), "isDefault": serializers.BooleanField(),
})
_CRITERIA = {
    "channels": ["voice"], "status": ["completed"], "flagged": True,
    "customTags": [{"tag": "plan", "predicate": "CONTAINS", "value": "gold"}],
}
_FILTER = {"id": 42, "name": "Flagged gold calls", "criteria": _CRITERIA, "isDefault": False}
_OWNER = (
    "A filter belongs to its owner: the API client and the `X-Acting-User` header (none is an owner "
    "too). Another owner's filter, in the same account or not, is 404."
)
_NAME_TAKEN = error_response(
    "The owner already has a filter of that name, or already keeps the most filters one may.",
    ("Name taken", {"msg": "You already have a filter named 'Flagged gold calls'.", "code": "duplicate_name",
                    "field": "name"}),
    ("Too many", {"msg": f"You have {MAX_FILTERS_PER_OWNER} saved filters, the most one may keep: delete one first.",
                  "code": "too_many"}),
)
_FILTER_400 = error_response(
    "Invalid body (every invalid field is listed, criteria by name).",
    ("Too many clauses", {"msg": "customTags may hold at most 5 clauses (all of them must hold).",
                          "code": "too_many", "field": "criteria.customTags"}),
)

FILTERS_LIST: dict[str, Any] = {
    "operation_id": "listFilters",
    "summary": "The caller's saved filters",
    "description": f"By name; an owner keeps at most {MAX_FILTERS_PER_OWNER} filters, so the list is never paged. "
    + _OWNER,
    "parameters": [ACTING_USER],
    "examples": [OpenApiExample("Two", value={"filters": [_FILTER, {**_FILTER, "id": 43, "name": "Mine",
                                                                    "isDefault": True}]}, response_only=True)],
    "responses": {
        200: inline_serializer("SavedFilters", {"filters": _FILTER_OUT.__class__(many=True)}), 400: _ACTING_400,
    },
    **_SUPERVISE,
}

FILTER_CREATE: dict[str, Any] = {
    "operation_id": "createFilter",
    "summary": "Save a filter",
    "description": (
        "Saves named criteria, checked as the query endpoint checks its `filters`. Names are unique per "
        f"owner (409 otherwise); at most {MAX_FILTERS_PER_OWNER} per owner. Apply it with `filterId` in the "
        "query and export endpoints. " + _OWNER
    ),
    "parameters": [ACTING_USER],
    "request": FilterIn,
    "examples": [OpenApiExample("New", value={"name": "Flagged gold calls", "criteria": _CRITERIA},
                                request_only=True),
                 OpenApiExample("Saved", value=_FILTER, response_only=True)],
    "responses": {201: _FILTER_OUT, 400: _FILTER_400, 409: _NAME_TAKEN},
    **_SUPERVISE,
}

FILTER_GET: dict[str, Any] = {
    "operation_id": "getFilter",
    "summary": "One saved filter",
    "description": _OWNER,
    "parameters": [FILTER_ID, ACTING_USER],
    "examples": [OpenApiExample("Saved", value=_FILTER, response_only=True)],
    "responses": {200: _FILTER_OUT, 400: _ACTING_400, 404: FILTER_NOT_FOUND},
    **_SUPERVISE,
}

FILTER_UPDATE: dict[str, Any] = {
    "operation_id": "updateFilter",
    "summary": "Edit a saved filter",
    "description": "Replaces its name and criteria (the default mark stays). " + _OWNER,
    "parameters": [FILTER_ID, ACTING_USER],
    "request": FilterIn,
    "examples": [OpenApiExample("Renamed", value={"name": "Gold calls", "criteria": _CRITERIA}, request_only=True),
                 OpenApiExample("Saved", value={**_FILTER, "name": "Gold calls"}, response_only=True)],
    "responses": {200: _FILTER_OUT, 400: _FILTER_400, 404: FILTER_NOT_FOUND, 409: _NAME_TAKEN},
    **_SUPERVISE,
}

FILTER_DELETE: dict[str, Any] = {
    "operation_id": "deleteFilter",
    "summary": "Delete a saved filter",
    "description": _OWNER,
    "parameters": [FILTER_ID, ACTING_USER],
    "responses": {204: OpenApiResponse(description="Deleted."), 400: _ACTING_400, 404: FILTER_NOT_FOUND},
    **_SUPERVISE,
}

FILTER_DUPLICATE: dict[str, Any] = {
    "operation_id": "duplicateFilter",
    "summary": "Copy a saved filter under a new name",
    "description": "The copy has the same criteria and is not the default. " + _OWNER,
    "parameters": [FILTER_ID, ACTING_USER],
    "request": FilterNameIn,
    "examples": [OpenApiExample("Copy", value={"name": "Flagged gold calls (copy)"}, request_only=True),
                 OpenApiExample("Copied", value={**_FILTER, "id": 44, "name": "Flagged gold calls (copy)"},
                                response_only=True)],
    "responses": {201: _FILTER_OUT, 400: _FILTER_400, 404: FILTER_NOT_FOUND, 409: _NAME_TAKEN},
    **_SUPERVISE,
}

FILTER_DEFAULT: dict[str, Any] = {
    "operation_id": "setDefaultFilter",
    "summary": "Make a saved filter the default",
    "description": "One default per owner: the previous default stops being one. " + _OWNER,
    "parameters": [FILTER_ID, ACTING_USER],
    "examples": [OpenApiExample("Default", value={**_FILTER, "isDefault": True}, response_only=True)],
    "responses": {200: _FILTER_OUT, 400: _ACTING_400, 404: FILTER_NOT_FOUND},
    **_SUPERVISE,
}

TRANSCRIPTS_EXPORT: dict[str, Any] = {
    "operation_id": "exportTranscripts",
    "summary": "Export transcripts as a zip",
    "description": (
        f"A zip named `transcripts-YYYY-MM-DD-HH24-mm-SS.zip` (the UTC time of the export) holding one "
        f"`transcript-<sessionId>.csv` per conversation asked for (1 to {MAX_EXPORT_SESSION_IDS}; more is 400). "
        f"Columns: {', '.join(TRANSCRIPT_HEADER)}. A conversation without a transcript, unknown, or not "
        "the caller's gets a blank file (header row only): the answer never tells them apart. Customer "
        "speech on hold is left out; customer contacts are masked when the account obscures them. "
        "Streamed as it is written."
    ),
    "request": TranscriptExportIn,
    "examples": [OpenApiExample("Two conversations", value={"sessionIds": ["c-91b7e2f0", "c-5d0e77aa"]},
                                request_only=True)],
    "responses": {
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip, as an attachment."),
        400: error_response(
            "Invalid body.",
            ("Too many", {"msg": f"sessionIds holds at most {MAX_EXPORT_SESSION_IDS} conversations per export.",
                          "code": "too_many", "field": "sessionIds"}),
        ),
    },
    **_READ,
}

CONVERSATIONS_EXPORT: dict[str, Any] = {
    "operation_id": "exportConversations",
    "summary": "Export conversation data as CSV",
    "description": (
        f"The rows of the selected conversations (1 to {MAX_SELECTED_CONVERSATIONS:,} `sessionIds`; others' and "
        "unknown ones are left out), or of every conversation a query body selects (`startDate`, `endDate`, "
        "`filters`, `filterId` as `POST /api/v1/conversations/query` takes them; `q` is refused), as CSV, in "
        "start order, streamed in constant memory. Columns: "
        f"{', '.join(CONVERSATION_HEADER)}. Customer phone and e-mail are masked when the account "
        "obscures customer info."
    ),
    "request": SessionIdsIn,
    "parameters": [ACTING_USER],
    "examples": [
        OpenApiExample("Selected", value={"sessionIds": ["c-91b7e2f0", "c-5d0e77aa"]}, request_only=True),
        OpenApiExample("A query", value={"startDate": "2025-09-24", "endDate": "2025-09-30", "filterId": 42,
                                         "filters": {"channels": ["voice"]}}, request_only=True),
    ],
    "responses": {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV, as an attachment."),
        404: error_response(
            "filterId names no saved filter of the caller.",
            ("Unknown filter", {"msg": "No saved filter '42' of yours.", "code": "not_found", "field": "filterId"}),
        ),
        400: error_response(
            "Invalid body.",
            ("Empty", {"msg": "sessionIds must name at least one conversation.", "code": "invalid",
                       "field": "sessionIds"}),
        ),
    },
    **_READ,
}
