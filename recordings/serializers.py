"""Input serializers (validation only) and output shapes of the recordings endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from analytics_api.kernel.request_fields import CheckField, ChoiceParam, InputSerializer, NumberField
from analytics_api.kernel.validation import email, flag, invalid
from recordings.models import AuditAction, Channel, RecordingState

MAX_RETENTION_DAYS = 36500
# Far beyond any account's audit log, and well inside 64 bits: a larger OFFSET made the query itself
# fail (a 500) instead of returning an empty page.
MAX_AUDIT_OFFSET = 1_000_000_000
MAX_AUDIT_LIMIT = 100
AUDIT_LIMIT_DEFAULT = 50
RETENTION_DAYS_MESSAGE = (
    f"retentionDays must be an integer from 1 to {MAX_RETENTION_DAYS}, or null to keep recordings forever."
)
AUDIT_LIMIT_MESSAGE = f"limit must be an integer from 1 to {MAX_AUDIT_LIMIT}."


@extend_schema_serializer(component_name="RecordingFile")
class RecordingFileOut(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    format = serializers.CharField(help_text='Always "flac".')
    sizeBytes = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Hex SHA-256 of the stored bytes.")
    downloadUrl = serializers.URLField()


class RecordingFailureOut(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    state = serializers.ChoiceField(choices=RecordingState.choices)
    reason = serializers.CharField(
        help_text="Why this source's last attempt failed, in a sentence (no internal detail), e.g. "
        '"The source\'s host resolves to a private address and is not granted to this account; an operator can '
        'grant it (manage.py recording_source_grants)." or "The source is not audio this service can read '
        '(Format not recognised.)".'
    )


@extend_schema_serializer(component_name="Recording")
class RecordingOut(serializers.Serializer):
    conversationId = serializers.CharField()
    state = serializers.ChoiceField(choices=RecordingState.choices)
    message = serializers.CharField(help_text="The documented message of the state.")
    files = RecordingFileOut(many=True, help_text="The stored files (only when some are available).")
    failures = RecordingFailureOut(
        many=True,
        help_text="The sources whose last attempt failed or was refused, each with the reason (empty when none).",
    )
    deleteAfter = serializers.CharField(
        allow_null=True, help_text="When retention deletes it (UTC); null = kept forever."
    )
    deletedAt = serializers.CharField(required=False, help_text="Only on a recording retention deleted.")


class DownloadQuery(InputSerializer):
    channel = ChoiceParam(
        choices=Channel.values, required=False, message="channel must be mixed, agent or customer, not {input!r}."
    )
    part = NumberField(minimum=1, from_text=True, default=1)
    channels = CheckField(
        check=lambda name: channel_list,
        schema={"type": "string", "example": "agent,customer"},
        required=False,
        help_text="Comma-separated channels (agent, customer, mixed): a zip of their FLAC files.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "channels" in attrs and ("channel" in attrs or "part" in self.initial_data):
            raise serializers.ValidationError(
                {"channels": [CHANNELS_ALONE]}, code="invalid"
            )
        return attrs


CHANNELS_ALONE = "channels (a zip of several channels) cannot be combined with channel or part."


def channel_list(data: Any) -> list[str]:
    """``agent,customer``: known channels, each once, in the order given."""
    message = f"channels must be a comma-separated list of {', '.join(Channel.values)}, not {data!r}."
    if not isinstance(data, str):
        raise invalid(message)
    items = [item.strip() for item in data.split(",")]
    if not data.strip() or any(item not in Channel.values for item in items):
        raise invalid(message)
    return list(dict.fromkeys(items))


@extend_schema_serializer(component_name="RetentionSettings")
class RetentionIn(InputSerializer):
    retentionDays = NumberField(
        minimum=1,
        maximum=MAX_RETENTION_DAYS,
        from_text=True,
        message=RETENTION_DAYS_MESSAGE,
        allow_null=True,
        error_messages={"required": RETENTION_DAYS_MESSAGE},
        help_text="Days a recording is kept after its call ended; null = forever.",
    )
    notifyCustomers = CheckField(
        check=flag,
        schema={"type": "boolean"},
        error_messages={
            "required": "notifyCustomers is required: true to e-mail a notice before and a confirmation after "
            "each deletion, false not to.",
        },
        help_text="E-mail a notice 7 days before deletion and a confirmation after it.",
    )
    notificationEmail = CheckField(
        check=email,
        schema={"oneOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]},
        required=False,
        default="",
    )


@extend_schema_serializer(component_name="RetentionSettings")
class RetentionOut(serializers.Serializer):
    retentionDays = serializers.IntegerField(allow_null=True)
    notifyCustomers = serializers.BooleanField()
    notificationEmail = serializers.CharField()
    updatedAt = serializers.CharField(allow_null=True)


class AuditQuery(InputSerializer):
    offset = NumberField(
        minimum=0, maximum=MAX_AUDIT_OFFSET, from_text=True, default=0, help_text="Entries to skip."
    )
    limit = NumberField(
        minimum=1, maximum=MAX_AUDIT_LIMIT, from_text=True, message=AUDIT_LIMIT_MESSAGE, default=AUDIT_LIMIT_DEFAULT
    )


@extend_schema_serializer(component_name="AuditEntry")
class AuditEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.CharField()
    actor = serializers.CharField(help_text="client:<clientId>, admin:<username> or system")
    action = serializers.ChoiceField(choices=AuditAction.choices)
    conversationId = serializers.CharField(allow_blank=True)
    details = serializers.DictField()


@extend_schema_serializer(component_name="AuditLogPage")
class AuditPageOut(serializers.Serializer):
    numResults = serializers.IntegerField()
    hasMore = serializers.BooleanField()
    data = AuditEntryOut(many=True)
