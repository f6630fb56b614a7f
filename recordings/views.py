"""Recordings endpoints (scope ``recordings``) and retention settings / audit log (scope ``account.admin``)."""

from __future__ import annotations

import base64
from typing import Any

from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics_api.kernel.dates import render_utc_ms
from analytics_api.kernel.openapi import api_operation
from analytics_api.models import Scope
from analytics_api.tenancy.access import request_account
from recordings import openapi
from recordings.downloads import channels_zip, download_name, stereo_open, storage_unavailable, stored_open
from recordings.models import STATE_MESSAGES, Recording, RetentionSettings
from recordings.retention import recording_expires_at, retention_settings_update
from recordings.selectors import (
    audit_entries_page,
    recording_available_files,
    recording_channel_files,
    recording_download_choice,
    recording_download_path,
    recording_failed_files,
    recording_get,
    retention_settings_get,
)
from recordings.serializers import AuditQuery, DownloadQuery, RetentionIn
from recordings.services import recording_retry
from recordings.storage import CONTENT_TYPE, StorageError, recording_storage


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


class RecordingDownloadView(APIView):
    required_scope = Scope.RECORDINGS.value

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Players send Accept: audio/*; errors are still answered in JSON rather than with a 406.
        return super().perform_content_negotiation(request, force=True)

    @api_operation(**openapi.RECORDING_DOWNLOAD)
    def get(self, request: Request, conversationId: str) -> HttpResponseBase:
        query = DownloadQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        recording = recording_get(account=request_account(request), conversation_id=conversationId)
        if "channels" in query.validated_data:
            files = recording_channel_files(recording=recording, channels=query.validated_data["channels"])
            name, body = channels_zip(recording, files)
            response = StreamingHttpResponse(body, content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        choice = recording_download_choice(
            recording=recording, channel=query.validated_data.get("channel"), part=query.validated_data["part"]
        )
        if choice.stereo:
            agent, customer = choice.files
            return FileResponse(
                stereo_open(agent, customer), as_attachment=True, filename=download_name(recording, "stereo"),
                content_type=CONTENT_TYPE,
            )
        (item,) = choice.files
        filename = download_name(recording, item.channel, choice.part)
        try:
            url = recording_storage().presigned_url(item.storage_key, filename=filename)
        except (OSError, StorageError) as error:
            raise storage_unavailable(error) from error
        if url:
            return HttpResponseRedirect(url)
        response = FileResponse(stored_open(item), as_attachment=True, filename=filename, content_type=CONTENT_TYPE)
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
