"""Validation of one ingested interaction record (docs/contract.md#interaction-records): the served shape, times in UTC.

Every time must name its zone (``Z`` or ``±HH:MM``); it is stored in UTC as ``…mmmZ``. Known fields
are type-checked at every level; fields this service does not know are kept and served unchanged,
so records from a newer platform version are not truncated. ``null`` means "absent": it is dropped.

The shapes are built from the checks of :mod:`analytics_api.kernel.validation` in DRF's wording (these
records were once validated by DRF serializers, and clients read the same messages and codes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from analytics_api.kernel.dates import is_stored_time
from analytics_api.kernel.validation import (
    Check,
    Invalid,
    aware_time,
    boolean,
    choice,
    free_object,
    integer,
    invalid,
    json_value,
    list_of,
    obj,
    text,
    then,
)
from conversations.documents import stored_time
from conversations.models import Channel
from recordings.source_rules import MAX_RECORDING_SOURCES, TOO_MANY, recording_id_refusal, recording_source_check

_CHANNEL_CODES = {name: member.value for member in Channel for name in (member.value, member.label.lower())}
_CHANNEL_LABELS = {member.value: member.label for member in Channel}
_AWARE_TIME = aware_time(message="The time {value!r} {reason}.", code="invalid_time")


def channel_code(value: object) -> str | None:
    """``rtm``/``voice``/``email`` or their labels (``Voice``, ``Web/Mobile Client``, ``System Mail``)."""
    if not isinstance(value, str):
        return None
    return _CHANNEL_CODES.get(value.strip().lower())


def _time(data: Any) -> str:
    """An ISO-8601 instant with a zone, as its stored UTC form ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if is_stored_time(data):
        return data
    return stored_time(_AWARE_TIME(data))


def _channel(data: Any) -> str:
    code = channel_code(data)
    if code is None:
        raise invalid(
            f"Unknown channel {data!r}: use rtm (Web/Mobile Client), voice (Voice) or email (System Mail).",
            "invalid_channel",
        )
    return _CHANNEL_LABELS[code]


def _recording_source(data: Any) -> dict[str, str]:
    """A source of ``recordingSources``, by the recordings app's one rule (:mod:`recordings.source_rules`)."""
    source, problems = recording_source_check(data)
    if source is None:
        errors: dict[str, list[ErrorDetail]] = {}
        for problem in problems:
            errors.setdefault(problem.name or api_settings.NON_FIELD_ERRORS_KEY, []).append(
                ErrorDetail(problem.msg, problem.code)
            )
        raise Invalid(errors)
    return {"url": source.url, "channel": source.channel}


# --- The record's shapes -----------------------------------------------------------------------

_TEXT = text(allow_blank=True, trim=False)
_TEXTS = list_of(_TEXT)
_ID_128 = text(allow_blank=False, trim=True, max_length=128)
_ID_64 = text(allow_blank=False, trim=True, max_length=64)
_COUNT = integer(min_value=0)

CONSULTING_AGENT = obj({
    "isMerged": boolean, "name": _TEXT, "acceptedTime": _time, "assignedAt": _time, "consultingEndTime": _time,
})

AGENT_SEGMENT = obj({
    "agentId": _TEXT,
    "agentNotes": _TEXTS,
    "destinationType": choice("AgentSegment"),
    "status": _TEXT,
    "firstResponseTime": _time,
    "firstResponseDuration": _COUNT,
    "interactionEndTime": _time,
    "interactionDuration": _COUNT,
    "afterCallWorkDuration": _COUNT,
    "afterCallWorkEndTime": _time,
    "ConsultingAgents": list_of(CONSULTING_AGENT),
    "JoinedUsers": list_of(json_value),
    "email": _TEXT,
    "name": _TEXT,
    "acceptedTime": _time,
    "assignedAt": _time,
    "nonResponseEvent": _TEXT,
})

QUEUE_ENTRY = obj(
    {
        "destinationType": choice("QueueEntry"),
        "queueId": _ID_128,
        "queueName": _TEXT,
        "CallbackOpted": boolean,
        "CallbackOptedTime": _time,
        "userCallbackAcceptTime": _time,
        "EnterTime": _time,
        "respondingAgent": AGENT_SEGMENT,
        "nonRespondingAgents": list_of(AGENT_SEGMENT),
    },
    required=("destinationType", "queueId"),
)


def _destination(data: Any) -> dict[str, Any]:
    """A ``QueueEntry`` or a direct ``AgentSegment``, told apart by ``destinationType``."""
    kind = data.get("destinationType") if isinstance(data, Mapping) else None
    if kind == "QueueEntry":
        return QUEUE_ENTRY(data)
    if kind == "AgentSegment":
        return AGENT_SEGMENT(data)
    raise Invalid(
        {"destinationType": [ErrorDetail("A destination needs destinationType QueueEntry or AgentSegment.", "invalid")]}
    )


TAG = obj({"name": text(allow_blank=False, trim=False), "value": json_value}, required=("name",))


def _skills(value: list[Any]) -> list[Any]:
    for skill in value:
        if not isinstance(skill, str | Mapping):
            raise invalid("A skill is an object {id, name} or a string.")
    return value


def _record_fields(bot_ids: Collection[str]) -> dict[str, Check]:
    def known_bot(value: str) -> str:
        if value not in bot_ids:
            raise invalid(f"{value!r} is not a bot of this account.", "unknown_bot")
        return value

    return {
        "conversationId": _ID_128,
        "sessionId": _ID_128,
        "channel": _channel,
        "botId": then(_ID_64, known_bot),
        "sessionStartTime": _time,
        "sessionEndTime": _time,
        "userId": _TEXT,
        "channelSpecificUserId": _TEXT,
        "orgId": _TEXT,
        "smartStatus": _TEXT,
        "reason": _TEXT,
        "disconnectingEvent": _TEXT,
        "errorDetails": _TEXT,
        "finalStatus": _TEXT,
        "Direction": _TEXT,
        "automationBotIDs": _TEXTS,
        "dispositions": _TEXTS,
        "dispositionRemarks": _TEXTS,
        "metaInfo": free_object,
        "customerinfo": free_object,
        "skills": then(list_of(json_value), _skills),
        "userleveltags": list_of(TAG),
        "sessionleveltags": list_of(TAG),
        "destinations": list_of(_destination),
        "recordingSources": list_of(_recording_source, max_length=MAX_RECORDING_SOURCES, too_many=TOO_MANY),
    }


_RECORD_REQUIRED = ("sessionId", "channel", "botId", "sessionStartTime")


def interaction_record_validator(*, bot_ids: Collection[str]) -> Callable[[Any], dict[str, Any]]:
    """The check of one record of ``POST /api/v1/ingest/interactions`` for an account of ``bot_ids``.

    Returns the record as stored (times in UTC, channel as its label, nulls dropped, unknown fields
    kept) or raises :class:`Invalid` with every reason. Built once per batch.
    """
    fields = obj(_record_fields(bot_ids), required=_RECORD_REQUIRED)

    def check(data: Any) -> dict[str, Any]:
        record = fields(data)
        errors: dict[str, list[ErrorDetail]] = {}
        end = record.get("sessionEndTime")
        if end is not None and end < record["sessionStartTime"]:
            errors["sessionEndTime"] = [ErrorDetail("sessionEndTime is before sessionStartTime.", "invalid")]
        if record.get("recordingSources") and record["channel"] != Channel.VOICE.label:
            errors["recordingSources"] = [ErrorDetail("Only voice records carry recordingSources.", "invalid")]
        elif record.get("recordingSources"):
            # The recording is kept under conversationId, or sessionId without one.
            key = "conversationId" if record.get("conversationId") else "sessionId"
            if refusal := recording_id_refusal(record[key]):
                errors[key] = [ErrorDetail(f"{key} {refusal}", "invalid")]
        if errors:
            raise Invalid(errors)
        return record

    return check

