"""What a valid recording source is: the one rule ingestion's validator and registration both apply.

A voice record may carry ``recordingSources: [{"url", "channel"}]``, at most
:data:`MAX_RECORDING_SOURCES` of them. A source is an object with exactly these two fields:

- ``url``: text (a number is taken as its text), trimmed, non-blank, at most
  :data:`MAX_URL_LENGTH` characters, storable (no NUL, no unpaired surrogate), an ``http``,
  ``https`` or ``s3`` address, without control characters (a raw CR/LF would forge lines in the
  fetcher's logs);
- ``channel``: ``mixed``, ``agent`` or ``customer``.

The recording is kept under the record's conversation id, which must be readable in a URL path
(:func:`recording_id_refusal`). Messages and codes read like DRF's field errors, because ingestion
reports them beside the serializer-style errors of the record's other fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from analytics_api.kernel.text import has_control_characters
from analytics_api.kernel.validation import Invalid, drf_message, text
from recordings.models import Channel

RECORDING_CHANNELS: tuple[str, ...] = tuple(Channel.values)
RECORDING_SCHEMES = ("http://", "https://", "s3://")
MAX_URL_LENGTH = 2000
# Each source becomes a fetch job: a cap keeps one ingest client from occupying every worker.
MAX_RECORDING_SOURCES = 10

CONTROL_CHARACTERS_IN_URL = (
    "A recording source url may not contain control characters (such as CR, LF or tab); percent-encode them."
)
NOT_AN_ADDRESS = "A recording source must be an http, https or s3 address."
TOO_MANY = f"A record may list at most {MAX_RECORDING_SOURCES} recordingSources."

# DRF's CharField rules (type, blank, length, NUL, surrogates), as the record's other text fields.
_URL_TEXT = text(allow_blank=False, trim=True, max_length=MAX_URL_LENGTH)


@dataclass(frozen=True)
class SourceProblem:
    """One reason a source is refused; ``name`` is ``url``, ``channel`` or "" (the source itself)."""

    name: str
    msg: str
    code: str


@dataclass(frozen=True)
class RecordingSource:
    channel: str
    url: str


def _absent(source: dict[str, Any], name: str) -> SourceProblem:
    if name in source:
        return SourceProblem(name, drf_message(serializers.Field, "null"), "null")
    return SourceProblem(name, drf_message(serializers.Field, "required"), "required")


def _url_problems(data: Any) -> tuple[str, list[SourceProblem]]:
    """The trimmed address, or why it is not one (every text rule at once, then the address rules)."""
    try:
        value = _URL_TEXT(data)
    except Invalid as error:
        return "", [SourceProblem("url", str(detail), detail.code) for detail in error.detail]
    if not value.lower().startswith(RECORDING_SCHEMES):
        return "", [SourceProblem("url", NOT_AN_ADDRESS, "invalid")]
    if has_control_characters(value):
        return "", [SourceProblem("url", CONTROL_CHARACTERS_IN_URL, "invalid")]
    return value, []


def recording_source_check(source: Any) -> tuple[RecordingSource | None, list[SourceProblem]]:
    """One source: the cleaned source, or None and every reason it is refused."""
    if not isinstance(source, dict):
        msg = drf_message(serializers.Serializer, "invalid", datatype=type(source).__name__)
        return None, [SourceProblem("", msg, "invalid")]
    problems: list[SourceProblem] = []
    url = ""
    if source.get("url") is None:
        problems.append(_absent(source, "url"))
    else:
        url, url_problems = _url_problems(source["url"])
        problems += url_problems
    channel = source.get("channel")
    if channel is None:
        problems.append(_absent(source, "channel"))
    elif str(channel) not in RECORDING_CHANNELS:
        msg = f"channel must be {', '.join(RECORDING_CHANNELS[:-1])} or {RECORDING_CHANNELS[-1]}, not {channel!r}."
        problems.append(SourceProblem("channel", msg, "invalid_choice"))
    if problems:
        return None, problems
    return RecordingSource(channel=str(channel), url=url), []


def recording_sources_check(sources: Sequence[Any], *, field: str = "recordingSources") -> tuple[
    list[RecordingSource], list[dict[str, str]]
]:
    """A record's sources: the distinct cleaned sources in order, or the error items of every bad one
    (``{"msg", "code", "field"}`` with fields such as ``recordingSources[0].url``)."""
    if len(sources) > MAX_RECORDING_SOURCES:
        return [], [{"msg": TOO_MANY, "code": "too_many", "field": field}]
    cleaned: list[RecordingSource] = []
    errors: list[dict[str, str]] = []
    for index, source in enumerate(sources):
        item, problems = recording_source_check(source)
        for problem in problems:
            name = f"{field}[{index}]" + (f".{problem.name}" if problem.name else "")
            errors.append({"msg": problem.msg, "code": problem.code, "field": name})
        if item is not None:
            cleaned.append(item)
    if errors:
        return [], errors
    return list(dict.fromkeys(cleaned)), []


def recording_id_refusal(conversation_id: str) -> str | None:
    """Why a recording could not be kept under ``conversation_id``, or None.

    A recording is read at ``/api/v1/recordings/{conversationId}``: an id holding ``/`` (which a
    client may not escape, ``%2F`` is decoded before routing) or that is ``.`` or ``..`` (which
    clients resolve away) would be stored and never be readable, so it is refused at ingestion.
    """
    where = "on a record with recordingSources: its recording is read at /api/v1/recordings/{conversationId}."
    if "/" in conversation_id:
        return f"may not contain '/' {where}"
    if conversation_id in (".", ".."):
        return f"may not be '.' or '..' {where}"
    return None
