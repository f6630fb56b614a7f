"""The transcript as it may be shown (docs/contract.md#conversation-transcript): hold suppression, stages, CSV.

:func:`hold_suppressed` is the one place that removes what the customer said while on hold: the
transcript endpoint (JSON and CSV), search indexing and every export call it, so customer speech
between ``hold_start`` and ``hold_end`` is never shown, exported or searchable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

Message = Mapping[str, Any]

HOLD_START = "hold_start"
HOLD_END = "hold_end"
AGENT_AI = "agent_ai"
CUSTOMER = "customer"
# How the reference's Transcript tab labels each kind of entry (a plain message has no label).
LABELS = {
    "message": None,
    "whisper": "Whisper",
    AGENT_AI: "Agent AI",
    "transfer_to_agent": "User transferred to Agent",
    "transfer_to_automation": "User transferred to Automation",
    "max_no_input": "Max no-input attempts reached",
    "llm_error": "LLM Error Detected",
    HOLD_START: "Customer placed on hold",
    HOLD_END: "Customer taken off hold",
}
EMAIL_FIELDS = ("subject", "from", "to", "cc", "bcc")
CSV_HEADER = ("id", "time", "role", "kind", "label", "agentId", "agentName", "text", *(
    f"email{name.capitalize()}" for name in EMAIL_FIELDS
))


def hold_suppressed(messages: Iterable[Message]) -> Iterator[Message]:
    """``messages`` (in time order) without the customer's messages between ``hold_start`` and ``hold_end``.

    A hold with no end lasts to the end of the transcript; the hold markers themselves stay.
    """
    on_hold = False
    for message in messages:
        kind = message.get("kind")
        if kind == HOLD_START:
            on_hold = True
        elif kind == HOLD_END:
            on_hold = False
        elif on_hold and message.get("role") == CUSTOMER:
            continue
        yield message


def transcript_visible(messages: Iterable[Message], *, exclude_agent_ai: bool = False) -> list[Message]:
    """What may be shown of a transcript: hold suppressed, and without agent-assist logs on request."""
    shown = hold_suppressed(messages)
    if exclude_agent_ai:
        shown = (message for message in shown if message.get("kind") != AGENT_AI)
    return list(shown)


def _email(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {name: value.get(name) for name in EMAIL_FIELDS}


def message_view(message: Message) -> dict[str, Any]:
    """One entry of the transcript as served: its kind's label beside the text."""
    kind = message.get("kind") or "message"
    view = {
        "id": message.get("id"),
        "time": message.get("time"),
        "role": message.get("role"),
        "kind": kind,
        "label": LABELS.get(kind),
        "text": message.get("text"),
        "agentId": message.get("agentId"),
        "agentName": message.get("agentName"),
    }
    if (email := _email(message.get("email"))) is not None:
        view["email"] = email
    return view


def transcript_subject(messages: Sequence[Message]) -> str | None:
    """An e-mail conversation's subject, shown at the beginning: the first message's that has one."""
    for message in messages:
        subject = (message.get("email") or {}).get("subject") if isinstance(message.get("email"), Mapping) else None
        if subject:
            return str(subject)
    return None


def transcript_csv_rows(views: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
    """The rows under :data:`CSV_HEADER`, one per shown entry."""
    for view in views:
        email = view.get("email") or {}
        yield [
            view["id"], view["time"], view["role"], view["kind"], view["label"], view["agentId"],
            view["agentName"], view["text"], *(email.get(name) for name in EMAIL_FIELDS),
        ]
