"""The shapes of the export endpoints, for the OpenAPI schema (validation is in exports.services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.openapi import ErrorItemSerializer
from exports.datasets import dataset_names
from exports.models import Compression, ExportFormat, ExportState
from exports.services import MAX_WINDOW


@extend_schema_serializer(component_name="ExportRequest")
class ExportIn(serializers.Serializer):
    dataset = serializers.ChoiceField(choices=list(dataset_names()), help_text="The dataset to export")
    startDate = serializers.CharField(help_text="UTC, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS[.fff][Z], inclusive")
    endDate = serializers.CharField(
        help_text=f"UTC, inclusive (a date alone: the end of that day); at most {MAX_WINDOW.days} days after startDate"
    )
    filters = serializers.DictField(
        required=False,
        help_text=(
            "interactions / calldetails: channels, queues, bots, selectedFields, timeZoneOffset (default 0) as "
            "interactionDetails takes them; qa_contacts: custom_fields, contact_direction, include_below_threshold "
            "as rawdata takes them, and streamId (default: every stream of the account)"
        ),
    )
    format = serializers.ChoiceField(choices=ExportFormat.values, required=False, default=ExportFormat.NDJSON)
    compression = serializers.ChoiceField(choices=Compression.values, required=False, default=Compression.NONE)
    webhookUrl = serializers.URLField(
        required=False, help_text="Where export.completed / export.failed are POSTed; default the account's"
    )


class ProgressOut(serializers.Serializer):
    rows = serializers.IntegerField()
    bytes = serializers.IntegerField()


class ManifestFileOut(serializers.Serializer):
    n = serializers.IntegerField(help_text="1-based file number")
    rows = serializers.IntegerField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="SHA-256 (hex) of the file's bytes as downloaded")
    url = serializers.URLField()


class ManifestOut(serializers.Serializer):
    files = ManifestFileOut(many=True)
    rows = serializers.IntegerField()
    schemaVersion = serializers.IntegerField()
    completeUpTo = serializers.CharField(help_text="UTC; records changed before this instant are in the export")
    expiresAt = serializers.CharField()


@extend_schema_serializer(component_name="Export")
class ExportOut(serializers.Serializer):
    id = serializers.UUIDField()
    dataset = serializers.CharField()
    state = serializers.ChoiceField(choices=ExportState.values)
    startDate = serializers.CharField()
    endDate = serializers.CharField()
    filters = serializers.DictField()
    format = serializers.ChoiceField(choices=ExportFormat.values)
    compression = serializers.ChoiceField(choices=Compression.values)
    webhookUrl = serializers.URLField(required=False)
    progress = ProgressOut()
    createdAt = serializers.CharField()
    startedAt = serializers.CharField(allow_null=True)
    finishedAt = serializers.CharField(allow_null=True)
    expiresAt = serializers.CharField(required=False)
    error = ErrorItemSerializer(required=False, help_text="Why a failed export failed")
    manifest = ManifestOut(required=False, help_text="Once completed")


class ExportListOut(serializers.Serializer):
    exports = ExportOut(many=True)
