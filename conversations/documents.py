"""The stored interaction document and how it is served (docs/contract.md#interaction-response).

A document is the record exactly as interactionDetails serves it, except that every time is kept in
UTC as ``YYYY-MM-DDTHH:MM:SS.mmmZ``. Serving a page is therefore a pure walk over each document:
keys come out in the documented order (PostgreSQL's jsonb does not keep the order they were sent
in), local times are shifted to the caller's offset, and the optional sections are filtered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date as date_type
from datetime import datetime, timedelta
from typing import Any, Union

from analytics_api.kernel.dates import is_stored_time, render_local, render_utc_ms
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.prerender import (
    MARKS,
    Prerendering,
    escaped,
    marked_text,
    member,
    placeholder,
    placeholder_json,
)
from conversations.models import Interaction

# Optional sections a caller asks for with ``selectedFields``.
SECTIONS = ("skills", "userleveltags", "sessionleveltags", "customerinfo")


@dataclass(frozen=True)
class Shape:
    """One level of the document: key order, which keys are times, and nested levels."""

    order: tuple[str, ...]
    local_times: frozenset[str] = frozenset()
    # UTC times are stored in their served form (``…mmmZ``) and pass through unchanged.
    utc_times: frozenset[str] = frozenset()
    children: Mapping[str, Union[Shape, Callable[[Mapping[str, Any]], Shape]]] = field(default_factory=dict)  # noqa: UP007

    def ordered_keys(self, obj: Mapping[str, Any]) -> list[str]:
        known = [key for key in self.order if key in obj]
        if len(known) == len(obj):
            return known
        return known + [key for key in obj if key not in self.order]


CONSULTING_AGENT = Shape(
    order=("isMerged", "name", "acceptedTime", "assignedAt", "consultingEndTime"),
    local_times=frozenset({"acceptedTime", "assignedAt", "consultingEndTime"}),
)

AGENT_SEGMENT = Shape(
    order=(
        "agentId", "agentNotes", "destinationType", "status", "firstResponseTime", "firstResponseDuration",
        "interactionEndTime", "interactionDuration", "afterCallWorkDuration", "afterCallWorkEndTime",
        "ConsultingAgents", "JoinedUsers", "email", "name", "acceptedTime", "assignedAt", "nonResponseEvent",
    ),
    local_times=frozenset(
        {"firstResponseTime", "interactionEndTime", "afterCallWorkEndTime", "acceptedTime", "assignedAt"}
    ),
    children={"ConsultingAgents": CONSULTING_AGENT},
)

QUEUE_ENTRY = Shape(
    order=(
        "destinationType", "queueId", "queueName", "CallbackOpted", "CallbackOptedTime",
        "userCallbackAcceptTime", "EnterTime", "respondingAgent", "nonRespondingAgents",
    ),
    local_times=frozenset({"EnterTime"}),
    utc_times=frozenset({"CallbackOptedTime", "userCallbackAcceptTime"}),
    children={"respondingAgent": AGENT_SEGMENT, "nonRespondingAgents": AGENT_SEGMENT},
)


def destination_shape(destination: Mapping[str, Any]) -> Shape:
    """A destination is a queue entry or a direct transfer to an agent (``AgentSegment``)."""
    return AGENT_SEGMENT if destination.get("destinationType") == "AgentSegment" else QUEUE_ENTRY


_RECORD_TIMES = frozenset({"sessionStartTime", "sessionEndTime"})

# An agent-handled conversation, in the order of the reference sample.
CONVERSATION = Shape(
    order=(
        "conversationId", "sessionId", "channel", "isVoicemail", "Direction", "skills", "finalStatus",
        "smartStatus", "reason", "disconnectingEvent", "errorDetails", "botId", "dispositions",
        "dispositionRemarks", "metaInfo", "customerinfo", "sessionStartTime", "sessionEndTime",
        "channelSpecificUserId", "userId", "orgId", "destinations", "automationBotIDs", "userleveltags",
        "sessionleveltags",
    ),
    local_times=_RECORD_TIMES,
    children={"destinations": destination_shape},
)

# A bot-only session (no conversationId): the short form of the reference sample.
SESSION = Shape(
    order=(
        "sessionId", "channel", "sessionStartTime", "sessionEndTime", "botId", "userId",
        "channelSpecificUserId", "orgId", "smartStatus", "reason", "disconnectingEvent", "errorDetails",
        "finalStatus", "automationBotIDs", "isVoicemail", "Direction", "skills", "dispositions",
        "dispositionRemarks", "metaInfo", "customerinfo", "destinations", "userleveltags", "sessionleveltags",
    ),
    local_times=_RECORD_TIMES,
    children={"destinations": destination_shape},
)


def stored_time(instant: datetime) -> str:
    """How a time is kept in a document: UTC with milliseconds and ``Z``."""
    return render_utc_ms(instant)


Local = Callable[[Any], Any]


def _local(value: Any, offset: int) -> Any:
    if not isinstance(value, str):
        return value
    if offset == 0 and is_stored_time(value):
        # Already UTC: its local text at offset 0 is its first 19 characters (every time of every
        # document is rendered so when it is pre-rendered at ingestion).
        return value[:19]
    return render_local(datetime.fromisoformat(value), offset)


def _render(
    obj: Mapping[str, Any], shape: Shape, local: Local, sections: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """``obj`` in the key order of ``shape``, local times rendered; ``sections``: the caller's
    selection of optional sections (a whole document only; nested objects have none)."""
    out: dict[str, Any] = {}
    for key in shape.ordered_keys(obj):
        value = obj[key]
        if sections is not None and key in SECTIONS:
            if key not in sections:
                continue
            value = _keep_section(key, value, sections[key])
        elif key in shape.local_times:
            value = local(value)
        elif key in shape.children:
            value = _render_child(value, shape.children[key], local)
        out[key] = value
    return out


def _render_child(value: Any, child: Shape | Callable[[Mapping[str, Any]], Shape], local: Local) -> Any:
    def one(item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        return _render(item, child if isinstance(child, Shape) else child(item), local)

    return [one(item) for item in value] if isinstance(value, list) else one(value)


def _keep_section(name: str, value: Any, wanted: list[str]) -> Any:
    """A selected section, restricted to the wanted names when the caller listed some."""
    if not wanted:
        return value
    names = set(wanted)
    if name == "customerinfo":
        return {key: item for key, item in value.items() if key in names} if isinstance(value, Mapping) else value
    if not isinstance(value, list):
        return value
    if name == "skills":
        return [
            skill for skill in value
            if (skill in names if isinstance(skill, str) else isinstance(skill, Mapping)
                and (skill.get("name") in names or skill.get("id") in names))
        ]
    return [tag for tag in value if isinstance(tag, Mapping) and tag.get("name") in names]


def document_render(document: Mapping[str, Any], *, offset: int, sections: Mapping[str, list[str]]) -> dict:
    """The served form of one stored document.

    1. Walk the keys in the documented order of its form (conversation or bot-only session).
    2. Drop the optional sections the caller did not select; filter the selected ones by name.
    3. Render local times as ``YYYY-MM-DDTHH:MM:SS`` at ``offset`` (UTC − local, in minutes), at
       every level; callback times stay UTC with milliseconds and ``Z``.
    """
    return _render_document(document, sections, lambda value: _local(value, offset))


def _render_document(document: Mapping[str, Any], sections: Mapping[str, list[str]], local: Local) -> dict:
    return _render(document, CONVERSATION if "conversationId" in document else SESSION, local, sections)


# --- Pre-rendered documents -------------------------------------------------------------------
#
# At ingestion each document is also rendered once to JSON text (``Interaction.served``; see
# analytics_api.kernel.prerender for what the read endpoints expect of it): keys in the documented
# order, every section present, local times at offset 0. Serving is then text work on the whole
# page at once: drop the sections the caller did not select and shift local times. Markers:
#   * ``\x01`` precedes every local time: ``"\x01YYYY-MM-DDTHH:MM:SS"``;
#   * ``\x02,"name":value\x03`` wraps each optional section.
# A document whose own strings contain reserved characters is not pre-rendered (``served`` stays
# empty) and is rendered from its parsed form instead.

# Bump when the text document_prerender writes changes; then run ``manage.py prerender``.
PRERENDER_VERSION = 1

_TIME_MARK, _OPEN, _CLOSE = MARKS
_SECTION = placeholder("section")


@functools.cache
def _marked_sections(names: tuple[str, ...]) -> re.Pattern[str]:
    """The marked sections ``names`` (removed whole by a constant substitution: no call per match).

    Every section (the default of ``selectedFields``) needs no names: that pattern is twice as fast.
    """
    if set(names) == set(SECTIONS):
        return re.compile(f"{_OPEN}[^{_CLOSE}]*{_CLOSE}")
    return re.compile(f'{_OPEN},"(?:{"|".join(names)})":[^{_CLOSE}]*{_CLOSE}')


def document_prerender(document: Mapping[str, Any]) -> str | None:
    """The served text of ``document`` with markers (see above), or None when it cannot be marked.

    1. Render it at offset 0 with every section, local times prefixed by a marker and every
       section's value replaced by a placeholder.
    2. Dump it and put each section back, wrapped in markers, in place of its placeholder; the
       time markers are counted, so that :func:`marked_text` tells ours from the document's own.
    """
    times: list[None] = []

    def mark_time(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        times.append(None)
        return _TIME_MARK + _local(value, 0)

    sections = {name: document[name] for name in SECTIONS if name in document}
    rendered = _render_document(document, {name: [] for name in SECTIONS}, mark_time)
    for name in sections:
        rendered[name] = _SECTION
    marks = [(escaped(_TIME_MARK), _TIME_MARK, len(times))]
    marks.extend(
        (member(name, placeholder_json("section")), _OPEN + member(name, json_text(value)) + _CLOSE, 1)
        for name, value in sections.items()
    )
    return marked_text(json_text(rendered), marks)


SERVED_DOCUMENTS = Prerendering(
    dataset="interactions",
    model=Interaction,
    version=PRERENDER_VERSION,
    columns=("document",),
    render=lambda row: document_prerender(row.document),
)


def served_page(texts: list[str], *, offset: int, sections: Mapping[str, list[str]]) -> str:
    """The ``data`` array of a page from pre-rendered texts, for the caller's offset and sections.

    Only for sections selected without a name filter; ``page_needs_documents`` says when not.
    """
    return _served("[" + ",".join(texts) + "]", offset=offset, sections=sections)


def served_lines(texts: list[str], *, offset: int, sections: Mapping[str, list[str]]) -> str:
    """The records of pre-rendered texts as :func:`served_page` serves them, one per line (each
    ending in a newline: JSON text holds no raw newline), in one pass over the joined texts."""
    return _served("\n".join(texts) + "\n", offset=offset, sections=sections)


def _served(page: str, *, offset: int, sections: Mapping[str, list[str]]) -> str:
    left_out = tuple(name for name in SECTIONS if name not in sections)
    if left_out:
        page = _marked_sections(left_out).sub("", page)
    if len(left_out) < len(SECTIONS):
        # Every marker left wraps a selected section (a raw control character in JSON text is ours).
        page = _unwrapped(page)
    if offset == 0:
        return page.replace(_TIME_MARK, "")
    return _shift_times(page, offset)


def served_record(text: str) -> str:
    """One pre-rendered text as served at offset 0 with every section (the change feed's form): its
    markers removed. Text by text rather than over a joined page: each pass then runs over a text
    still in the processor's cache (a page of 10,000 records, 18 MB: 26 ms instead of 55 ms)."""
    return _unwrapped(text).replace(_TIME_MARK, "")


def _unwrapped(text: str) -> str:
    """``text`` without the markers around its sections (each section then served as it stands)."""
    return text.replace(_OPEN, "").replace(_CLOSE, "")


# A marked time as the page holds it: the marker, the UTC date, "T", the UTC hour and minute.
_MARKED_TIME = re.compile(f"{_TIME_MARK}(.{{10}})T(.{{5}})", re.DOTALL)
_CLOCKS = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440))


@functools.lru_cache(maxsize=32)
def _clock_shift(offset: int) -> dict[str, tuple[str, int]]:
    """For each UTC ``HH:MM`` of a day, its local ``THH:MM`` at ``offset`` and the days it moves
    the date by (−1, 0 or 1). About 200 KiB an offset (32 kept at most); a process serves few."""
    shifted = {}
    for minute, clock in enumerate(_CLOCKS):
        days, local = divmod(minute - offset, 1440)
        shifted[clock] = ("T" + _CLOCKS[local], days)
    return shifted


@functools.lru_cache(maxsize=4096)
def _date_shift(day: str, days: int) -> str:
    return (date_type.fromisoformat(day) + timedelta(days=days)).isoformat()


def _shift_times(page: str, offset: int) -> str:
    """Local times of ``page`` (offset 0) at ``offset``: only ``YYYY-MM-DDTHH:MM`` changes.

    Offsets are whole minutes, so seconds never move.

    1. Split the page at the marked times with one regular expression: the pieces alternate text,
       UTC date, UTC ``HH:MM``.
    2. Look each ``HH:MM`` up in the offset's table of the day's 1,440 minutes (built once per
       offset): its local ``THH:MM`` and whether the date moves.
    3. Move only the dates that cross midnight (a date and a move are computed once), and join.

    A page of 100 records holds ~700 times; computing each one in Python had cost ~0.5 ms.
    """
    clocks = _clock_shift(offset)
    pieces = _MARKED_TIME.split(page)
    moved = [clocks[clock] for clock in pieces[2::3]]
    pieces[2::3] = [local for local, _ in moved]
    pieces[1::3] = [
        day if not days else _date_shift(day, days) for day, (_, days) in zip(pieces[1::3], moved, strict=True)
    ]
    return "".join(pieces)


def page_needs_documents(sections: Mapping[str, list[str]]) -> bool:
    """Sections filtered by name are rendered from parsed documents, not from the served text."""
    return any(sections.values())
