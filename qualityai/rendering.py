"""One rawdata result from a stored contact: the document as sent, with the derived keys recomputed."""

from __future__ import annotations

from typing import Any

from analytics_api.kernel.dates import parse_aware, render_utc_ms
from analytics_api.kernel.fields import json_text
from analytics_api.kernel.prerender import MARKS, Prerendering, marked_text, member, placeholder, placeholder_json
from analytics_api.kernel.validation import is_number
from qualityai.models import DurationStatus, QaContact
from qualityai.serializers import NOT_EVALUATED

# The documented order of a result's keys (the raw data page's sample), with our derived keys beside
# their kin. PostgreSQL's jsonb does not keep key order, so results are put in this order on every
# database; keys outside it follow in the order stored.
RESULT_KEY_ORDER = (
    "src", "customConversationId", "contactDirection", "is_direction_defaulted", "Conversation ID",
    "Conversation Start Time", "Conversation End Time", "Language", "Duration", "Sentiment Score",
    "Queues", "Agents", "Kore Evaluation Score", "IsChurnRiskObserved", "IsEscalationObserved",
    "Fatal Errors", "Emotions", "Taxonomy Resolution", "Audit Status", "Audit Score", "Audit Date",
    "Auditor Name", "duration_status", "Speaking Rate", "Sentiment Pattern", "Customer emotions",
    "Agent emotions", "Sentiment Ratio", "Metrics", "Pass Score", "IsPassed", "Evaluation Form Name",
    "Evaluation Form Scoring Type", "Generated Intents", "custom_fields", "Configured_Intents",
    "agentRecordings", "customerRecordings",
)
# Derived on every read: what a stored document says about them is never shown.
_DERIVED_KEYS = frozenset({"duration_status", "is_direction_defaulted", "agentRecordings", "customerRecordings"})


def duration_status(duration_ms: int | None, *, min_duration_ms: int) -> str:
    if duration_ms is None:
        return DurationStatus.DURATION_UNAVAILABLE
    if duration_ms < min_duration_ms:
        return DurationStatus.BELOW_THRESHOLD
    return DurationStatus.EVALUATED


def contact_result(
    contact: QaContact, *, min_duration_ms: int, recordings: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The rawdata result of a contact (docs/contract.md#rawdata-result-keys).

    Times come out in UTC with milliseconds and ``Z`` whatever zone they were sent in;
    ``customConversationId`` only when set; ``Audit Score`` only once the audit is complete;
    ``Kore Evaluation Score`` is ``"NA"`` without a score; recording links only when there are some.
    """
    document = contact.document
    values: dict[str, Any] = {key: value for key, value in document.items() if key not in _DERIVED_KEYS}
    audit_date = document.get("Audit Date")
    score = document.get("Kore Evaluation Score")
    values.update(
        {
            "contactDirection": contact.direction,
            "is_direction_defaulted": contact.direction_defaulted,
            "Conversation ID": contact.conversation_id,
            "Conversation Start Time": render_utc_ms(contact.started_at),
            "Conversation End Time": render_utc_ms(contact.ended_at) if contact.ended_at else None,
            "Duration": f"{contact.duration_ms} milliseconds" if contact.duration_ms is not None else None,
            "duration_status": duration_status(contact.duration_ms, min_duration_ms=min_duration_ms),
            "Kore Evaluation Score": score if is_number(score) else NOT_EVALUATED,
            "Audit Date": render_utc_ms(parse_aware(audit_date)) if audit_date else None,
        }
    )
    if not values.get("customConversationId"):
        values.pop("customConversationId", None)
    if not contact.audit_complete or values.get("Audit Score") is None:
        values.pop("Audit Score", None)
    for side in ("agent", "customer"):
        links = (recordings or {}).get(side)
        if links:
            values[f"{side}Recordings"] = links
    ordered = {key: values.pop(key) for key in RESULT_KEY_ORDER if key in values}
    ordered.update(values)
    return ordered


# --- Pre-rendered results ---------------------------------------------------------------------
#
# A result is fixed by its row except ``duration_status`` (the stream's minimum duration may
# change) and the recording links (recordings arrive later). So each contact's result is rendered
# to JSON text once, at ingestion (``QaContact.served``; see analytics_api.kernel.prerender for what the
# read endpoint expects of it), with markers where those go:
#   * ``\x01`` is the value of ``duration_status``;
#   * ``\x02`` / ``\x03`` stand where ``,"agentRecordings":[…]`` / ``,"customerRecordings":[…]`` go.
# A document whose served strings hold reserved characters is not pre-rendered (``served`` stays
# empty) and is rendered from its row instead.

# Bump when the text contact_prerender writes changes; then run ``manage.py prerender``.
PRERENDER_VERSION = 1

_STATUS, _AGENT, _CUSTOMER = MARKS
_SIDES = (("agent", _AGENT), ("customer", _CUSTOMER))
# What rendering a result reads; the rest of the row stays in the database.
RESULT_COLUMNS = (
    "conversation_id", "started_at", "ended_at", "direction", "direction_defaulted", "duration_ms",
    "audit_complete", "document",
)


def contact_prerender(contact: QaContact) -> str | None:
    """The result of ``contact`` as JSON text with markers, or None when it cannot be marked."""
    result = contact_result(
        contact, min_duration_ms=0, recordings={side: [placeholder(side)] for side, _ in _SIDES}
    )
    result["duration_status"] = placeholder("status")
    marks = [(placeholder_json("status"), f'"{_STATUS}"', 1)]
    marks.extend(
        (member(f"{side}Recordings", f"[{placeholder_json(side)}]"), mark, 1) for side, mark in _SIDES
    )
    return marked_text(json_text(result), marks)


SERVED_RESULTS = Prerendering(
    dataset="qa_contacts", model=QaContact, version=PRERENDER_VERSION, columns=RESULT_COLUMNS, render=contact_prerender
)


def served_result(
    text: str, *, duration_ms: int | None, min_duration_ms: int, recordings: dict[str, list[str]] | None
) -> str:
    """A pre-rendered result completed with its current duration status and recording links."""
    text = text.replace(_STATUS, duration_status(duration_ms, min_duration_ms=min_duration_ms), 1)
    for side, mark in _SIDES:
        links = (recordings or {}).get(side)
        text = text.replace(mark, member(f"{side}Recordings", json_text(links)) if links else "", 1)
    return text
