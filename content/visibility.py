"""Which transcript messages may leave the service (docs/contract.md#customer-speech-on-hold).

Customer speech between ``hold_start`` and ``hold_end`` is never shown, exported or searchable: one
rule, used by every reader of a transcript (the transcript endpoint, exports, the search index).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

AGENT_AI = "agent_ai"
HOLD_START = "hold_start"
HOLD_END = "hold_end"


def messages_visible(
    messages: Iterable[Mapping[str, Any]], *, exclude_agent_ai: bool = False
) -> Iterator[Mapping[str, Any]]:
    """The messages in their stored (time) order, less the customer's during a hold.

    A hold opened and never closed hides the customer's messages to the end of the transcript.
    ``exclude_agent_ai`` also leaves out the agent-assist log (kind ``agent_ai``).
    """
    on_hold = False
    for message in messages:
        kind = message.get("kind") or "message"
        if kind == HOLD_START:
            on_hold = True
        elif kind == HOLD_END:
            on_hold = False
        if on_hold and message.get("role") == "customer":
            continue
        if exclude_agent_ai and kind == AGENT_AI:
            continue
        yield message
