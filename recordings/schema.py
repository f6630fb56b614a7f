"""OpenAPI descriptions and examples of the recordings endpoints (``extend_schema`` keyword sets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from recordings.models import STATE_MESSAGES, RecordingState
from recordings.serializers import AUDIT_LIMIT_MESSAGE, AuditPageOut, RecordingOut, RetentionIn, RetentionOut

TAGS = ["recordings"]
SETTINGS_TAGS = ["settings"]

ERROR_ENVELOPE = inline_serializer(
    "RecordingsErrorEnvelope",
    {
        "errors": inline_serializer(
            "RecordingsErrorItem",
            {
                "msg": serializers.CharField(),
                "code": serializers.CharField(),
                "field": serializers.CharField(required=False),
            },
            many=True,
        )
    },
)


def _error(description: str, status: int, *examples: tuple[str, dict[str, str]]) -> OpenApiResponse:
    return OpenApiResponse(
        ERROR_ENVELOPE,
        description=description,
        examples=[
            OpenApiExample(name, value={"errors": [item]}, response_only=True, status_codes=[str(status)])
            for name, item in examples
        ],
    )


CONVERSATION_ID = OpenApiParameter(
    "conversationId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The conversation's id."
)
_BASE = "https://analytics.example.com/api/v1/recordings/c-91b7e2f0"
_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

UNAUTHORIZED = _error(
    "Missing or invalid token.",
    401,
    ("Expired token", {"msg": "The token has expired: mint a new one.", "code": "invalid_token"}),
)
FORBIDDEN_RECORDINGS = _error(
    "The API client lacks the recordings scope.",
    403,
    ("Missing scope", {"msg": "This API client lacks the scope 'recordings'.", "code": "permission_denied"}),
)
FORBIDDEN_ADMIN = _error(
    "The API client lacks the account.admin scope.",
    403,
    ("Missing scope", {"msg": "This API client lacks the scope 'account.admin'.", "code": "permission_denied"}),
)
NOT_FOUND = _error(
    "No recording for this conversation in the caller's account (another account's is 404 too).",
    404,
    (
        "Unknown conversation",
        {
            "msg": "No recording for conversation 'c-91b7e2f0' in this account.",
            "code": "not_found",
            "field": "conversationId",
        },
    ),
)


def _recording_example(name: str, state: str, files: list[dict[str, Any]], **extra: Any) -> OpenApiExample:
    value = {
        "conversationId": "c-91b7e2f0",
        "state": state,
        "message": STATE_MESSAGES[state],
        "files": files,
        "deleteAfter": "2026-08-01T10:42:00.000Z",
        **extra,
    }
    return OpenApiExample(name, value=value, response_only=True)


_FILES = [
    {
        "channel": "agent",
        "format": "flac",
        "sizeBytes": 1843200,
        "sha256": _SHA,
        "downloadUrl": f"{_BASE}/download?channel=agent",
    },
    {
        "channel": "customer",
        "format": "flac",
        "sizeBytes": 1796112,
        "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "downloadUrl": f"{_BASE}/download?channel=customer",
    },
]

_STATES_TEXT = "\n".join(f"- `{state}`: {message}" for state, message in STATE_MESSAGES.items())

RECORDING_DETAIL: dict[str, Any] = {
    "summary": "State and files of a conversation's recording",
    "description": (
        "The recording of a voice conversation whose ingested record carried `recordingSources`. "
        "It is fetched from the recording server 10 minutes after the call ended; a failed fetch is "
        "retried automatically once, 24 hours later, and by a user at any time (POST `.../retry`). "
        "`message` is the documented text of `state`:\n\n"
        f"{_STATES_TEXT}\n\n"
        "`files` lists the stored files (one per channel and source: `agent`, `customer` or `mixed`) "
        "with their size, SHA-256 and download address. `deleteAfter` is when the account's retention "
        "period ends (null: kept forever); a deleted recording has `state` `deleted`, no files and "
        "`deletedAt`."
    ),
    "parameters": [CONVERSATION_ID],
    "responses": {200: RecordingOut, 401: UNAUTHORIZED, 403: FORBIDDEN_RECORDINGS, 404: NOT_FOUND},
    "examples": [
        _recording_example("Available, one file per party", RecordingState.AVAILABLE, _FILES),
        _recording_example("First fetch failed", RecordingState.INITIAL_FETCH_FAILED, []),
        _recording_example("Call still in progress", RecordingState.CALL_IN_PROGRESS, [], deleteAfter=None),
        _recording_example(
            "Deleted by retention", RecordingState.DELETED, [], deleteAfter=None,
            deletedAt="2026-08-01T00:05:00.000Z",
        ),
    ],
    "tags": TAGS,
}

RECORDING_DOWNLOAD: dict[str, Any] = {
    "summary": "Download a recording as FLAC",
    "description": (
        "The audio of one stored file as `audio/flac` with a `.flac` attachment file name. From the "
        "local filesystem it is streamed (header `Repr-Digest` carries its SHA-256); from S3 the answer "
        "is a 302 redirect to a short-lived presigned address. Without `channel`, the `mixed` file is "
        "served, or the only file; a recording with separate files needs `channel`. `part` picks the "
        "n-th file of a channel when a call has several (e.g. after a transfer). A recording deleted "
        "by the retention policy answers **410** with the documented message; one that is not "
        "available yet answers **409** with its state's message."
    ),
    "parameters": [
        CONVERSATION_ID,
        OpenApiParameter("channel", OpenApiTypes.STR, enum=["mixed", "agent", "customer"], required=False),
        OpenApiParameter("part", OpenApiTypes.INT, required=False, description="1-based; default 1."),
    ],
    "responses": {
        (200, "audio/flac"): OpenApiResponse(OpenApiTypes.BINARY, description="The FLAC audio."),
        302: OpenApiResponse(description="Redirect to a presigned S3 address (S3 storage)."),
        400: _error(
            "Bad query, or a channel is needed.",
            400,
            (
                "Channel needed",
                {
                    "msg": "This recording has separate files: choose a channel (agent, customer).",
                    "code": "required",
                    "field": "channel",
                },
            ),
        ),
        401: UNAUTHORIZED,
        403: FORBIDDEN_RECORDINGS,
        404: NOT_FOUND,
        409: _error(
            "Nothing stored yet.",
            409,
            (
                "Still fetching",
                {
                    "msg": "The recording is not available for download (fetching_in_progress): "
                    + STATE_MESSAGES[RecordingState.FETCHING_IN_PROGRESS],
                    "code": "recording_not_available",
                },
            ),
        ),
        410: _error(
            "Deleted by the account's retention policy.",
            410,
            ("Deleted", {"msg": STATE_MESSAGES[RecordingState.DELETED], "code": "recording_deleted"}),
        ),
    },
    "tags": TAGS,
}

RECORDING_RETRY: dict[str, Any] = {
    "summary": "Retry fetching a failed recording",
    "description": (
        "Queues every failed file of the recording for an immediate fetch (the user's Retry) and "
        "answers 202 with the recording, now `fetching_in_progress`. Allowed in the states "
        "`initial_fetch_failed`, `retry_failed`, `24hr_retry_failed`, `partial_download_failed`, "
        "`partial_upload_failed`, `partial_failed` and `failed`; any other state is 409. A failed "
        "user retry ends in `retry_failed` and leaves a pending automatic 24-hour retry in place."
    ),
    "parameters": [CONVERSATION_ID],
    "request": None,
    "responses": {
        202: RecordingOut,
        401: UNAUTHORIZED,
        403: FORBIDDEN_RECORDINGS,
        404: NOT_FOUND,
        409: _error(
            "The recording is not in a failed state.",
            409,
            (
                "Already available",
                {
                    "msg": "Only a failed recording can be retried; this one is available: "
                    + STATE_MESSAGES[RecordingState.AVAILABLE],
                    "code": "recording_not_retryable",
                },
            ),
        ),
    },
    "examples": [
        _recording_example("Queued", RecordingState.FETCHING_IN_PROGRESS, []),
    ],
    "tags": TAGS,
}

_RETENTION_EXAMPLE = {
    "retentionDays": 90,
    "notifyCustomers": True,
    "notificationEmail": "privacy@example.com",
    "updatedAt": "2026-05-02T09:15:00.000Z",
}

RETENTION_GET: dict[str, Any] = {
    "summary": "Recording retention settings",
    "description": (
        "The account's recording retention period in days after the call (null: recordings are "
        "kept forever, the default) and whether a notice is e-mailed 7 days before deletion and a "
        "confirmation after it. Requires the `account.admin` scope."
    ),
    "responses": {200: RetentionOut, 401: UNAUTHORIZED, 403: FORBIDDEN_ADMIN},
    "examples": [OpenApiExample("90 days, notify", value=_RETENTION_EXAMPLE, response_only=True)],
    "tags": SETTINGS_TAGS,
}

RETENTION_PUT: dict[str, Any] = {
    "summary": "Set the recording retention settings",
    "description": (
        "Replaces the settings; every change is written to the audit log with the calling client. "
        "A daily job then e-mails opted-in notices 7 days before a recording expires, deletes "
        "expired recordings from storage (for an opted-in account never sooner than 7 days after "
        "the notice) and confirms each deletion. `notificationEmail` is required when "
        "`notifyCustomers` is true. Requires the `account.admin` scope."
    ),
    "request": RetentionIn,
    "responses": {
        200: RetentionOut,
        400: _error(
            "Invalid settings (every problem listed).",
            400,
            (
                "Address missing",
                {
                    "msg": "A notificationEmail is required when notifyCustomers is true.",
                    "code": "required",
                    "field": "notificationEmail",
                },
            ),
        ),
        401: UNAUTHORIZED,
        403: FORBIDDEN_ADMIN,
    },
    "examples": [
        OpenApiExample(
            "90 days, notify",
            value={"retentionDays": 90, "notifyCustomers": True, "notificationEmail": "privacy@example.com"},
            request_only=True,
        ),
        OpenApiExample(
            "Keep forever", value={"retentionDays": None, "notifyCustomers": False}, request_only=True
        ),
        OpenApiExample("Saved", value=_RETENTION_EXAMPLE, response_only=True),
    ],
    "tags": SETTINGS_TAGS,
}

AUDIT_LOG: dict[str, Any] = {
    "summary": "Audit log of retention changes, notices and deletions",
    "description": (
        "Append-only, newest first: retention setting changes (with before/after and the client or "
        "admin user), deletion notices, deletions and deletion confirmations (by `system`). Page "
        "with `offset` (entries to skip) and `limit` (1–100, default 50); `hasMore` says whether "
        "entries follow. Requires the `account.admin` scope."
    ),
    "parameters": [
        OpenApiParameter(
            "offset", OpenApiTypes.INT, required=False, description="Entries to skip, 0 to 1,000,000,000; default 0."
        ),
        OpenApiParameter("limit", OpenApiTypes.INT, required=False, description="1–100; default 50."),
    ],
    "responses": {
        200: AuditPageOut,
        400: _error(
            "Bad paging.",
            400,
            ("Limit too high", {"msg": AUDIT_LIMIT_MESSAGE, "code": "out_of_range", "field": "limit"}),
        ),
        401: UNAUTHORIZED,
        403: FORBIDDEN_ADMIN,
    },
    "examples": [
        OpenApiExample(
            "A page",
            value={
                "numResults": 2,
                "hasMore": True,
                "data": [
                    {
                        "id": 42,
                        "at": "2026-08-01T00:05:00.000Z",
                        "actor": "system",
                        "action": "recording_deleted",
                        "conversationId": "c-91b7e2f0",
                        "details": {"retentionDays": 90},
                    },
                    {
                        "id": 41,
                        "at": "2026-05-02T09:15:00.000Z",
                        "actor": "client:cs-5f0c7a47-2d1e-4c43-9c59-2b6f4a8f1e3d",
                        "action": "retention_changed",
                        "conversationId": "",
                        "details": {
                            "before": {"retentionDays": None, "notifyCustomers": False, "notificationEmail": ""},
                            "after": {"retentionDays": 90, "notifyCustomers": True,
                                      "notificationEmail": "privacy@example.com"},
                        },
                    },
                ],
            },
            response_only=True,
        )
    ],
    "tags": SETTINGS_TAGS,
}
