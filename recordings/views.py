"""Recordings endpoints (scope ``recordings``) and retention settings / audit log (scope ``account.admin``)."""

from __future__ import annotations

import base64
import re
from typing import Any

from django.http import FileResponse, HttpResponseRedirect
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.errors import DEPENDENCY_RETRY_AFTER_SECONDS, ApiError
from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from analytics_api.tenancy.auth import request_account
from recordings import openapi
from recordings.models import STATE_MESSAGES, Channel, Recording, RecordingFile, RecordingState, RetentionSettings
from recordings.retention import recording_expires_at, retention_settings_update
from recordings.selectors import (
    audit_entries_page,
    recording_available_files,
    recording_download_path,
    recording_failed_files,
    recording_get,
    retention_settings_get,
)
from recordings.serializers import AuditQuery, DownloadQuery, RetentionIn
from recordings.services import recording_retry
from recordings.storage import CONTENT_TYPE, StorageError, recording_storage

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _recording_payload(request: Request, recording: Recording) -> dict[str, Any]:
    files = recording_available_files(recording_ids=[recording.pk]).get(recording.pk, [])
    payload: dict[str, Any] = {
        "conversationId": recording.conversation_id,
        "state": recording.state,
        "message": STATE_MESSAGES[recording.state],
        "files": [
            {
                "channel": item.channel,
                "format": "flac",
                "sizeBytes": item.size_bytes,
                "sha256": item.sha256,
                "downloadUrl": request.build_absolute_uri(
                    recording_download_path(conversation_id=recording.conversation_id, channel=item.channel, part=part)
                ),
            }
            for item, part in files
        ],
        "failures": [
            {"channel": item.channel, "state": item.state, "reason": item.reason or STATE_MESSAGES[item.state]}
            for item in recording_failed_files(recording=recording)
        ],
        "deleteAfter": None,
    }
    if recording.deleted_at is not None:
        payload["deletedAt"] = render_utc_ms(recording.deleted_at)
    else:
        expires = recording_expires_at(recording=recording, retention=retention_settings_get(account=recording.account))
        payload["deleteAfter"] = render_utc_ms(expires) if expires else None
    return payload


class RecordingDetailView(APIView):
    required_scope = Scope.RECORDINGS.value

    @api_operation(**openapi.RECORDING_DETAIL)
    def get(self, request: Request, conversationId: str) -> Response:
        recording = recording_get(account=request_account(request), conversation_id=conversationId)
        return Response(_recording_payload(request, recording))


def _chosen_file(recording: Recording, channel: str | None, part: int) -> RecordingFile:
    """The file a download asks for; without a channel the mixed file, or the only file."""
    if recording.state == RecordingState.DELETED:
        raise ApiError(STATE_MESSAGES[RecordingState.DELETED], code="recording_deleted", status_code=410)
    files = recording_available_files(recording_ids=[recording.pk]).get(recording.pk, [])
    if not files:
        raise ApiError(
            f"The recording is not available for download ({recording.state}): {STATE_MESSAGES[recording.state]}",
            code="recording_not_available",
            status_code=409,
        )
    if channel is None:
        channels = sorted({item.channel for item, _part in files})
        if Channel.MIXED in channels:
            channel = Channel.MIXED
        elif len(files) == 1:
            channel = files[0][0].channel
        else:
            raise ApiError(
                f"This recording has separate files: choose a channel ({', '.join(channels)}).",
                code="required",
                field="channel",
            )
    for item, item_part in files:
        if item.channel == channel and item_part == part:
            return item
    raise ApiError(
        f"This recording has no available {channel} file" + (f" part {part}." if part > 1 else "."),
        code="not_found",
        status_code=404,
        field="channel",
    )


class RecordingDownloadView(APIView):
    required_scope = Scope.RECORDINGS.value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Players send Accept: audio/*; errors are still answered in JSON rather than with a 406.
        return super().perform_content_negotiation(request, force=True)

    @api_operation(**openapi.RECORDING_DOWNLOAD)
    def get(self, request: Request, conversationId: str) -> FileResponse | HttpResponseRedirect:
        query = DownloadQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        recording = recording_get(account=request_account(request), conversation_id=conversationId)
        item = _chosen_file(recording, query.validated_data.get("channel"), query.validated_data["part"])
        part = query.validated_data["part"]
        name = _UNSAFE_FILENAME.sub("_", recording.conversation_id)[:100] or "recording"
        filename = f"{name}-{item.channel}{f'-{part}' if part > 1 else ''}.flac"
        storage = recording_storage()
        try:
            url = storage.presigned_url(item.storage_key, filename=filename)
            if url:
                return HttpResponseRedirect(url)
            body = storage.open(item.storage_key)
        except (OSError, StorageError) as error:
            raise ApiError(
                "The stored recording could not be read; the failure has been logged.",
                code="storage_unavailable",
                status_code=503,
                headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
            ) from error
        response = FileResponse(body, as_attachment=True, filename=filename, content_type=CONTENT_TYPE)
        response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(item.sha256)).decode()}:"
        return response


class RecordingRetryView(APIView):
    required_scope = Scope.RECORDINGS.value

    @api_operation(**openapi.RECORDING_RETRY)
    def post(self, request: Request, conversationId: str) -> Response:
        recording = recording_retry(account=request_account(request), conversation_id=conversationId)
        return Response(_recording_payload(request, recording), status=202)


def _retention_payload(retention: RetentionSettings) -> dict[str, Any]:
    return {
        "retentionDays": retention.retention_days,
        "notifyCustomers": retention.notify_customers,
        "notificationEmail": retention.notification_email,
        "updatedAt": render_utc_ms(retention.updated_at) if retention.updated_at else None,
    }


class RetentionSettingsView(APIView):
    required_scope = Scope.ADMIN.value

    @api_operation(**openapi.RETENTION_GET)
    def get(self, request: Request) -> Response:
        return Response(_retention_payload(retention_settings_get(account=request_account(request))))

    @api_operation(**openapi.RETENTION_PUT)
    def put(self, request: Request) -> Response:
        body = RetentionIn(data=request.data)
        body.is_valid(raise_exception=True)
        retention = retention_settings_update(
            account=request_account(request),
            actor=f"client:{request.user.client.client_id}",
            retention_days=body.validated_data["retentionDays"],
            notify_customers=body.validated_data["notifyCustomers"],
            notification_email=body.validated_data.get("notificationEmail", ""),
        )
        return Response(_retention_payload(retention))


class AuditLogView(APIView):
    required_scope = Scope.ADMIN.value

    @api_operation(**openapi.AUDIT_LOG)
    def get(self, request: Request) -> Response:
        query = AuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows, has_more = audit_entries_page(
            account=request_account(request), skip=query.validated_data["offset"], limit=query.validated_data["limit"]
        )
        data = [
            {
                "id": row.pk,
                "at": render_utc_ms(row.at),
                "actor": row.actor,
                "action": row.action,
                "conversationId": row.conversation_id,
                "details": row.details,
            }
            for row in rows
        ]
        return Response({"numResults": len(data), "hasMore": has_more, "data": data})
