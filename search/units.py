"""What of a conversation is searched (docs/search.md#what-is-searched), read from the stored data.

A *unit* is one searchable text: a transcript message's text, an e-mail's subject, an agent note, a
disposition remark. The whole phrase (tier 1) must stand in one unit. The index and the snippets
both make units with :func:`searchable_build` (the index through :func:`units_load`, a search page through
:func:`page_searchables`), so what is found is what is highlighted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from analytics_api.kernel.compiled import CompiledQuery
from content.models import Conversation, Transcript
from content.transcripts import AGENT_AI, hold_suppressed
from conversations.models import Interaction
from conversations.selectors import conversation_interaction

SOURCE_MESSAGE = "message"
SOURCE_NOTE = "note"
SOURCE_REMARKS = "dispositionRemarks"

# The identifiers a `q` may equal (docs/search.md#id-search), as stored in the sections.
SECTION_IDENTIFIERS = ("callId", "callConversationId", "agentConversationId", "externalCallId")
DOCUMENT_IDENTIFIERS = ("userId", "channelSpecificUserId", "conversationId")
MAX_IDENTIFIER_LENGTH = 255


class Unit(NamedTuple):
    """One searchable text. A tuple rather than a frozen dataclass: every message of every indexed or
    served conversation makes one, and a tuple is made in a third of the time."""

    source: str
    ref: str | None
    field: str
    text: str
    agent_ai: bool = False


class InteractionFacts(Protocol):
    """What the search reads of an interaction record: a stored ``Interaction`` or a batch's row."""

    conversation_id: str | None
    document: Mapping[str, Any]


@dataclass(frozen=True)
class InteractionText:
    """An interaction record being written, as :class:`InteractionFacts` (no query to read it back)."""

    conversation_id: str | None
    document: Mapping[str, Any]


class ConversationFacts(Protocol):
    """What the index reads of a conversation's row: a stored ``Conversation`` or an :class:`IndexedRow`."""

    pk: int
    session_id: str
    started_at: datetime
    sections: Mapping[str, Any]


class IndexedRow(NamedTuple):
    """A conversation's row as the index reads it (:func:`units_load`): a thousand
    model instances took about as long as the index's own statements."""

    pk: int
    session_id: str
    started_at: datetime
    sections: Mapping[str, Any]


@dataclass
class Searchable:
    """A conversation as the search reads it: its row, its units, its identifiers and its interaction
    record's document (None before the record arrives), which a search page renders too."""

    conversation: Conversation | IndexedRow  # an IndexedRow when read for the index only
    units: list[Unit] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)
    document: Mapping[str, Any] | None = None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item.strip()]
    return []


def _message_units(messages: Iterable[Mapping[str, Any]]) -> list[Unit]:
    """The units of the visible messages. Written for the common message (a text, no e-mail): every
    message of every conversation a search page serves or an ingestion batch indexes passes here."""
    units = []
    append = units.append
    for message in hold_suppressed(messages):
        ref = message.get("id")
        if ref is not None and not isinstance(ref, str):
            ref = str(ref)
        agent_ai = message.get("kind") == AGENT_AI
        email = message.get("email")
        if email is not None and isinstance(email, Mapping):
            for subject in _texts(email.get("subject")):
                append(Unit(SOURCE_MESSAGE, ref, "subject", subject, agent_ai))
        text = message.get("text")
        if type(text) is str:
            if text and not text.isspace():
                append(Unit(SOURCE_MESSAGE, ref, "text", text, agent_ai))
        else:
            for part in _texts(text):
                append(Unit(SOURCE_MESSAGE, ref, "text", part, agent_ai))
    return units


def _remarks(conversation: ConversationFacts, interaction: InteractionFacts | None) -> list[str]:
    # The interaction record's remarks when it carries them (supervisors edit them there), else the content's.
    if interaction is not None and "dispositionRemarks" in interaction.document:
        return _texts(interaction.document.get("dispositionRemarks"))
    return _texts(conversation.sections.get("dispositionRemarks"))


def searchable_build(
    *, conversation: ConversationFacts, messages: list[Mapping[str, Any]], interaction: InteractionFacts | None
) -> Searchable:
    sections = conversation.sections or {}
    units = _message_units(messages)
    for note in sections.get("notes") or []:
        if isinstance(note, Mapping):
            ref = str(note["id"]) if note.get("id") is not None else None
            units.extend(Unit(SOURCE_NOTE, ref, "text", text) for text in _texts(note.get("text")))
    units.extend(Unit(SOURCE_REMARKS, None, "text", text) for text in _remarks(conversation, interaction))
    values = [conversation.session_id]
    identifiers = sections.get("identifiers")
    if isinstance(identifiers, Mapping):
        values.extend(identifiers.get(name) for name in SECTION_IDENTIFIERS)
    if interaction is not None:
        values.extend(interaction.document.get(name) for name in DOCUMENT_IDENTIFIERS)
        values.append(interaction.conversation_id)
    return Searchable(
        conversation=conversation,
        units=units,
        document=interaction.document if interaction is not None else None,
        # A blank value folds to an empty key (a non-blank one never does: casefold keeps every letter).
        identifiers={
            key for value in values
            if isinstance(value, str) and 0 < len(key := identifier_key(value)) <= MAX_IDENTIFIER_LENGTH
        },
    )


def identifier_key(value: str) -> str:
    return value.strip().casefold()


def units_load(
    *,
    account_id: int,
    conversation_ids: Iterable[int],
    interactions: Mapping[str, InteractionFacts] | None = None,
    transcripts: Mapping[int, list[Mapping[str, Any]]] | None = None,
    created: Mapping[int, IndexedRow] | None = None,
) -> dict[int, Searchable]:
    """The searchables of the account's conversations among ``conversation_ids`` for their index
    rows (three queries at most); a search page reads its own with :func:`page_searchables`.

    ``interactions`` (by session id) and ``transcripts`` (messages by conversation pk) are what the
    caller is writing in this transaction: they are used as they are instead of being read back
    (ingestion batches hold them parsed in memory; reading them back was a large part of a batch).
    ``created``: conversations the caller's transaction inserted, as inserted: neither their rows
    nor their transcripts are read back (an interaction batch creating a thousand conversations
    then reads and probes none). The conversations are :class:`IndexedRow` (what the index reads).
    """
    given = interactions or {}
    created = created or {}
    ids = [pk for pk in conversation_ids if pk not in created]
    conversations: dict[int, ConversationFacts] = {pk: created[pk] for pk in conversation_ids if pk in created}
    if ids:
        conversations.update({row[0]: IndexedRow(*row) for row in _INDEXED_ROWS.rows(account_id=account_id, ids=ids)})
    if not conversations:
        return {}
    written = transcripts or {}
    unread = [pk for pk in conversations if pk not in written and pk not in created]
    messages = dict(_MESSAGES.rows(ids=unread)) if unread else {}
    messages.update(written)
    missing = [c.session_id for c in conversations.values() if c.session_id not in given]
    stored: dict[str, InteractionFacts] = {
        session_id: InteractionText(conversation_id=conversation_id, document=document)
        for session_id, conversation_id, document in _INTERACTIONS.rows(account_id=account_id, session_ids=missing)
    } if missing else {}
    return {
        pk: searchable_build(
            conversation=conversation,
            messages=messages.get(pk) or [],
            interaction=given.get(conversation.session_id) or stored.get(conversation.session_id),
        )
        for pk, conversation in conversations.items()
    }


def page_searchables(*, account_id: int, conversation_ids: Iterable[int]) -> dict[int, Searchable]:
    """The searchables of a search page's conversations (``Conversation`` instances, to serve them),
    by pk, in one statement: each conversation with its transcript's messages and its interaction
    record as correlated subqueries.

    Those rows carry their conversation's start (a transcript its ``started_at``, the interaction
    record the conversation's ``session_start``: ``start_from_interaction``), so each lookup reads
    one month's partition. Three statements before (conversations, transcripts, interaction
    records), each probing every partition of its table: a third of a page's time around its
    ranked statement.
    """
    ids = list(conversation_ids)
    if not ids:
        return {}
    return {
        row.pk: searchable_build(
            conversation=row,
            messages=row.transcript_messages or [],
            interaction=None if row.interaction_document is None else InteractionText(
                conversation_id=row.interaction_conversation_id, document=row.interaction_document
            ),
        )
        for row in _PAGE_CONVERSATIONS.instances(account_id=account_id, ids=ids)
    }


# The reads, compiled once (analytics_api.kernel.compiled): building and compiling the querysets
# took longer than running them.
_PAGE_CONVERSATIONS: CompiledQuery[Conversation] = CompiledQuery(
    lambda account_id, ids: Conversation.objects.filter(account_id=account_id, pk__in=ids).annotate(
        transcript_messages=Transcript.of_conversation("messages"),
        interaction_document=conversation_interaction("document"),
        interaction_conversation_id=conversation_interaction("conversation_id"),
    )
)
_INDEXED_ROWS: CompiledQuery[Conversation] = CompiledQuery(
    lambda account_id, ids: Conversation.objects.filter(account_id=account_id, pk__in=ids).values_list(
        "id", "session_id", "started_at", "sections"
    )
)
_MESSAGES: CompiledQuery[Transcript] = CompiledQuery(
    lambda ids: Transcript.objects.filter(conversation_id__in=ids).values_list("conversation_id", "messages")
)
_INTERACTIONS: CompiledQuery[Interaction] = CompiledQuery(
    lambda account_id, session_ids: Interaction.objects.filter(account_id=account_id, session_id__in=session_ids)
    .values_list("session_id", "conversation_id", "document")
)
