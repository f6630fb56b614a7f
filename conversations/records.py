"""Validation of one ingested interaction record (docs/contract.md#interaction-records): the served shape, times in UTC.

Every time must name its zone (``Z`` or ``±HH:MM``); it is stored in UTC as ``…mmmZ``. Known fields
are type-checked at every level; fields this service does not know are kept and served unchanged,
so records from a newer platform version are not truncated. ``null`` means "absent": it is dropped.

The rules are DRF's field rules (``CharField``, ``BooleanField``, ``IntegerField``, ``ListField``…),
with DRF's messages and codes, but written as plain functions compiled once per shape: a batch of a
thousand records would otherwise build (and deep-copy) a serializer per record and per nested
object, which cost most of an ingestion request. A check returns the validated value or raises
:class:`~analytics_api.kernel.ingestion.RecordInvalid` with DRF's error shape (lists of ``ErrorDetail``,
dicts by field name or list index), which the batch flattens like any serializer's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings
from rest_framework.utils import json
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from analytics_api.kernel.dates import DateFormatError, parse_aware
from analytics_api.kernel.ingestion import RecordInvalid
from conversations.documents import stored_time
from conversations.models import Channel
from recordings.source_rules import MAX_RECORDING_SOURCES, TOO_MANY, recording_id_refusal, recording_source_check

Check = Callable[[Any], Any]

_NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
_CHANNEL_CODES = {text: choice.value for choice in Channel for text in (choice.value, choice.label.lower())}
_CHANNEL_LABELS = {choice.value: choice.label for choice in Channel}
# The stored form of a time; one in it (years 1000-9998, which render with four digits) is kept as sent.
_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOOLEANS = {**dict.fromkeys(serializers.BooleanField.TRUE_VALUES, True),
             **dict.fromkeys(serializers.BooleanField.FALSE_VALUES, False)}


def _drf(field: type[serializers.Field], key: str, **params: Any) -> str:
    """DRF's own message of ``field`` for ``key``, so ours read exactly like a serializer's."""
    return str(field.default_error_messages[key]).format(**params)


def _invalid(msg: str, code: str = "invalid") -> RecordInvalid:
    return RecordInvalid([ErrorDetail(msg, code)])


def _required() -> list[ErrorDetail]:
    return [ErrorDetail(_drf(serializers.Field, "required"), "required")]


def _null() -> list[ErrorDetail]:
    return [ErrorDetail(_drf(serializers.Field, "null"), "null")]


def channel_code(value: object) -> str | None:
    """``rtm``/``voice``/``email`` or their labels (``Voice``, ``Web/Mobile Client``, ``System Mail``)."""
    if not isinstance(value, str):
        return None
    return _CHANNEL_CODES.get(value.strip().lower())


# --- Leaves ------------------------------------------------------------------------------------


def _text_rules(value: str, max_length: int | None) -> str:
    """The validators DRF puts on every ``CharField``: length, then NUL, then surrogates (all reported)."""
    errors = []
    if max_length is not None and len(value) > max_length:
        errors.append(ErrorDetail(_drf(serializers.CharField, "max_length", max_length=max_length), "max_length"))
    if "\x00" in value:
        errors.append(ErrorDetail(str(ProhibitNullCharactersValidator.message), ProhibitNullCharactersValidator.code))
    if not value.isascii() and (surrogate := _SURROGATE.search(value)):
        validator = ProhibitSurrogateCharactersValidator
        errors.append(ErrorDetail(str(validator.message).format(code_point=ord(surrogate.group())), validator.code))
    if errors:
        raise RecordInvalid(errors)
    return value


def _text(*, allow_blank: bool, trim: bool, max_length: int | None = None) -> Check:
    """DRF's ``CharField``: numbers become text, other types are refused; blank and trimming as configured."""

    def check(data: Any) -> str:
        if data.__class__ is str and data.isascii() and "\x00" not in data:
            # The usual case: plain ASCII text that needs no further look.
            value = data.strip() if trim else data
            if (value or allow_blank) and (max_length is None or len(value) <= max_length):
                return value
        if data == "" or (trim and str(data).strip() == ""):
            if not allow_blank:
                raise _invalid(_drf(serializers.CharField, "blank"), "blank")
            return ""
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            raise _invalid(_drf(serializers.CharField, "invalid"))
        value = str(data)
        return _text_rules(value.strip() if trim else value, max_length)

    return check


def _boolean(data: Any) -> bool:
    """DRF's ``BooleanField``: true/false and their usual spellings (``"yes"``, ``1``, ``"off"``…)."""
    try:
        value = _BOOLEANS.get(data.lower() if isinstance(data, str) else data)
    except TypeError:  # unhashable: a list or an object
        value = None
    if value is None:
        raise _invalid(_drf(serializers.BooleanField, "invalid"))
    return value


def _count(data: Any) -> int:
    """DRF's ``IntegerField(min_value=0)``: integers, or text/floats that are whole numbers."""
    if data.__class__ is int:
        value = data
    else:
        if isinstance(data, str) and len(data) > serializers.IntegerField.MAX_STRING_LENGTH:
            raise _invalid(_drf(serializers.IntegerField, "max_string_length"), "max_string_length")
        try:
            value = int(serializers.IntegerField.re_decimal.sub("", str(data)))
        except (ValueError, TypeError):
            raise _invalid(_drf(serializers.IntegerField, "invalid")) from None
    if value < 0:
        raise _invalid(_drf(serializers.IntegerField, "min_value", min_value=0), "min_value")
    return value


def _choice(*choices: str, message: str | None = None) -> Check:
    """DRF's ``ChoiceField``: the text of the value must be one of ``choices``."""

    def check(data: Any) -> str:
        if str(data) in choices:
            return str(data)
        text = message or str(serializers.ChoiceField.default_error_messages["invalid_choice"])
        raise _invalid(text.format(input=data), "invalid_choice")

    return check


def _time(data: Any) -> str:
    """An ISO-8601 instant with a zone, as its stored UTC form ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if data.__class__ is str and _STORED_TIME.fullmatch(data) and "1000" <= data[:4] <= "9998":
        try:
            datetime.fromisoformat(data)
        except ValueError:
            pass
        else:
            return data
    try:
        return stored_time(parse_aware(data))
    except DateFormatError as error:
        raise _invalid(f"The time {data!r} {error}.", "invalid_time") from None


def _channel(data: Any) -> str:
    code = channel_code(data)
    if code is None:
        raise _invalid(
            f"Unknown channel {data!r}: use rtm (Web/Mobile Client), voice (Voice) or email (System Mail).",
            "invalid_channel",
        )
    return _CHANNEL_LABELS[code]


def _json(data: Any) -> Any:
    """DRF's ``JSONField``: any value that strict JSON can represent (no NaN or infinity)."""
    # Text, or an object of texts (a skill), is JSON as it is; anything else is encoded to find out.
    if data.__class__ is str or (data.__class__ is dict and _texts_only(data)):
        return data
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        raise _invalid(_drf(serializers.JSONField, "invalid")) from None
    return data


def _texts_only(data: dict[Any, Any]) -> bool:
    return all(key.__class__ is str and value.__class__ is str for key, value in data.items())


def _dict(data: Any) -> dict[str, Any]:
    """DRF's ``DictField``: an object, its values unchecked."""
    if not isinstance(data, dict):
        raise _invalid(_drf(serializers.DictField, "not_a_dict", input_type=type(data).__name__), "not_a_dict")
    return {str(key): value for key, value in data.items()}


def _recording_source(data: Any) -> dict[str, str]:
    """A source of ``recordingSources``, by the recordings app's one rule (:mod:`recordings.source_rules`)."""
    source, problems = recording_source_check(data)
    if source is None:
        errors: dict[str, list[ErrorDetail]] = {}
        for problem in problems:
            errors.setdefault(problem.name or _NON_FIELD, []).append(ErrorDetail(problem.msg, problem.code))
        raise RecordInvalid(errors)
    return {"url": source.url, "channel": source.channel}


# --- Containers ----------------------------------------------------------------------------------


def _list(child: Check, *, max_length: int | None = None, too_many: str = "") -> Check:
    """DRF's ``ListField``: every item checked; the errors of all bad items, by index.

    A list longer than ``max_length`` is refused with ``too_many`` before any item is checked.
    """

    def check(data: Any) -> list[Any]:
        if data.__class__ is not list and (isinstance(data, str | Mapping) or not hasattr(data, "__iter__")):
            raise _invalid(_drf(serializers.ListField, "not_a_list", input_type=type(data).__name__), "not_a_list")
        items = data if isinstance(data, list) else list(data)
        if max_length is not None and len(items) > max_length:
            raise _invalid(too_many, "too_many")
        if None not in items:
            try:
                return [child(item) for item in items]
            except RecordInvalid:
                pass  # collect every bad item below
        result = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(items):
            if item is None:
                errors[index] = _null()
                continue
            try:
                result.append(child(item))
            except RecordInvalid as error:
                errors[index] = error.detail
        if errors:
            raise RecordInvalid(errors)
        return result

    return check


def _object(fields: Mapping[str, Check], *, required: Collection[str] = (), open_: bool = True) -> Check:
    """A DRF serializer of ``fields``, as one function.

    1. Anything but an object is refused (open shapes say so in our words, closed ones in DRF's).
    2. Each declared field, in declaration order: absent → "required" if it is; ``null`` → absent
       in an open shape (a closed one refuses it); otherwise its check. Every field's errors are
       collected, keyed by name.
    3. The validated fields, then (open shapes only) the undeclared ones as they were sent.
    """
    declared = tuple(fields.items())
    needed = frozenset(required)

    def check(data: Any) -> dict[str, Any]:
        if data.__class__ is not dict and not isinstance(data, Mapping):
            if open_:
                raise RecordInvalid({_NON_FIELD: [ErrorDetail("Expected a JSON object.", "invalid_type")]})
            msg = _drf(serializers.Serializer, "invalid", datatype=type(data).__name__)
            raise RecordInvalid({_NON_FIELD: [ErrorDetail(msg, "invalid")]})
        validated: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        get = data.get
        for name, field in declared:
            value = get(name)
            if value is None:
                if not open_ and name in data:
                    errors[name] = _null()
                elif name in needed:
                    errors[name] = _required()
                continue
            try:
                validated[name] = field(value)
            except RecordInvalid as error:
                errors[name] = error.detail
        if errors:
            raise RecordInvalid(errors)
        if open_ and len(validated) < len(data):
            validated.update((key, value) for key, value in data.items() if value is not None and key not in fields)
        return validated

    return check


def _then(check: Check, *rules: Check) -> Check:
    """``check``, then field-level rules on its result (a serializer's ``validate_<field>``)."""

    def chained(data: Any) -> Any:
        value = check(data)
        for rule in rules:
            value = rule(value)
        return value

    return chained


# --- The record's shapes -----------------------------------------------------------------------

_TEXT = _text(allow_blank=True, trim=False)
_TEXTS = _list(_TEXT)
_ID_128 = _text(allow_blank=False, trim=True, max_length=128)
_ID_64 = _text(allow_blank=False, trim=True, max_length=64)

CONSULTING_AGENT = _object({
    "isMerged": _boolean, "name": _TEXT, "acceptedTime": _time, "assignedAt": _time, "consultingEndTime": _time,
})

AGENT_SEGMENT = _object({
    "agentId": _TEXT,
    "agentNotes": _TEXTS,
    "destinationType": _choice("AgentSegment"),
    "status": _TEXT,
    "firstResponseTime": _time,
    "firstResponseDuration": _count,
    "interactionEndTime": _time,
    "interactionDuration": _count,
    "afterCallWorkDuration": _count,
    "afterCallWorkEndTime": _time,
    "ConsultingAgents": _list(CONSULTING_AGENT),
    "JoinedUsers": _list(_json),
    "email": _TEXT,
    "name": _TEXT,
    "acceptedTime": _time,
    "assignedAt": _time,
    "nonResponseEvent": _TEXT,
})

QUEUE_ENTRY = _object(
    {
        "destinationType": _choice("QueueEntry"),
        "queueId": _ID_128,
        "queueName": _TEXT,
        "CallbackOpted": _boolean,
        "CallbackOptedTime": _time,
        "userCallbackAcceptTime": _time,
        "EnterTime": _time,
        "respondingAgent": AGENT_SEGMENT,
        "nonRespondingAgents": _list(AGENT_SEGMENT),
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
    raise RecordInvalid(
        {"destinationType": [ErrorDetail("A destination needs destinationType QueueEntry or AgentSegment.", "invalid")]}
    )


TAG = _object({"name": _text(allow_blank=False, trim=False), "value": _json}, required=("name",))


def _skills(value: list[Any]) -> list[Any]:
    for skill in value:
        if not isinstance(skill, str | Mapping):
            raise _invalid("A skill is an object {id, name} or a string.")
    return value


def _record_fields(bot_ids: Collection[str]) -> dict[str, Check]:
    def known_bot(value: str) -> str:
        if value not in bot_ids:
            raise _invalid(f"{value!r} is not a bot of this account.", "unknown_bot")
        return value

    return {
        "conversationId": _ID_128,
        "sessionId": _ID_128,
        "channel": _channel,
        "botId": _then(_ID_64, known_bot),
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
        "metaInfo": _dict,
        "customerinfo": _dict,
        "skills": _then(_list(_json), _skills),
        "userleveltags": _list(TAG),
        "sessionleveltags": _list(TAG),
        "destinations": _list(_destination),
        "recordingSources": _list(_recording_source, max_length=MAX_RECORDING_SOURCES, too_many=TOO_MANY),
    }


_RECORD_REQUIRED = ("sessionId", "channel", "botId", "sessionStartTime")


def interaction_record_validator(*, bot_ids: Collection[str]) -> Callable[[Any], dict[str, Any]]:
    """The check of one record of ``POST /api/v1/ingest/interactions`` for an account of ``bot_ids``.

    Returns the record as stored (times in UTC, channel as its label, nulls dropped, unknown fields
    kept) or raises :class:`RecordInvalid` with every reason. Built once per batch.
    """
    fields = _object(_record_fields(bot_ids), required=_RECORD_REQUIRED)

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
            raise RecordInvalid(errors)
        return record

    return check

