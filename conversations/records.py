"""Validation of one ingested interaction record (DESIGN §7): the §5 shape with times in UTC.

Every time must name its zone (``Z`` or ``±HH:MM``); it is stored in UTC as ``…mmmZ``. Known fields
are type-checked at every level; fields this service does not know are kept and served unchanged,
so records from a newer platform version are not truncated. ``null`` means "absent": it is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from analytics_api.dates import DateFormatError, parse_aware
from conversations.documents import stored_time
from conversations.models import Channel

RECORDING_CHANNELS = ("mixed", "agent", "customer")
RECORDING_SCHEMES = ("http://", "https://", "s3://")


def channel_code(value: object) -> str | None:
    """``rtm``/``voice``/``email`` or their labels (``Voice``, ``Web/Mobile Client``, ``System Mail``)."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    for choice in Channel:
        if text in (choice.value, choice.label.lower()):
            return choice.value
    return None


class AwareTimeField(serializers.Field):
    """An ISO-8601 instant with a zone; validated to the stored UTC form ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""

    def to_internal_value(self, data: Any) -> str:
        try:
            return stored_time(parse_aware(data))
        except DateFormatError as error:
            raise serializers.ValidationError(f"The time {data!r} {error}.", code="invalid_time") from None

    def to_representation(self, value: Any) -> Any:
        return value


class ChannelField(serializers.Field):
    def to_internal_value(self, data: Any) -> str:
        code = channel_code(data)
        if code is None:
            raise serializers.ValidationError(
                f"Unknown channel {data!r}: use rtm (Web/Mobile Client), voice (Voice) or email (System Mail).",
                code="invalid_channel",
            )
        return Channel(code).label

    def to_representation(self, value: Any) -> Any:
        return value


def _texts(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), **kwargs)


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


class OpenSerializer(serializers.Serializer):
    """Validates the declared fields and keeps the others verbatim; ``null`` values count as absent."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: ["Expected a JSON object."]}, code="invalid_type"
            )
        present = {key: value for key, value in data.items() if value is not None}
        validated = super().to_internal_value(present)
        return {**validated, **{key: value for key, value in present.items() if key not in self.fields}}


class ConsultingAgentSerializer(OpenSerializer):
    isMerged = serializers.BooleanField(required=False)
    name = _text()
    acceptedTime = AwareTimeField(required=False)
    assignedAt = AwareTimeField(required=False)
    consultingEndTime = AwareTimeField(required=False)


class AgentSegmentSerializer(OpenSerializer):
    agentId = _text()
    agentNotes = _texts(required=False)
    destinationType = serializers.ChoiceField(choices=["AgentSegment"], required=False)
    status = _text()
    firstResponseTime = AwareTimeField(required=False)
    firstResponseDuration = serializers.IntegerField(required=False, min_value=0)
    interactionEndTime = AwareTimeField(required=False)
    interactionDuration = serializers.IntegerField(required=False, min_value=0)
    afterCallWorkDuration = serializers.IntegerField(required=False, min_value=0)
    afterCallWorkEndTime = AwareTimeField(required=False)
    ConsultingAgents = serializers.ListField(child=ConsultingAgentSerializer(), required=False)
    JoinedUsers = serializers.ListField(child=serializers.JSONField(), required=False)
    email = _text()
    name = _text()
    acceptedTime = AwareTimeField(required=False)
    assignedAt = AwareTimeField(required=False)
    nonResponseEvent = _text()


class QueueEntrySerializer(OpenSerializer):
    destinationType = serializers.ChoiceField(choices=["QueueEntry"])
    queueId = serializers.CharField(max_length=128)
    queueName = _text()
    CallbackOpted = serializers.BooleanField(required=False)
    CallbackOptedTime = AwareTimeField(required=False)
    userCallbackAcceptTime = AwareTimeField(required=False)
    EnterTime = AwareTimeField(required=False)
    respondingAgent = AgentSegmentSerializer(required=False)
    nonRespondingAgents = serializers.ListField(child=AgentSegmentSerializer(), required=False)


class DestinationField(serializers.Field):
    """A ``QueueEntry`` or a direct ``AgentSegment``, told apart by ``destinationType``."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        kind = data.get("destinationType") if isinstance(data, Mapping) else None
        if kind == "QueueEntry":
            validator: OpenSerializer = QueueEntrySerializer(data=data)
        elif kind == "AgentSegment":
            validator = AgentSegmentSerializer(data=data)
        else:
            raise serializers.ValidationError(
                {"destinationType": ["A destination needs destinationType QueueEntry or AgentSegment."]}
            )
        validator.is_valid(raise_exception=True)
        return dict(validator.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value


class TagSerializer(OpenSerializer):
    name = serializers.CharField(trim_whitespace=False)
    value = serializers.JSONField(required=False)


class RecordingSourceSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000)
    channel = serializers.ChoiceField(
        choices=RECORDING_CHANNELS,
        error_messages={"invalid_choice": "channel must be mixed, agent or customer, not {input!r}."},
    )

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(RECORDING_SCHEMES):
            raise serializers.ValidationError("A recording source must be an http, https or s3 address.")
        return value


class InteractionRecordSerializer(OpenSerializer):
    """One record of ``POST /api/v1/ingest/interactions``; ``context`` holds ``bot_ids`` of the account."""

    conversationId = serializers.CharField(required=False, max_length=128)
    sessionId = serializers.CharField(max_length=128)
    channel = ChannelField()
    botId = serializers.CharField(max_length=64)
    sessionStartTime = AwareTimeField()
    sessionEndTime = AwareTimeField(required=False)
    userId = _text()
    channelSpecificUserId = _text()
    orgId = _text()
    smartStatus = _text()
    reason = _text()
    disconnectingEvent = _text()
    errorDetails = _text()
    finalStatus = _text()
    Direction = _text()
    automationBotIDs = _texts(required=False)
    dispositions = _texts(required=False)
    dispositionRemarks = _texts(required=False)
    metaInfo = serializers.DictField(required=False)
    customerinfo = serializers.DictField(required=False)
    skills = serializers.ListField(child=serializers.JSONField(), required=False)
    userleveltags = serializers.ListField(child=TagSerializer(), required=False)
    sessionleveltags = serializers.ListField(child=TagSerializer(), required=False)
    destinations = serializers.ListField(child=DestinationField(), required=False)
    recordingSources = serializers.ListField(child=RecordingSourceSerializer(), required=False)

    def validate_botId(self, value: str) -> str:
        if value not in self.context["bot_ids"]:
            raise serializers.ValidationError(f"{value!r} is not a bot of this account.", code="unknown_bot")
        return value

    def validate_skills(self, value: list[Any]) -> list[Any]:
        for skill in value:
            if not isinstance(skill, str | Mapping):
                raise serializers.ValidationError("A skill is an object {id, name} or a string.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        end = attrs.get("sessionEndTime")
        if end is not None and end < attrs["sessionStartTime"]:
            errors["sessionEndTime"] = "sessionEndTime is before sessionStartTime."
        if attrs.get("recordingSources") and attrs["channel"] != Channel.VOICE.label:
            errors["recordingSources"] = "Only voice records carry recordingSources."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
