"""OpenAPI descriptions and examples of the export endpoints (``api_operation`` keyword sets)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from analytics_api.kernel.openapi import Tag, error_response
from analytics_api.models import Scope
from exports.datasets import DATASETS
from exports.selectors import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX
from exports.serializers import ExportIn, ExportListOut, ExportOut
from exports.services import MAX_WINDOW, REUSED_KEY
from exports.writers import CONTENT_TYPES

_EXPORTS = {"tag": Tag.EXPORTS, "scope": Scope.EXPORTS.value}
_ID = "3f6c2a9e-8d41-4c5b-9f0e-2b7d1a6c4e55"
_BASE = f"https://analytics.example.com/api/v1/exports/{_ID}"
_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

EXPORT_ID = OpenApiParameter("exportId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The export's id.")
NOT_FOUND = error_response(
    "No such export in the caller's account (another account's export is 404 too).",
    ("Unknown export", {"msg": f"No export '{_ID}' in this account.", "code": "not_found", "field": "id"}),
)
# The files' media types (parameters such as charset aside), by format and compression.
_MEDIA = sorted({media.split(";")[0] for media in CONTENT_TYPES.values()})
_SCOPES = ", ".join(f"`{name}` → `{dataset.read_scope}`" for name, dataset in DATASETS.items())

_REQUEST = {
    "dataset": "interactions",
    "startDate": "2026-03-01",
    "endDate": "2026-03-07",
    "filters": {"channels": ["voice"], "selectedFields": {"customerinfo": []}, "timeZoneOffset": -330},
    "format": "ndjson",
    "compression": "gzip",
    "webhookUrl": "https://bi.example.com/hooks/exports",
}
_COMMON = {
    "id": _ID, "dataset": "interactions", "startDate": "2026-03-01T00:00:00.000Z",
    "endDate": "2026-03-07T23:59:59.999Z", "filters": {
        "channels": ["voice"], "queues": [], "bots": [], "selectedFields": {"customerinfo": []},
        "timeZoneOffset": -330,
    },
    "format": "ndjson", "compression": "gzip", "webhookUrl": "https://bi.example.com/hooks/exports",
    "createdAt": "2026-03-08T02:00:00.000Z",
}
QUEUED = {**_COMMON, "state": "queued", "progress": {"rows": 0, "bytes": 0}, "startedAt": None, "finishedAt": None}
RUNNING = {
    **_COMMON, "state": "running", "progress": {"rows": 120000, "bytes": 61234567},
    "startedAt": "2026-03-08T02:00:01.250Z", "finishedAt": None,
}
COMPLETED = {
    **_COMMON, "state": "completed", "progress": {"rows": 233412, "bytes": 41288412},
    "startedAt": "2026-03-08T02:00:01.250Z", "finishedAt": "2026-03-08T02:00:09.900Z",
    "expiresAt": "2026-03-15T02:00:09.900Z",
    "manifest": {
        "files": [{"n": 1, "rows": 233412, "bytes": 41288412, "sha256": _SHA, "url": f"{_BASE}/files/1"}],
        "rows": 233412, "schemaVersion": 1, "completeUpTo": "2026-03-08T02:00:01.250Z",
        "expiresAt": "2026-03-15T02:00:09.900Z",
    },
}
FAILED = {
    **_COMMON, "state": "failed", "progress": {"rows": 1000, "bytes": 51200},
    "startedAt": "2026-03-08T02:00:01.250Z", "finishedAt": "2026-03-08T02:09:00.000Z",
    "error": {"code": "worker_stopped",
              "msg": "The export's worker stopped 4 times before it finished; create the export again."},
}

CREATE_EXPORT: dict[str, Any] = {
    "operation_id": "createExport",
    "summary": "Start an export job",
    "description": (
        "Queues an export of a whole window of a dataset into files and answers **202** with the job "
        "(`state` `queued`). Needs the `exports` scope **and** the dataset's read scope "
        f"({_SCOPES}). The window is UTC, inclusive, at most {MAX_WINDOW.days} days. `filters` are the "
        "dataset's own, validated as its endpoint validates them. Formats: `ndjson` (each line is a "
        "record exactly as the dataset's endpoint serves it), `csv` and `parquet` (the dataset's documented "
        "columns, then `record`); `compression` `gzip` or `none` (default). States: `queued` → `running` → "
        "`completed` | `failed` | `cancelled`; `completed` → `expired` after `EXPORT_TTL_HOURS` (default "
        "168), when its files are deleted. When it completes or fails, a signed webhook (`export.completed`, "
        "`export.failed`) is POSTed to `webhookUrl`, else to the account's webhook URL.\n\n"
        "`Idempotency-Key`: the same key with the same body answers the job the first request created; the "
        "same key with another body is **422** `idempotency_key_reused`.\n\n"
        "`events`: as the events endpoint, only conversations up to 30 days old — a window starting earlier "
        "is a 400 `events_expired` naming `startDate`; a conversation that passes 30 days before the job "
        "begins reading is left out (`completeUpTo` is that moment)."
    ),
    "request": ExportIn,
    "parameters": [
        OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                         description="Up to 255 characters; makes retrying the request safe."),
    ],
    "responses": {
        202: ExportOut,
        400: error_response(
            "Every problem of the body, each naming its field.",
            ("Window too long", {"msg": "The window is 400 days long; an export covers at most 366 days: split it "
                                        "into several exports.", "code": "window_too_long", "field": "endDate"}),
            ("Bad filter", {"msg": "Unknown channel(s) 'fax': allowed are rtm (Web/Mobile Client), voice (Voice) "
                                   "and email (System Mail).", "code": "invalid_channel", "field": "filters.channels"}),
            ("Unknown criterion", {
                "msg": "Unknown criterion 'colour': use ids, queues, channels, agents, status, csat, flagged, "
                       "sentiment, customTags.", "code": "unknown_field", "field": "filters.colour"}),
            ("Events too old", {
                "msg": "Events can be downloaded only for conversations up to 30 days old: startDate must be "
                       "2026-11-01T09:30:00.000Z or later.", "code": "events_expired", "field": "startDate"}),
        ),
        403: error_response(
            "The client lacks `exports`, or the dataset's read scope.",
            ("Missing dataset scope", {
                "msg": "This API client lacks the scope 'qualityai.analytics', which the qa_contacts dataset needs.",
                "code": "permission_denied", "field": "dataset"}),
        ),
        404: error_response(
            "`filters.streamId` is not a stream of the account.",
            ("Unknown stream", {"msg": "No bot or app 'st-x' in this account.", "code": "not_found",
                                "field": "filters.streamId"}),
        ),
        422: error_response(
            "The `Idempotency-Key` was used with another body.",
            ("Key reused", {"msg": REUSED_KEY, "code": "idempotency_key_reused", "field": "Idempotency-Key"}),
        ),
    },
    "examples": [
        OpenApiExample("A week of voice interactions, gzipped NDJSON", value=_REQUEST, request_only=True),
        OpenApiExample(
            "Quality AI contacts of one stream as Parquet", request_only=True,
            value={"dataset": "qa_contacts", "startDate": "2026-01-01", "endDate": "2026-03-31",
                   "filters": {"streamId": "st-5f0c9a52-0d2e-4b8e-9a57-2f1d0c3e4b6a", "include_below_threshold": True},
                   "format": "parquet"},
        ),
        OpenApiExample("Queued", value=QUEUED, response_only=True, status_codes=["202"]),
    ],
    **_EXPORTS,
}

LIST_EXPORTS: dict[str, Any] = {
    "operation_id": "listExports",
    "summary": "List the account's export jobs",
    "description": f"The account's newest jobs first, at most `limit` (1–{LIST_LIMIT_MAX}, default "
                   f"{LIST_LIMIT_DEFAULT}); each as `GET /api/v1/exports/{{id}}` shows it.",
    "parameters": [OpenApiParameter("limit", OpenApiTypes.INT, required=False,
                                    description=f"1–{LIST_LIMIT_MAX}, default {LIST_LIMIT_DEFAULT}")],
    "responses": {
        200: ExportListOut,
        400: error_response("Bad limit.", ("Out of range", {
            "msg": f"limit must be between 1 and {LIST_LIMIT_MAX}.", "code": "out_of_range", "field": "limit"})),
    },
    "examples": [OpenApiExample("Two jobs", value={"exports": [RUNNING, COMPLETED]}, response_only=True)],
    **_EXPORTS,
}

GET_EXPORT: dict[str, Any] = {
    "operation_id": "getExport",
    "summary": "Read an export job: state, progress, manifest",
    "description": (
        "`progress` counts the rows and bytes written so far. Once `completed`, `manifest` lists the files "
        "(each at most `EXPORT_MAX_ROWS_PER_FILE` rows, default 1,000,000) with their rows, bytes, SHA-256 "
        "and download URL, the total `rows`, the `schemaVersion` of the columns, `completeUpTo` (changes "
        "before this instant are in the export) and `expiresAt`. A file appears in the manifest only once "
        "whole. A failed job carries `error`."
    ),
    "parameters": [EXPORT_ID],
    "responses": {200: ExportOut, 404: NOT_FOUND},
    "examples": [
        OpenApiExample("Running", value=RUNNING, response_only=True),
        OpenApiExample("Completed", value=COMPLETED, response_only=True),
        OpenApiExample("Failed", value=FAILED, response_only=True),
    ],
    **_EXPORTS,
}

DELETE_EXPORT: dict[str, Any] = {
    "operation_id": "deleteExport",
    "summary": "Cancel a running export, or delete a finished one",
    "description": (
        "A `queued` or `running` job is cancelled: its worker stops at its next progress report and "
        "removes what it was writing; the answer is **200** with the job, now `cancelled`. A finished job "
        "(`completed`, `failed`, `cancelled`, `expired`) is deleted with its files: **204**, and the id is "
        "404 from then on."
    ),
    "parameters": [EXPORT_ID],
    "responses": {200: ExportOut, 204: OpenApiResponse(description="Deleted with its files."), 404: NOT_FOUND},
    "examples": [OpenApiExample("Cancelled", value={**RUNNING, "state": "cancelled",
                                                    "finishedAt": "2026-03-08T02:00:05.000Z"}, response_only=True)],
    **_EXPORTS,
}

DOWNLOAD_EXPORT_FILE: dict[str, Any] = {
    "operation_id": "downloadExportFile",
    "negotiated": False,
    "summary": "Download one file of a completed export",
    "description": (
        "From the local filesystem the file is streamed, with `Accept-Ranges: bytes`: a single `Range` "
        "(`bytes=a-b`, `bytes=a-`, `bytes=-n`) answers **206** with `Content-Range`, a range past the end "
        "**416**. From S3 the answer is a **302** redirect to a fresh presigned URL. `ETag` is the file's "
        "SHA-256, as in the manifest. An export that is not completed is **409**, an expired one **410**."
    ),
    "parameters": [
        EXPORT_ID,
        OpenApiParameter("n", OpenApiTypes.INT, OpenApiParameter.PATH, description="The file's number (1-based)."),
        OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                         description="One byte range, e.g. `bytes=0-1048575`."),
        OpenApiParameter("Content-Range", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[206],
                         description="`bytes a-b/size`"),
        OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[302],
                         description="A presigned S3 URL of the file, valid for `S3_PRESIGN_SECONDS`."),
    ],
    "responses": {
        **{(200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The whole file.") for media in _MEDIA},
        **{(206, media): OpenApiResponse(OpenApiTypes.BINARY, description="The range asked for.") for media in _MEDIA},
        302: OpenApiResponse(description="Redirect to a presigned S3 URL (S3 storage)."),
        404: NOT_FOUND,
        409: error_response("The export is not completed.", ("Still running", {
            "msg": "The export is running: its files can be downloaded only while it is completed.",
            "code": "export_not_completed", "field": "id"})),
        410: error_response("The export expired; its files are deleted.", ("Expired", {
            "msg": "The export is expired: its files can be downloaded only while it is completed.",
            "code": "export_expired", "field": "id"})),
        416: error_response("The range starts past the end of the file.", ("Past the end", {
            "msg": "The range is outside the file (41288412 bytes).", "code": "range_not_satisfiable",
            "field": "Range"})),
    },
    **_EXPORTS,
}
