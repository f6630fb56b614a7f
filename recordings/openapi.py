"""OpenAPI descriptions and examples of the recordings endpoints (``api_operation`` keyword sets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from recordings.models import STATE_MESSAGES, RecordingState
from recordings.outbound import PRIVATE_HOST
from recordings.retention import NOTICE_AHEAD
from recordings.serializers import (
    AUDIT_LIMIT_DEFAULT,
    AUDIT_LIMIT_MESSAGE,
    MAX_AUDIT_LIMIT,
    MAX_AUDIT_OFFSET,
    AuditPageOut,
    RecordingOut,
    RetentionIn,
    RetentionOut,
)
from recordings.services import AUTO_RETRY_DELAY, FIRST_ATTEMPT_DELAY
from recordings.storage import CONTENT_TYPE


def _minutes(delay: timedelta) -> int:
    return int(delay.total_seconds() // 60)


def _hours(delay: timedelta) -> int:
    return int(delay.total_seconds() // 3600)


_RECORDINGS = {"tag": Tag.RECORDINGS, "scope": Scope.RECORDINGS.value}
_SETTINGS = {"tag": Tag.SETTINGS, "scope": Scope.ADMIN.value}

CONVERSATION_ID = OpenApiParameter(
    "conversationId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The conversation's id."
)
_BASE = "https://analytics.example.com/api/v1/recordings/c-91b7e2f0"
_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

NOT_FOUND = error_response(
    "No recording for this conversation in the caller's account (another account's is 404 too).",
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
        "failures": [],
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
    "operation_id": "getRecording",
    "summary": "State and files of a conversation's recording",
    "description": (
        "The recording of a voice conversation whose ingested record carried `recordingSources`. "
        f"It is fetched from the recording server {_minutes(FIRST_ATTEMPT_DELAY)} minutes after the call ended; "
        f"a failed fetch is retried automatically once, {_hours(AUTO_RETRY_DELAY)} hours later, and by a user "
        "at any time (POST `.../retry`). "
        "`message` is the documented text of `state`:\n\n"
        f"{_STATES_TEXT}\n\n"
        "`files` lists the stored files (one per channel and source: `agent`, `customer` or `mixed`) "
        "with their size, SHA-256 and download address; they are FLAC whatever the source's format "
        "(a WAV or MP3 source is transcoded when fetched). `failures` lists each source whose last "
        "attempt failed or was refused, with a `reason` in a sentence. `deleteAfter` is when the account's retention "
        "period ends (null: kept forever); a deleted recording has `state` `deleted`, no files and "
        "`deletedAt`."
    ),
    "parameters": [CONVERSATION_ID],
    "responses": {200: RecordingOut, 404: NOT_FOUND},
    "examples": [
        _recording_example("Available, one file per party", RecordingState.AVAILABLE, _FILES),
        _recording_example("First fetch failed", RecordingState.INITIAL_FETCH_FAILED, []),
        _recording_example(
            "Source refused", RecordingState.MEDIA_UNAVAILABLE, [],
            failures=[{"channel": "mixed", "state": "media_unavailable", "reason": PRIVATE_HOST}],
        ),
        _recording_example("Call still in progress", RecordingState.CALL_IN_PROGRESS, [], deleteAfter=None),
        _recording_example(
            "Deleted by retention", RecordingState.DELETED, [], deleteAfter=None,
            deletedAt="2026-08-01T00:05:00.000Z",
        ),
    ],
    **_RECORDINGS,
}

RECORDING_DOWNLOAD: dict[str, Any] = {
    "operation_id": "downloadRecording",
    # The view forces content negotiation (players send Accept: audio/*): never a 406.
    "negotiated": False,
    "summary": "Download a recording as FLAC",
    "description": (
        "Every file served is FLAC (sources in other formats were transcoded when fetched).\n\n"
        "**Single file** (no `channel`, no `channels`): the conversation's `mixed` file, or its only "
        "file; when it has separate agent and customer files, both joined as one stereo FLAC (agent "
        "left, customer right; named `<conversationId>-stereo.flac`).\n\n"
        "**Separate files**: `channel=agent|customer|mixed` serves that channel's file (`part` picks the "
        "n-th when a call has several, e.g. after a transfer); `channels=agent,customer` answers a zip "
        "(`<conversationId>-channels.zip`) of every file of the chosen channels, each "
        "`<conversationId>-<channel>[-<part>].flac`. A chosen channel without a file is 404.\n\n"
        "A single stored file from the local filesystem is streamed (header `Repr-Digest` carries its "
        "SHA-256); from S3 the answer is a 302 redirect to a short-lived presigned address. A recording "
        "deleted by the retention policy answers **410** with the documented message; one that is not "
        "available yet answers **409** with its state's message."
    ),
    "parameters": [
        CONVERSATION_ID,
        OpenApiParameter("channel", OpenApiTypes.STR, enum=["mixed", "agent", "customer"], required=False),
        OpenApiParameter("part", OpenApiTypes.INT, required=False, description="1-based; default 1."),
        OpenApiParameter(
            "channels", OpenApiTypes.STR, required=False,
            description="Comma-separated channels (`agent`, `customer`, `mixed`): a zip of their files. "
            "Not with `channel` or `part`.",
            examples=[OpenApiExample("Both parties", value="agent,customer")],
        ),
        OpenApiParameter(
            "Repr-Digest", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
            description="SHA-256 of the audio (RFC 9530): `sha-256=:<base64>:`.",
        ),
        OpenApiParameter(
            "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, required=True, response=[302],
            description="The presigned S3 address of the audio, valid for a short time.",
        ),
    ],
    "responses": {
        (200, CONTENT_TYPE): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The FLAC audio, as an attachment (`Content-Disposition`) named after the conversation.",
        ),
        (200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="With `channels`: a zip of one FLAC file per chosen channel and part.",
        ),
        302: OpenApiResponse(description="Redirect to a presigned S3 address (S3 storage)."),
        400: error_response(
            "Bad query, or a channel is needed.",
            (
                "Channel needed",
                {
                    "msg": "This recording has separate files: choose a channel (agent, mixed).",
                    "code": "required",
                    "field": "channel",
                },
            ),
            (
                "Unknown channel in channels",
                {
                    "msg": "channels must be a comma-separated list of mixed, agent, customer, not 'agent,both'.",
                    "code": "invalid",
                    "field": "channels",
                },
            ),
        ),
        404: NOT_FOUND,
        409: error_response(
            "Nothing stored yet.",
            (
                "Still fetching",
                {
                    "msg": "The recording is not available for download (fetching_in_progress): "
                    + STATE_MESSAGES[RecordingState.FETCHING_IN_PROGRESS],
                    "code": "recording_not_available",
                },
            ),
        ),
        410: error_response(
            "Deleted by the account's retention policy.",
            ("Deleted", {"msg": STATE_MESSAGES[RecordingState.DELETED], "code": "recording_deleted"}),
        ),
    },
    **_RECORDINGS,
}

RECORDING_RETRY: dict[str, Any] = {
    "operation_id": "retryRecording",
    "summary": "Retry fetching a failed recording",
    "description": (
        "Queues every failed file of the recording for an immediate fetch (the user's Retry) and "
        "answers 202 with the recording, now `fetching_in_progress`. Allowed in the states "
        "`initial_fetch_failed`, `retry_failed`, `24hr_retry_failed`, `partial_download_failed`, "
        "`partial_upload_failed`, `partial_failed` and `failed`; any other state is 409. A failed "
        f"user retry ends in `retry_failed` and leaves a pending automatic {_hours(AUTO_RETRY_DELAY)}-hour retry "
        "in place."
    ),
    "parameters": [CONVERSATION_ID],
    "request": None,
    "responses": {
        202: RecordingOut,
        404: NOT_FOUND,
        409: error_response(
            "The recording is not in a failed state.",
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
    **_RECORDINGS,
}

_RETENTION_EXAMPLE = {
    "retentionDays": 90,
    "notifyCustomers": True,
    "notificationEmail": "privacy@example.com",
    "updatedAt": "2026-05-02T09:15:00.000Z",
}

RETENTION_GET: dict[str, Any] = {
    "operation_id": "getRetentionSettings",
    "summary": "Recording retention settings",
    "description": (
        "The account's recording retention period in days after the call (null: recordings are "
        f"kept forever, the default) and whether a notice is e-mailed {NOTICE_AHEAD.days} days before deletion and a "
        "confirmation after it. Requires the `account.admin` scope."
    ),
    "responses": {200: RetentionOut},
    "examples": [OpenApiExample("90 days, notify", value=_RETENTION_EXAMPLE, response_only=True)],
    **_SETTINGS,
}

RETENTION_PUT: dict[str, Any] = {
    "operation_id": "setRetentionSettings",
    "summary": "Set the recording retention settings",
    "description": (
        "Replaces the settings; every change is written to the audit log with the calling client. "
        f"A daily job then e-mails opted-in notices {NOTICE_AHEAD.days} days before a recording expires, deletes "
        f"expired recordings from storage (for an opted-in account never sooner than {NOTICE_AHEAD.days} days after "
        "the notice) and confirms each deletion. `notificationEmail` is required when "
        "`notifyCustomers` is true. Requires the `account.admin` scope."
    ),
    "request": RetentionIn,
    "responses": {
        200: RetentionOut,
        400: error_response(
            "Invalid settings (every problem listed).",
            (
                "Address missing",
                {
                    "msg": "A notificationEmail is required when notifyCustomers is true.",
                    "code": "required",
                    "field": "notificationEmail",
                },
            ),
        ),
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
    **_SETTINGS,
}

AUDIT_LOG: dict[str, Any] = {
    "operation_id": "listAuditLog",
    "summary": "Audit log of retention changes, notices and deletions",
    "description": (
        "Append-only, newest first: retention setting changes (with before/after and the client or "
        "admin user), deletion notices, deletions and deletion confirmations (by `system`). Page "
        f"with `offset` (entries to skip) and `limit` (1–{MAX_AUDIT_LIMIT}, default {AUDIT_LIMIT_DEFAULT}); "
        "`hasMore` says whether entries follow. Requires the `account.admin` scope."
    ),
    "parameters": [
        OpenApiParameter(
            "offset", OpenApiTypes.INT, required=False,
            description=f"Entries to skip, 0 to {MAX_AUDIT_OFFSET:,}; default 0.",
        ),
        OpenApiParameter(
            "limit", OpenApiTypes.INT, required=False,
            description=f"1–{MAX_AUDIT_LIMIT}; default {AUDIT_LIMIT_DEFAULT}.",
        ),
    ],
    "responses": {
        200: AuditPageOut,
        400: error_response(
            "Bad paging.",
            ("Limit too high", {"msg": AUDIT_LIMIT_MESSAGE, "code": "out_of_range", "field": "limit"}),
        ),
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
    **_SETTINGS,
}
