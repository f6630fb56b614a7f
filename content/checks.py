"""Validation of one ingested conversation record (docs/contract.md#content-records).

A record has ``sessionId``, optionally ``transcriptMode``, and any of the sections below; a section
present replaces the stored one (the transcript is merged by message id in append mode, events are
always merged by id), a section absent is left as it is. Every time must name its zone and is
stored in UTC as ``YYYY-MM-DDTHH:MM:SS.mmmZ``. Every list and text has a documented cap (the
constants below), so a record's size is bounded before anything is stored.

The checks are those of :mod:`analytics_api.kernel.validation` in our wording (messages name the
field, one JSON type per field, no coercion); they are built once at import. Unknown fields are
refused (a misspelt section would otherwise be dropped without a word), except inside an event's
``details``, which is free.

Adding a section: write its check, add it to :data:`STORED_SECTIONS` (it is then kept as sent in
``Conversation.sections``), or to :data:`OTHER_SECTIONS` with its writer in
``content.services.OTHER_WRITERS`` when another app keeps it in a table of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ErrorDetail

from analytics_api.kernel.dates import is_stored_time, render_utc_ms
from analytics_api.kernel.validation import (
    Check,
    Invalid,
    aware_time,
    choice,
    invalid,
    list_of,
    obj,
    strict,
    strict_text,
    whole_number,
)
from content.models import Sentiment, Status
from diagnostics.checks import diagnostics_check

# --- Caps (docs/contract.md#content-caps) ---------------------------------------------------------
MAX_MESSAGES = 2_000  # messages in one record's transcript
MAX_STORED_MESSAGES = 10_000  # messages of a conversation once appended
MAX_MESSAGE_TEXT = 20_000  # characters of one message's text (an e-mail body)
MAX_EVENTS = 1_000  # events in one record
MAX_STORED_EVENTS = 5_000  # events of a conversation once appended
MAX_TURNS = 1_000  # voice turns of a conversation
MAX_FLAGS = 50
MAX_NOTES = 100
MAX_NOTE_TEXT = 4_000
MAX_EMOTIONS = 20
MAX_JOINED_USERS = 50
MAX_RECIPIENTS = 100  # addresses in each of to, cc and bcc
MAX_ID = 128  # sessionId, message, event, flag, note, agent and queue ids
MAX_NAME = 200  # names, authors, smartStatus, mode, campaign fields, identifiers
MAX_LONG_TEXT = 4_000  # errorMessage, csat feedback, flag reason, event details as text
MAX_LANGUAGE = 32
MAX_SUBJECT = 998  # an e-mail subject line (RFC 5322's line limit)
MAX_ADDRESS = 320  # an e-mail address

TRANSCRIPT_MODES = ("replace", "append")
ROLES = ("customer", "bot", "agent", "supervisor", "system")
KINDS = (
    "message", "whisper", "agent_ai", "transfer_to_agent", "transfer_to_automation", "max_no_input", "llm_error",
    "hold_start", "hold_end",
)
EVENT_TYPES = (
    "routing_initiated", "conversation_accepted", "conversation_rejected", "conversation_transferred",
    "transfer_failed", "agent_joined", "agent_left", "agent_consulted", "skill_changed", "disposition_updated",
    "after_call_work", "conversation_closed",
)
FLAG_SOURCES = ("ai_review", "supervisor")
TURN_POINTS = (
    "userStoppedSpeaking", "asrTranscriptReturned", "transcriptSentToBot", "botResponseReceived", "ttsRequested",
    "firstAudioByteReceived", "firstAudioHeard",
)

# The stored form of a time; one already in it (years 1000-9998) is kept as sent.


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


def _time(name: str) -> Check:
    """An ISO-8601 instant naming its zone, as its stored UTC form ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    parse = aware_time(message="{name} {reason}.", name=name)

    def check(data: Any) -> str:
        return data if is_stored_time(data) else render_utc_ms(parse(data))

    return check


def _text(name: str, max_length: int, *, allow_blank: bool = True) -> Check:
    return strict_text(name, max_length=max_length, allow_blank=allow_blank)


def _id(name: str) -> Check:
    return _text(name, MAX_ID, allow_blank=False)


def _one_of(name: str, values: tuple[str, ...]) -> Check:
    return choice(*values, message=f"{name} must be one of {_listing(values)}, not {{input!r}}.")


def _list(name: str, item: Check, cap: int) -> Check:
    return list_of(
        item,
        max_length=cap,
        too_many=f"{name} holds at most {cap:,} items.",
        not_a_list=f"{name} must be a list of at most {cap:,} items.",
    )


def closed(fields: Mapping[str, Check], *, required: tuple[str, ...] = ()) -> Check:
    """An object of ``fields`` only: an unknown field is refused by name (``unknown_field``); ``null`` is absent."""
    known = obj(fields, required=required, named=True, keep_unknown=False)
    allowed = frozenset(fields)
    listing = ", ".join(fields)

    def check(data: Any) -> dict[str, Any]:
        unknown = [key for key in data if key not in allowed] if isinstance(data, dict) else []
        try:
            value = known(data)
        except Invalid as error:
            if not unknown or not isinstance(error.detail, dict):
                raise
            errors = dict(error.detail)
        else:
            if not unknown:
                return value
            errors = {}
        for key in unknown:
            errors[str(key)] = [ErrorDetail(f"Unknown field {str(key)!r}: expected {listing}.", "unknown_field")]
        raise Invalid(errors)

    return check


def _object_or_text(name: str) -> Check:
    """Event ``details``: free JSON object, or text."""

    def check(data: Any) -> Any:
        if isinstance(data, dict):
            return data
        if isinstance(data, str) and len(data) <= MAX_LONG_TEXT:
            return data
        raise invalid(f"{name} must be an object or a string of at most {MAX_LONG_TEXT:,} characters.")

    return check


def _joined_user(data: Any) -> Any:
    if isinstance(data, str) and 0 < len(data) <= MAX_NAME:
        return data
    if isinstance(data, dict):
        return JOINED_USER(data)
    raise invalid(f"A joined user is an object {{id, name}} or a string of at most {MAX_NAME} characters.")


# --- Sections ----------------------------------------------------------------------------------

STATUS = _one_of("status", tuple(Status.values))

CSAT = closed({
    "score": whole_number("csat.score", minimum=1, maximum=5,
                          message="csat.score must be an integer from 1 to 5, or null (asked, not answered)."),
    "feedback": _text("csat.feedback", MAX_LONG_TEXT),
})

NPS = closed({
    "score": whole_number("nps.score", minimum=0, maximum=10,
                          message="nps.score must be an integer from 0 to 10, or null (asked, not answered)."),
})

LIKE = strict("like", lambda data: isinstance(data, bool), "true, false or null (asked, not answered)")

SENTIMENT = closed(
    {
        "overall": _one_of("sentiment.overall", tuple(Sentiment.values)),
        "emotions": _list("sentiment.emotions", _text("An emotion", 64, allow_blank=False), MAX_EMOTIONS),
    },
    required=("overall",),
)

FLAG = closed(
    {
        "id": _id("id"),
        "reason": _text("reason", MAX_LONG_TEXT),
        "source": _one_of("source", FLAG_SOURCES),
        "time": _time("time"),
    },
    required=("id", "source"),
)

NOTE = closed(
    {
        "id": _id("id"),
        "time": _time("time"),
        "author": _text("author", MAX_NAME),
        "text": _text("text", MAX_NOTE_TEXT),
    },
    required=("id", "text"),
)

SNOOZE = closed({
    "count": whole_number("snooze.count", minimum=0, maximum=1_000_000),
    "durationSeconds": whole_number("snooze.durationSeconds", minimum=0, maximum=10**9),
})

CAMPAIGN = closed({"name": _text("campaign.name", MAX_NAME), "instanceId": _text("campaign.instanceId", MAX_NAME)})

JOINED_USER = closed({"id": _text("id", MAX_ID), "name": _text("name", MAX_NAME)})

IDENTIFIERS = closed({
    name: _text(f"identifiers.{name}", MAX_NAME)
    for name in ("callId", "callConversationId", "agentConversationId", "externalCallId", "caller", "callee")
})

_ADDRESS = _text("An address", MAX_ADDRESS, allow_blank=False)

EMAIL = closed({
    "subject": _text("email.subject", MAX_SUBJECT),
    "from": _ADDRESS,
    "to": _list("email.to", _ADDRESS, MAX_RECIPIENTS),
    "cc": _list("email.cc", _ADDRESS, MAX_RECIPIENTS),
    "bcc": _list("email.bcc", _ADDRESS, MAX_RECIPIENTS),
})

MESSAGE = closed(
    {
        "id": _id("id"),
        "time": _time("time"),
        "role": _one_of("role", ROLES),
        "kind": _one_of("kind", KINDS),
        "text": _text("text", MAX_MESSAGE_TEXT),
        "agentId": _text("agentId", MAX_ID),
        "agentName": _text("agentName", MAX_NAME),
        "email": EMAIL,
    },
    required=("id", "time", "role"),
)


_ROLE_SET = frozenset(ROLES)
_KIND_SET = frozenset(KINDS)
_EVENT_SET = frozenset(EVENT_TYPES)
_PLAIN_MESSAGE = frozenset(("id", "time", "role", "kind", "text", "agentId", "agentName"))
_PLAIN_EVENT = frozenset(("id", "type", "time", "agentId", "queueId"))
def _message(data: Any) -> dict[str, Any]:
    """A message. The usual shape (known fields, text values, the stored time form) is looked at once
    with the same rules and kept as it is; anything else goes through :data:`MESSAGE`, which says what
    is wrong."""
    if data.__class__ is dict and data.keys() <= _PLAIN_MESSAGE:
        get = data.get
        key, role, kind, text = get("id"), get("role"), get("kind", "message"), get("text", "")
        agent_id, agent_name = get("agentId", ""), get("agentName", "")
        if (
            key.__class__ is str and 0 < len(key) <= MAX_ID and not key.isspace()
            and role.__class__ is str and role in _ROLE_SET
            and kind.__class__ is str and kind in _KIND_SET
            and text.__class__ is str and len(text) <= MAX_MESSAGE_TEXT
            and agent_id.__class__ is str and len(agent_id) <= MAX_ID
            and agent_name.__class__ is str and len(agent_name) <= MAX_NAME
            and is_stored_time(get("time"))
        ):
            if kind is not data.get("kind"):
                data["kind"] = kind
            return data
    message = MESSAGE(data)
    message.setdefault("kind", "message")
    return message


_EVENT = closed(
    {
        "id": _id("id"),
        "type": _one_of("type", EVENT_TYPES),
        "time": _time("time"),
        "agentId": _text("agentId", MAX_ID),
        "queueId": _text("queueId", MAX_ID),
        "details": _object_or_text("details"),
    },
    required=("id", "type", "time"),
)


def EVENT(data: Any) -> dict[str, Any]:
    """An event: the usual shape looked at once with the same rules (as :func:`_message`), else the full check."""
    if data.__class__ is dict and data.keys() <= _PLAIN_EVENT:
        get = data.get
        key, kind, agent_id, queue_id = get("id"), get("type"), get("agentId", ""), get("queueId", "")
        if (
            key.__class__ is str and 0 < len(key) <= MAX_ID and not key.isspace()
            and kind.__class__ is str and kind in _EVENT_SET
            and agent_id.__class__ is str and len(agent_id) <= MAX_ID
            and queue_id.__class__ is str and len(queue_id) <= MAX_ID
            and is_stored_time(get("time"))
        ):
            return data
    return _EVENT(data)

TURN = closed(
    {"turn": whole_number("turn", minimum=1, maximum=1_000_000), **{point: _time(point) for point in TURN_POINTS}},
    required=("turn",),
)

# Sections kept as sent in Conversation.sections (a new small section only needs a line here).
STORED_SECTIONS: dict[str, Check] = {
    "csat": CSAT,
    "nps": NPS,
    "sentiment": SENTIMENT,
    "flags": _list("flags", FLAG, MAX_FLAGS),
    "notes": _list("notes", NOTE, MAX_NOTES),
    "snooze": SNOOZE,
    "campaign": CAMPAIGN,
    "mode": _text("mode", MAX_NAME),
    "joinedUsers": _list("joinedUsers", _joined_user, MAX_JOINED_USERS),
    "identifiers": IDENTIFIERS,
}

# Sections kept as a document of their own (content.models), merged by id (turn) where they append.
TRANSCRIPT = _list("transcript", _message, MAX_MESSAGES)
EVENTS = _list("events", EVENT, MAX_EVENTS)
VOICE_TURNS = _list("voiceTurns", TURN, MAX_TURNS)

# Sections kept by another app in a table of its own (its check here, its writer in
# content.services.OTHER_WRITERS under the same name).
OTHER_SECTIONS: dict[str, Check] = {"diagnostics": diagnostics_check}

RECORD_FIELDS: dict[str, Check] = {
    "sessionId": _id("sessionId"),
    "transcriptMode": _one_of("transcriptMode", TRANSCRIPT_MODES),
    "status": STATUS,
    "smartStatus": _text("smartStatus", MAX_NAME),
    "errorMessage": _text("errorMessage", MAX_LONG_TEXT),
    "language": _text("language", MAX_LANGUAGE, allow_blank=False),
    "like": LIKE,
    **STORED_SECTIONS,
    "transcript": TRANSCRIPT,
    "events": EVENTS,
    "voiceTurns": VOICE_TURNS,
    **OTHER_SECTIONS,
}
_RECORD = closed(RECORD_FIELDS, required=("sessionId",))
# Sections whose null is a value (asked, not answered): kept as present with None.
_NULL_MEANS_ASKED = ("like",)


def content_record_check(data: Any) -> dict[str, Any]:
    """The check of one record of ``POST /api/v1/ingest/conversations``.

    Returns the record with times in UTC, ``kind`` defaulted to ``message``, a ``null`` section
    dropped (except ``like``, where null is "asked, not answered"), or raises :class:`Invalid` with
    every reason, each under its field path.
    """
    record = _RECORD(data)
    for name in _NULL_MEANS_ASKED:
        if isinstance(data, dict) and name in data and data[name] is None:
            record[name] = None
    errors: dict[str, Any] = {}
    status = record.get("status")
    for name in ("smartStatus", "errorMessage"):
        if name in record and status is None:
            errors[name] = [ErrorDetail(f"{name} belongs to the status section: send it with status.", "invalid")]
    if "errorMessage" in record and status not in (None, Status.ERROR):
        errors["errorMessage"] = [ErrorDetail(
            f'errorMessage goes with status "error", not {status!r}.', "invalid")]
    if errors:
        raise Invalid(errors)
    return record


def record_key(record: dict[str, Any]) -> str:
    return record["sessionId"]
